package mail_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/mail"
	"tend/internal/store"
)

// postfixDSN is a bounce as Postfix 3 writes it (bounce(8) with its
// default template): null sender, to the returned message's envelope
// sender, a text part, a message/delivery-status part, and the returned
// message (here its headers only: text/rfc822-headers, as Postfix sends
// past bounce_size_limit, or the whole message as message/rfc822; nothing
// when returned is empty).
func postfixDSN(queueID, to, rcpt, returned string, headersOnly bool) string {
	part := "message/rfc822"
	if headersOnly {
		part = "text/rfc822-headers"
		if i := strings.Index(returned, "\r\n\r\n"); i >= 0 {
			returned = returned[:i+2]
		}
	}
	b := queueID + ".1772435100/mx.vendor.example"
	dsn := strings.ReplaceAll(`Return-Path: <>
Received: by mx.vendor.example (Postfix)
	id `+queueID+`; Mon,  2 Mar 2026 10:05:00 +0300 (MSK)
Date: Mon,  2 Mar 2026 10:05:00 +0300 (MSK)
From: MAILER-DAEMON@mx.vendor.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: `+to+`
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="`+b+`"
Content-Transfer-Encoding: 8bit
Message-Id: <20260302070500.`+queueID+`@mx.vendor.example>

This is a MIME-encapsulated message.

--`+b+`
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.vendor.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<`+rcpt+`>: host mx.alfa.example[192.0.2.10] said: 550 5.1.1
    <`+rcpt+`>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--`+b+`
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.vendor.example
X-Postfix-Queue-ID: `+queueID+`
X-Postfix-Sender: rfc822; `+to+`
Arrival-Date: Mon,  2 Mar 2026 10:04:58 +0300 (MSK)

Final-Recipient: rfc822; `+rcpt+`
Original-Recipient: rfc822;`+rcpt+`
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.alfa.example
Diagnostic-Code: smtp; 550 5.1.1 <`+rcpt+`>: Recipient address rejected: User
    unknown in virtual mailbox table

`, "\n", "\r\n")
	if returned == "" {
		return dsn + "--" + b + "--\r\n"
	}
	return dsn + "--" + b + "\r\nContent-Description: Undelivered Message\r\nContent-Type: " + part + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		returned + "\r\n--" + b + "--\r\n"
}

func TestReadDeliveryReports(t *testing.T) {
	notice := "Message-ID: <tend.0123456789abcdef01234567@vendor.example>\r\nSubject: [REQ-2026-000001] Registered\r\n\r\nBody.\r\n"
	for _, headersOnly := range []bool{false, true} {
		m := mail.Parse([]byte(postfixDSN("3B1C2", "support+bounce-0123456789abcdef01234567@vendor.example", "gone@alfa.example", notice, headersOnly)))
		r := m.Report
		if r == nil || !r.Failed || r.Status != "5.1.1" || r.Recipient != "gone@alfa.example" || r.MessageID != "<tend.0123456789abcdef01234567@vendor.example>" ||
			!strings.Contains(r.Diagnostic, "550 5.1.1") || !strings.Contains(r.Diagnostic, "User unknown in virtual mailbox table") {
			t.Errorf("headers only %v: %+v", headersOnly, r)
		}
		if mail.Noise(m, "", true, "vendor.example") == "" {
			t.Error("a DSN is not noise")
		}
	}
	// Real reports from the public corpus: one puts a human text under the
	// report's type before the real one.
	gen := corpus(t)
	r := mail.Parse(gen[filepath.Join("testdata", "corpus", "mikel-mail", "multipart_report_emails", "multipart_report_multiple_status.eml")]).Report
	if r == nil || !r.Failed || r.Status != "5.3.0" || r.Recipient != "u@ci.com" || r.MessageID != "<4c2a146147ac8_61ff157c4ec1652df@s.h.c.mail>" {
		t.Errorf("multiple status: %+v", r)
	}
	// A delay is a report, not a failure.
	delayed := strings.Replace(postfixDSN("4C2D3", "support@vendor.example", "slow@alfa.example", notice, true), "Action: failed\r\nStatus: 5.1.1", "Action: delayed\r\nStatus: 4.4.1", 1)
	if r := mail.Parse([]byte(delayed)).Report; r == nil || r.Failed || r.Action != "delayed" {
		t.Errorf("delayed: %+v", r)
	}
	if r := mail.Parse(gen[filepath.Join("testdata", "generated", "autoreply-outlook.eml")]).Report; r != nil {
		t.Errorf("an auto-reply read as a report: %+v", r)
	}
}

