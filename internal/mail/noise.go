package mail

import (
	"regexp"
	"strings"
)

var autoSubjectRe = regexp.MustCompile(`(?i)^\s*(automatic reply|auto[- ]?reply|autoreply|out of (the )?office|автоматический ответ|автоответ|недоставленное сообщение|undeliverable|undelivered mail|delivery status notification|mail delivery failed|returned mail)\b`)

// Noise says why a message must not become a request or be answered: an
// auto-reply, a bounce, mailing-list mail, or one of tend's own notices
// coming back. It answers "" for mail a person wrote. mailFrom is the SMTP
// envelope sender when known (fromSet), where "" is a bounce.
func Noise(m Message, mailFrom string, fromSet bool, ownDomain string) string {
	h := func(k string) string { return strings.TrimSpace(m.Header[k]) }
	lower := func(k string) string { return strings.ToLower(h(k)) }
	switch {
	case h("X-Tend-Notice") != "":
		return "one of tend's own notices came back (loop)"
	case ownDomain != "" && strings.HasPrefix(m.MessageID, "<tend.") && strings.HasSuffix(strings.ToLower(m.MessageID), "@"+strings.ToLower(ownDomain)+">"):
		return "one of tend's own notices came back (loop)"
	case lower("Auto-Submitted") != "" && lower("Auto-Submitted") != "no":
		return "automatic message (Auto-Submitted: " + h("Auto-Submitted") + ")"
	case h("X-Autoreply") != "" || h("X-Autorespond") != "" || h("X-Autoresponder") != "":
		return "automatic reply (X-Autoreply)"
	case oneOf(lower("Precedence"), "bulk", "list", "junk", "auto_reply"):
		return "bulk or list mail (Precedence: " + h("Precedence") + ")"
	case fromSet && strings.Trim(mailFrom, "<> ") == "":
		return "bounce (empty envelope sender)"
	case h("Return-Path") == "<>":
		return "bounce (Return-Path: <>)"
	case h("X-Failed-Recipients") != "":
		return "bounce (X-Failed-Recipients)"
	case strings.HasPrefix(lower("Content-Type"), "multipart/report"):
		return "delivery or read report (multipart/report)"
	case h("List-Id") != "" || h("List-Post") != "" || h("List-Unsubscribe") != "":
		return "mailing-list mail (List-Id)"
	case ownDomain != "" && strings.Contains(lower("X-Loop"), strings.ToLower(ownDomain)):
		return "mail loop (X-Loop)"
	case isDaemon(m.From):
		return "bounce (from " + m.From + ")"
	case autoSubjectRe.MatchString(m.Subject):
		return "automatic reply (subject)"
	}
	return ""
}

func isDaemon(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	return oneOf(local, "mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
