package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/blob"
	"tend/internal/mail"
	"tend/internal/store"
)

func TestMailAPI(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@vendor.example", "demo")
			agent := app.Login(t, "agent@vendor.example", "demo")
			betaAdmin := app.Login(t, "admin@beta.example", "demo")
			alfaAdmin := app.Login(t, "admin@alfa.example", "demo")

			// Mailboxes: admins only; the password is never answered.
			var box struct {
				ID          int64
				Password    string
				PasswordSet bool `json:"password_set"`
				Port        int
				Folder      string
			}
			admin.Do("POST", "/api/v1/mail/mailboxes", map[string]any{"name": "support", "host": "imap.vendor.example", "username": "support", "password": "pw"}, 201, &box)
			if box.Password != "" || !box.PasswordSet || box.Port != 993 || box.Folder != "INBOX" {
				t.Errorf("created mailbox %+v", box)
			}
			agent.Do("POST", "/api/v1/mail/mailboxes", map[string]any{"name": "x", "host": "h", "username": "u"}, 403, nil)
			for _, c := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"name": "a", "host": "h", "username": "u", "security": "ssl3"}, "security"},
				{map[string]any{"name": "a", "host": "h", "username": "u", "port": 70000}, "port"},
				{map[string]any{"name": "a", "host": "imap://h", "username": "u"}, "host"},
				{map[string]any{"name": "a", "host": "h", "username": "u", "product_id": 9999}, "product_id"},
				{map[string]any{"name": "a", "host": "h", "username": "u", "colour": "red"}, "colour"},
			} {
				resp := admin.Call("POST", "/api/v1/mail/mailboxes", c.body)
				if _, field, _ := resp.Error(); resp.Status != 422 || field != c.field {
					t.Errorf("%v: %d %s", c.body, resp.Status, resp.Body)
				}
			}
			if resp := admin.Call("POST", "/api/v1/mail/mailboxes", map[string]any{"name": "support", "host": "h", "username": "u"}); resp.Status != 409 {
				t.Errorf("duplicate name: %d", resp.Status)
			}
			admin.Do("PATCH", fmt.Sprintf("/api/v1/mail/mailboxes/%d", box.ID), map[string]any{"poll_seconds": 30}, 200, nil)
			boxes, err := app.Store.MailboxesToRead(context.Background())
			if err != nil || len(boxes) != 1 || boxes[0].Password != "pw" || boxes[0].PollSeconds != 30 {
				t.Errorf("after PATCH without a password: %+v %v", boxes, err)
			}
			var list struct{ Total int }
			admin.Do("GET", "/api/v1/mail/mailboxes", nil, 200, &list)
			if list.Total != 1 {
				t.Errorf("mailboxes: %d", list.Total)
			}

			// Mail arrives.
			files, _ := blob.NewDisk(app.Files)
			rc, err := mail.NewReceiver(context.Background(), app.Store, files, slog.New(slog.DiscardHandler), mail.Config{Address: "support@vendor.example"})
			if err != nil {
				t.Fatal(err)
			}
			deliver := func(raw string) store.MailResult {
				res, err := rc.Deliver(context.Background(), []byte(strings.ReplaceAll(raw, "\n", "\r\n")), mail.Envelope{Source: "smtp"})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			fromBeta := "From: admin@beta.example\nTo: support@vendor.example\nSubject: Help\nMessage-ID: <api1@beta.example>\n\nPlease help.\n"
			known := deliver(fromBeta)
			unknown := deliver("From: Newcomer <new@else.example>\nSubject: Hello\nMessage-ID: <api2@else.example>\n\nWho do I ask?\n")

			var rm struct {
				Messages []struct {
					ID          int64
					HasOriginal bool `json:"has_original"`
				}
				Notices []struct{ Kind, State string }
			}
			betaAdmin.Do("GET", fmt.Sprintf("/api/v1/requests/%d/mail", known.RequestID), nil, 200, &rm)
			if len(rm.Messages) != 1 || !rm.Messages[0].HasOriginal || len(rm.Notices) != 0 {
				t.Errorf("the customer's view of the request's mail: %+v", rm)
			}
			agent.Do("GET", fmt.Sprintf("/api/v1/requests/%d/mail", known.RequestID), nil, 200, &rm)
			if len(rm.Notices) != 1 || rm.Notices[0].Kind != "registered" || rm.Notices[0].State != "pending" {
				t.Errorf("the desk's view: %+v", rm)
			}
			alfaAdmin.Do("GET", fmt.Sprintf("/api/v1/requests/%d/mail", known.RequestID), nil, 404, nil)

			// The original, byte for byte, through the request's access control.
			resp := betaAdmin.Call("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", known.ID), nil)
			if resp.Status != 200 || string(resp.Body) != strings.ReplaceAll(fromBeta, "\n", "\r\n") ||
				resp.Header.Get("Content-Type") != "message/rfc822" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
				t.Errorf("original: %d %v %q", resp.Status, resp.Header, resp.Body)
			}
			alfaAdmin.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", known.ID), nil, 404, nil)
			betaAdmin.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", unknown.ID), nil, 404, nil)
			agent.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", unknown.ID), nil, 200, nil)
			admin.Do("GET", "/api/v1/mail/messages/999999/original", nil, 404, nil)

			// The mail log and the triage queue are the desk's.
			var log struct{ Total int }
			agent.Do("GET", "/api/v1/mail/messages?direction=in", nil, 200, &log)
			if log.Total != 2 {
				t.Errorf("mail log: %d", log.Total)
			}
			if resp := agent.Call("GET", "/api/v1/mail/messages?outcome=lost", nil); resp.Status != 422 {
				t.Errorf("bad outcome: %d", resp.Status)
			}
			var triage struct {
				Items []struct {
					ID      int64
					Version int64
				}
			}
			agent.Do("GET", "/api/v1/mail/triage", nil, 200, &triage)
			found := false
			for _, it := range triage.Items {
				found = found || it.ID == unknown.RequestID
			}
			if !found {
				t.Fatalf("the unknown sender's request is not in triage: %+v", triage)
			}
			beta := customerID(t, admin, "beta")
			product := firstID(t, admin, fmt.Sprintf("/api/v1/licenses?customer_id=%d", beta))
			var lic struct {
				ProductID int64 `json:"product_id"`
			}
			admin.Do("GET", fmt.Sprintf("/api/v1/licenses/%d", product), nil, 200, &lic)
			path := fmt.Sprintf("/api/v1/requests/%d/customer", unknown.RequestID)
			if resp := agent.Call("POST", path, map[string]any{"customer_id": beta}); resp.Status != 422 {
				t.Errorf("no product: %d %s", resp.Status, resp.Body)
			}
			if resp := agent.Call("POST", path, map[string]any{"customer_id": beta, "product_id": lic.ProductID, "version": 99}); resp.Status != 409 {
				t.Errorf("stale version: %d %s", resp.Status, resp.Body)
			}
			var assigned struct {
				CustomerID int64 `json:"customer_id"`
				Covered    bool
			}
			agent.Do("POST", path, map[string]any{"customer_id": beta, "product_id": lic.ProductID}, 200, &assigned)
			if assigned.CustomerID != beta || !assigned.Covered {
				t.Errorf("assigned %+v", assigned)
			}
			betaAdmin.Do("POST", path, map[string]any{"customer_id": beta, "product_id": lic.ProductID}, 403, nil)

			// Preferences: one's own.
			var prefs struct {
				EssentialOnly bool `json:"essential_only"`
			}
			betaAdmin.Do("PUT", "/api/v1/mail/preferences", map[string]any{"essential_only": true}, 200, nil)
			betaAdmin.Do("GET", "/api/v1/mail/preferences", nil, 200, &prefs)
			if !prefs.EssentialOnly {
				t.Errorf("preferences not kept")
			}
			if resp := betaAdmin.Call("PUT", "/api/v1/mail/preferences", map[string]any{"essential_only": "yes"}); resp.Status != 422 {
				t.Errorf("bad preferences: %d", resp.Status)
			}
		})
	}
}

