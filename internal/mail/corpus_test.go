package mail_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"tend/internal/apptest"
	"tend/internal/mail"
	"tend/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/generated from the generator")

// generated are the messages this package adds to the public corpus:
// the cases real Russian support mail brings and public corpora lack.
// `go test -run TestGeneratedCorpusIsCurrent -update` rewrites the files.
func generated() map[string][]byte {
	crlf := func(s string) []byte {
		return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
	}
	enc := func(cm *charmap.Charmap, s string) string {
		b, err := cm.NewEncoder().String(s)
		if err != nil {
			panic(err)
		}
		return b
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	text := "Здравствуйте! После обновления не открывается журнал событий. Ошибка: доступ запрещён."
	out := map[string][]byte{}
	out["koi8r-body.eml"] = crlf("From: =?koi8-r?B?" + b64(enc(charmap.KOI8R, "Иван Петров")) + "?= <ivan@alfa.example>\nTo: support@vendor.example\n" +
		"Subject: =?koi8-r?Q?" + qp(enc(charmap.KOI8R, "Журнал событий")) + "?=\nMessage-ID: <gen-koi8r@alfa.example>\nDate: Mon, 02 Mar 2026 10:00:00 +0300\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n" + enc(charmap.KOI8R, text) + "\n")
	out["cp1251-body.eml"] = crlf("From: =?windows-1251?B?" + b64(enc(charmap.Windows1251, "Ольга")) + "?= <operator@alfa.example>\nTo: support@vendor.example\n" +
		"Subject: =?windows-1251?B?" + b64(enc(charmap.Windows1251, "Журнал событий")) + "?=\nMessage-ID: <gen-cp1251@alfa.example>\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: quoted-printable\n\n" + qp(enc(charmap.Windows1251, text)) + "\n")
	out["iso8859-5-body.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: =?iso-8859-5?B?" + b64(enc(charmap.ISO8859_5, "Журнал событий")) + "?=\n" +
		"Message-ID: <gen-iso5@alfa.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-5\nContent-Transfer-Encoding: base64\n\n" +
		b64(enc(charmap.ISO8859_5, text)) + "\n")
	out["8bit-header-no-charset-cp1251.eml"] = crlf("From: " + enc(charmap.Windows1251, "Иван Петров") + " <ivan@alfa.example>\nTo: support@vendor.example\n" +
		"Subject: " + enc(charmap.Windows1251, "Журнал событий") + "\nMessage-ID: <gen-8bit-cp1251@alfa.example>\n\n" + enc(charmap.Windows1251, text) + "\n")
	out["8bit-header-no-charset-koi8r.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: " + enc(charmap.KOI8R, "Журнал событий") +
		"\nMessage-ID: <gen-8bit-koi8r@alfa.example>\n\n" + enc(charmap.KOI8R, text) + "\n")
	out["format-flowed.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: flowed\nMessage-ID: <gen-flowed@alfa.example>\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\nContent-Transfer-Encoding: 8bit\n\n" +
		"Здравствуйте! После обновления не открывается  \nжурнал событий. Ошибка: доступ  \nзапрещён.\n\n> quoted line that is  \n> flowed too\n")
	out["html-only.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: html\nMessage-ID: <gen-html@alfa.example>\n" +
		"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{color:red}</style><script>alert('x')</script></head>" +
		"<body><p>Здравствуйте! После обновления не открывается <b>журнал событий</b>.</p><p>Ошибка: доступ запрещён.</p><img src=\"cid:x\" onerror=\"alert(1)\"></body></html>\n")
	out["alternative.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: alt\nMessage-ID: <gen-alt@alfa.example>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + b64(text) +
		"\n--alt\nContent-Type: text/html; charset=utf-8\n\n<p>" + text + "</p>\n--alt--\n")
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	out["nested-outlook.eml"] = crlf("From: \"Petrov, Ivan\" <ivan@alfa.example>\nTo: \"Support\" <support@vendor.example>\nSubject: RE: [REQ-2026-000001] журнал\n" +
		"Thread-Topic: журнал\nThread-Index: AQHYtQ==\nX-MS-Has-Attach: yes\nX-MS-TNEF-Correlator:\nMessage-ID: <gen-outlook@alfa.example>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"mixed\"\n\n--mixed\nContent-Type: multipart/related; boundary=\"rel\"; type=\"multipart/alternative\"\n\n" +
		"--rel\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=\"koi8-r\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
		qp(enc(charmap.KOI8R, "Прилагаю снимок экрана.\n\nС уважением,\nИван Петров\n\nFrom: Support <support@vendor.example>\nSent: Monday, March 2, 2026 10:05 AM\nTo: Ivan\nSubject: журнал\n\nКакая версия?\n")) +
		"\n--alt\nContent-Type: text/html; charset=\"koi8-r\"\n\n<p>" + enc(charmap.KOI8R, "Прилагаю снимок экрана.") + "<img src=\"cid:image001.png@01D\"></p>\n--alt--\n" +
		"--rel\nContent-Type: image/png; name=\"image001.png\"\nContent-ID: <image001.png@01D>\nContent-Disposition: inline; filename=\"image001.png\"\nContent-Transfer-Encoding: base64\n\n" + b64(png) + "\n--rel--\n" +
		"--mixed\nContent-Type: application/pdf; name=\"=?koi8-r?B?" + b64(enc(charmap.KOI8R, "отчёт.pdf")) + "?=\"\nContent-Disposition: attachment; filename*=koi8-r''" + pct(enc(charmap.KOI8R, "отчёт.pdf")) +
		"\nContent-Transfer-Encoding: base64\n\n" + b64("%PDF-1.4\n%%EOF\n") + "\n--mixed--\n")
	out["broken-mime-no-boundary.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: broken\nMessage-ID: <gen-broken@alfa.example>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed\n\n--zzz\nContent-Type: text/plain\n\n" + text + "\n--zzz--\n")
	out["broken-mime-bad-base64.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: bad base64\nMessage-ID: <gen-badb64@alfa.example>\nMIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + b64(text)[:41] + "!!!@@@###\n")
	out["missing-headers.eml"] = crlf("Subject: no sender, no id, no date\n\n" + text + "\n")
	out["no-headers-at-all.eml"] = crlf(text + "\nА это вторая строка.\n")
	out["huge-header.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: " + strings.Repeat("Очень длинная тема ", 600) + "\nMessage-ID: <gen-huge@alfa.example>\n" +
		"References: " + strings.Repeat("<ref@x.example> ", 3000) + "\nX-Junk: " + strings.Repeat("a", 100000) + "\n\n" + text + "\n")
	out["gmail-ru-reply.eml"] = crlf("From: Иван <ivan@alfa.example>\nTo: support@vendor.example\nSubject: Re: [REQ-2026-000001] журнал\nMessage-ID: <gen-gmail@alfa.example>\n" +
		"In-Reply-To: <tend.x@vendor.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\nВерсия 4.2.1.\n\nпн, 2 мар. 2026 г. в 10:05, Support <support@vendor.example>:\n\n> Какая версия?\n>\n")
	out["autoreply-outlook.eml"] = crlf("From: ivan@alfa.example\nTo: support@vendor.example\nSubject: Автоматический ответ: журнал\nAuto-Submitted: auto-replied\n" +
		"X-Auto-Response-Suppress: All\nMessage-ID: <gen-oof@alfa.example>\n\nЯ в отпуске до 10 марта.\n")
	out["bounce-dsn.eml"] = crlf("From: MAILER-DAEMON@mx.vendor.example (Mail Delivery System)\nTo: support@vendor.example\nSubject: Undelivered Mail Returned to Sender\n" +
		"Message-ID: <gen-dsn@mx.vendor.example>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\n" +
		"The mail system could not deliver.\n--r\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; gone@alfa.example\nAction: failed\nStatus: 5.1.1\n--r--\n")
	out["bounce-postfix-dsn.eml"] = []byte(postfixDSN("3B1C2", "support+bounce-0123456789abcdef01234567@vendor.example", "gone@alfa.example",
		"Message-ID: <tend.0123456789abcdef01234567@vendor.example>\r\nFrom: Support <support@vendor.example>\r\nTo: gone@alfa.example\r\n"+
			"Subject: [REQ-2026-000001] Registered\r\nAuto-Submitted: auto-generated\r\n\r\nYour request is registered.\r\n", false))
	return out
}

// qp is quoted-printable for any bytes.
func qp(s string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString("\n")
			n = 0
			continue
		case c >= 33 && c <= 126 && c != '=' && c != '?' && c != '_':
			b.WriteByte(c)
			n++
		case c == ' ':
			b.WriteString("=20")
			n += 3
		default:
			b.WriteString("=" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			n += 3
		}
		if n > 70 {
			b.WriteString("=\n")
			n = 0
		}
	}
	return b.String()
}

func pct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

func TestGeneratedCorpusIsCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "generated")
	for name, b := range generated() {
		path := filepath.Join(dir, name)
		if *update {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(old, b) {
			t.Errorf("%s is not what the generator makes; run go test -run TestGeneratedCorpusIsCurrent -update ./internal/mail/", path)
		}
	}
}

