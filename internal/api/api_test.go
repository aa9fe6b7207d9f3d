package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"tend/internal/apptest"
)

func TestAnonymousCallsAreRefused(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{})
	anon := app.Anonymous(t)
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /api/v1/openapi.json": true,
		"POST /api/v1/auth/login": true, "POST /api/v1/auth/logout": true}
	for _, route := range app.Server.Routes() {
		if public[route] {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, "{id}", "1")
		resp := anon.Call(method, path, map[string]string{})
		if code, _, _ := resp.Error(); resp.Status != 401 || code != "unauthenticated" {
			t.Errorf("%s anonymously: %d %s, want 401 unauthenticated", route, resp.Status, resp.Body)
		}
	}
}

func TestLoginTokensAndSessions(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			anon := app.Anonymous(t)

			t.Run("wrong password", func(t *testing.T) {
				resp := anon.Call("POST", "/api/v1/auth/login", map[string]string{"login": "agent@vendor.example", "password": "nope"})
				if resp.Status != 401 {
					t.Fatalf("status %d", resp.Status)
				}
				resp = anon.Call("POST", "/api/v1/auth/login", map[string]string{"login": "nobody@vendor.example", "password": "demo"})
				if code, _, msg := resp.Error(); resp.Status != 401 || msg != "wrong login or password" {
					t.Fatalf("unknown login: %d %s %s", resp.Status, code, msg)
				}
			})

			t.Run("login answers a bearer token and a secure session cookie", func(t *testing.T) {
				resp := anon.Call("POST", "/api/v1/auth/login", map[string]string{"login": "Agent@Vendor.example ", "password": "demo"})
				if resp.Status != 200 {
					t.Fatalf("status %d %s", resp.Status, resp.Body)
				}
				cookie := resp.Header.Get("Set-Cookie")
				if !strings.Contains(cookie, "tend_session=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
					t.Errorf("Set-Cookie = %q", cookie)
				}
				var out struct {
					Token   string
					Account struct{ Login, Role string }
				}
				json.Unmarshal(resp.Body, &out)
				if out.Account.Role != "agent" {
					t.Errorf("account = %+v", out.Account)
				}
				c := app.WithToken(t, out.Token)
				var me struct{ Login string }
				c.Do("GET", "/api/v1/me", nil, 200, &me)
				if me.Login != "agent@vendor.example" {
					t.Errorf("me = %+v", me)
				}
				c.Do("POST", "/api/v1/auth/logout", nil, 204, nil)
				c.Do("GET", "/api/v1/me", nil, 401, nil)
			})

			t.Run("API token: shown once, scoped, revocable", func(t *testing.T) {
				agent := app.Login(t, "agent@vendor.example", "demo")
				var tok struct {
					ID     int64
					Secret string
					Hint   string
				}
				agent.Do("POST", "/api/v1/tokens", map[string]string{"name": "nightly report", "scope": "read"}, 201, &tok)
				if !strings.HasPrefix(tok.Secret, "tend_") || !strings.HasPrefix(tok.Secret, tok.Hint) {
					t.Fatalf("token = %+v", tok)
				}
				list := agent.Do("GET", "/api/v1/tokens", nil, 200, nil)
				if strings.Contains(string(list.Body), tok.Secret) {
					t.Error("the token list shows the secret again")
				}
				script := app.WithToken(t, tok.Secret)
				script.Do("GET", "/api/v1/customers", nil, 200, nil)
				resp := script.Call("POST", "/api/v1/customers", map[string]string{"code": "delta", "name": "Delta"})
				if resp.Status != 403 {
					t.Errorf("read-only token wrote: %d %s", resp.Status, resp.Body)
				}
				// A token is no stronger than its owner: an agent cannot reach plans' writes.
				var w struct{ Secret string }
				agent.Do("POST", "/api/v1/tokens", map[string]string{"name": "writer"}, 201, &w)
				app.WithToken(t, w.Secret).Do("POST", "/api/v1/plans", map[string]string{"name": "x", "window_start": "09:00", "window_end": "18:00"}, 403, nil)

				agent.Do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil, 200, nil)
				script.Do("GET", "/api/v1/customers", nil, 401, nil)
				app.WithToken(t, "tend_madeup").Do("GET", "/api/v1/customers", nil, 401, nil)
			})

			t.Run("browser session with CSRF protection", func(t *testing.T) {
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar}
				resp, err := hc.Post(app.HTTP.URL+"/api/v1/auth/login", "application/json", strings.NewReader(`{"login":"admin@vendor.example","password":"demo"}`))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("login: %v %v", err, resp.Status)
				}
				resp.Body.Close()
				resp, _ = hc.Get(app.HTTP.URL + "/api/v1/me")
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("cookie session: %d", resp.StatusCode)
				}
				// A form posted from another site's page carries the cookie
				// but must be refused.
				req, _ := http.NewRequest("POST", app.HTTP.URL+"/api/v1/customers", strings.NewReader(`{"code":"csrf","name":"CSRF"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				req.Header.Set("Origin", "https://evil.example")
				resp, _ = hc.Do(req)
				resp.Body.Close()
				if resp.StatusCode != 403 {
					t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
				}
				req, _ = http.NewRequest("POST", app.HTTP.URL+"/api/v1/customers", strings.NewReader(`{"code":"same","name":"Same site"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				resp, _ = hc.Do(req)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Errorf("same-origin POST: %d, want 201", resp.StatusCode)
				}
			})

			t.Run("password change ends other sessions", func(t *testing.T) {
				first := app.Login(t, "operator@beta.example", "demo")
				second := app.Login(t, "operator@beta.example", "demo")
				second.Do("POST", "/api/v1/me/password", map[string]string{"current_password": "wrong", "new_password": "a new secret"}, 422, nil)
				second.Do("POST", "/api/v1/me/password", map[string]string{"current_password": "demo", "new_password": "short"}, 422, nil)
				second.Do("POST", "/api/v1/me/password", map[string]string{"current_password": "demo", "new_password": "a new secret"}, 204, nil)
				first.Do("GET", "/api/v1/me", nil, 401, nil)
				app.Anonymous(t).Do("POST", "/api/v1/auth/login", map[string]string{"login": "operator@beta.example", "password": "demo"}, 401, nil)
				app.Login(t, "operator@beta.example", "a new secret")
			})
		})
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	anon := app.Anonymous(t)
	var last apptest.Response
	for range 6 {
		last = anon.Call("POST", "/api/v1/auth/login", map[string]string{"login": "admin@vendor.example", "password": "guess"})
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d, Retry-After %q", last.Status, last.Header.Get("Retry-After"))
	}
	// Even the right password waits until the budget refills.
	anon.Do("POST", "/api/v1/auth/login", map[string]string{"login": "admin@vendor.example", "password": "demo"}, 429, nil)
	app.Clock.Advance(15e9)
	anon.Do("POST", "/api/v1/auth/login", map[string]string{"login": "admin@vendor.example", "password": "demo"}, 200, nil)
	// Another login is not held back by the first one's failures.
	anon.Do("POST", "/api/v1/auth/login", map[string]string{"login": "agent@vendor.example", "password": "demo"}, 200, nil)
}