// bounceEnv is a tend with two sent notices to contacts whose mailboxes
// are gone, as the relay reports later.
type bounceEnv struct {
	*env
	sent []sunk // the notices as the relay got them
}

// sentNotice makes a request by mail from the contact and sends its
// registration notice through a relay on loopback; it answers the request
// and the notice as sent.
func (e *env) sentNotice(t *testing.T, sender *mail.Sender, sk *sink, from, id string) (store.MailResult, sunk) {
	t.Helper()
	before := len(sk.messages())
	res := e.deliver(msg([]string{"From: " + from, "To: support@vendor.example", "Subject: Шлюз не отвечает " + id, "Message-ID: <" + id + "@alfa.example>"}, "Шлюз перестал отвечать."))
	if rep, err := sender.Sweep(e.ctx); err != nil || rep.Sent == 0 {
		t.Fatalf("sweep: %+v %v", rep, err)
	}
	for _, s := range sk.messages()[before:] {
		if s.to[0] == from {
			return res, s
		}
	}
	t.Fatalf("no notice to %s", from)
	return res, sunk{}
}

func headerOf(raw []byte, name string) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
		if line == "" {
			break
		}
	}
	return ""
}

// checkBounced asserts that a bounce marked the notice failed with the
// remote server's reason, on the request's journal and mail, without a
// new request or any reply.
func checkBounced(t *testing.T, e *env, req store.MailResult, rcpt string, requestsBefore, noticesBefore int) {
	t.Helper()
	m := e.mailOf(req.RequestID)
	var failed *store.NoticeRecord
	for i, n := range m.Notices {
		if n.To == rcpt && n.Kind == store.NoticeRegistered {
			failed = &m.Notices[i]
		}
	}
	if failed == nil || failed.State != "failed" || !strings.Contains(failed.LastError, "5.1.1") || !strings.Contains(failed.LastError, "User unknown") {
		t.Fatalf("notice after the bounce: %+v", failed)
	}
	var bounce *store.MailRecord
	for i, r := range m.Messages {
		if r.Direction == "in" && r.Outcome == store.MailIgnored {
			bounce = &m.Messages[i]
		}
	}
	if bounce == nil || !bounce.Internal || !strings.Contains(bounce.Reason, "bounce of the registered notice to "+rcpt) {
		t.Errorf("the bounce on the request: %+v", bounce)
	}
	if !strings.Contains(actions(e.journal("request", req.RequestID)), "mail_failed") {
		t.Errorf("journal: %s", actions(e.journal("request", req.RequestID)))
	}
	// Customers see neither the bounce nor the outbox.
	contact := e.account(rcpt)
	cm, err := e.app.Store.MailOfRequest(e.ctx, contact.Principal(), req.RequestID)
	if err != nil || len(cm.Notices) != 0 {
		t.Errorf("the contact's view: %+v %v", cm, err)
	}
	for _, r := range cm.Messages {
		if r.Outcome == store.MailIgnored {
			t.Errorf("the contact sees the bounce: %+v", r)
		}
	}
	if got := e.countMail(store.MailRequest) + e.countMail(store.MailTriage); got != requestsBefore {
		t.Errorf("requests from mail: %d, want %d: a bounce made one", got, requestsBefore)
	}
	if got := e.outbox(); got != noticesBefore {
		t.Errorf("notices: %d, want %d: a bounce was answered", got, noticesBefore)
	}
}

func (e *env) outbox() int {
	e.t.Helper()
	l, err := e.app.Store.ListMail(e.ctx, auth.System, store.MailFilter{Direction: "out"})
	if err != nil {
		e.t.Fatal(err)
	}
	n := l.Total
	return n
}

