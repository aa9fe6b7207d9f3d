// Package web serves tend's pages: the customer portal and the agent desk,
// server-rendered with html/template, htmx for small live updates, every
// text from the ru/en catalogs. Core forms work without JavaScript.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/nicksnyder/go-i18n/v2/i18n"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/sla"
	"tend/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Auth is what the pages need from the HTTP layer that owns sign-in.
type Auth interface {
	CheckPassword(w http.ResponseWriter, r *http.Request, login, password string) (auth.Account, error)
	SignIn(ctx context.Context, a auth.Account) (string, time.Time, error)
	Sessions() *scs.SessionManager
}

// Deps are the parts the pages are built on.
type Deps struct {
	Store    *store.Store
	Auth     Auth
	Calendar func() *sla.Calendar
	Log      *slog.Logger
	Blobs    blob.Store // attachment files; nil turns uploads from pages off
	// MaxUpload is the largest upload one form may carry, all its files
	// together (0: the API's default, 64 MiB).
	MaxUpload int64
	// CalendarImport imports production calendar files and puts them in
	// force (calendar.Service); nil turns the admin's import form off.
	CalendarImport interface {
		Import(ctx context.Context, p auth.Principal, data []byte, hint, source string) ([]int, error)
	}
}

// Server renders the pages.
type Server struct {
	deps   Deps
	bundle *i18n.Bundle
	pages  map[string]*template.Template
	mux    *http.ServeMux
}

// New parses templates and catalogs once.
func New(d Deps) (*Server, error) {
	b, err := loadBundle()
	if err != nil {
		return nil, err
	}
	s := &Server{deps: d, bundle: b, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) parseTemplates() error {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		s.pages[name] = t
	}
	return nil
}

// Handler serves the pages with the security headers every page needs.
func (s *Server) Handler() http.Handler {
	return securityHeaders(s.mux)
}

// securityHeaders: no inline scripts, no framing, no sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// handler is a page handler; an error renders the error page.
type handler func(w http.ResponseWriter, r *http.Request, v *view) error

// view is what every page template gets.
type view struct {
	tr      translator
	Lang    string
	User    auth.Principal
	CSRF    string
	Path    string
	Title   string
	Flash   string
	Error   string
	Field   string // the input the error is about
	Data    any
	Now     time.Time
	request *http.Request
	// parts is the rest of a multipart POST whose csrf part was checked
	// (pageMultipart); nil for every other request.
	parts *multipart.Reader
}

func (v *view) T(id string, args ...any) string { return v.tr.T(id, args...) }

// IsStaff and IsCustomer let templates choose what to show; access itself
// is always decided by the store.
func (v *view) IsStaff() bool    { return v.User.IsStaff() }
func (v *view) IsCustomer() bool { return v.User.IsCustomer() }
func (v *view) SignedIn() bool   { return v.User.Role != "" }
func (v *view) Role() string     { return string(v.User.Role) }

// page wraps a handler: it settles the language, the CSRF token, and
// sign-in for pages that need it.
func (s *Server) page(public bool, h handler) http.HandlerFunc {
	return s.pageWith(public, false, h)
}

// pageMultipart is page for forms that carry files (enctype
// multipart/form-data). Such a body is never parsed into memory
// (ParseMultipartForm would buffer it, and ParseForm ignores it), so the
// CSRF token cannot come from r.PostForm: the form must send it as its
// first part, which is read and checked here before a single byte of a
// file is. The handler then reads the remaining parts, streaming files,
// from v.parts. A url-encoded POST to the same route is handled as page does.
func (s *Server) pageMultipart(h handler) http.HandlerFunc {
	return s.pageWith(false, true, h)
}

// csrfPartMax bounds the first part of a multipart form, the token.
const csrfPartMax = 256

func (s *Server) pageWith(public, multipartOK bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		if !public && p.Role == "" {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		sm := s.deps.Auth.Sessions()
		ctx := r.Context()
		token := sm.GetString(ctx, "csrf")
		if token == "" {
			b := make([]byte, 24)
			rand.Read(b)
			token = base64.RawURLEncoding.EncodeToString(b)
			sm.Put(ctx, "csrf", token)
		}
		v := &view{User: p, CSRF: token, Path: r.URL.Path, Now: s.deps.Store.Now(), request: r}
		v.Lang = langOf(r, sm.GetString(ctx, "lang"))
		v.tr = translator{lang: v.Lang, loc: i18n.NewLocalizer(s.bundle, v.Lang)}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && multipartOK && mt == "multipart/form-data" {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload()+1<<20)
			mr, err := r.MultipartReader()
			if err != nil {
				s.fail(w, r, v, apperr.New(apperr.Invalid, "%s", v.T("error.form")))
				return
			}
			part, err := mr.NextPart()
			var sent []byte
			if err == nil && part.FormName() == "csrf" {
				sent, err = io.ReadAll(io.LimitReader(part, csrfPartMax))
			}
			if err != nil || subtle.ConstantTimeCompare(sent, []byte(token)) != 1 {
				s.fail(w, r, v, apperr.New(apperr.Forbidden, "%s", v.T("error.csrf")))
				return
			}
			v.parts = mr
		} else if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, v, apperr.New(apperr.Invalid, "%s", v.T("error.form")))
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(token)) != 1 {
				s.fail(w, r, v, apperr.New(apperr.Forbidden, "%s", v.T("error.csrf")))
				return
			}
		}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	}
}

// maxUpload is the largest upload one form may carry.
func (s *Server) maxUpload() int64 {
	if s.deps.MaxUpload > 0 {
		return s.deps.MaxUpload
	}
	return 64 << 20
}

// render writes a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, v *view) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write([]byte(buf.String()))
	return err
}

// fail renders an error in the person's language; internal details are
// logged, not shown.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	e := apperr.As(err)
	status := apperr.HTTPStatus(e.Code)
	v.Title = v.T("error.title")
	v.Error = e.Message
	// Access refusals come from the store in English; people read them in
	// their own language.
	switch e.Code {
	case apperr.Forbidden:
		v.Error = v.T("error.forbidden")
	case apperr.NotFound:
		v.Error = v.T("error.not_found")
	}
	if e.Code == apperr.Internal || e.Code == apperr.Unavailable {
		s.deps.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		v.Error = v.T("error.internal")
	}
	if rerr := s.render(w, status, "error", v); rerr != nil && !errors.Is(rerr, context.Canceled) {
		s.deps.Log.ErrorContext(r.Context(), "render error page", "err", rerr)
	}
}

// redirect after a successful POST (the PRG pattern), with a flash.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		s.deps.Auth.Sessions().Put(r.Context(), "flash", flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// takeFlash moves the one-time message into the view.
func (s *Server) takeFlash(r *http.Request, v *view) {
	v.Flash = s.deps.Auth.Sessions().PopString(r.Context(), "flash")
}

var funcs = template.FuncMap{
	"msk": func(t time.Time) string { return t.In(sla.Moscow()).Format("02.01.2006 15:04") },
	"date": func(t time.Time) string {
		return t.In(sla.Moscow()).Format("02.01.2006")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"join": strings.Join,
}