// corpus reads every message in testdata: the public corpus and ours.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := strings.ToLower(d.Name())
		if strings.HasPrefix(base, "license") || strings.HasPrefix(base, "copying") || strings.HasSuffix(base, ".md") || strings.HasSuffix(base, ".txt") && !strings.Contains(path, "mikel-mail") {
			return nil
		}
		b, err := os.ReadFile(path)
		out[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every message of the corpus is read without panic, and each is recorded
// by the store with what it became: nothing is dropped, and no input is an
// error.
func TestCorpusDelivers(t *testing.T) {
	msgs := corpus(t)
	if len(msgs) < 165+len(generated()) {
		t.Fatalf("the corpus has %d messages", len(msgs))
	}
	names := make([]string, 0, len(msgs))
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{Limits: store.MailLimits{}})
			outcomes := map[string]int{}
			for _, name := range names {
				res, err := e.rc.Deliver(e.ctx, msgs[name], mail.Envelope{Source: "imap"})
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if strings.Contains(name, "multipart_report") || strings.Contains(name, "bounce-dsn") || strings.Contains(name, "autoreply") {
					if res.Outcome != store.MailIgnored && !res.Duplicate {
						t.Errorf("%s: a report or auto-reply became %s", name, res.Outcome)
					}
				}
				outcomes[res.Outcome]++
			}
			t.Logf("outcomes: %v", outcomes)
		})
	}
}

