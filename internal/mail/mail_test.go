package mail_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/mail"
	"tend/internal/store"
)

// quiet keeps the tests' output to failures.
var quiet = slog.New(slog.DiscardHandler)

// env is one test's tend with a mail receiver.
type env struct {
	t   *testing.T
	app *apptest.App
	rc  *mail.Receiver
	ctx context.Context
}

func newEnv(t *testing.T, engine string, cfg mail.Config) *env {
	t.Helper()
	app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
	files, err := blob.NewDisk(app.Files)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address == "" {
		cfg.Address = "support@vendor.example"
	}
	rc, err := mail.NewReceiver(context.Background(), app.Store, files, quiet, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, app: app, rc: rc, ctx: context.Background()}
}

// msg builds a raw message with CRLF line ends.
func msg(headers []string, body string) []byte {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

func (e *env) deliver(raw []byte) store.MailResult {
	e.t.Helper()
	res, err := e.rc.Deliver(e.ctx, raw, mail.Envelope{Source: "smtp"})
	if err != nil {
		e.t.Fatalf("deliver: %v", err)
	}
	return res
}

func (e *env) view(id int64) store.RequestView {
	e.t.Helper()
	v, err := e.app.Store.ViewRequest(e.ctx, auth.System, id)
	if err != nil {
		e.t.Fatalf("view %d: %v", id, err)
	}
	return v
}

func (e *env) journal(entity string, id int64) []store.Entry {
	e.t.Helper()
	l, err := e.app.Store.ListJournal(e.ctx, auth.System, store.JournalFilter{Entity: entity, EntityID: id, Page: store.Page{Limit: 200}})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func actions(entries []store.Entry) string {
	var out []string
	for _, en := range entries {
		out = append(out, en.Action)
	}
	return strings.Join(out, ",")
}

func (e *env) account(login string) auth.Account {
	e.t.Helper()
	a, err := e.app.Store.AccountByLogin(e.ctx, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) mailOf(id int64) store.RequestMail {
	e.t.Helper()
	m, err := e.app.Store.MailOfRequest(e.ctx, auth.System, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestInboundConversation(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{})

			// A known contact writes: a request in their name, channel email.
			first := msg([]string{
				"From: =?UTF-8?B?0JHQvtGA0LjRgSDQkdC10YLQuNC9?= <Admin@Beta.example>",
				"To: support@vendor.example",
				"Subject: =?UTF-8?Q?=D0=9D=D0=B5_=D0=BE=D1=82=D0=BA=D1=80=D1=8B=D0=B2=D0=B0=D0=B5=D1=82=D1=81=D1=8F_=D0=B6=D1=83=D1=80=D0=BD=D0=B0=D0=BB?=",
				"Message-ID: <first@beta.example>",
				"Date: Mon, 02 Mar 2026 10:00:00 +0300",
				"MIME-Version: 1.0",
				"Content-Type: text/plain; charset=utf-8",
				"Content-Transfer-Encoding: 8bit",
			}, "Журнал событий не открывается после обновления.\n\n-- \nБорис Бетин\nBeta Logistics\n")
			res := e.deliver(first)
			if res.Outcome != store.MailRequest || res.Number == "" {
				t.Fatalf("first message: %+v", res)
			}
			v := e.view(res.RequestID)
			beta := e.account("admin@beta.example")
			if v.Channel != desk.ChannelEmail || v.RequesterID != beta.ID || v.CustomerID != beta.CustomerID || v.Type != "consultation" || v.Priority != "normal" {
				t.Errorf("request: channel %s requester %d customer %d type %s priority %s", v.Channel, v.RequesterID, v.CustomerID, v.Type, v.Priority)
			}
			if v.Subject != "Не открывается журнал" || !strings.Contains(v.Description, "Журнал событий не открывается") {
				t.Errorf("subject %q description %q", v.Subject, v.Description)
			}
			if v.ProductID == 0 || !v.Covered {
				t.Errorf("beta has one product: product %d covered %v (%s)", v.ProductID, v.Covered, v.CoverageNote)
			}
			if got := actions(e.journal("mail", res.ID)); got != "received_request" {
				t.Errorf("mail journal: %s", got)
			}
			if got := actions(e.journal("request", res.RequestID)); !strings.HasPrefix(got, "registered") {
				t.Errorf("request journal: %s", got)
			}
			m := e.mailOf(res.RequestID)
			if len(m.Messages) != 1 || !m.Messages[0].HasOriginal || len(m.Notices) != 1 || m.Notices[0].Kind != "registered" || m.Notices[0].To != "admin@beta.example" {
				t.Fatalf("mail of the request: %+v", m)
			}

			// The same message again (a retried delivery): nothing new.
			again := e.deliver(first)
			if !again.Duplicate || again.RequestID != res.RequestID {
				t.Errorf("duplicate: %+v", again)
			}
			if n := len(e.mailOf(res.RequestID).Messages); n != 1 {
				t.Errorf("%d messages after a duplicate", n)
			}

			// The desk asks a question; the reply by e-mail (threaded by
			// In-Reply-To, with the question quoted) answers it.
			agent := e.account("agent@vendor.example")
			r, err := e.app.Store.Act(e.ctx, agent.Principal(), res.RequestID, store.ActInput{Action: desk.ActionAskClarification, Needs: desk.Needs{Text: "Which version is installed?"}}, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.State != desk.StateClarifying {
				t.Fatalf("state %s", r.State)
			}
			reply := msg([]string{
				"From: admin@beta.example",
				"To: support@vendor.example",
				"Subject: Re: something else entirely",
				"Message-ID: <reply1@beta.example>",
				"In-Reply-To: <first@beta.example>",
				"Content-Type: text/plain; charset=utf-8",
			}, "Версия 4.1.7.\n\nС уважением,\nБорис\n\nВ пн, 2 мар. 2026 г. в 10:05, Support <support@vendor.example>:\n> Which version is installed?\n")
			rr := e.deliver(reply)
			if rr.Outcome != store.MailComment || rr.RequestID != res.RequestID {
				t.Fatalf("reply: %+v", rr)
			}
			v = e.view(res.RequestID)
			if v.State == desk.StateClarifying {
				t.Errorf("the reply did not answer the question: state %s", v.State)
			}
			last := v.Comments[len(v.Comments)-1]
			if last.Body != "Версия 4.1.7." || last.AuthorID != beta.ID || last.FromStaff {
				t.Errorf("comment %+v", last)
			}

			// A reply that only names the request in the subject, from the
			// requester: a comment too.
			bySubject := e.deliver(msg([]string{
				"From: admin@beta.example", "To: support@vendor.example",
				"Subject: Re: [" + res.Number + "] Не открывается журнал", "Message-ID: <reply2@beta.example>",
			}, "Ещё одна деталь.\n\nOn Mon, 2 Mar 2026 at 10:05, Support <support@vendor.example> wrote:\n> old text\n"))
			if bySubject.Outcome != store.MailComment || bySubject.RequestID != res.RequestID {
				t.Fatalf("reply by subject: %+v", bySubject)
			}
			v = e.view(res.RequestID)
			if got := v.Comments[len(v.Comments)-1].Body; got != "Ещё одна деталь." {
				t.Errorf("trimmed reply: %q", got)
			}

			// A stranger who names the number only: not a comment on someone
			// else's request, but a new request in triage that mentions it.
			stranger := e.deliver(msg([]string{
				"From: Mallory <mallory@evil.example>", "To: support@vendor.example",
				"Subject: Re: " + res.Number, "Message-ID: <m1@evil.example>",
			}, "Let me in."))
			if stranger.Outcome != store.MailTriage || stranger.RequestID == res.RequestID {
				t.Fatalf("stranger by subject: %+v", stranger)
			}
			sv := e.view(stranger.RequestID)
			if sv.CustomerID != 0 || !strings.Contains(sv.Description, res.Number) {
				t.Errorf("triage request: customer %d, description %q", sv.CustomerID, sv.Description)
			}
			// A stranger who answers our message (strong thread): an internal
			// note the customer never sees.
			note := e.deliver(msg([]string{
				"From: Mallory <mallory@evil.example>", "To: support@vendor.example",
				"Subject: Re: hi", "Message-ID: <m2@evil.example>", "References: <first@beta.example>",
			}, "Forwarded to me."))
			if note.Outcome != store.MailNote || note.RequestID != res.RequestID {
				t.Fatalf("stranger in thread: %+v", note)
			}
			cv, err := e.app.Store.ViewRequest(e.ctx, beta.Principal(), res.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cv.Comments {
				if strings.Contains(c.Body, "Forwarded to me") {
					t.Errorf("the customer sees the stranger's note: %+v", c)
				}
			}
			if _, err := e.app.Store.MailOriginal(e.ctx, beta.Principal(), note.ID); err == nil {
				t.Errorf("the customer may download the stranger's original")
			}
			if _, err := e.app.Store.MailOriginal(e.ctx, beta.Principal(), res.ID); err != nil {
				t.Errorf("the customer cannot download their own original: %v", err)
			}
			alfa := e.account("admin@alfa.example")
			if _, err := e.app.Store.MailOriginal(e.ctx, alfa.Principal(), res.ID); err == nil {
				t.Errorf("another customer may download beta's original")
			}

			// The request is closed; a reply becomes a new request.
			if _, err := e.app.Store.Act(e.ctx, agent.Principal(), res.RequestID, store.ActInput{Action: desk.ActionCancel, Needs: desk.Needs{Text: "duplicate"}}, ""); err != nil {
				t.Fatal(err)
			}
			late := e.deliver(msg([]string{"From: admin@beta.example", "To: support@vendor.example",
				"Subject: Re: [" + res.Number + "]", "Message-ID: <late@beta.example>", "In-Reply-To: <reply2@beta.example>"}, "Still broken."))
			if late.Outcome != store.MailRequest || late.RequestID == res.RequestID || late.Reason != "refers to "+res.Number {
				t.Errorf("reply to a closed request: %+v", late)
			}
		})
	}
}

func TestInboundNoiseAndFlood(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{Limits: store.MailLimits{PerSender: 2, Window: 3600e9}})
			cases := map[string][]string{
				"auto-submitted": {"Auto-Submitted: auto-replied"},
				"precedence":     {"Precedence: bulk"},
				"return-path":    {"Return-Path: <>"},
				"x-autoreply":    {"X-Autoreply: yes"},
				"list":           {"List-Id: <news.example.org>"},
				"report":         {"Content-Type: multipart/report; report-type=delivery-status; boundary=x"},
				"daemon":         {"X-Nothing: 1"},
				"own notice":     {"X-Tend-Notice: registered"},
			}
			i := 0
			for name, extra := range cases {
				i++
				from := "From: admin@alfa.example"
				if name == "daemon" {
					from = "From: MAILER-DAEMON@mx.alfa.example"
				}
				h := append([]string{from, "To: support@vendor.example", "Subject: Out", fmt.Sprintf("Message-ID: <noise%d@x>", i)}, extra...)
				res := e.deliver(msg(h, "--x\r\n\r\nI am away.\r\n--x--\r\n"))
				if res.Outcome != store.MailIgnored || res.RequestID != 0 {
					t.Errorf("%s: %+v", name, res)
				}
				if got := actions(e.journal("mail", res.ID)); got != "received_ignored" {
					t.Errorf("%s: journal %s", name, got)
				}
			}
			// A bounce by envelope: MAIL FROM:<>.
			res, err := e.rc.Deliver(e.ctx, msg([]string{"From: admin@alfa.example", "Subject: hi", "Message-ID: <b@x>"}, "x"), mail.Envelope{Source: "smtp", FromSet: true})
			if err != nil || res.Outcome != store.MailIgnored {
				t.Errorf("empty envelope sender: %+v %v", res, err)
			}
			// A flood: the third message within the window is only recorded.
			for k := 1; k <= 3; k++ {
				res := e.deliver(msg([]string{"From: flood@nowhere.example", "Subject: help " + fmt.Sprint(k), fmt.Sprintf("Message-ID: <f%d@x>", k)}, "help"))
				want := store.MailTriage
				if k == 3 {
					want = store.MailRateLimited
				}
				if res.Outcome != want {
					t.Errorf("flood message %d: %+v", k, res)
				}
			}
			all, err := e.app.Store.ListMail(e.ctx, auth.System, store.MailFilter{Page: store.Page{Limit: 200}})
			if err != nil || all.Total != len(cases)+1+3 {
				t.Errorf("every message is recorded: %d, %v", all.Total, err)
			}
		})
	}
}

