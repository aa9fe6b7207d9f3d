package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/mail"
	"tend/internal/store"
)

// mailIn delivers one plain-text message to tend as the SMTP listener or
// the IMAP poller would: the real receiver keeps the original, parses,
// threads and records it.
func mailIn(t *testing.T, app *apptest.App, from, name, subject, body string, headers ...string) (store.MailResult, string) {
	t.Helper()
	ctx := context.Background()
	blobs, err := blob.NewDisk(app.Files)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := mail.NewReceiver(ctx, app.Store, blobs, slog.New(slog.DiscardHandler), mail.Config{Address: "support@vendor.example"})
	if err != nil {
		t.Fatal(err)
	}
	mailSeq++
	raw := fmt.Sprintf("From: %s <%s>\r\nTo: support@vendor.example\r\nSubject: %s\r\nMessage-ID: <web-test-%d-%d@example.net>\r\n"+
		"Date: Mon, 02 Mar 2026 09:30:00 +0300\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		name, from, subject, time.Now().UnixNano(), mailSeq, strings.Join(headers, ""), body)
	res, err := rc.Deliver(ctx, []byte(raw), mail.Envelope{Source: "smtp", MailFrom: from, FromSet: true, Rcpt: []string{"support@vendor.example"}})
	if err != nil {
		t.Fatalf("deliver %q: %v", subject, err)
	}
	return res, raw
}

var mailSeq int

// fieldInvalid checks that an input is marked invalid and points at its message.
func fieldInvalid(t *testing.T, body, id string) {
	t.Helper()
	if !regexp.MustCompile(`id="`+id+`"[^>]*aria-describedby="[^"]*`+id+`-error"[^>]*aria-invalid="true"`).MatchString(body) ||
		!strings.Contains(body, `id="`+id+`-error"`) {
		t.Errorf("%s is not marked invalid: %s", id, deskSnippet(body))
	}
}

func principalOf(t *testing.T, app *apptest.App, login string) auth.Principal {
	t.Helper()
	a, err := app.Store.AccountByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return a.Principal()
}

// Admins add, change, stop and restart reading mailboxes. A refused value
// comes back by its field and writes nothing; the password is write-only.
func TestMailboxPages(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			adminP := principalOf(t, app, "admin@vendor.example")
			admin := deskSignIn(t, app, "admin@vendor.example")
			body, token := deskPage(t, admin, base+"/admin/mailboxes", 200)
			if !strings.Contains(body, "No mailboxes yet") || !strings.Contains(body, `href="/admin/mailboxes" aria-current="page"`) {
				t.Fatalf("the empty list: %s", deskSnippet(body))
			}
			const secret = "s3cret-imap-pass"
			box := func(kv ...string) url.Values {
				v := url.Values{"csrf": {token}, "name": {"Support"}, "host": {"imap.example.net"}, "port": {""}, "security": {"starttls"},
					"username": {"support@vendor.example"}, "password": {secret}, "folder": {"INBOX"}, "poll_seconds": {"60"}, "enabled": {"on"}}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			count := func() int {
				t.Helper()
				l, err := app.Store.ListMailboxes(ctx, adminP, store.Page{Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				return l.Total
			}
			for _, bad := range []struct{ field, value, id, says string }{
				{"port", "99999", "new-mailbox-port", "from 1 to 65535"},
				{"port", "abc", "new-mailbox-port", "from 1 to 65535"},
				{"host", "imap://imap.example.net", "new-mailbox-host", "without imap://"},
				{"username", " ", "new-mailbox-username", "login"},
				{"poll_seconds", "2", "new-mailbox-poll-seconds", "from 5 to 86400"},
				{"product_id", "x", "new-mailbox-product-id", "Choose a product"},
				{"product_id", "999", "new-mailbox-product-id", "Choose a product"},
			} {
				status, _, body := deskPost(t, admin, base+"/admin/mailboxes", box(bad.field, bad.value))
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("%s=%q: %d", bad.field, bad.value, status)
				}
				fieldInvalid(t, body, bad.id)
				if !strings.Contains(body, bad.says) {
					t.Errorf("%s=%q: the message does not say %q", bad.field, bad.value, bad.says)
				}
				if strings.Contains(body, secret) {
					t.Errorf("%s=%q: the password was put back into the page", bad.field, bad.value)
				}
				if !strings.Contains(body, `value="imap.example.net"`) && bad.field != "host" {
					t.Errorf("%s=%q: the host was lost", bad.field, bad.value)
				}
			}
			status, _, body := deskPost(t, admin, base+"/admin/mailboxes", box("security", "ssl"))
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="new-mailbox-security-error"`) {
				t.Errorf("security=ssl: %d", status)
			}
			if n := count(); n != 0 {
				t.Fatalf("refused forms wrote %d mailboxes", n)
			}
			// Without the CSRF token nothing happens.
			noCSRF := box()
			noCSRF.Del("csrf")
			if status, _, _ := deskPost(t, admin, base+"/admin/mailboxes", noCSRF); status != http.StatusForbidden || count() != 0 {
				t.Fatalf("a post without the token: %d, %d mailboxes", status, count())
			}

			status, loc, _ := deskPost(t, admin, base+"/admin/mailboxes", box())
			if status != http.StatusSeeOther || loc != "/admin/mailboxes" {
				t.Fatalf("create: %d %s", status, loc)
			}
			body, _ = deskPage(t, admin, base+"/admin/mailboxes", 200)
			for _, want := range []string{"“Support” is added", "imap.example.net:143 · INBOX", "STARTTLS", "IDLE, else every 60 s", "Not read yet", "Stop reading"} {
				if !strings.Contains(body, want) {
					t.Errorf("the list does not say %q: %s", want, deskSnippet(body[strings.Index(body, `id="mailboxes"`):]))
				}
			}
			if strings.Contains(body, secret) {
				t.Error("the list shows the password")
			}
			if status, _, body := deskPost(t, admin, base+"/admin/mailboxes", box("host", "imap2.example.net")); status != http.StatusUnprocessableEntity ||
				!strings.Contains(body, "A mailbox with this name already exists.") {
				t.Errorf("a taken name: %d", status)
			}
			id := regexp.MustCompile(`href="/admin/mailboxes/(\d+)"`).FindStringSubmatch(body)
			if id == nil {
				t.Fatal("no link to the mailbox")
			}
			page := "/admin/mailboxes/" + id[1]
			body, _ = deskPage(t, admin, base+page, 200)
			if strings.Contains(body, secret) || !regexp.MustCompile(`<input type="password" id="mailbox-password" name="password" autocomplete="new-password"`).MatchString(body) {
				t.Errorf("the edit form's password field: %s", deskSnippet(body[strings.Index(body, `id="mailbox-block"`):]))
			}

			// Edit: an empty password keeps the stored one.
			status, loc, _ = deskPost(t, admin, base+page, box("password", "", "poll_seconds", "120", "port", "1143", "name", "Support desk"))
			if status != http.StatusSeeOther || loc != "/admin/mailboxes/"+id[1] {
				t.Fatalf("edit: %d %s", status, loc)
			}
			read, err := app.Store.MailboxesToRead(ctx)
			if err != nil || len(read) != 1 {
				t.Fatalf("mailboxes to read: %v %v", read, err)
			}
			if m := read[0]; m.Password != secret || m.PollSeconds != 120 || m.Port != 1143 || m.Name != "Support desk" || m.Security != "starttls" {
				t.Errorf("after the edit: %+v", m)
			}
			// A refused edit changes nothing, not even the fields that were fine.
			status, _, body = deskPost(t, admin, base+page, box("password", "another", "poll_seconds", "3", "name", "Renamed"))
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("bad interval: %d", status)
			}
			fieldInvalid(t, body, "mailbox-poll-seconds")
			if strings.Contains(body, "another") {
				t.Error("the new password was put back into the page")
			}
			if read, _ := app.Store.MailboxesToRead(ctx); read[0].Name != "Support desk" || read[0].Password != secret || read[0].PollSeconds != 120 {
				t.Errorf("a refused edit wrote: %+v", read[0])
			}

			// Stop and start reading.
			if status, _, _ := deskPost(t, admin, base+page+"/enabled", url.Values{"csrf": {token}, "enabled": {"maybe"}}); status != http.StatusUnprocessableEntity {
				t.Errorf("enabled=maybe: %d", status)
			}
			if status, loc, _ := deskPost(t, admin, base+page+"/enabled", url.Values{"csrf": {token}, "enabled": {"false"}}); status != http.StatusSeeOther || loc != "/admin/mailboxes" {
				t.Fatalf("stop reading: %d %s", status, loc)
			}
			if read, _ := app.Store.MailboxesToRead(ctx); len(read) != 0 {
				t.Error("a stopped mailbox is still read")
			}
			body, _ = deskPage(t, admin, base+"/admin/mailboxes", 200)
			if !strings.Contains(body, "Support desk is no longer read.") || !strings.Contains(body, "Read again") {
				t.Errorf("after stopping: %s", deskSnippet(body))
			}
			deskPost(t, admin, base+page+"/enabled", url.Values{"csrf": {token}, "enabled": {"true"}})
			if read, _ := app.Store.MailboxesToRead(ctx); len(read) != 1 || read[0].Password != secret {
				t.Error("the mailbox is not read again, or lost its password")
			}
			// The last read, as the poller records it.
			mbID, _ := strconv.ParseInt(id[1], 10, 64)
			if err := app.Store.MailboxPolled(ctx, mbID, "dial tcp: connection refused"); err != nil {
				t.Fatal(err)
			}
			if body, _ := deskPage(t, admin, base+"/admin/mailboxes", 200); !strings.Contains(body, "dial tcp: connection refused") || !strings.Contains(body, "Failed") {
				t.Error("the last read's error is not shown")
			}

			// The mailboxes (and their passwords) are the admins' alone.
			agent := deskSignIn(t, app, "agent@vendor.example")
			body, agentToken := deskPage(t, agent, base+"/admin", 200)
			if strings.Contains(body, `href="/admin/mailboxes"`) {
				t.Error("an agent is offered the mailboxes")
			}
			for _, p := range []string{"/admin/mailboxes", page} {
				if status, _, _ := get(t, agent, base+p, "en"); status != http.StatusForbidden {
					t.Errorf("an agent's GET %s: %d", p, status)
				}
			}
			for _, p := range []string{"/admin/mailboxes", page, page + "/enabled"} {
				f := box("name", "Agent's", "enabled", "false")
				f.Set("csrf", agentToken)
				if status, _, _ := deskPost(t, agent, base+p, f); status != http.StatusForbidden {
					t.Errorf("an agent's POST %s: %d", p, status)
				}
			}
			for _, login := range []string{"admin@alfa.example", "operator@alfa.example"} {
				c := deskSignIn(t, app, login)
				_, ctoken := deskPage(t, c, base+"/password", 200)
				for _, p := range []string{"/admin/mailboxes", page} {
					if status, _, _ := get(t, c, base+p, "en"); status != http.StatusForbidden && status != http.StatusNotFound {
						t.Errorf("%s GET %s: %d", login, p, status)
					}
					f := box("name", "Mine")
					f.Set("csrf", ctoken)
					if status, _, _ := deskPost(t, c, base+p, f); status != http.StatusForbidden && status != http.StatusNotFound {
						t.Errorf("%s POST %s: %d", login, p, status)
					}
				}
			}
			if read, _ := app.Store.MailboxesToRead(ctx); len(read) != 1 || read[0].Name != "Support desk" || count() != 1 {
				t.Errorf("refused callers changed the mailboxes: %+v", read)
			}
		})
	}
}

// Products: staff read them, admins add and change them; a bad code is
// refused by its field and writes nothing.
func TestProductPages(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			adminP := principalOf(t, app, "admin@vendor.example")
			products := func() int {
				l, err := app.Store.ListProducts(ctx, adminP, store.Page{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				return l.Total
			}
			before := products()
			admin := deskSignIn(t, app, "admin@vendor.example")
			body, token := deskPage(t, admin, base+"/admin/products", 200)
			if !strings.Contains(body, "Security Platform") || !strings.Contains(body, "Hosted by the vendor") {
				t.Fatalf("the demo products are not listed: %s", deskSnippet(body))
			}
			form := func(kv ...string) url.Values {
				v := url.Values{"csrf": {token}, "code": {"gateway"}, "name": {"Access Gateway"}, "delivery": {"on_premises"}, "description": {"Turnstiles & <readers>"}}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			for _, bad := range []struct{ field, value, id, says string }{
				{"code", "Bad Code!", "new-product-code", "latin letters"},
				{"code", "portal", "new-product-code", "already exists"},
				{"name", " ", "new-product-name", "Give the product a name."},
			} {
				status, _, body := deskPost(t, admin, base+"/admin/products", form(bad.field, bad.value))
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("%s=%q: %d", bad.field, bad.value, status)
				}
				fieldInvalid(t, body, bad.id)
				if !strings.Contains(body, bad.says) || !strings.Contains(body, "Turnstiles &amp; &lt;readers&gt;") {
					t.Errorf("%s=%q: the message or the description is missing", bad.field, bad.value)
				}
			}
			if status, _, body := deskPost(t, admin, base+"/admin/products", form("delivery", "cloud")); status != http.StatusUnprocessableEntity ||
				!strings.Contains(body, `id="new-product-delivery-error"`) {
				t.Errorf("delivery=cloud: %d", status)
			}
			noCSRF := form()
			noCSRF.Del("csrf")
			if status, _, _ := deskPost(t, admin, base+"/admin/products", noCSRF); status != http.StatusForbidden {
				t.Errorf("without the token: %d", status)
			}
			if n := products(); n != before {
				t.Fatalf("refused forms wrote products: %d → %d", before, n)
			}
			status, loc, _ := deskPost(t, admin, base+"/admin/products", form())
			if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/products/") {
				t.Fatalf("create: %d %s", status, loc)
			}
			body, _ = deskPage(t, admin, base+loc, 200)
			if !strings.Contains(body, "“Access Gateway” is added") || !strings.Contains(body, `value="gateway"`) {
				t.Errorf("the new product's page: %s", deskSnippet(body))
			}
			if status, l2, _ := deskPost(t, admin, base+loc, form("name", "Access Gateway 2", "delivery", "hosted")); status != http.StatusSeeOther || l2 != loc {
				t.Errorf("edit: %d %s", status, l2)
			}
			if status, _, body := deskPost(t, admin, base+loc, form("code", "secplat", "name", "Not saved")); status != http.StatusUnprocessableEntity {
				t.Errorf("a taken code: %d", status)
			} else {
				fieldInvalid(t, body, "product-code")
			}
			id, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/admin/products/"), 10, 64)
			if p, err := app.Store.GetProduct(ctx, adminP, id); err != nil || p.Name != "Access Gateway 2" || p.Delivery != "hosted" || p.Code != "gateway" {
				t.Errorf("after the edits: %+v %v", p, err)
			}

			// An agent reads, and is refused a change.
			agent := deskSignIn(t, app, "agent@vendor.example")
			_, agentToken := deskPage(t, agent, base+"/admin/products", 200)
			f := form("code", "agents", "name", "Agent's")
			f.Set("csrf", agentToken)
			if status, _, _ := deskPost(t, agent, base+"/admin/products", f); status != http.StatusForbidden {
				t.Errorf("an agent's new product: %d", status)
			}
			if status, _, _ := deskPost(t, agent, base+loc, f); status != http.StatusForbidden {
				t.Errorf("an agent's edit: %d", status)
			}
			for _, login := range []string{"admin@alfa.example", "operator@beta.example"} {
				c := deskSignIn(t, app, login)
				_, ctoken := deskPage(t, c, base+"/password", 200)
				for _, p := range []string{"/admin/products", loc} {
					if status, _, _ := get(t, c, base+p, "en"); status != http.StatusForbidden && status != http.StatusNotFound {
						t.Errorf("%s GET %s: %d", login, p, status)
					}
				}
				f.Set("csrf", ctoken)
				if status, _, _ := deskPost(t, c, base+"/admin/products", f); status != http.StatusForbidden && status != http.StatusNotFound {
					t.Errorf("%s POST: %d", login, status)
				}
			}
			if n := products(); n != before+1 {
				t.Errorf("refused callers wrote products: %d", n)
			}
		})
	}
}

// A stranger's mail waits in triage, counted on the desk; an agent links it
// to a customer, its product and contact; bad choices are refused by their
// field and write nothing.
func TestTriagePages(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			agentP := principalOf(t, app, "agent@vendor.example")
			res, _ := mailIn(t, app, "ivan@unknown.example", "Ivan Petrov", "Printer at the depot rejects jobs", "Since Monday every job fails.\r\nIvan")
			if res.Outcome != store.MailTriage {
				t.Fatalf("a stranger's mail became %q", res.Outcome)
			}
			agent := deskSignIn(t, app, "agent@vendor.example")
			body, token := deskPage(t, agent, base+"/desk", 200)
			if !regexp.MustCompile(`id="triage-link">Triage <span class="n">1</span>`).MatchString(body) {
				t.Errorf("the desk does not count the triage queue: %s", deskSnippet(body))
			}
			body, _ = deskPage(t, agent, base+"/desk/triage", 200)
			for _, want := range []string{res.Number, "Printer at the depot rejects jobs", "Ivan Petrov &lt;ivan@unknown.example&gt;", fmt.Sprintf(`href="/desk/triage/%d"`, res.RequestID),
				`aria-label="Link ` + res.Number + ` to a customer"`} {
				if !strings.Contains(body, want) {
					t.Errorf("the triage list does not show %q", want)
				}
			}
			page := fmt.Sprintf("%s/desk/triage/%d", base, res.RequestID)
			body, _ = deskPage(t, agent, page, 200)
			if !strings.Contains(body, `<select id="customer" name="customer" required`) || strings.Contains(body, `id="triage"`) {
				t.Errorf("step one is not the customer: %s", deskSnippet(body))
			}
			body, _ = deskPage(t, agent, page+"?customer=1", 200)
			if !strings.Contains(body, `id="triage-product-id"`) || !strings.Contains(body, `id="triage-requester-id"`) || !strings.Contains(body, "Link to Alfa Energy") {
				t.Fatalf("step two: %s", deskSnippet(body))
			}
			version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)[1]
			op, _ := app.Store.AccountByLogin(ctx, "operator@alfa.example")
			betaOp, _ := app.Store.AccountByLogin(ctx, "operator@beta.example")
			unchanged := func(what string) {
				t.Helper()
				r, err := app.Store.GetRequest(ctx, agentP, res.RequestID)
				if err != nil || r.CustomerID != 0 || r.ProductID != 0 || r.RequesterID != 0 {
					t.Errorf("%s wrote: %+v %v", what, r, err)
				}
			}
			assign := func(kv ...string) url.Values {
				v := url.Values{"csrf": {token}, "customer_id": {"1"}, "product_id": {"1"}, "requester_id": {strconv.FormatInt(op.ID, 10)}, "version": {version}}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			noCSRF := assign()
			noCSRF.Del("csrf")
			if status, _, _ := deskPost(t, agent, page, noCSRF); status != http.StatusForbidden {
				t.Errorf("without the token: %d", status)
			}
			unchanged("a post without the token")
			for _, bad := range []struct{ field, value, id, says string }{
				{"product_id", "", "triage-product-id", "Choose the product"},
				{"product_id", "999", "triage-product-id", "Choose the product"},
				{"product_id", "x", "triage-product-id", "Choose the product"},
				{"requester_id", strconv.FormatInt(betaOp.ID, 10), "triage-requester-id", "a contact of this customer"},
			} {
				status, _, body := deskPost(t, agent, page, assign(bad.field, bad.value))
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("%s=%q: %d %s", bad.field, bad.value, status, deskSnippet(body))
				}
				fieldInvalid(t, body, bad.id)
				if !strings.Contains(body, bad.says) {
					t.Errorf("%s=%q: the message does not say %q", bad.field, bad.value, bad.says)
				}
				unchanged(bad.field + "=" + bad.value)
			}
			for _, cust := range []string{"", "999"} {
				status, _, body := deskPost(t, agent, page, assign("customer_id", cust))
				if status != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="customer"[^>]*aria-invalid="true"`).MatchString(body) ||
					!strings.Contains(body, "Choose the customer the request is from.") {
					t.Errorf("customer_id=%q: %d %s", cust, status, deskSnippet(body))
				}
			}
			status, _, body := deskPost(t, agent, page, assign("version", "999"))
			if status != http.StatusConflict || !strings.Contains(body, "Someone changed the request meanwhile") {
				t.Errorf("a stale version: %d %s", status, deskSnippet(body))
			}
			unchanged("the refused forms")

			// The customer's people may not triage.
			opc := deskSignIn(t, app, "operator@alfa.example")
			_, opToken := deskPage(t, opc, base+"/password", 200)
			for _, p := range []string{base + "/desk/triage", page} {
				if status, _, _ := get(t, opc, p, "en"); status != http.StatusForbidden {
					t.Errorf("an operator's GET %s: %d", p, status)
				}
			}
			f := assign()
			f.Set("csrf", opToken)
			if status, _, _ := deskPost(t, opc, page, f); status != http.StatusForbidden {
				t.Errorf("an operator's link: %d", status)
			}
			unchanged("the operator")

			status, loc, _ := deskPost(t, agent, page, assign())
			if status != http.StatusSeeOther || loc != "/desk/triage" {
				t.Fatalf("link: %d %s", status, loc)
			}
			body, _ = deskPage(t, agent, base+"/desk/triage", 200)
			if !strings.Contains(body, res.Number+" is linked to Alfa Energy.") || !strings.Contains(body, "Nothing to triage.") {
				t.Errorf("after linking: %s", deskSnippet(body))
			}
			r, err := app.Store.GetRequest(ctx, agentP, res.RequestID)
			if err != nil || r.CustomerID != 1 || r.ProductID != 1 || r.RequesterID != op.ID {
				t.Fatalf("the linked request: %+v %v", r, err)
			}
			body, _ = deskPage(t, agent, base+"/desk?customer=1", 200)
			if ids, _ := deskRows(body); !strings.Contains(strings.Join(ids, ","), strconv.FormatInt(res.RequestID, 10)) {
				t.Errorf("the request is not in Alfa's queue: %v", ids)
			}
			if body, _ := deskPage(t, agent, base+"/desk", 200); !strings.Contains(body, `id="triage-link">Triage <span class="n">0</span>`) {
				t.Error("the triage count did not go down")
			}
			// The operator now sees it as theirs.
			if status, _, _ := get(t, opc, fmt.Sprintf("%s/requests/%d", base, res.RequestID), "en"); status != 200 {
				t.Errorf("the operator's request page: %d", status)
			}
			if body, _ := deskPage(t, agent, page, 200); !strings.Contains(body, "linked to its customer and product already") {
				t.Error("the link page of a linked request still offers the form")
			}

			// A contact of a customer with two products: only the product is asked.
			own, _ := mailIn(t, app, "admin@alfa.example", "Алексей Альфин", "Which product is this about?", "Hello")
			if own.Outcome != store.MailRequest {
				t.Fatalf("a contact's mail became %q", own.Outcome)
			}
			body, _ = deskPage(t, agent, base+"/desk/triage", 200)
			if !strings.Contains(body, own.Number) || !strings.Contains(body, ">Product<") {
				t.Errorf("the contact's request is not in triage for its product: %s", deskSnippet(body))
			}
			ownPage := fmt.Sprintf("%s/desk/triage/%d", base, own.RequestID)
			body, _ = deskPage(t, agent, ownPage, 200)
			if strings.Contains(body, `id="customer"`) || !strings.Contains(body, `id="triage-product-id"`) {
				t.Errorf("the customer is asked again: %s", deskSnippet(body))
			}
			ownVersion := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)[1]
			if status, loc, _ := deskPost(t, agent, ownPage, url.Values{"csrf": {token}, "customer_id": {"1"}, "product_id": {"2"}, "version": {ownVersion}}); status != http.StatusSeeOther || loc != "/desk/triage" {
				t.Fatalf("choosing the product: %d %s", status, loc)
			}
			if r, err := app.Store.GetRequest(ctx, agentP, own.RequestID); err != nil || r.CustomerID != 1 || r.ProductID != 2 || r.RequesterID == 0 {
				t.Errorf("the contact's request after choosing the product: %+v %v", r, err)
			}
		})
	}
}