// The generated Cyrillic messages decode to the same text whatever the
// charset and encoding.
func TestCharsets(t *testing.T) {
	want := "Здравствуйте! После обновления не открывается журнал событий. Ошибка: доступ запрещён."
	gen := generated()
	for _, name := range []string{"koi8r-body.eml", "cp1251-body.eml", "iso8859-5-body.eml", "8bit-header-no-charset-cp1251.eml", "8bit-header-no-charset-koi8r.eml", "alternative.eml", "format-flowed.eml", "html-only.eml"} {
		m := mail.Parse(gen[name])
		got := strings.Join(strings.Fields(strings.ReplaceAll(m.Text, "*", "")), " ")
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s: text %q", name, m.Text)
		}
		if name != "format-flowed.eml" && name != "html-only.eml" && name != "alternative.eml" && m.Subject != "Журнал событий" {
			t.Errorf("%s: subject %q", name, m.Subject)
		}
		if strings.Contains(m.Text, "<") || strings.Contains(m.Text, "alert") {
			t.Errorf("%s: markup or script in the text: %q", name, m.Text)
		}
	}
	if m := mail.Parse(gen["koi8r-body.eml"]); m.FromName != "Иван Петров" {
		t.Errorf("koi8-r name %q", m.FromName)
	}
	if m := mail.Parse(gen["8bit-header-no-charset-cp1251.eml"]); m.FromName != "Иван Петров" {
		t.Errorf("8-bit name %q", m.FromName)
	}
	if m := mail.Parse(gen["format-flowed.eml"]); !strings.Contains(m.Text, "> quoted line that is flowed too") {
		t.Errorf("flowed quote: %q", m.Text)
	}
	o := mail.Parse(gen["nested-outlook.eml"])
	if len(o.Files) != 2 || o.Files[0].Name != "отчёт.pdf" || o.Files[1].Name != "image001.png" || !o.Files[1].Inline {
		for _, f := range o.Files {
			t.Logf("file %q %s inline=%v", f.Name, f.ContentType, f.Inline)
		}
		t.Errorf("outlook parts: %d", len(o.Files))
	}
	if got := mail.TrimReply(o.Text); got != "Прилагаю снимок экрана." {
		t.Errorf("outlook reply trimmed to %q", got)
	}
	if got := mail.TrimReply(mail.Parse(gen["gmail-ru-reply.eml"]).Text); got != "Версия 4.2.1." {
		t.Errorf("gmail reply trimmed to %q", got)
	}
	for _, name := range []string{"broken-mime-no-boundary.eml", "broken-mime-bad-base64.eml", "missing-headers.eml", "no-headers-at-all.eml", "huge-header.eml"} {
		m := mail.Parse(gen[name])
		if !strings.Contains(m.Text, "Здравствуйте") && !strings.Contains(m.Text, "0JfQtNGA") {
			t.Errorf("%s: text lost: %q", name, m.Text)
		}
	}
}

