package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

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
