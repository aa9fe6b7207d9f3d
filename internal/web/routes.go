package web

import (
	"io/fs"
	"net/http"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
)

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(files)))
	s.mux.HandleFunc("GET /{$}", s.page(true, s.home))
	s.mux.HandleFunc("GET /signin", s.page(true, s.signinForm))
	s.mux.HandleFunc("POST /signin", s.page(true, s.signin))
	s.mux.HandleFunc("POST /signout", s.page(false, s.signout))
	s.mux.HandleFunc("POST /lang", s.page(true, s.setLang))
	s.mux.HandleFunc("GET /password", s.page(false, s.passwordForm))
	s.mux.HandleFunc("POST /password", s.page(false, s.changePassword))
	for _, area := range []func(){s.portalRoutes, s.deskRoutes, s.adminRoutes, s.productRoutes, s.mailRoutes} {
		area()
	}
	s.mux.HandleFunc("/", s.page(true, func(w http.ResponseWriter, r *http.Request, v *view) error {
		return apperr.New(apperr.NotFound, "%s", v.T("error.not_found"))
	}))
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// home sends people where their work is.
func (s *Server) home(w http.ResponseWriter, r *http.Request, v *view) error {
	switch {
	case v.User.Role == "":
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	case v.User.IsStaff():
		http.Redirect(w, r, "/desk", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/requests", http.StatusSeeOther)
	}
	return nil
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = v.T("signin.title")
	v.Data = map[string]string{"Next": safeNext(r.URL.Query().Get("next")), "Login": ""}
	return s.render(w, http.StatusOK, "signin", v)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request, v *view) error {
	login, next := r.PostFormValue("login"), safeNext(r.PostFormValue("next"))
	a, err := s.deps.Auth.CheckPassword(w, r, login, r.PostFormValue("password"))
	if err != nil {
		v.Title = v.T("signin.title")
		v.Data = map[string]string{"Next": next, "Login": login}
		v.Error = v.T("signin.wrong")
		status := http.StatusUnauthorized
		if apperr.Is(err, apperr.RateLimited) {
			v.Error, status = v.T("signin.too_many"), http.StatusTooManyRequests
		} else if !apperr.Is(err, apperr.Unauthenticated) {
			return err
		}
		return s.render(w, status, "signin", v)
	}
	if _, _, err := s.deps.Auth.SignIn(r.Context(), a); err != nil {
		return err
	}
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.deps.Auth.Sessions().Destroy(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// setLang switches the language and remembers it with the account.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request, v *view) error {
	lang := r.PostFormValue("lang")
	if lang != "ru" && lang != "en" {
		return apperr.Field("lang", "%s", v.T("error.lang"))
	}
	s.deps.Auth.Sessions().Put(r.Context(), "lang", lang)
	if v.User.Role != "" {
		if _, err := s.deps.Store.UpdateProfile(r.Context(), v.User, nil, nil, &lang); err != nil {
			return err
		}
	}
	back := safeNext(r.PostFormValue("back"))
	if back == "" {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// settingsView is the settings page's: the mail settings form (the
// password form uses the page's own error fields).
type settingsView struct {
	Mail *admForm
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request, v *view) error {
	s.takeFlash(r, v)
	return s.settingsPage(w, r, v, http.StatusOK, nil)
}

// settingsPage shows one's settings: e-mail (language, opt-out) and the
// password. mail, when given, is the mail form coming back with an error.
func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, v *view, status int, mail *admForm) error {
	v.Title = v.T("settings.title")
	if mail == nil {
		vals, err := s.mailSettingsValues(r, v)
		if err != nil {
			return err
		}
		mail = mailSettingsForm(v, vals)
	}
	v.Data = settingsView{Mail: mail}
	return s.render(w, status, "password", v)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, v *view) error {
	err := s.deps.Store.SetPassword(r.Context(), v.User, v.User.AccountID, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		v.Field = e.Field
		v.Error = v.T("password.error." + e.Field)
		return s.settingsPage(w, r, v, http.StatusUnprocessableEntity, nil)
	}
	// The change ended every session, this one too: start a fresh one.
	a, err := s.deps.Store.GetAccount(r.Context(), auth.System, v.User.AccountID)
	if err != nil {
		return err
	}
	if _, _, err := s.deps.Auth.SignIn(r.Context(), a); err != nil {
		return err
	}
	return s.redirect(w, r, "/password", v.T("password.changed"))
}
