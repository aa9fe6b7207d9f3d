// Package mail is tend's e-mail channel (R3.1, R3.4, R6.3): it reads
// messages that arrive over IMAP or SMTP, recognises noise and loops,
// threads replies onto their requests, trims quoted history and
// signatures, and has the store record what each message became; and it
// composes and sends the notices the store queues.
package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// Message is a parsed message: what tend needs of it, in UTF-8.
type Message struct {
	MessageID  string // "<…>"; empty when the message has none
	From       string // the address, lower-case
	FromName   string
	Recipients []string // addresses in To, Cc, Delivered-To, X-Original-To, Envelope-To
	Subject    string
	Date       time.Time
	Refs       []string // In-Reply-To, then References newest first
	Header     map[string]string
	Text       string // the body as plain text (HTML-only mail converted)
	Files      []Part
	// Report is a delivery status notification's content (a bounce); nil
	// for any other message.
	Report *Report
	// Problems lists what could not be read cleanly; Fallback says the MIME
	// structure could not be read at all and the text is the raw body.
	Problems []string
	Fallback bool
}

// Part is an attachment or an inline image.
type Part struct {
	Name        string
	ContentType string
	Inline      bool
	Data        []byte
}

// noiseHeaders are the headers the noise and loop checks read.
var noiseHeaders = []string{"Auto-Submitted", "Precedence", "Return-Path", "X-Autoreply", "X-Autorespond", "X-Autoresponder",
	"List-Id", "List-Unsubscribe", "List-Post", "X-Loop", "Content-Type", "X-Failed-Recipients", "X-Tend-Notice",
	"X-Auto-Response-Suppress", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"}

// The parser trusts a declared charset (its detector mistakes short
// Russian text for Latin-1) and reads a multipart without a boundary as
// one part.
var parser = enmime.NewParser(enmime.SkipMalformedParts(true), enmime.MultipartWOBoundaryAsSinglePart(true),
	enmime.MaxStoredPartErrors(20), enmime.DisableCharacterDetection(true), enmime.SetCustomParseMediaType(parseMediaType))

// undeclared stands for "no charset said" in a text part: the parser does
// not know it, so it leaves the bytes as they are, and partText reads them
// (UTF-8 if they are, else as Russian mail usually is). Without it the
// parser would read them as Windows-1252 and lose bytes on the way.
const undeclared = "x-tend-undeclared"

func parseMediaType(ctype string) (string, map[string]string, []string, error) {
	mt, params, invalid, err := mediatype.Parse(ctype)
	if err == nil && strings.HasPrefix(mt, "text/") {
		if params == nil {
			params = map[string]string{}
		}
		switch strings.ToLower(strings.TrimSpace(params["charset"])) {
		case "", "us-ascii", "ascii":
			params["charset"] = undeclared
		}
	}
	return mt, params, invalid, err
}

// Parse reads a raw message. It never fails: a message whose MIME
// structure cannot be read becomes its raw body as text, with the headers
// that could be found.
func Parse(raw []byte) (m Message) {
	defer func() {
		// The parser is third-party code fed by strangers: a panic in it must
		// not lose the message.
		if v := recover(); v != nil {
			m = fallback(raw, fmt.Sprintf("the parser failed: %v", v))
		}
	}()
	body := raw
	// An mbox "From " line before the headers.
	if bytes.HasPrefix(body, []byte("From ")) {
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:]
		}
	}
	env, err := parser.ReadEnvelope(bytes.NewReader(body))
	if err != nil || env == nil || env.Root == nil {
		return fallback(raw, fmt.Sprintf("the MIME structure could not be read: %v", err))
	}
	m.Header = map[string]string{}
	for _, h := range noiseHeaders {
		if v := env.GetHeader(h); v != "" {
			m.Header[h] = fixText(v)
		}
	}
	m.MessageID = normalizeID(env.Root.Header.Get("Message-Id"))
	m.Subject = cleanLine(fixText(env.GetHeader("Subject")))
	m.From, m.FromName = firstAddress(env, "From")
	if m.From == "" {
		m.From, m.FromName = firstAddress(env, "Sender")
	}
	if m.From == "" {
		m.From, m.FromName = firstAddress(env, "Reply-To")
	}
	for _, h := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"} {
		for _, v := range env.Root.Header.Values(h) {
			m.Recipients = append(m.Recipients, addressesIn(v)...)
		}
	}
	if d, err := env.Date(); err == nil {
		m.Date = d
	}
	m.Refs = refs(env.Root.Header.Get("In-Reply-To"), env.Root.Header.Get("References"))
	m.Text = bodyText(env)
	m.Report = readReport(env)
	for _, e := range env.Errors {
		if e != nil && e.Severe {
			m.Problems = append(m.Problems, e.Error())
		}
	}
	n := 0
	add := func(p *enmime.Part, inline bool) {
		if p == nil || len(p.Content) == 0 || strings.HasPrefix(p.ContentType, "multipart/") {
			return
		}
		n++
		name := cleanLine(fixText(p.FileName))
		if name == "" {
			name = fmt.Sprintf("attachment-%d%s", n, extensionFor(p.ContentType))
		}
		m.Files = append(m.Files, Part{Name: name, ContentType: p.ContentType, Inline: inline, Data: p.Content})
	}
	for _, p := range env.Attachments {
		add(p, false)
	}
	for _, p := range env.Inlines {
		add(p, true)
	}
	for _, p := range env.OtherParts {
		add(p, true)
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Files) == 0 {
		// Nothing readable came out (a broken encoding, a multipart without
		// parts): the body as it stands is better than nothing.
		if body := strings.TrimSpace(cleanText(fixText(string(rawBody(body))))); body != "" {
			m.Text = body
			m.Problems = append(m.Problems, "no readable text part; the raw body was taken")
		}
	}
	return m
}

