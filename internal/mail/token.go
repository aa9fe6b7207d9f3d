package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"strings"
)

// Tokens makes and checks reply-to addresses that name a request:
// support+req-2026-000123.k3j4h5g6q2@vendor.example. The signature keeps a
// stranger from writing into a request by guessing its number; the address
// routes replies even from clients that drop In-Reply-To and References.
type Tokens struct {
	Secret []byte
	Local  string // "support"
	Domain string // "vendor.example"
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (t Tokens) sign(number string) string {
	mac := hmac.New(sha256.New, t.Secret)
	mac.Write([]byte("tend-reply:" + strings.ToUpper(number)))
	return strings.ToLower(b32.EncodeToString(mac.Sum(nil))[:10])
}

// Address is the reply-to address for a request.
func (t Tokens) Address(number string) string {
	return t.Local + "+" + strings.ToLower(number) + "." + t.sign(number) + "@" + t.Domain
}

var tokenRe = regexp.MustCompile(`(?i)^[^+@]+\+(req-\d{4}-\d{6})\.([a-z2-7]{10})@`)

// Number finds a request number in signed reply-to addresses, "" if none
// verifies.
func (t Tokens) Number(addrs []string) string {
	if len(t.Secret) == 0 {
		return ""
	}
	for _, a := range addrs {
		m := tokenRe.FindStringSubmatch(a)
		if m == nil {
			continue
		}
		number := strings.ToUpper(m[1])
		if hmac.Equal([]byte(t.sign(number)), []byte(strings.ToLower(m[2]))) {
			return number
		}
	}
	return ""
}

var numberRe = regexp.MustCompile(`(?i)\bREQ-\d{4}-\d{6}\b`)

// SubjectNumber finds a request number in a subject.
func SubjectNumber(subject string) string {
	return strings.ToUpper(numberRe.FindString(subject))
}

// BounceAddress is the envelope sender (Return-Path) of a notice:
// support+bounce-<token>@vendor.example, where the token is the unique
// part of the notice's Message-ID. A bounce comes back to it and names the
// notice even when it quotes nothing of it (VERP).
func (t Tokens) BounceAddress(noticeToken string) string {
	return t.Local + "+bounce-" + noticeToken + "@" + t.Domain
}

var bounceRe = regexp.MustCompile(`(?i)^[^+@]+\+bounce-([0-9a-f]{8,64})@([^@>\s]+)`)

// BouncedNotice finds a notice's Message-ID in bounce addresses of the
// support domain, "" if none.
func (t Tokens) BouncedNotice(addrs []string) string {
	for _, a := range addrs {
		m := bounceRe.FindStringSubmatch(strings.Trim(a, "<> "))
		if m != nil && strings.EqualFold(m[2], t.Domain) {
			return noticeMessageID(strings.ToLower(m[1]), t.Domain)
		}
	}
	return ""
}

// noticeMessageID is the Message-ID of the notice with this token.
func noticeMessageID(token, domain string) string {
	return "<tend." + token + "@" + domain + ">"
}
