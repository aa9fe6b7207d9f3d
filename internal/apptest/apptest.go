// Package apptest gives each test a fresh tend: its own database (SQLite in
// a temp folder, or a fresh schema on the PostgreSQL named by TEND_TEST_PG)
// and the real HTTP handler on a loopback port.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tend/internal/api"
	"tend/internal/blob"
	"tend/internal/calendar"
	"tend/internal/demo"
	"tend/internal/sla"
	"tend/internal/store"
	"tend/internal/web"
)

// Engines lists the engines store-backed tests run on: SQLite always, and
// PostgreSQL when TEND_TEST_PG is set. TEND_TEST_ENGINES (such as
// "postgres") narrows the list, so CI can run each engine in its own pass.
// A PostgreSQL that is named but unreachable fails the test (see freshSchema).
func Engines(t testing.TB) []string {
	t.Helper()
	engines := []string{"sqlite"}
	if os.Getenv("TEND_TEST_PG") != "" {
		engines = append(engines, "postgres")
	}
	if only := os.Getenv("TEND_TEST_ENGINES"); only != "" {
		var out []string
		for _, e := range engines {
			if strings.Contains(only, e) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			t.Fatalf("TEND_TEST_ENGINES=%s selects no engine (is TEND_TEST_PG set?)", only)
		}
		engines = out
	}
	return engines
}

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// SecretKey is the server secret key every test app seals with (tend
// serve reads it from --secret-key-file or secret.key in --data).
func SecretKey() []byte { return bytes.Repeat([]byte("tend-test-key/32"), 2) }

// App is one test's tend.
type App struct {
	Store *store.Store
	// Calendar is the production calendar in force, as tend serve has it:
	// the shipped calendar plus imports (Calendar.Import).
	Calendar *calendar.Service
	Server   *api.Server
	HTTP     *httptest.Server
	Clock    *Clock
	Engine   string
	// Files is the folder of the attachment store.
	Files string
}

// Options adjust NewApp.
type Options struct {
	Demo   bool       // load the demo vendor
	Config api.Config // zero: api.DefaultConfig()
	Now    time.Time  // zero: 2026-03-02 10:00 Moscow, a Monday
	// DSN, if set, rewrites the PostgreSQL DSN (to route it through a proxy).
	DSN func(string) string
}

// NewApp starts a fresh tend on engine ("sqlite" or "postgres").
func NewApp(t testing.TB, engine string, o Options) *App {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 3, 2, 10, 0, 0, 0, sla.Moscow())
	}
	clock := &Clock{t: o.Now}
	ctx := context.Background()
	opts := store.Options{Now: clock.Now, Log: slog.New(slog.DiscardHandler)}
	switch engine {
	case "sqlite":
		opts.DataDir = t.TempDir()
	case "postgres":
		opts.DSN = freshSchema(t)
		if o.DSN != nil {
			opts.DSN = o.DSN(opts.DSN)
		}
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// As tend serve does: a store without the server's secret key refuses
	// to store mailbox passwords and the reply-address key.
	if _, err := st.UseSecretKey(ctx, SecretKey()); err != nil {
		t.Fatalf("secret key: %v", err)
	}

	cfg := o.Config
	if cfg.MaxBody == 0 {
		cfg = api.DefaultConfig()
	}
	cal := calendar.New(st, slog.New(slog.DiscardHandler))
	if err := cal.Load(ctx); err != nil {
		t.Fatalf("load the calendar: %v", err)
	}
	st.UseCalendar(cal.Current)
	files, err := blob.NewDisk(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Demo {
		if _, err := demo.Load(ctx, st, files, clock.Now()); err != nil {
			t.Fatalf("demo: %v", err)
		}
	}
	srv := api.New(cfg, st, slog.New(slog.DiscardHandler), cal.Current, api.WithCalendarImport(cal), api.WithBlobs(files))
	pages, err := web.New(web.Deps{Store: st, Auth: srv, Calendar: cal.Current, Log: slog.New(slog.DiscardHandler), Blobs: files, MaxUpload: cfg.MaxUpload, CalendarImport: cal})
	if err != nil {
		t.Fatalf("web pages: %v", err)
	}
	hs := httptest.NewServer(srv.Handler(pages.Handler()))
	t.Cleanup(hs.Close)
	return &App{Store: st, Calendar: cal, Server: srv, HTTP: hs, Clock: clock, Engine: engine, Files: files.Root()}
}

// PostgresDSN makes an empty schema on TEND_TEST_PG, dropped when the test
// ends, and returns a DSN that uses it: for tests that open their own store,
// such as the command line's. It skips the test when TEND_TEST_PG is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return freshSchema(t)
}

// freshSchema makes an empty schema on TEND_TEST_PG and returns a DSN whose
// search_path points at it; the schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEND_TEST_PG")
	if base == "" {
		t.Skip("TEND_TEST_PG is not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEND_TEST_PG: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEND_TEST_PG: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Client calls the API as one person.
type Client struct {
	t     testing.TB
	base  string
	token string
	hc    *http.Client
}

// Anonymous is a client that has not signed in.
func (a *App) Anonymous(t testing.TB) *Client {
	return &Client{t: t, base: a.HTTP.URL, hc: a.HTTP.Client()}
}

// Login signs in with a password and returns a client using the token.
func (a *App) Login(t testing.TB, login, password string) *Client {
	t.Helper()
	c := a.Anonymous(t)
	var out struct{ Token string }
	c.Do("POST", "/api/v1/auth/login", map[string]string{"login": login, "password": password}, http.StatusOK, &out)
	if out.Token == "" {
		t.Fatalf("login %s: no token", login)
	}
	c.token = out.Token
	return c
}

// WithToken is a client that sends token as a bearer token.
func (a *App) WithToken(t testing.TB, token string) *Client {
	c := a.Anonymous(t)
	c.token = token
	return c
}

// Response is what a call answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error decodes the error body.
func (r Response) Error() (code, field, message string) {
	var e struct {
		Error struct{ Code, Field, Message string }
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Code, e.Error.Field, e.Error.Message
}

// Raw sends a request with a raw body and content type.
func (c *Client) Raw(method, path, contentType string, body io.Reader) Response {
	c.t.Helper()
	return c.RawWithHeaders(method, path, contentType, body, nil)
}

// RawWithHeaders is Raw with extra request headers.
func (c *Client) RawWithHeaders(method, path, contentType string, body io.Reader, headers map[string]string) Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Call sends body as JSON (nil for none) and returns the response.
func (c *Client) Call(method, path string, body any) Response {
	c.t.Helper()
	var r io.Reader
	ct := ""
	if body != nil {
		switch v := body.(type) {
		case string:
			r = strings.NewReader(v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				c.t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
		ct = "application/json"
	}
	return c.Raw(method, path, ct, r)
}

// Do calls and checks the status, decoding the answer into out if given.
func (c *Client) Do(method, path string, body any, want int, out any) Response {
	c.t.Helper()
	resp := c.Call(method, path, body)
	if resp.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, resp.Body, err)
		}
	}
	return resp
}