// bodyText is the message's text: the text/plain parts as enmime picks
// them, each in UTF-8 and with format=flowed undone; HTML-only mail
// converted to text by enmime.
func bodyText(env *enmime.Envelope) string {
	isText := func(p *enmime.Part) bool { return p.ContentType == "text/plain" && p.Disposition != "attachment" }
	var parts []*enmime.Part
	if env.Root.ContentType == "multipart/alternative" {
		if p := env.Root.BreadthMatchFirst(isText); p != nil {
			parts = []*enmime.Part{p}
		}
	} else {
		parts = env.Root.DepthMatchAll(isText)
	}
	if len(parts) == 0 {
		return cleanText(fixText(env.Text))
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString("\n--\n")
		}
		s := partText(p)
		if params := ctParams(p); strings.EqualFold(params["format"], "flowed") {
			s = Unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		b.WriteString(s)
	}
	return cleanText(b.String())
}

// partText is a text part in UTF-8: a declared charset was decoded by the
// parser; undeclared bytes are read by fixText.
func partText(p *enmime.Part) string {
	return fixText(string(p.Content))
}

// ctParams are the parameters of a part's Content-Type.
func ctParams(p *enmime.Part) map[string]string {
	_, params, _, _ := mediatype.Parse(p.Header.Get("Content-Type"))
	return params
}

// rawBody is what follows the header block of a raw message (all of it
// when it does not start with a header).
func rawBody(raw []byte) []byte {
	if !headerLineRe.Match(raw) {
		return raw
	}
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 {
			return raw[i+len(sep):]
		}
	}
	return nil
}

// headerLineRe matches a message that starts with a header field.
var headerLineRe = regexp.MustCompile(`^[!-9;-~]{1,100}:`)

