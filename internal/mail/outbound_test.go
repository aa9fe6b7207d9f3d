package mail_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/mail"
	"tend/internal/store"
)

// sink is the SMTP server on loopback that notices are sent to: a real
// SMTP conversation with emersion/go-smtp's server, keeping what arrives.
// Addresses can be made to fail: temporarily (451) or for good (550).
type sink struct {
	mu       sync.Mutex
	got      []sunk
	tempFail map[string]bool
	permFail map[string]bool
}

type sunk struct {
	from string
	to   []string
	raw  []byte
}

func startSink(t *testing.T) (*sink, mail.Relay) {
	t.Helper()
	s := &sink{tempFail: map[string]bool{}, permFail: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s, mail.Relay{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: "plain"}
}

func (s *sink) messages() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.got...)
}

func (s *sink) fail(addr string, permanent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if permanent {
		s.permFail[addr] = true
	} else {
		s.tempFail[addr] = true
	}
}

func (s *sink) heal(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tempFail, addr)
}

type sinkSession struct {
	s    *sink
	from string
	to   []string
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	switch {
	case ss.s.permFail[to]:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	case ss.s.tempFail[to]:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, sunk{ss.from, ss.to, b})
	ss.s.mu.Unlock()
	return nil
}

func newSender(t *testing.T, e *env, relay mail.Relay) *mail.Sender {
	t.Helper()
	s, err := mail.NewSender(e.ctx, e.app.Store, quiet, mail.SenderConfig{Relay: relay, From: "support@vendor.example", BaseURL: "https://tend.vendor.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func parsed(t *testing.T, raw []byte) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestNoticesOverSMTP(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{})
			sk, relay := startSink(t)
			sender := newSender(t, e, relay)
			// The demo's own notices are not this test's.
			if _, err := sender.Sweep(e.ctx); err != nil {
				t.Fatal(err)
			}
			base := len(sk.messages())

			res := e.deliver(msg([]string{"From: Борис <admin@beta.example>", "To: support@vendor.example", "Subject: Нет связи с контроллером",
				"Message-ID: <q1@beta.example>"}, "Контроллер двери 3 не отвечает."))
			rep, err := sender.Sweep(e.ctx)
			if err != nil || rep.Sent != 1 {
				t.Fatalf("sweep: %+v %v", rep, err)
			}
			got := sk.messages()[base:]
			if len(got) != 1 || got[0].to[0] != "admin@beta.example" {
				t.Fatalf("arrived: %+v", got)
			}
			n := parsed(t, got[0].raw)
			// The envelope sender names the notice, so that a bounce does (VERP).
			token := strings.TrimSuffix(strings.TrimPrefix(n.GetHeader("Message-Id"), "<tend."), "@vendor.example>")
			if got[0].from != "support+bounce-"+token+"@vendor.example" || len(token) != 24 {
				t.Errorf("envelope sender %q for Message-ID %q", got[0].from, n.GetHeader("Message-Id"))
			}
			subject := n.GetHeader("Subject")
			if !strings.Contains(subject, "["+res.Number+"]") || !strings.Contains(subject, "Заявка зарегистрирована") || !strings.Contains(subject, "Нет связи с контроллером") {
				t.Errorf("subject %q", subject)
			}
			if n.GetHeader("In-Reply-To") != "<q1@beta.example>" || !strings.Contains(n.GetHeader("References"), "<q1@beta.example>") {
				t.Errorf("threading: In-Reply-To %q References %q", n.GetHeader("In-Reply-To"), n.GetHeader("References"))
			}
			if n.GetHeader("Auto-Submitted") != "auto-generated" || !strings.Contains(n.Text, "под номером "+res.Number) {
				t.Errorf("headers/text: %q\n%s", n.GetHeader("Auto-Submitted"), n.Text)
			}
			replyTo := strings.Trim(n.GetHeader("Reply-To"), "<>")
			if !strings.HasPrefix(replyTo, "support+"+strings.ToLower(res.Number)+".") {
				t.Errorf("reply-to %q", replyTo)
			}
			noticeID := n.GetHeader("Message-Id")
			if !strings.HasPrefix(noticeID, "<tend.") || !strings.HasSuffix(noticeID, "@vendor.example>") {
				t.Errorf("message-id %q", noticeID)
			}

			// Our notice coming back (a forwarding loop) is known by its
			// Message-ID and changes nothing; with a new Message-ID (a
			// forwarder that rewrites it) it is recognised as ours: noise.
			if back := e.deliver(got[0].raw); !back.Duplicate || back.Outcome != store.MailSent {
				t.Errorf("own notice back: %+v", back)
			}
			rewritten := bytes.Replace(got[0].raw, []byte(noticeID), []byte("<rewritten@relay.example>"), 1)
			if back := e.deliver(rewritten); back.Outcome != store.MailIgnored {
				t.Errorf("own notice back with a new Message-ID: %+v", back)
			}
			// The customer answers the notice: threaded by its Message-ID.
			ans := e.deliver(msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Re: whatever",
				"Message-ID: <q2@beta.example>", "In-Reply-To: " + noticeID}, "Уточнение: после грозы."))
			if ans.Outcome != store.MailComment || ans.RequestID != res.RequestID {
				t.Errorf("answer to the notice: %+v", ans)
			}

			// The desk asks a question: the notice carries it, in English for
			// an English-speaking contact.
			agent := e.account("agent@vendor.example")
			if _, err := e.app.Store.Act(e.ctx, agent.Principal(), res.RequestID, store.ActInput{Action: desk.ActionAskClarification, Needs: desk.Needs{Text: "Какая версия прошивки?"}}, ""); err != nil {
				t.Fatal(err)
			}
			if rep, err := sender.Sweep(e.ctx); err != nil || rep.Sent != 1 {
				t.Fatalf("sweep after question: %+v %v", rep, err)
			}
			got = sk.messages()[base:]
			q := parsed(t, got[len(got)-1].raw)
			if !strings.Contains(q.GetHeader("Subject"), "Вопрос по заявке") || !strings.Contains(q.Text, "Какая версия прошивки?") {
				t.Errorf("question notice %q\n%s", q.GetHeader("Subject"), q.Text)
			}
			if q.GetHeader("In-Reply-To") != "<q2@beta.example>" {
				t.Errorf("the question answers the latest message: %q", q.GetHeader("In-Reply-To"))
			}

			// A temporary failure is tried again after the backoff; a
			// permanent one is shown on the request.
			sk.fail("later@unknown.example", false)
			sk.fail("gone@unknown.example", true)
			t1 := e.deliver(msg([]string{"From: later@unknown.example", "Subject: first contact", "Message-ID: <t1@unknown.example>"}, "Hello, we are new."))
			t2 := e.deliver(msg([]string{"From: gone@unknown.example", "Subject: first contact", "Message-ID: <t2@unknown.example>"}, "Hello."))
			rep, err = sender.Sweep(e.ctx)
			if err != nil || rep.Retried != 1 || rep.Failed != 1 || rep.Sent != 0 {
				t.Fatalf("failing sweep: %+v %v", rep, err)
			}
			v := e.view(t2.RequestID)
			if len(v.MailFailures) != 1 || !strings.Contains(v.MailFailures[0].LastError, "550") {
				t.Errorf("permanent failure on the request: %+v", v.MailFailures)
			}
			if j := actions(e.journal("request", t2.RequestID)); !strings.Contains(j, "mail_failed") {
				t.Errorf("journal %s", j)
			}
			sk.heal("later@unknown.example")
			if rep, _ := sender.Sweep(e.ctx); rep.Sent != 0 {
				t.Errorf("retried before the backoff: %+v", rep)
			}
			e.app.Clock.Advance(61 * time.Second)
			if rep, err := sender.Sweep(e.ctx); err != nil || rep.Sent != 1 {
				t.Errorf("retry after the backoff: %+v %v", rep, err)
			}
			m := e.mailOf(t1.RequestID)
			if len(m.Notices) != 1 || m.Notices[0].State != "sent" || m.Notices[0].Attempts != 2 {
				t.Errorf("retried notice: %+v", m.Notices)
			}

			// Opt-out: a contact who wants essential mail only gets no
			// reminders, but still gets questions.
			integ := e.account("integrator@alfa.example")
			if _, err := e.app.Store.SetMailPrefs(e.ctx, integ.Principal(), store.MailPrefs{EssentialOnly: true}); err != nil {
				t.Fatal(err)
			}
			ir := e.deliver(msg([]string{"From: integrator@alfa.example", "Subject: API question", "Message-ID: <i1@alfa.example>"}, "How do I page?"))
			if _, err := e.app.Store.Act(e.ctx, agent.Principal(), ir.RequestID, store.ActInput{Action: desk.ActionAskClarification, Needs: desk.Needs{Text: "Which endpoint?"}}, ""); err != nil {
				t.Fatal(err)
			}
			e.app.Clock.Advance(72 * time.Hour)
			if _, err := e.app.Store.SweepRequestTimers(e.ctx, store.TimerConfig{RemindAfter: 48 * time.Hour, CloseUnansweredAfter: 1000 * time.Hour, AutoCloseAfter: 1000 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			kinds := []string{}
			for _, nt := range e.mailOf(ir.RequestID).Notices {
				kinds = append(kinds, nt.Kind)
			}
			if strings.Join(kinds, ",") != "registered,clarification" {
				t.Errorf("notices for an opted-out contact: %v", kinds)
			}
			// The reminder would go to beta's admin, who did not opt out.
			kinds = nil
			for _, nt := range e.mailOf(res.RequestID).Notices {
				kinds = append(kinds, nt.Kind)
			}
			if !strings.Contains(strings.Join(kinds, ","), "reminder") {
				t.Errorf("beta's notices: %v", kinds)
			}
			if rep, err := sender.Sweep(e.ctx); err != nil || rep.Sent == 0 {
				t.Errorf("english notices: %+v %v", rep, err)
			}
			found := false
			for _, s := range sk.messages() {
				env := parsed(t, s.raw)
				if s.to[0] == "integrator@alfa.example" && strings.Contains(env.GetHeader("Subject"), "A question about your request") {
					found = strings.Contains(env.Text, "Which endpoint?") && env.GetHeader("Content-Language") == "en"
				}
			}
			if !found {
				t.Errorf("no English question to the integrator")
			}
			_ = auth.System
			_ = context.Background
		})
	}
}

