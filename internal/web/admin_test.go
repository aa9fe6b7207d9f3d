package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"tend/internal/apptest"
	"tend/internal/store"
)

// Every admin page renders for the admin, in both languages, and every
// form field has a label.
func TestAdminPagesRender(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	ctx := context.Background()
	admin := deskSignIn(t, app, "admin@vendor.example")
	op, _ := app.Store.AccountByLogin(ctx, "operator@alfa.example")
	agent, _ := app.Store.AccountByLogin(ctx, "agent@vendor.example")
	pages := []string{"/admin", "/admin/customers", "/admin/customers?q=alf", "/admin/customers/1", fmt.Sprintf("/admin/contacts/%d", op.ID), "/admin/staff",
		fmt.Sprintf("/admin/staff/%d", agent.ID), "/admin/licenses", "/admin/licenses?customer=1", "/admin/licenses/1", "/admin/plans", "/admin/plans/1",
		"/admin/plans/1?from=2026-12-31T17:30", "/admin/calendar", "/admin/calendar?year=2028", "/admin/tokens"}
	inputRE := regexp.MustCompile(`<(input|select|textarea) [^>]*id="([^"]+)"`)
	for _, lang := range []string{"en", "ru"} {
		_, _, token := get(t, admin, base+"/admin", "")
		if r := post(t, admin, base+"/lang", url.Values{"csrf": {token}, "lang": {lang}, "back": {"/"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("switch to %s: %d", lang, r.StatusCode)
		}
		for _, p := range pages {
			status, body, _ := get(t, admin, base+p, lang)
			if status != 200 {
				t.Fatalf("%s %s: %d %s", lang, p, status, deskSnippet(body))
			}
			if lang == "ru" && !strings.Contains(body, `<html lang="ru">`) {
				t.Fatalf("%s is not in Russian", p)
			}
			if strings.Contains(body, "admin.") || strings.Contains(body, "desk.") {
				t.Errorf("%s %s shows a raw catalog key: %s", lang, p, regexp.MustCompile(`(admin|desk)\.[a-z_.]+`).FindString(body))
			}
			for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
				if strings.Contains(m[0], `type="hidden"`) {
					continue
				}
				if !strings.Contains(body, `for="`+m[2]+`"`) {
					t.Errorf("%s: the %s #%s has no label", p, m[1], m[2])
				}
			}
		}
	}
	// The contact of one section is not shown under the other.
	deskPage(t, admin, fmt.Sprintf("%s/admin/staff/%d", base, op.ID), http.StatusNotFound)
	deskPage(t, admin, base+"/admin/customers/999", http.StatusNotFound)
}

// The admin manages customers, contacts, staff, plans and licenses
// through the forms; bad input comes back by its field with the input kept.
func TestAdminForms(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	ctx := context.Background()
	admin := deskSignIn(t, app, "admin@vendor.example")
	_, token := deskPage(t, admin, base+"/admin/customers", 200)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {token}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	invalid := func(body, id string) {
		t.Helper()
		if !regexp.MustCompile(`id="`+id+`"[^>]*aria-describedby="[^"]*`+id+`-error"[^>]*aria-invalid="true"`).MatchString(body) ||
			!strings.Contains(body, `id="`+id+`-error"`) {
			t.Errorf("%s is not marked invalid: %s", id, deskSnippet(body))
		}
	}

	// Customers: a taken code is refused by its field, the name kept.
	status, _, body := deskPost(t, admin, base+"/admin/customers", form("code", "alfa", "name", "Alfa Again <Ltd>"))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("taken code: %d", status)
	}
	invalid(body, "new-customer-code")
	if !strings.Contains(body, `value="Alfa Again &lt;Ltd&gt;"`) || !strings.Contains(body, "A customer with this code already exists.") {
		t.Errorf("the name was lost or the message is not there: %s", deskSnippet(body))
	}
	status, loc, _ := deskPost(t, admin, base+"/admin/customers", form("code", "delta", "name", "Delta Mining", "phone", "+7 000 000-00-00", "email", "it@delta.example"))
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/customers/") {
		t.Fatalf("create customer: %d %s", status, loc)
	}
	delta := loc
	body, _ = deskPage(t, admin, base+delta, 200)
	if !strings.Contains(body, "Delta Mining") || !strings.Contains(body, "is added") {
		t.Errorf("the new customer's page: %s", deskSnippet(body))
	}
	if status, loc, _ := deskPost(t, admin, base+delta, form("code", "delta", "name", "Delta Mining JSC")); status != http.StatusSeeOther || loc != delta {
		t.Errorf("rename: %d %s", status, loc)
	}

	// Contacts: created under the customer, then disabled, and a password set.
	status, _, body = deskPost(t, admin, base+delta+"/contacts", form("login", "not an address", "name", "Dana", "role", "operator", "lang", "en"))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("bad login: %d", status)
	}
	invalid(body, "new-contact-login")
	status, _, _ = deskPost(t, admin, base+delta+"/contacts", form("login", "dana@delta.example", "name", "Dana", "role", "operator", "lang", "en", "password", "long enough"))
	if status != http.StatusSeeOther {
		t.Fatalf("create contact: %d", status)
	}
	dana, err := app.Store.AccountByLogin(ctx, "dana@delta.example")
	if err != nil || dana.CustomerID == 0 {
		t.Fatalf("the contact: %+v %v", dana, err)
	}
	contact := fmt.Sprintf("/admin/contacts/%d", dana.ID)
	if status, _, body := deskPost(t, admin, base+fmt.Sprintf("/admin/accounts/%d/password", dana.ID), form("password", "short")); status != http.StatusUnprocessableEntity {
		t.Errorf("short password: %d", status)
	} else {
		invalid(body, "reset-password")
	}
	if status, loc, _ := deskPost(t, admin, base+fmt.Sprintf("/admin/accounts/%d/password", dana.ID), form("password", "a new password")); status != http.StatusSeeOther || loc != contact {
		t.Errorf("reset password: %d %s", status, loc)
	}
	app.Login(t, "dana@delta.example", "a new password")
	if status, _, _ := deskPost(t, admin, base+contact, form("login", "dana@delta.example", "name", "Dana D.", "role", "customer_admin", "lang", "ru", "disabled", "on")); status != http.StatusSeeOther {
		t.Errorf("edit contact: %d", status)
	}
	if a, _ := app.Store.AccountByLogin(ctx, "dana@delta.example"); !a.Disabled || a.Role != "customer_admin" || a.Name != "Dana D." {
		t.Errorf("after the edit: %+v", a)
	}

	// Staff: created with a role; the admin cannot disable themself.
	status, loc, _ = deskPost(t, admin, base+"/admin/staff", form("login", "new.agent@vendor.example", "name", "New Agent", "role", "agent", "lang", "ru"))
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/staff/") {
		t.Fatalf("create staff: %d %s", status, loc)
	}
	me, _ := app.Store.AccountByLogin(ctx, "admin@vendor.example")
	status, _, body = deskPost(t, admin, base+fmt.Sprintf("/admin/staff/%d", me.ID), form("login", me.Login, "name", me.Name, "role", "admin", "lang", "ru", "disabled", "on"))
	if status != http.StatusUnprocessableEntity {
		t.Errorf("disabling oneself: %d", status)
	}
	invalid(body, "account-role")

	// Plans: a target that is not a duration, then a good plan whose
	// targets are shown on the calendar.
	_, token = deskPage(t, admin, base+"/admin/plans", 200)
	plan := form("name", "Night shift", "window_start", "08:00", "window_end", "20:00", "zone", "Europe/Moscow", "at_risk_percent", "75",
		"emergency.first_response", "20 minutes", "emergency.resolution", "6h", "normal.first_response", "2h", "normal.resolution", "40h")
	plan.Set("csrf", token)
	status, _, body = deskPost(t, admin, base+"/admin/plans", plan)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "is not a duration") {
		t.Fatalf("bad duration: %d", status)
	}
	invalid(body, "new-plan-emergency-first-response")
	if !strings.Contains(body, `value="Night shift"`) || !strings.Contains(body, `value="40h"`) {
		t.Error("the plan's input was lost")
	}
	plan.Set("emergency.first_response", "20m")
	status, loc, _ = deskPost(t, admin, base+"/admin/plans", plan)
	if status != http.StatusSeeOther {
		t.Fatalf("create plan: %d", status)
	}
	body, _ = deskPage(t, admin, base+loc+"?from=2026-03-06T17:00", 200)
	// Friday 17:00 in a 08:00–20:00 window: 2 working hours is 19:00 the same day;
	// 40 hours run into the next weeks (8 March is a holiday, a Sunday; 9 March is off).
	if !strings.Contains(body, "2h → 06.03.2026 19:00") || !strings.Contains(body, "What the targets mean on the calendar") {
		t.Errorf("the plan's targets on the calendar: %s", deskSnippet(body[strings.Index(body, `id="targets"`):]))
	}

	// Licenses: the dates are checked by their fields, entitlements kept.
	planID := strings.TrimPrefix(loc, "/admin/plans/")
	_, token = deskPage(t, admin, base+"/admin/licenses", 200)
	custID := strings.TrimPrefix(delta, "/admin/customers/")
	lic := url.Values{"csrf": {token}, "customer_id": {custID}, "product_id": {"1"}, "plan_id": {planID}, "valid_from": {"2026-03-01"}, "valid_to": {"2026-01-01"},
		"entitlements": {"consultation", "remote_access"}}
	status, _, body = deskPost(t, admin, base+"/admin/licenses", lic)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("license ending before it starts: %d", status)
	}
	invalid(body, "new-license-valid-to")
	if !regexp.MustCompile(`value="remote_access" checked`).MatchString(body) || regexp.MustCompile(`value="administration_help" checked`).MatchString(body) {
		t.Error("the entitlements were not kept")
	}
	lic.Set("valid_to", "2027-02-28")
	status, loc, _ = deskPost(t, admin, base+"/admin/licenses", lic)
	if status != http.StatusSeeOther {
		t.Fatalf("create license: %d", status)
	}
	admAcc, _ := app.Store.AccountByLogin(ctx, "admin@vendor.example")
	lics, _ := app.Store.ListLicenses(ctx, admAcc.Principal(), store.LicenseFilter{Page: store.Page{Limit: 200}})
	l := lics.Items[len(lics.Items)-1]
	if fmt.Sprint(l.PlanID) != planID || len(l.Entitlements) != 2 || l.ValidTo.String() != "2027-02-28" {
		t.Errorf("the license: %+v", l)
	}
	lic.Del("entitlements")
	lic.Add("entitlements", "improvements_on_request")
	if status, l2, _ := deskPost(t, admin, base+loc, lic); status != http.StatusSeeOther || l2 != loc {
		t.Errorf("edit license: %d %s", status, l2)
	}
	if got, _ := app.Store.GetLicense(ctx, admAcc.Principal(), l.ID); len(got.Entitlements) != 1 || got.Entitlements[0] != "improvements_on_request" {
		t.Errorf("after the edit: %+v", got.Entitlements)
	}
}