func TestBadInputIsRefusedWithTheField(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.Options{Demo: true}
			app := apptest.NewApp(t, engine, cfg)
			admin := app.Login(t, "admin@vendor.example", "demo")
			alfa := customerID(t, admin, "alfa")
			product := firstID(t, admin, "/api/v1/products")
			plan := firstID(t, admin, "/api/v1/plans")
			countOf := func(path string) int {
				var l struct{ Total int }
				admin.Do("GET", path, nil, 200, &l)
				return l.Total
			}
			licensesBefore, journalBefore, accountsBefore := countOf("/api/v1/licenses"), countOf("/api/v1/journal"), countOf("/api/v1/contacts")

			license := func(from, to string) string {
				return fmt.Sprintf(`{"customer_id":%d,"product_id":%d,"plan_id":%d,"valid_from":%q,"valid_to":%q}`, alfa, product, plan, from, to)
			}
			tests := []struct {
				name, method, path, body string
				status                   int
				field                    string
			}{
				{"malformed JSON", "POST", "/api/v1/customers", `{"code":"x",`, 422, ""},
				{"not JSON at all", "POST", "/api/v1/customers", `code=x`, 422, ""},
				{"unknown field", "POST", "/api/v1/customers", `{"code":"delta","name":"Delta","colour":"red"}`, 422, "colour"},
				{"wrong type", "POST", "/api/v1/customers", `{"code":"delta","name":42}`, 422, "name"},
				{"two values", "POST", "/api/v1/customers", `{"code":"delta","name":"D"}{"code":"e"}`, 422, ""},
				{"empty body", "POST", "/api/v1/customers", ``, 422, ""},
				{"missing name", "POST", "/api/v1/customers", `{"code":"delta"}`, 422, "name"},
				{"bad code", "POST", "/api/v1/customers", `{"code":"Дельта","name":"Delta"}`, 422, "code"},
				{"duplicate code", "POST", "/api/v1/customers", `{"code":"alfa","name":"Alfa again"}`, 409, "code"},
				{"impossible date", "POST", "/api/v1/licenses", license("2026-02-30", "2027-01-01"), 422, "valid_from"},
				{"license ends before it starts", "POST", "/api/v1/licenses", license("2026-05-01", "2026-04-30"), 422, "valid_to"},
				{"unknown entitlement", "POST", "/api/v1/licenses", strings.Replace(license("2026-01-01", "2027-01-01"), "}", `,"entitlements":["free_lunch"]}`, 1), 422, "entitlements[0]"},
				{"dangling product", "POST", "/api/v1/licenses", strings.Replace(license("2026-01-01", "2027-01-01"), fmt.Sprintf(`"product_id":%d`, product), `"product_id":999`, 1), 422, "product_id"},
				{"duplicate login", "POST", "/api/v1/contacts", fmt.Sprintf(`{"login":"admin@alfa.example","name":"Twin","role":"operator","customer_id":%d}`, alfa), 409, "login"},
				{"login not an e-mail", "POST", "/api/v1/contacts", fmt.Sprintf(`{"login":"bob","name":"Bob","role":"operator","customer_id":%d}`, alfa), 422, "login"},
				{"staff role on a contact", "POST", "/api/v1/contacts", fmt.Sprintf(`{"login":"x@alfa.example","name":"X","role":"admin","customer_id":%d}`, alfa), 422, "role"},
				{"bad zone", "POST", "/api/v1/plans", `{"name":"Mars","window_start":"09:00","window_end":"18:00","zone":"Mars/Olympus"}`, 422, "zone"},
				{"bad window", "POST", "/api/v1/plans", `{"name":"Night","window_start":"25:00","window_end":"18:00"}`, 422, "window_start"},
				{"bad duration", "POST", "/api/v1/plans", `{"name":"Odd","window_start":"09:00","window_end":"18:00","normal":{"resolution":"soon"}}`, 422, "normal.resolution"},
				{"bad id in path", "GET", "/api/v1/customers/abc", ``, 422, "id"},
				{"no such record", "GET", "/api/v1/customers/99999", ``, 404, ""},
				{"bad limit", "GET", "/api/v1/customers?limit=5000", ``, 422, "limit"},
				{"bad after", "GET", "/api/v1/customers?after=-1", ``, 422, "after"},
				{"wrong media type", "POST", "/api/v1/customers", `<customer/>`, 415, ""},
				{"oversized body", "POST", "/api/v1/customers", `{"code":"big","name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
				{"no such endpoint", "GET", "/api/v1/nothing", ``, 404, ""},
				{"patch with a bad value", "PATCH", fmt.Sprintf("/api/v1/customers/%d", alfa), `{"name":""}`, 422, "name"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ct := "application/json"
					if tt.name == "wrong media type" {
						ct = "application/xml"
					}
					var body *strings.Reader
					if tt.body != "" || tt.method != "GET" {
						body = strings.NewReader(tt.body)
					}
					var resp apptest.Response
					if body == nil {
						resp = admin.Raw(tt.method, tt.path, "", nil)
					} else {
						resp = admin.Raw(tt.method, tt.path, ct, body)
					}
					code, field, msg := resp.Error()
					if resp.Status != tt.status || field != tt.field || msg == "" || code == "internal" {
						t.Errorf("%d %s field=%q msg=%q; want %d field=%q", resp.Status, code, field, msg, tt.status, tt.field)
					}
				})
			}
			if got := countOf("/api/v1/licenses"); got != licensesBefore {
				t.Errorf("licenses: %d, was %d: a refused call wrote", got, licensesBefore)
			}
			if got := countOf("/api/v1/contacts"); got != accountsBefore {
				t.Errorf("contacts: %d, was %d", got, accountsBefore)
			}
			if got := countOf("/api/v1/journal"); got != journalBefore {
				t.Errorf("journal: %d entries, was %d: a refused call left a trace", got, journalBefore)
			}
			var c struct{ Name string }
			admin.Do("GET", fmt.Sprintf("/api/v1/customers/%d", alfa), nil, 200, &c)
			if c.Name != "Alfa Energy" {
				t.Errorf("alfa renamed to %q by a refused patch", c.Name)
			}
		})
	}
}
