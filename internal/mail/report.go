package mail

import (
	"bufio"
	"bytes"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// Report is what a delivery status notification (RFC 3464: multipart/report
// with a message/delivery-status part) says about the message it returns.
type Report struct {
	// Failed says a recipient's delivery failed for good (Action: failed,
	// or a 5.x.x status); delays and successes are reports too.
	Failed     bool
	Action     string // of the recipient reported on: failed, delayed, delivered …
	Recipient  string // Final-Recipient, without its type
	Status     string // such as 5.1.1
	Diagnostic string // Diagnostic-Code, such as "smtp; 550 5.1.1 <x@y>: User unknown"
	// MessageID is the returned message's Message-ID, from the headers the
	// report carries back ("" when it carries none).
	MessageID string
}

// Reason is the report in one line, for the notice and the journal.
func (r Report) Reason() string {
	var parts []string
	if r.Recipient != "" {
		parts = append(parts, r.Recipient)
	}
	switch {
	case r.Diagnostic != "":
		parts = append(parts, r.Diagnostic)
	case r.Status != "":
		parts = append(parts, "status "+r.Status)
	}
	if len(parts) == 0 {
		return "the recipient's mail server returned the message (no reason given)"
	}
	return cleanLine(strings.Join(parts, ": "))
}

// readReport finds the delivery status and the returned headers in a
// parsed message; nil when it is not a delivery status notification.
func readReport(env *enmime.Envelope) *Report {
	var status, returned []byte
	var walk func(p *enmime.Part)
	walk = func(p *enmime.Part) {
		for ; p != nil; p = p.NextSibling {
			switch p.ContentType {
			case "message/delivery-status", "message/global-delivery-status":
				// Some servers put a human-readable part under this type
				// first; the one with recipient fields is the report.
				if status == nil || !bytes.Contains(bytes.ToLower(status), []byte("action:")) {
					status = p.Content
				}
			case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
				if returned == nil {
					returned = p.Content
				}
			}
			walk(p.FirstChild)
		}
	}
	walk(env.Root)
	if status == nil {
		return nil
	}
	r := &Report{}
	// Blocks of fields: the first about the message, then one per recipient.
	var chosen textproto.MIMEHeader
	for _, block := range fieldBlocks(status) {
		if block.Get("Final-Recipient") == "" && block.Get("Action") == "" {
			continue
		}
		action := strings.ToLower(strings.TrimSpace(block.Get("Action")))
		if chosen == nil || action == "failed" && !strings.EqualFold(chosen.Get("Action"), "failed") {
			chosen = block
		}
	}
	if chosen != nil {
		r.Action = strings.ToLower(strings.TrimSpace(chosen.Get("Action")))
		r.Recipient = strings.Trim(strings.TrimSpace(afterType(chosen.Get("Final-Recipient"))), "<>")
		r.Status = strings.TrimSpace(chosen.Get("Status"))
		r.Diagnostic = cleanLine(fixText(chosen.Get("Diagnostic-Code")))
		r.Failed = r.Action == "failed" || r.Action == "" && strings.HasPrefix(r.Status, "5")
	}
	if returned != nil {
		if h := fieldBlocks(returned); len(h) > 0 {
			r.MessageID = normalizeID(h[0].Get("Message-Id"))
		}
	}
	return r
}

// fieldBlocks reads header-like blocks separated by blank lines.
func fieldBlocks(b []byte) []textproto.MIMEHeader {
	var out []textproto.MIMEHeader
	rd := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	for range 100 {
		h, err := rd.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if err != nil {
			break
		}
	}
	return out
}

// afterType drops the address type of a DSN field ("rfc822; x@y" → "x@y").
func afterType(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		return after
	}
	return v
}

// noticeIDRe finds a Message-ID of tend's own notices quoted in a bounce
// that is not a proper report (some servers return the message as text).
var noticeIDRe = regexp.MustCompile(`(?i)message-id:\s*(<tend\.[0-9a-f]{8,64}@[a-z0-9.-]+>)`)