// An admin imports a decree for a provisional year; a bad file changes nothing.
func TestAdminCalendarImport(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	admin := deskSignIn(t, app, "admin@vendor.example")
	body, token := deskPage(t, admin, base+"/admin/calendar?year=2028", 200)
	if !strings.Contains(body, "Provisional") {
		t.Fatal("2028 should be provisional before the import")
	}
	upload := func(c *http.Client, token, name string, data []byte) (int, string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", token)
		mw.WriteField("source", "Decree No. 1 of 2027-10-01")
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
		mw.Close()
		resp, err := c.Post(base+"/admin/calendar/import", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		tmp := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(tmp)
			b.Write(tmp[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header.Get("Location"), b.String()
	}
	bad, err := os.ReadFile("../calendar/testdata/bad-date.xml")
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := upload(admin, token, "bad-date.xml", bad)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "The file was not imported") {
		t.Fatalf("a bad file: %d %s", status, deskSnippet(body))
	}
	if !strings.Contains(body, `value="Decree No. 1 of 2027-10-01"`) {
		t.Error("the decree was not kept")
	}
	good, err := os.ReadFile("../calendar/testdata/ru-2028-2029.json")
	if err != nil {
		t.Fatal(err)
	}
	// Not for an agent.
	agent := deskSignIn(t, app, "agent@vendor.example")
	_, agentToken := deskPage(t, agent, base+"/admin/calendar", 200)
	if status, _, _ := upload(agent, agentToken, "ru-2028-2029.json", good); status != http.StatusForbidden {
		t.Errorf("an agent's import: %d", status)
	}
	status, loc, _ := upload(admin, token, "ru-2028-2029.json", good)
	if status != http.StatusSeeOther || loc != "/admin/calendar?year=2028" {
		t.Fatalf("import: %d %s", status, loc)
	}
	body, _ = deskPage(t, admin, base+loc, 200)
	if strings.Contains(body, "Provisional") || !strings.Contains(body, "Decree No. 1 of 2027-10-01") || !strings.Contains(body, "Imported: 2028, 2029.") {
		t.Errorf("after the import: %s", deskSnippet(body))
	}
	if app.Calendar.Current().Provisional(2029) {
		t.Error("2029 is still provisional")
	}
}

// API tokens: the secret is shown once and works; revoking ends it.
func TestAdminTokens(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	agent := deskSignIn(t, app, "agent@vendor.example")
	_, token := deskPage(t, agent, base+"/admin/tokens", 200)
	status, _, body := deskPost(t, agent, base+"/admin/tokens", url.Values{"csrf": {token}, "name": {""}, "scope": {"read"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("a token without a name: %d", status)
	}
	status, _, body = deskPost(t, agent, base+"/admin/tokens", url.Values{"csrf": {token}, "name": {"nightly report"}, "scope": {"read"}, "expires_at": {"2027-01-31"}})
	secret := regexp.MustCompile(`<code id="token-secret">(tend_[^<]+)</code>`).FindStringSubmatch(body)
	if status != http.StatusCreated || secret == nil {
		t.Fatalf("create token: %d %s", status, deskSnippet(body))
	}
	var me struct{ Login string }
	app.WithToken(t, secret[1]).Do("GET", "/api/v1/me", nil, 200, &me)
	if me.Login != "agent@vendor.example" {
		t.Errorf("the token acts as %q", me.Login)
	}
	body, _ = deskPage(t, agent, base+"/admin/tokens", 200)
	if strings.Contains(body, secret[1]) {
		t.Error("the secret is shown again")
	}
	id := regexp.MustCompile(`action="/admin/tokens/(\d+)/revoke"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no revoke button")
	}
	if status, loc, _ := deskPost(t, agent, base+"/admin/tokens/"+id[1]+"/revoke", url.Values{"csrf": {token}}); status != http.StatusSeeOther || loc != "/admin/tokens" {
		t.Fatalf("revoke: %d %s", status, loc)
	}
	if r := app.WithToken(t, secret[1]).Call("GET", "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d", r.Status)
	}
	// The admin sees everyone's tokens; the agent's tokens are only the agent's.
	admin := deskSignIn(t, app, "admin@vendor.example")
	if body, _ := deskPage(t, admin, base+"/admin/tokens", 200); !strings.Contains(body, "nightly report") {
		t.Error("the admin does not see the agent's token")
	}
}

// Who may do what is the store's: staff read, only admins change plans,
// licenses and staff; customers are kept out of the whole area.
func TestAdminAccess(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	agent := deskSignIn(t, app, "agent@vendor.example")
	body, token := deskPage(t, agent, base+"/admin", 200)
	if !strings.Contains(body, "changes are for administrators") {
		t.Error("an agent is not told that changes are for administrators")
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/admin/plans", url.Values{"name": {"Agent's plan"}, "window_start": {"09:00"}, "window_end": {"18:00"}}},
		{"/admin/plans", url.Values{"name": {"Agent's plan"}, "normal.resolution": {"soon"}}},
		{"/admin/plans/1", url.Values{"name": {"Renamed"}, "window_start": {"09:00"}, "window_end": {"18:00"}}},
		{"/admin/licenses", url.Values{"customer_id": {"1"}, "product_id": {"1"}, "plan_id": {"1"}, "valid_from": {"2026-01-01"}, "valid_to": {"2026-12-31"}}},
		{"/admin/staff", url.Values{"login": {"x@vendor.example"}, "name": {"X"}, "role": {"admin"}, "lang": {"ru"}}},
	} {
		p.form.Set("csrf", token)
		if status, _, _ := deskPost(t, agent, base+p.path, p.form); status != http.StatusForbidden {
			t.Errorf("an agent's POST %s: %d, want 403", p.path, status)
		}
	}
	// Agents do look after customers (the access rules allow it).
	if status, _, _ := deskPost(t, agent, base+"/admin/customers", url.Values{"csrf": {token}, "code": {"omega"}, "name": {"Omega"}}); status != http.StatusSeeOther {
		t.Errorf("an agent adding a customer: %d", status)
	}
	for _, login := range []string{"admin@alfa.example", "operator@beta.example"} {
		c := deskSignIn(t, app, login)
		body, token := deskPage(t, c, base+"/password", 200)
		if strings.Contains(body, `href="/admin"`) {
			t.Errorf("%s sees the admin link", login)
		}
		for _, p := range []string{"/admin", "/admin/customers", "/admin/customers/1", "/admin/customers/2", "/admin/contacts/6", "/admin/licenses", "/admin/plans/1", "/admin/calendar", "/admin/staff", "/admin/tokens"} {
			if status, _, _ := get(t, c, base+p, "en"); status != http.StatusForbidden && status != http.StatusNotFound {
				t.Errorf("%s GET %s: %d", login, p, status)
			}
		}
		if status, _, _ := deskPost(t, c, base+"/admin/customers/1", url.Values{"csrf": {token}, "code": {"alfa"}, "name": {"Mine now"}}); status != http.StatusForbidden && status != http.StatusNotFound {
			t.Errorf("%s renaming a customer: %d", login, status)
		}
	}
	if body, _ := deskPage(t, agent, base+"/password", 200); strings.Contains(body, `href="/admin"`) {
		t.Error("the agent's navigation shows Administration")
	}
}