// fallback reads what it can of a message the MIME parser refused.
func fallback(raw []byte, problem string) Message {
	m := Message{Fallback: true, Problems: []string{problem}, Header: map[string]string{}}
	head, body := raw, []byte(nil)
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 {
			head, body = raw[:i], raw[i+len(sep):]
			break
		}
	}
	if !headerLineRe.Match(raw) {
		head, body = nil, raw // no header at all
	}
	hdr := map[string][]string{}
	var last string
	for _, line := range strings.Split(string(head), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			vs := hdr[last]
			vs[len(vs)-1] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(k, " \t") {
			last = ""
			continue
		}
		last = strings.ToLower(k)
		hdr[last] = append(hdr[last], strings.TrimSpace(v))
	}
	get := func(k string) string {
		if v := hdr[strings.ToLower(k)]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	dec := new(mime.WordDecoder)
	decode := func(s string) string {
		if d, err := dec.DecodeHeader(s); err == nil {
			s = d
		}
		return cleanLine(fixText(s))
	}
	for _, h := range noiseHeaders {
		if v := get(h); v != "" {
			m.Header[h] = decode(v)
		}
	}
	m.MessageID = normalizeID(get("Message-Id"))
	m.Subject = decode(get("Subject"))
	if a, err := mail.ParseAddress(decode(get("From"))); err == nil {
		m.From, m.FromName = strings.ToLower(a.Address), cleanLine(a.Name)
	} else if as := addressesIn(get("From")); len(as) > 0 {
		m.From = as[0]
	}
	for _, h := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
		for _, v := range hdr[strings.ToLower(h)] {
			m.Recipients = append(m.Recipients, addressesIn(v)...)
		}
	}
	if d, err := mail.ParseDate(get("Date")); err == nil {
		m.Date = d
	}
	m.Refs = refs(get("In-Reply-To"), get("References"))
	m.Text = cleanText(fixText(string(body)))
	return m
}

func firstAddress(env *enmime.Envelope, header string) (addr, name string) {
	list, err := env.AddressList(header)
	if err == nil && len(list) > 0 && list[0] != nil && list[0].Address != "" {
		return strings.ToLower(list[0].Address), cleanLine(fixText(list[0].Name))
	}
	raw := env.GetHeader(header)
	if as := addressesIn(raw); len(as) > 0 {
		name := strings.TrimSpace(strings.Trim(strings.SplitN(raw, "<", 2)[0], `" `))
		if strings.Contains(name, "@") {
			name = ""
		}
		return as[0], cleanLine(fixText(name))
	}
	return "", ""
}

var addrRe = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*`)

// addressesIn finds the e-mail addresses in a header value, lower-case.
func addressesIn(v string) []string {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
		return out
	}
	found := addrRe.FindAllString(v, 20)
	for i := range found {
		found[i] = strings.ToLower(found[i])
	}
	return found
}

var idRe = regexp.MustCompile(`<[^<>\s]{1,900}>`)

// normalizeID gives a Message-ID in angle brackets, or "".
func normalizeID(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if m := idRe.FindString(v); m != "" {
		return strings.ToValidUTF8(m, "?")
	}
	v = strings.Trim(v, "<> \t")
	if v == "" || strings.ContainsAny(v, " \t<>") || len(v) > 900 {
		return ""
	}
	return "<" + strings.ToValidUTF8(v, "?") + ">"
}

// refs lists the Message-IDs a message answers: In-Reply-To first, then
// References from the newest, at most 20.
func refs(inReplyTo, references string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] && len(out) < 20 {
			seen[id] = true
			out = append(out, strings.ToValidUTF8(id, "?"))
		}
	}
	for _, id := range idRe.FindAllString(inReplyTo, 5) {
		add(id)
	}
	all := idRe.FindAllString(references, 200)
	for i := len(all) - 1; i >= 0; i-- {
		add(all[i])
	}
	return out
}

// MadeUpID is the Message-ID of a message that has none: the same bytes
// get the same id, so a message without one is still taken once.
func MadeUpID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "<" + hex.EncodeToString(sum[:]) + "@no-message-id.tend.invalid>"
}

func extensionFor(ct string) string {
	switch ct {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "message/rfc822":
		return ".eml"
	}
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// cleanLine makes a header value one clean line.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\r' || r == '\n':
			return ' '
		case r < 0x20 || r == 0x7f || isInvisible(r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanText makes a body safe plain text: \n line ends, no control or
// direction-override characters, valid UTF-8.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || isInvisible(r):
			return -1
		case r == 0xA0:
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func isInvisible(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0xFEFF || r == 0x200B
}

// validUTF8 reports whether s needs no repair.
func validUTF8(s string) bool { return utf8.ValidString(s) }
