// Package api serves tend's REST API under /api/v1, the health checks, and
// the middleware every HTTP surface shares: request ids, logging, recovery,
// cross-origin protection, sessions and authentication.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/obs"
	"tend/internal/sla"
	"tend/internal/store"
)

// Config holds what the HTTP layer needs to know.
type Config struct {
	// MaxBody caps JSON bodies, in bytes.
	MaxBody int64
	// SecureCookies marks the session cookie Secure (serve over https).
	SecureCookies bool
	// SessionLifetime is the longest a sign-in lasts; SessionIdle ends it
	// earlier after that long without use.
	SessionLifetime, SessionIdle time.Duration
	// MaxUpload caps one attachment, in bytes (0: DefaultMaxUpload).
	MaxUpload int64
}

// DefaultConfig is what `tend serve` uses unless told otherwise.
func DefaultConfig() Config {
	return Config{MaxBody: 1 << 20, SessionLifetime: 7 * 24 * time.Hour, SessionIdle: 12 * time.Hour, MaxUpload: DefaultMaxUpload}
}

// Server is the HTTP face of tend.
type Server struct {
	cfg      Config
	store    *store.Store
	log      *slog.Logger
	sessions *scs.SessionManager
	byLogin  *auth.LoginLimiter
	byIP     *auth.LoginLimiter
	cal      func() *sla.Calendar
	calImp   CalendarImporter // nil: calendar imports are refused
	blobs    blob.Store       // nil: attachment routes answer 503 (WithBlobs)
	now      func() time.Time
	routes   []route
}

// Option adds an optional part to the server (WithCalendarImport).
type Option func(*Server)

// New builds the server. cal gives the production calendar in force.
func New(cfg Config, st *store.Store, log *slog.Logger, cal func() *sla.Calendar, opts ...Option) *Server {
	sm := scs.New()
	sm.Store = st.Sessions()
	sm.Lifetime = cfg.SessionLifetime
	sm.IdleTimeout = cfg.SessionIdle
	sm.Cookie.Name = "tend_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies
	s := &Server{
		cfg: cfg, store: st, log: log, sessions: sm, cal: cal, now: st.Now,
		// Five quick tries per login, then one every 12 s; a client address
		// gets a larger budget because a whole office may share one.
		byLogin: auth.NewLoginLimiter(5, 12*time.Second),
		byIP:    auth.NewLoginLimiter(60, time.Second),
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, s.log, err) }
	for _, o := range opts {
		o(s)
	}
	s.routes = s.routeTable()
	return s
}

// Routes lists the registered method and path patterns, for the OpenAPI check.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// Handler is the whole HTTP surface. extra, if given, receives everything
// the API does not (the web pages).
func (s *Server) Handler(extra http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.adapt(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, apperr.New(apperr.NotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path))
	})
	if extra != nil {
		mux.Handle("/", extra)
	}
	var h http.Handler = mux
	h = s.authenticate(h)
	h = s.sessions.LoadAndSave(h)
	h = s.bearerSession(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	return h
}

// PrincipalOf returns the authenticated caller, or the zero Principal.
func PrincipalOf(ctx context.Context) auth.Principal { return auth.PrincipalFrom(ctx) }

// authenticate finds the caller from a bearer token or the session cookie.
// A bad bearer token is refused outright rather than ignored.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var p auth.Principal
		if tok, ok := bearer(r); ok && strings.HasPrefix(tok, auth.TokenPrefix) {
			var err error
			if p, err = s.store.PrincipalByToken(ctx, tok); err != nil {
				writeError(w, r, s.log, err)
				return
			}
		} else if id := s.sessions.GetInt64(ctx, "account_id"); id != 0 {
			var err error
			p, err = s.store.PrincipalFor(ctx, id, s.sessions.GetInt64(ctx, "epoch"))
			switch {
			case apperr.Is(err, apperr.Unauthenticated):
				s.sessions.Destroy(ctx)
				p = auth.Principal{}
			case err != nil:
				writeError(w, r, s.log, err)
				return
			}
		} else if ok {
			writeError(w, r, s.log, apperr.New(apperr.Unauthenticated, "the bearer token is not valid or the session has ended; sign in again"))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, p)))
	})
}

// bearerSession lets the token answered by POST /auth/login (a session
// token) be used as a bearer token: it loads that session before the cookie
// middleware would load the cookie's.
func (s *Server) bearerSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := bearer(r); ok && !strings.HasPrefix(tok, auth.TokenPrefix) {
			ctx, err := s.sessions.Load(r.Context(), tok)
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id (kept from X-Request-Id when the
// proxy sent a sane one) and logs one line when it ends.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
			id = obs.NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := obs.WithRequestID(r.Context(), id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r.WithContext(ctx))
		s.log.LogAttrs(ctx, slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
			slog.Duration("took", time.Since(start)))
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				writeError(w, r, s.log, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// handlerFunc is an API handler: it gets the caller and returns an error
// to be answered in the one error format.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

type route struct {
	method, path string
	public       bool // reachable without signing in
	h            handlerFunc
}

func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalOf(r.Context())
		if !rt.public && p.Role == "" {
			writeError(w, r, s.log, apperr.New(apperr.Unauthenticated, "sign in first: POST /api/v1/auth/login, or send Authorization: Bearer <token>"))
			return
		}
		if err := rt.h(w, r, p); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}
