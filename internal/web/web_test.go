package web_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tend/internal/apptest"
)

// Every key must exist in both languages: a text in one catalog only
// would show its raw key to the other language's readers.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	files, err := filepath.Glob("locales/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalogs: %v", err)
	}
	keys := map[string]map[string]bool{} // area → lang-qualified keys
	for _, f := range files {
		parts := strings.Split(filepath.Base(f), ".") // area.lang.json
		if len(parts) != 3 {
			t.Fatalf("%s: name catalogs area.lang.json", f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if keys[parts[1]] == nil {
			keys[parts[1]] = map[string]bool{}
		}
		for k := range m {
			keys[parts[1]][k] = true
		}
	}
	ru, en := keys["ru"], keys["en"]
	for k := range ru {
		if !en[k] {
			t.Errorf("%q is in the Russian catalog only", k)
		}
	}
	for k := range en {
		if !ru[k] {
			t.Errorf("%q is in the English catalog only", k)
		}
	}
	// Every key a template asks for must exist.
	used := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	fs.WalkDir(os.DirFS("templates"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(filepath.Join("templates", p))
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if !en[m[1]] {
				t.Errorf("%s uses %q, which no catalog has", p, m[1])
			}
		}
		return nil
	})
}

// client is a browser-like HTTP client with cookies that does not follow
// redirects, so tests see them.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its body and the CSRF token on it.
func get(t *testing.T, c *http.Client, u string, lang string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	token := ""
	if m := csrfRE.FindStringSubmatch(b.String()); m != nil {
		token = m[1]
	}
	return resp.StatusCode, b.String(), token
}

func post(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestSignInLanguageAndSecurityHeaders(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	c := client(t)

	status, body, token := get(t, c, base+"/signin", "en-GB,en;q=0.9")
	if status != 200 || !strings.Contains(body, "Sign in") || token == "" {
		t.Fatalf("sign-in page: %d %q", status, body[:min(200, len(body))])
	}
	resp, _ := c.Get(base + "/signin")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", resp.Header)
	}
	resp.Body.Close()
	_, ruBody, _ := get(t, client(t), base+"/signin", "ru-RU,ru")
	if !strings.Contains(ruBody, "Вход") {
		t.Error("Russian browsers do not get the Russian page")
	}

	// A form without the CSRF token is refused.
	if r := post(t, c, base+"/signin", url.Values{"login": {"agent@vendor.example"}, "password": {"demo"}}); r.StatusCode != 403 {
		t.Errorf("sign-in without CSRF token: %d", r.StatusCode)
	}
	if r := post(t, c, base+"/signin", url.Values{"csrf": {token}, "login": {"agent@vendor.example"}, "password": {"nope"}}); r.StatusCode != 401 {
		t.Errorf("wrong password: %d", r.StatusCode)
	}
	r := post(t, c, base+"/signin", url.Values{"csrf": {token}, "login": {"agent@vendor.example"}, "password": {"demo"}, "next": {"https://evil.example/"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q (an outside next must be dropped)", r.StatusCode, r.Header.Get("Location"))
	}
	// The language switch is remembered with the account.
	_, _, token = get(t, c, base+"/password", "")
	if r := post(t, c, base+"/lang", url.Values{"csrf": {token}, "lang": {"en"}, "back": {"/password"}}); r.StatusCode != 303 {
		t.Fatalf("language switch: %d", r.StatusCode)
	}
	var me struct{ Lang string }
	app.Login(t, "agent@vendor.example", "demo").Do("GET", "/api/v1/me", nil, 200, &me)
	if me.Lang != "en" {
		t.Errorf("account language = %q after switching to English", me.Lang)
	}
	if _, body, _ := get(t, c, base+"/password", "ru"); !strings.Contains(body, "Change password") {
		t.Error("the account's language does not win over the browser's")
	}
	// Pages need sign-in.
	resp, _ = client(t).Get(base + "/password")
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Errorf("anonymous /password: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