// A request's mail is on its page, each original downloadable as .eml by
// whoever may read the request; staff see a notice that could not be sent.
func TestRequestMail(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			res, raw := mailIn(t, app, "operator@alfa.example", "Ольга Операторова", "Gate 3 is offline", "The reader at gate 3 does not answer.")
			if res.Outcome != store.MailRequest {
				t.Fatalf("a contact's mail became %q", res.Outcome)
			}
			reqPage := fmt.Sprintf("%s/requests/%d", base, res.RequestID)
			href := fmt.Sprintf("/api/v1/mail/messages/%d/original", res.ID)
			op := deskSignIn(t, app, "operator@alfa.example")
			body, _ := deskPage(t, op, reqPage, 200)
			if !strings.Contains(body, `id="mail"`) || !strings.Contains(body, `href="`+href+`" download`) || !strings.Contains(body, "Gate 3 is offline") {
				t.Fatalf("the operator's request page has no mail: %s", deskSnippet(body[strings.Index(body, `id="conversation"`):]))
			}
			if strings.Contains(body, `<p class="hint">New request`) {
				t.Error("a customer is shown the desk's outcome of the message")
			}
			download := func(c *http.Client) (int, string, string) {
				resp, err := c.Get(base + href)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
			}
			if status, ct, got := download(op); status != 200 || ct != "message/rfc822" || got != raw {
				t.Errorf("the operator's download (with the page's session): %d %s, same bytes: %v", status, ct, got == raw)
			}
			if status, _, _ := download(deskSignIn(t, app, "operator@beta.example")); status != http.StatusNotFound {
				t.Errorf("another customer's download: %d", status)
			}
			if status, _, _ := download(client(t)); status != http.StatusUnauthorized {
				t.Errorf("an anonymous download: %d", status)
			}

			agent := deskSignIn(t, app, "agent@vendor.example")
			body, _ = deskPage(t, agent, reqPage, 200)
			if !strings.Contains(body, `<p class="hint">New request`) || !strings.Contains(body, `href="`+href+`"`) || strings.Contains(body, `id="mail-failed"`) {
				t.Errorf("the agent's mail card: %s", deskSnippet(body[strings.Index(body, `id="mail"`):]))
			}
			if !strings.Contains(body, "Registration") || !strings.Contains(body, "Waiting") {
				t.Error("the agent does not see the registration notice waiting")
			}
			// The relay refuses the registration notice for good.
			notices, err := app.Store.ClaimNotices(ctx, 1000, time.Minute, 0)
			if err != nil {
				t.Fatal(err)
			}
			failed := false
			for _, n := range notices {
				if n.RequestID == res.RequestID {
					if err := app.Store.NoticeFailed(ctx, n.ID, "550 5.1.1 <operator@alfa.example>: mailbox unavailable", nil); err != nil {
						t.Fatal(err)
					}
					failed = true
				}
			}
			if !failed {
				t.Fatal("no notice about the request was queued")
			}
			body, _ = deskPage(t, agent, reqPage, 200)
			box := regexp.MustCompile(`(?s)<section class="card callout mail-failed"[^>]*id="mail-failed">.*?</section>`).FindString(body)
			if !strings.Contains(box, "E-mail could not be sent") || !strings.Contains(box, "Registration") || !strings.Contains(box, "550 5.1.1") {
				t.Errorf("the failed notice is not shown to staff: %q", box)
			}
			if body, _ := deskPage(t, op, reqPage, 200); strings.Contains(body, "mail-failed") || strings.Contains(body, "550 5.1.1") {
				t.Error("the customer is shown the desk's failed notice")
			}

			// The agent takes the request and the operator answers by mail:
			// the assignee is told. That notice is the desk's: the operator's
			// card shows neither it nor the agent's address.
			if _, err := app.Store.Act(ctx, principalOf(t, app, "agent@vendor.example"), res.RequestID, store.ActInput{Action: desk.ActionTake}, ""); err != nil {
				t.Fatal(err)
			}
			reply, _ := mailIn(t, app, "operator@alfa.example", "Ольга Операторова", "Re: "+res.Number+" Gate 3 is offline", "Still offline.")
			if reply.Outcome != store.MailComment {
				t.Fatalf("the operator's reply became %q", reply.Outcome)
			}
			if notices, err = app.Store.ClaimNotices(ctx, 1000, time.Minute, 0); err != nil {
				t.Fatal(err)
			}
			told := false
			for _, n := range notices {
				if err := app.Store.NoticeSent(ctx, n.ID, fmt.Sprintf("<tend.%s@vendor.example>", n.Token), n.Subject); err != nil {
					t.Fatal(err)
				}
				told = told || (n.Kind == store.NoticeCustomerReply && n.ToAddr == "agent@vendor.example")
			}
			if !told {
				t.Fatal("the assignee was not told the customer wrote")
			}
			card := regexp.MustCompile(`(?s)<section class="card" aria-labelledby="mail-h" id="mail">.*?</section>`)
			body, _ = deskPage(t, op, reqPage, 200)
			if c := card.FindString(body); !strings.Contains(c, "Re: "+res.Number) || strings.Contains(c, "agent@vendor.example") {
				t.Errorf("the operator's mail card: %q", c)
			}
			body, _ = deskPage(t, agent, reqPage, 200)
			if c := card.FindString(body); !strings.Contains(c, "agent@vendor.example") {
				t.Errorf("the agent's mail card lacks the notice to the assignee: %q", c)
			}
		})
	}
}