// A server whose secret key does not open the reply-address key in the
// database (a replica started with another key) still sends notices, but
// signs no reply-to address with a key it does not have: replies go to the
// support address and find the request by their references.
func TestNoticesWithoutTheReplyKey(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, mail.Config{}) // makes the reply-address key
			if rep, err := e.app.Store.UseSecretKey(e.ctx, bytes.Repeat([]byte{8}, store.SecretKeySize)); err != nil || !rep.ReplyKeyUnreadable {
				t.Fatalf("another server key: %+v %v", rep, err)
			}
			sk, relay := startSink(t)
			sender := newSender(t, e, relay)
			if _, err := sender.Sweep(e.ctx); err != nil {
				t.Fatal(err)
			}
			base := len(sk.messages())
			res := e.deliver(msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Door 7", "Message-ID: <nokey1@beta.example>"}, "Door 7 is stuck."))
			if rep, err := sender.Sweep(e.ctx); err != nil || rep.Sent != 1 {
				t.Fatalf("sweep: %+v %v", rep, err)
			}
			got := sk.messages()[base:]
			if len(got) != 1 {
				t.Fatalf("arrived: %+v", got)
			}
			n := parsed(t, got[0].raw)
			if rt := n.GetHeader("Reply-To"); rt != "" {
				t.Errorf("a reply-to address signed without the key: %q", rt)
			}
			reply := e.deliver(msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Re: Door 7",
				"Message-ID: <nokey2@beta.example>", "In-Reply-To: " + n.GetHeader("Message-Id")}, "Still stuck."))
			if reply.Outcome != store.MailComment || reply.RequestID != res.RequestID {
				t.Errorf("a reply to the notice: %+v", reply)
			}
		})
	}
}