func TestInboundTokenAttachmentsAndTriage(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{Secret: []byte("test secret")})
			png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 40)
			body := "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Screen <b>attached</b><script>alert(1)</script></p>\r\n" +
				"--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"../../screen.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				b64(png) + "\r\n" +
				"--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"fake.png\"\r\n\r\nnot a png at all\r\n--b1--\r\n"
			res := e.deliver(msg([]string{"From: Someone New <new@unknown.example>", "To: help@vendor.example", "Subject: Screens",
				"Message-ID: <att@unknown.example>", "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b1"}, body))
			if res.Outcome != store.MailTriage {
				t.Fatalf("%+v", res)
			}
			v := e.view(res.RequestID)
			if strings.Contains(v.Description, "<") || !strings.Contains(v.Description, "attached") {
				t.Errorf("HTML-only text: %q", v.Description)
			}
			if len(v.Attachments) != 2 {
				t.Fatalf("attachments: %+v", v.Attachments)
			}
			if a := v.Attachments[0]; a.Name != "screen.png" || a.ContentType != "image/png" {
				t.Errorf("first attachment %+v", a)
			}
			if a := v.Attachments[1]; a.Name != "fake.png" || a.ContentType != "application/octet-stream" {
				t.Errorf("mismatched attachment %+v", a)
			}
			if m := e.mailOf(res.RequestID); len(m.Notices) != 1 || m.Notices[0].To != "new@unknown.example" {
				t.Errorf("triage acknowledgement: %+v", m.Notices)
			}

			// A reply through the signed address, from a client that keeps no
			// headers and changes the subject: found by the token.
			tokens := mail.Tokens{Secret: []byte("test secret"), Local: "support", Domain: "vendor.example"}
			addr := tokens.Address(v.Number)
			rep := e.deliver(msg([]string{"From: new@unknown.example", "To: " + addr, "Subject: hello", "Message-ID: <tok@unknown.example>"}, "Thanks!\nMore info."))
			if rep.Outcome != store.MailComment || rep.RequestID != res.RequestID {
				t.Fatalf("token reply: %+v (to %s)", rep, addr)
			}
			// A forged token is no thread.
			forged := strings.Replace(addr, addr[strings.Index(addr, ".")+1:strings.Index(addr, "@")], "aaaaaaaaaa", 1)
			fr := e.deliver(msg([]string{"From: new@unknown.example", "To: " + forged, "Subject: hello", "Message-ID: <forged@unknown.example>"}, "x"))
			if fr.RequestID == res.RequestID {
				t.Errorf("a forged token threads: %+v", fr)
			}

			// The desk links the triage request to a customer and product.
			agent := e.account("agent@vendor.example")
			beta := e.account("admin@beta.example")
			lics, err := e.app.Store.CustomerLicenses(e.ctx, auth.System, beta.CustomerID)
			if err != nil || len(lics) == 0 {
				t.Fatal(err)
			}
			product := lics[0].ProductID
			out, err := e.app.Store.AssignRequest(e.ctx, agent.Principal(), res.RequestID, store.Assignment{CustomerID: beta.CustomerID, ProductID: product, RequesterID: beta.ID})
			if err != nil {
				t.Fatal(err)
			}
			if out.CustomerID != beta.CustomerID || out.RequesterID != beta.ID || !out.Covered {
				t.Errorf("assigned: %+v", out)
			}
			if _, err := e.app.Store.AssignRequest(e.ctx, beta.Principal(), res.RequestID, store.Assignment{CustomerID: beta.CustomerID, ProductID: product}); err == nil {
				t.Errorf("a customer may assign")
			}
			alfa := e.account("admin@alfa.example")
			if _, err := e.app.Store.AssignRequest(e.ctx, agent.Principal(), res.RequestID, store.Assignment{CustomerID: alfa.CustomerID, ProductID: product}); err == nil {
				t.Errorf("a linked request moved to another customer")
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A poll's batch: each message once, in order, even when the mailbox holds
// one twice; read again, the batch changes nothing and leaves no file.
func TestDeliverBatchTakesEachOnce(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{MaxMessage: 4096})
			a := msg([]string{"From: admin@alfa.example", "To: support@vendor.example", "Subject: Batch A", "Message-ID: <batch-a@alfa.example>"}, "First.")
			b := msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Batch B", "Message-ID: <batch-b@beta.example>"}, "Second.")
			big := msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Too big", "Message-ID: <batch-big@beta.example>"}, strings.Repeat("x", 5000))
			in := func(raws ...[]byte) []mail.Incoming {
				var out []mail.Incoming
				for _, r := range raws {
					out = append(out, mail.Incoming{Raw: r, Env: mail.Envelope{Source: "imap"}})
				}
				return out
			}
			demoFiles := len(filesUnder(t, e.app.Files))
			res, err := e.rc.DeliverBatch(e.ctx, in(a, b, a, big))
			if err != nil || len(res) != 4 {
				t.Fatalf("batch: %+v %v", res, err)
			}
			if res[0].Outcome != store.MailRequest || res[1].Outcome != store.MailRequest || res[0].RequestID == res[1].RequestID {
				t.Errorf("new messages: %+v %+v", res[0], res[1])
			}
			if !res[2].Duplicate || res[2].RequestID != res[0].RequestID || res[2].ID != res[0].ID {
				t.Errorf("the same message again in the batch: %+v", res[2])
			}
			if res[3].Outcome != store.MailRejected {
				t.Errorf("too large: %+v", res[3])
			}
			stored := len(filesUnder(t, e.app.Files))
			if stored != demoFiles+2 {
				t.Errorf("%d new files for two originals", stored-demoFiles)
			}
			// The mailbox read again (a new UIDVALIDITY, a second replica).
			first := res
			res, err = e.rc.DeliverBatch(e.ctx, in(b, a))
			if err != nil || len(res) != 2 || !res[0].Duplicate || !res[1].Duplicate || res[0].RequestID != first[1].RequestID || res[1].RequestID != first[0].RequestID {
				t.Fatalf("read again: %+v %v", res, err)
			}
			if got := len(filesUnder(t, e.app.Files)); got != stored {
				t.Errorf("files: %d, was %d", got, stored)
			}
			if got := e.countMail(store.MailRequest); got != 2 {
				t.Errorf("requests: %d", got)
			}
		})
	}
}

// filesUnder lists the regular files under root, temp files included.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	return out
}
