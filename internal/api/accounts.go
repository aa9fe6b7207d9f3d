package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/store"
)

type loginInput struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type loginOutput struct {
	Token     string       `json:"token"`
	ExpiresAt time.Time    `json:"expires_at"`
	Account   auth.Account `json:"account"`
}

// login checks a password, starts a browser session (cookie) and answers
// its token, which also works as a bearer token until the session ends.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	in, err := bodyOf[loginInput](s, r)
	if err != nil {
		return err
	}
	if in.Login == "" {
		return apperr.Field("login", "login is required")
	}
	if in.Password == "" {
		return apperr.Field("password", "password is required")
	}
	a, err := s.CheckPassword(w, r, in.Login, in.Password)
	if err != nil {
		return err
	}
	token, expiry, err := s.SignIn(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginOutput{Token: token, ExpiresAt: expiry.UTC(), Account: a})
	return nil
}

// CheckPassword checks a sign-in under the rate limits (per client
// address and per login); a refusal sets Retry-After.
func (s *Server) CheckPassword(w http.ResponseWriter, r *http.Request, login, password string) (auth.Account, error) {
	ok, wait := s.byIP.Allow(s.now(), clientIP(r))
	if ok {
		ok, wait = s.byLogin.Allow(s.now(), auth.NormalizeLogin(login))
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return auth.Account{}, apperr.New(apperr.RateLimited, "too many sign-in attempts; try again in %d seconds", int(wait.Seconds())+1)
	}
	a, err := s.store.Authenticate(r.Context(), login, password)
	if err != nil {
		s.log.InfoContext(r.Context(), "sign-in refused", "login", auth.NormalizeLogin(login))
		return auth.Account{}, err
	}
	return a, nil
}

// SignIn starts a browser session for a; its token also works as a bearer
// token until the session ends.
func (s *Server) SignIn(ctx context.Context, a auth.Account) (string, time.Time, error) {
	epoch, err := s.store.SessionEpoch(ctx, a.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	// A fresh token at sign-in: a token planted before it is worth nothing.
	if err := s.sessions.RenewToken(ctx); err != nil {
		return "", time.Time{}, err
	}
	s.sessions.Put(ctx, "account_id", a.ID)
	s.sessions.Put(ctx, "epoch", epoch)
	s.sessions.Put(ctx, "lang", a.Lang)
	return s.sessions.Commit(ctx)
}

// Sessions is the session manager, for the web pages' own session values.
func (s *Server) Sessions() *scs.SessionManager { return s.sessions }

// clientIP is the peer address; behind nginx, the proxy's address (one
// office behind one NAT shares a budget either way).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	a, err := s.store.GetAccount(r.Context(), p, p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

type profileInput struct {
	Name  *string `json:"name"`
	Phone *string `json:"phone"`
	Lang  *string `json:"lang"`
}

// updateMe lets anyone correct their own name, phone and language, without
// the right to edit accounts in general.
func (s *Server) updateMe(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[profileInput](s, r)
	if err != nil {
		return err
	}
	a, err := s.store.UpdateProfile(r.Context(), p, in.Name, in.Phone, in.Lang)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

type passwordInput struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changeOwnPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Scope == auth.ScopeRead {
		return apperr.New(apperr.Forbidden, "this API token may only read")
	}
	in, err := bodyOf[passwordInput](s, r)
	if err != nil {
		return err
	}
	if in.NewPassword == "" {
		return apperr.Field("new_password", "new password is required")
	}
	if err := s.store.SetPassword(r.Context(), p, p.AccountID, in.CurrentPassword, in.NewPassword); err != nil {
		return err
	}
	// The password change ended every session; keep this one going.
	if epoch, err := s.store.SessionEpoch(r.Context(), p.AccountID); err == nil && s.sessions.GetInt64(r.Context(), "account_id") == p.AccountID {
		s.sessions.RenewToken(r.Context())
		s.sessions.Put(r.Context(), "epoch", epoch)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetPassword sets another account's password (staff admin; a customer
// admin for the contacts of its organisation).
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[passwordInput](s, r)
	if err != nil {
		return err
	}
	if in.NewPassword == "" {
		return apperr.Field("new_password", "new password is required")
	}
	if id == p.AccountID {
		return apperr.New(apperr.Invalid, "change your own password with POST /api/v1/me/password")
	}
	if err := s.store.SetPassword(r.Context(), p, id, "", in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tokenInput struct {
	Name      string          `json:"name"`
	Scope     auth.TokenScope `json:"scope"`
	ExpiresAt *time.Time      `json:"expires_at"`
}

type tokenOutput struct {
	auth.Token
	Secret string `json:"secret"` // shown once
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[tokenInput](s, r)
	if err != nil {
		return err
	}
	t, secret, err := s.store.CreateToken(r.Context(), p, in.Name, in.Scope, in.ExpiresAt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenOutput{t, secret})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.ListTokens(r.Context(), p, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.store.RevokeToken(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type accountInput struct {
	auth.Account
	Password string `json:"password"`
}

// kindMismatch hides a staff account behind /contacts and the other way round.
func kindMismatch(a auth.Account, staff bool) error {
	if a.Role.IsStaff() != staff {
		if staff {
			return apperr.New(apperr.NotFound, "no such staff member")
		}
		return apperr.New(apperr.NotFound, "no such contact")
	}
	return nil
}

func (s *Server) createAccount(staff bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		in, err := bodyOf[accountInput](s, r)
		if err != nil {
			return err
		}
		a := in.Account
		if staff && !a.Role.IsStaff() {
			return apperr.Field("role", "staff role must be agent, developer, tester, release_manager or admin")
		}
		if !staff {
			if !a.Role.IsCustomer() {
				return apperr.Field("role", "contact role must be customer_admin, operator or integrator")
			}
			if a.CustomerID == 0 && p.IsCustomer() {
				a.CustomerID = p.CustomerID
			}
		}
		out, err := s.store.CreateAccount(r.Context(), p, a, in.Password)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, out)
		return nil
	}
}

func (s *Server) getAccount(staff bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		a, err := s.store.GetAccount(r.Context(), p, id)
		if err != nil {
			return err
		}
		if err := kindMismatch(a, staff); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a)
		return nil
	}
}

func (s *Server) patchAccount(staff bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		b, err := readBody(r, s.cfg.MaxBody)
		if err != nil {
			return err
		}
		a, err := s.store.UpdateAccount(r.Context(), p, id, func(a *auth.Account) error {
			if err := kindMismatch(*a, staff); err != nil {
				return err
			}
			return decodeStrict(b, a)
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a)
		return nil
	}
}

func (s *Server) listAccounts(staff bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		f := store.AccountFilter{Staff: staff, Query: r.URL.Query().Get("q")}
		var err error
		if f.Page, err = page(r); err != nil {
			return err
		}
		if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
			return err
		}
		out, err := s.store.ListAccounts(r.Context(), p, f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// parseInstant reads an RFC 3339 instant from a query parameter.
func parseInstant(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, apperr.Field(field, "%q is not an instant such as 2025-12-30T16:00:00+03:00", v)
	}
	return t, nil
}