// The mail log lists every message with its outcome, narrows by outcome and
// direction, pages, and names a bad filter by its field.
func TestMailLog(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			stranger, _ := mailIn(t, app, "ivan@unknown.example", "Ivan", "Stranger asks about badges", "Hello")
			auto, _ := mailIn(t, app, "robot@unknown.example", "Robot", "Out of office", "I am away.", "Auto-Submitted: auto-replied\r\n")
			if stranger.Outcome != store.MailTriage || auto.Outcome != store.MailIgnored {
				t.Fatalf("outcomes: %s, %s", stranger.Outcome, auto.Outcome)
			}
			agent := deskSignIn(t, app, "agent@vendor.example")
			body, _ := deskPage(t, agent, base+"/admin/mail", 200)
			for _, want := range []string{"Stranger asks about badges", "Out of office", "To triage", "Ignored (auto-reply, bounce, list)", stranger.Number,
				fmt.Sprintf(`href="/api/v1/mail/messages/%d/original"`, stranger.ID), "Ivan &lt;ivan@unknown.example&gt;"} {
				if !strings.Contains(body, want) {
					t.Errorf("the mail log does not show %q", want)
				}
			}
			body, _ = deskPage(t, agent, base+"/admin/mail?outcome=triage", 200)
			if !strings.Contains(body, "Stranger asks about badges") || strings.Contains(body, "Out of office") || !strings.Contains(body, `<option value="triage" selected>`) {
				t.Error("outcome=triage does not narrow the log")
			}
			if body, _ := deskPage(t, agent, base+"/admin/mail?direction=out", 200); strings.Contains(body, "Stranger asks") || !strings.Contains(body, "No messages.") {
				t.Error("direction=out shows inbound mail")
			}
			for _, bad := range []struct{ q, id string }{{"outcome=lost", "log-outcome"}, {"direction=sideways", "log-direction"}} {
				status, body, _ := get(t, agent, base+"/admin/mail?"+bad.q, "en")
				if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+bad.id+`-error"`) || strings.Contains(body, "Stranger asks") {
					t.Errorf("%s: %d", bad.q, status)
				}
			}
			// Pages of 50.
			for i := range 50 {
				_, err := app.Store.DeliverMail(ctx, store.InboundMail{MessageID: fmt.Sprintf("<bulk-%d@example.net>", i), Source: "smtp", From: "list@example.net",
					Subject: fmt.Sprintf("Newsletter %02d", i), Noise: "list mail (List-Id)"}, store.MailLimits{})
				if err != nil {
					t.Fatal(err)
				}
			}
			body, _ = deskPage(t, agent, base+"/admin/mail", 200)
			next := regexp.MustCompile(`<a href="(/admin/mail\?after=\d+)" rel="next">`).FindStringSubmatch(body)
			if next == nil || !strings.Contains(body, "Messages: 52") || strings.Contains(body, "Newsletter 49") {
				t.Fatalf("the first page: %s", deskSnippet(body))
			}
			if body, _ = deskPage(t, agent, base+strings.ReplaceAll(next[1], "&amp;", "&"), 200); !strings.Contains(body, "Newsletter 49") || strings.Contains(body, "Stranger asks") {
				t.Error("the second page")
			}
			op := deskSignIn(t, app, "operator@alfa.example")
			if status, _, _ := get(t, op, base+"/admin/mail", "en"); status != http.StatusForbidden {
				t.Errorf("an operator's mail log: %d", status)
			}
		})
	}
}