func TestTrimReply(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Yes, it works.\n\nOn Mon, Mar 2, 2026 at 10:05 AM Support <support@vendor.example> wrote:\n> Does it work?", "Yes, it works."},
		{"Yes.\n\nOn Mon, Mar 2, 2026 at 10:05 AM Support\n<support@vendor.example> wrote:\n> q", "Yes."},
		{"Да, работает.\n\n2 марта 2026 г., в 10:05, Support <support@vendor.example> написал(а):\n> Работает?", "Да, работает."},
		{"Ответ.\n\n-----Original Message-----\nFrom: x\nSent: y\n", "Ответ."},
		{"Ответ.\n\n-------- Исходное сообщение --------\nОт: x\n", "Ответ."},
		{"Ответ.\n________________________________\nОт: Support\nОтправлено: 2 марта\nКому: Иван\n", "Ответ."},
		{"Answer.\n\nFrom: Support <support@vendor.example>\nSent: Monday\nTo: Ivan\nSubject: x\n\nold", "Answer."},
		{"Answer.\n\n-- \nIvan Petrov\n+7 495 000", "Answer."},
		{"Answer.\n\nSent from my iPhone", "Answer."},
		{"Всё заработало.\n\nС уважением,\nИван Петров\nООО «Альфа»\n+7 495 111-11-11", "Всё заработало."},
		{"Thanks, that fixed it!", "Thanks, that fixed it!"},
		{"> only a quote\n> nothing new", "> only a quote\n> nothing new"},
		{"Line one\n> quoted inline\nLine two", "Line one\nLine two"},
	}
	for _, c := range cases {
		if got := mail.TrimReply(c.in); got != c.want {
			t.Errorf("TrimReply(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzParse feeds the parser: no input makes it panic, hang, or give text
// that is not valid UTF-8.
func FuzzParse(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := mail.Parse(raw)
		for _, s := range []string{m.Text, m.Subject, m.From, m.FromName, m.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 out of Parse: %q", s)
			}
		}
		mail.TrimReply(m.Text)
		mail.Noise(m, "", false, "vendor.example")
	})
}