// A request's mail as a customer sees it holds only what passed between
// the desk and their own organisation's people: not the notice that told
// the assignee the customer wrote (a staff address), not a stranger's
// note, not a bounce, not the desk's notes on a message; the desk sees all
// of it. The originals follow the same rule.
func TestRequestMailAccess(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			agent := app.Login(t, "agent@vendor.example", "demo")
			betaAdmin := app.Login(t, "admin@beta.example", "demo")
			files, _ := blob.NewDisk(app.Files)
			rc, err := mail.NewReceiver(ctx, app.Store, files, slog.New(slog.DiscardHandler), mail.Config{Address: "support@vendor.example"})
			if err != nil {
				t.Fatal(err)
			}
			deliver := func(raw string, env mail.Envelope) store.MailResult {
				t.Helper()
				res, err := rc.Deliver(ctx, []byte(strings.ReplaceAll(raw, "\n", "\r\n")), env)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			smtp := mail.Envelope{Source: "smtp"}
			sendAll := func() map[string]string { // notice kind → its Message-ID
				t.Helper()
				sent := map[string]string{}
				notices, err := app.Store.ClaimNotices(ctx, 100, time.Minute, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range notices {
					id := "<tend." + n.Token + "@vendor.example>"
					if err := app.Store.NoticeSent(ctx, n.ID, id, "["+n.Number+"] "+n.Subject); err != nil {
						t.Fatal(err)
					}
					sent[n.Kind] = n.Token
				}
				return sent
			}

			first := deliver("From: admin@beta.example\nTo: support@vendor.example\nSubject: Turnstile 4 is stuck\nMessage-ID: <acc1@beta.example>\n\nIt does not turn.\n", smtp)
			if first.Outcome != store.MailRequest {
				t.Fatalf("first: %+v", first)
			}
			reqMail := fmt.Sprintf("/api/v1/requests/%d/mail", first.RequestID)
			agent.Do("POST", fmt.Sprintf("/api/v1/requests/%d/actions", first.RequestID), map[string]any{"action": "take"}, 200, nil)
			registered := sendAll()["registered"]
			if registered == "" {
				t.Fatal("no registration notice was sent")
			}
			// The customer answers by mail: a comment, and a notice to the
			// assignee, who is staff.
			reply := deliver("From: admin@beta.example\nTo: support@vendor.example\nSubject: Re: Turnstile 4 is stuck\nMessage-ID: <acc2@beta.example>\nIn-Reply-To: <acc1@beta.example>\n\nStill stuck.\n", smtp)
			if reply.Outcome != store.MailComment {
				t.Fatalf("reply: %+v", reply)
			}
			toAssignee := sendAll()["customer_reply"]
			if toAssignee == "" {
				t.Fatal("the assignee was not told the customer wrote")
			}
			// A stranger in the thread, and a bounce of the registration notice.
			note := deliver("From: Mallory <mallory@evil.example>\nTo: support@vendor.example\nSubject: Re: Turnstile 4 is stuck\nMessage-ID: <acc3@evil.example>\nReferences: <acc1@beta.example>\n\nMe too.\n", smtp)
			bounce := deliver("From: MAILER-DAEMON@mx.beta.example\nTo: support+bounce-"+registered+"@vendor.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <acc4@mx.beta.example>\n\nThe mail could not be delivered.\n",
				mail.Envelope{Source: "smtp", FromSet: true, Rcpt: []string{"support+bounce-" + registered + "@vendor.example"}})
			if note.Outcome != store.MailNote || bounce.Outcome != store.MailIgnored || bounce.RequestID != first.RequestID {
				t.Fatalf("note %+v, bounce %+v", note, bounce)
			}

			type record struct {
				ID                  int64
				Direction, From, To string
				Outcome, Reason     string
				Internal            bool
			}
			var view struct {
				Messages []record
				Notices  []struct{ Kind, To string }
			}
			resp := betaAdmin.Do("GET", reqMail, nil, 200, &view)
			for _, staff := range []string{"agent@vendor.example", "mallory@evil.example", "mailer-daemon", "customer_reply", "bounce"} {
				if strings.Contains(strings.ToLower(string(resp.Body)), staff) {
					t.Errorf("the customer's view holds %q: %s", staff, resp.Body)
				}
			}
			var got []string
			for _, m := range view.Messages {
				got = append(got, m.Direction+" "+m.From+m.To+" "+m.Outcome)
				if m.Internal || m.Reason != "" {
					t.Errorf("the customer sees the desk's side of %+v", m)
				}
			}
			want := []string{"in admin@beta.examplesupport@vendor.example request", "out admin@beta.example sent", "in admin@beta.examplesupport@vendor.example comment"}
			if strings.Join(got, "; ") != strings.Join(want, "; ") || len(view.Notices) != 0 {
				t.Errorf("the customer's view:\n got %q\nwant %q\nnotices %+v", got, want, view.Notices)
			}
			resp = agent.Do("GET", reqMail, nil, 200, &view)
			if !strings.Contains(string(resp.Body), `"to":"agent@vendor.example"`) || len(view.Messages) != 6 {
				t.Errorf("the desk's view lacks the staff notice: %s", resp.Body)
			}
			kinds := ""
			for _, n := range view.Notices {
				kinds += n.Kind + "→" + n.To + " "
			}
			if !strings.Contains(kinds, "customer_reply→agent@vendor.example") {
				t.Errorf("the desk's notices: %s", kinds)
			}

			// The notice to the assignee bounces too: its failure, with the
			// staff address, is in the desk's journal, not in the customer's.
			deliver("From: MAILER-DAEMON@mx.vendor.example\nTo: support+bounce-"+toAssignee+"@vendor.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <acc5@mx.vendor.example>\n\nMailbox full.\n",
				mail.Envelope{Source: "smtp", FromSet: true, Rcpt: []string{"support+bounce-" + toAssignee + "@vendor.example"}})
			journal := fmt.Sprintf("/api/v1/journal?entity=request&entity_id=%d&limit=200", first.RequestID)
			if resp := agent.Do("GET", journal, nil, 200, nil); !strings.Contains(string(resp.Body), "customer_reply notice to agent@vendor.example came back") {
				t.Errorf("the desk's journal lacks the failed notice to the assignee: %s", resp.Body)
			}
			if resp := betaAdmin.Do("GET", journal, nil, 200, nil); strings.Contains(string(resp.Body), "agent@vendor.example") ||
				!strings.Contains(string(resp.Body), "registered notice to admin@beta.example came back") {
				t.Errorf("the customer's journal: %s", resp.Body)
			}
			// The request itself and its own journal say no more.
			reqURL := fmt.Sprintf("/api/v1/requests/%d", first.RequestID)
			for _, path := range []string{reqURL, reqURL + "/journal?limit=200"} {
				if resp := betaAdmin.Do("GET", path, nil, 200, nil); strings.Contains(string(resp.Body), "agent@vendor.example") {
					t.Errorf("the customer's %s names the assignee's address: %s", path, resp.Body)
				}
				if resp := agent.Do("GET", path, nil, 200, nil); !strings.Contains(string(resp.Body), "agent@vendor.example") {
					t.Errorf("the desk's %s lacks the failed notice: %s", path, resp.Body)
				}
			}

			// The originals: the customer's own, not the stranger's nor the bounce.
			betaAdmin.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", first.ID), nil, 200, nil)
			for _, id := range []int64{note.ID, bounce.ID} {
				betaAdmin.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", id), nil, 404, nil)
				agent.Do("GET", fmt.Sprintf("/api/v1/mail/messages/%d/original", id), nil, 200, nil)
			}
		})
	}
}