// A contact chooses the language of their notices and opts out of
// non-essential mail on the settings page; a bad value writes nothing.
func TestMailSettings(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			base, ctx := app.HTTP.URL, context.Background()
			opP := principalOf(t, app, "operator@alfa.example")
			c := client(t)
			_, _, token := get(t, c, base+"/signin", "")
			post(t, c, base+"/signin", url.Values{"csrf": {token}, "login": {"operator@alfa.example"}, "password": {"demo"}})
			status, body, token := get(t, c, base+"/password", "")
			if status != 200 || !strings.Contains(body, `<html lang="ru">`) || !strings.Contains(body, "Уведомления по почте") ||
				!regexp.MustCompile(`id="mail-settings-lang-0" name="lang" value="ru" checked`).MatchString(body) ||
				!strings.Contains(body, "Смена пароля") {
				t.Fatalf("the settings page: %d %s", status, deskSnippet(body))
			}
			state := func() (string, bool) {
				t.Helper()
				a, err := app.Store.AccountByLogin(ctx, "operator@alfa.example")
				if err != nil {
					t.Fatal(err)
				}
				p, err := app.Store.GetMailPrefs(ctx, opP)
				if err != nil {
					t.Fatal(err)
				}
				return a.Lang, p.EssentialOnly
			}
			status, _, body = deskPost(t, c, base+"/settings/mail", url.Values{"csrf": {token}, "lang": {"de"}, "essential_only": {"on"}})
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="mail-settings-lang-error"`) || !strings.Contains(body, "Выберите русский или английский.") {
				t.Fatalf("lang=de: %d %s", status, deskSnippet(body))
			}
			if lang, ess := state(); lang != "ru" || ess {
				t.Errorf("a refused form wrote: %s %v", lang, ess)
			}
			if status, _, _ := deskPost(t, c, base+"/settings/mail", url.Values{"lang": {"en"}, "essential_only": {"on"}}); status != http.StatusForbidden {
				t.Errorf("without the token: %d", status)
			}
			if lang, ess := state(); lang != "ru" || ess {
				t.Errorf("a post without the token wrote: %s %v", lang, ess)
			}
			status, loc, _ := deskPost(t, c, base+"/settings/mail", url.Values{"csrf": {token}, "lang": {"en"}, "essential_only": {"on"}})
			if status != http.StatusSeeOther || loc != "/password" {
				t.Fatalf("save: %d %s", status, loc)
			}
			if lang, ess := state(); lang != "en" || !ess {
				t.Errorf("after saving: %s %v", lang, ess)
			}
			_, body, _ = get(t, c, base+"/password", "")
			if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Your e-mail settings are saved.") ||
				!regexp.MustCompile(`id="mail-settings-essential-only" name="essential_only" value="on" checked`).MatchString(body) {
				t.Errorf("the page after saving: %s", deskSnippet(body))
			}
			deskPost(t, c, base+"/settings/mail", url.Values{"csrf": {token}, "lang": {"ru"}})
			if lang, ess := state(); lang != "ru" || ess {
				t.Errorf("opting back in: %s %v", lang, ess)
			}
		})
	}
}