// A Postfix bounce of a notice, sent by swaks to tend's SMTP listener:
// the notice is failed with the diagnostic, shown on the request, and
// nothing else happens. An out-of-office reply to the same VERP address
// fails nothing.
func TestBounceThroughSMTPListener(t *testing.T) {
	swaks := needTool(t, "swaks")
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, mail.Config{})
			sk, relay := startSink(t)
			sender := newSender(t, e, relay)
			sender.Sweep(e.ctx) // the demo's own notices
			req, sent := e.sentNotice(t, sender, sk, "operator@alfa.example", "gw-1")
			host, port, _ := net.SplitHostPort(startSMTP(t, e))
			send := func(from, to, data string) string {
				t.Helper()
				file := filepath.Join(t.TempDir(), "msg.eml")
				os.WriteFile(file, []byte(data), 0o644)
				out, err := exec.Command(swaks, "--server", host, "--port", port, "--helo", "mx.vendor.example", "--timeout", "30",
					"--from", from, "--to", to, "--data", "@"+file).CombinedOutput()
				if err != nil {
					t.Fatalf("swaks: %v\n%s", err, out)
				}
				return string(out)
			}
			requests, notices := e.countMail(store.MailRequest)+e.countMail(store.MailTriage), e.outbox()

			// Out of office, to the notice's envelope sender (RFC 3834).
			send("", sent.from, "From: operator@alfa.example\r\nTo: "+sent.from+"\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n"+
				"Message-ID: <oof-1@alfa.example>\r\nIn-Reply-To: "+headerOf(sent.raw, "Message-Id")+"\r\n\r\nI am away until Monday.\r\n")
			for _, n := range e.mailOf(req.RequestID).Notices {
				if n.State == "failed" {
					t.Fatalf("an auto-reply failed the notice: %+v", n)
				}
			}

			// The bounce: Postfix returns the whole notice to its VERP address.
			out := send("", sent.from, postfixDSN("3B1C2", sent.from, "operator@alfa.example", string(sent.raw), false))
			if !strings.Contains(out, "<-  250 2.0.0 OK") {
				t.Errorf("the listener did not take the bounce:\n%s", out)
			}
			checkBounced(t, e, req, "operator@alfa.example", requests, notices)

			// A report that returns nothing of the notice: its VERP address
			// alone names it.
			req2, sent2 := e.sentNotice(t, sender, sk, "admin@gamma.example", "gw-2")
			requests, notices = e.countMail(store.MailRequest)+e.countMail(store.MailTriage), e.outbox()
			send("", sent2.from, postfixDSN("5D4E3", sent2.from, "admin@gamma.example", "", false))
			checkBounced(t, e, req2, "admin@gamma.example", requests, notices)

			// Through the API: staff see the failure on the request.
			agent := e.app.Login(t, "agent@vendor.example", "demo")
			var got store.RequestMail
			agent.Do("GET", fmt.Sprintf("/api/v1/requests/%d/mail", req.RequestID), nil, 200, &got)
			found := false
			for _, n := range got.Notices {
				found = found || n.State == "failed" && strings.Contains(n.LastError, "User unknown")
			}
			if !found {
				t.Errorf("GET /requests/%d/mail: %+v", req.RequestID, got.Notices)
			}
		})
	}
}

// The same through a mailbox: the MTA delivered the bounce to the support
// mailbox (plus addressing), and the poller reads it from Dovecot. Here
// the report returns only the headers, and reached the plain support
// address: the Message-ID it quotes is enough.
func TestBounceThroughDovecot(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			d := startDovecot(t)
			e := newEnv(t, engine, mail.Config{})
			sk, relay := startSink(t)
			sender := newSender(t, e, relay)
			sender.Sweep(e.ctx)
			req, sent := e.sentNotice(t, sender, sk, "admin@beta.example", "ctl-7")
			requests, notices := e.countMail(store.MailRequest)+e.countMail(store.MailTriage), e.outbox()

			d.appendMessage(t, []byte(postfixDSN("7F0A1", "support@vendor.example", "admin@beta.example", string(sent.raw), true)))
			poller := mail.NewPoller(e.app.Store, e.rc, quiet)
			poller.TLSConfig = &tls.Config{RootCAs: d.roots}
			if n, err := poller.PollOnce(e.ctx, e.addMailbox(d.mailbox("support", "starttls"))); err != nil || n != 1 {
				t.Fatalf("poll: %d %v", n, err)
			}
			checkBounced(t, e, req, "admin@beta.example", requests, notices)
		})
	}
}
