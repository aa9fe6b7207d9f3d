package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
)

const accountCols = `id, login, name, phone, role, department, customer_id, lang, disabled, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (auth.Account, error) {
	var a auth.Account
	var cust sql.NullInt64
	err := row.Scan(&a.ID, &a.Login, &a.Name, &a.Phone, &a.Role, &a.Department, &cust, &a.Lang, &a.Disabled, &a.CreatedAt, &a.UpdatedAt)
	a.CustomerID = cust.Int64
	return a, err
}

// accountResource is how access control sees an account: staff accounts
// are vendor data; a contact belongs to its customer and owns itself.
func accountResource(a auth.Account) auth.Resource {
	if a.Role.IsStaff() {
		return auth.Resource{Kind: auth.KindStaff, OwnerID: a.ID}
	}
	return auth.Resource{Kind: auth.KindContact, CustomerID: a.CustomerID, OwnerID: a.ID}
}

// CreateAccount adds a staff member or a contact with an initial password
// (empty: the account cannot sign in until one is set).
func (s *Store) CreateAccount(ctx context.Context, p auth.Principal, a auth.Account, password string) (auth.Account, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	hash := ""
	if password != "" {
		if err := auth.ValidatePassword(password); err != nil {
			return a, err
		}
		var err error
		if hash, err = auth.HashPassword(password); err != nil {
			return a, err
		}
	}
	err := s.tx(ctx, "create account", func(c conn) error {
		if err := auth.Authorize(p, auth.Create, accountResource(a)); err != nil {
			return err
		}
		if a.CustomerID != 0 {
			if err := c.mustExist(ctx, "customers", a.CustomerID, "customer_id", "customer"); err != nil {
				return err
			}
		}
		now := s.Now()
		a.CreatedAt, a.UpdatedAt = now, now
		id, err := c.insert(ctx, `INSERT INTO accounts (login, name, phone, role, department, customer_id, lang, password_hash, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Login, a.Name, a.Phone, a.Role, a.Department, nullID(a.CustomerID), a.Lang, hash, a.Disabled, now, now)
		if err != nil {
			return uniqueOr(err, "login", "an account with this login already exists")
		}
		a.ID = id
		return c.journal(ctx, p, "account", id, a.CustomerID, "created", nil, a, "")
	})
	return a, err
}

// GetAccount reads one account the caller may see.
func (s *Store) GetAccount(ctx context.Context, p auth.Principal, id int64) (auth.Account, error) {
	a, err := scanAccount(s.read().queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return a, s.fail("get account", notFound(err, "account"))
	}
	if err := auth.Authorize(p, auth.Read, accountResource(a)); err != nil {
		return auth.Account{}, err
	}
	return a, nil
}

// AccountFilter narrows ListAccounts.
type AccountFilter struct {
	Staff      bool  // staff accounts instead of contacts
	CustomerID int64 // contacts of one customer
	Query      string
	Page
}

// ListAccounts lists staff or contacts, as far as the caller may read them.
func (s *Store) ListAccounts(ctx context.Context, p auth.Principal, f AccountFilter) (List[auth.Account], error) {
	kind := auth.KindContact
	if f.Staff {
		kind = auth.KindStaff
	}
	scope, err := auth.ListScope(p, kind)
	if err != nil {
		return List[auth.Account]{}, err
	}
	var w where
	if f.Staff {
		w.add("customer_id IS NULL")
	} else {
		w.add("customer_id IS NOT NULL")
	}
	w.scope(scope, "customer_id", "id")
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add("(LOWER(login) LIKE ? ESCAPE '\\' OR LOWER(name) LIKE ? ESCAPE '\\')", likeArg(q), likeArg(q))
	}
	return listPage(ctx, s, "list accounts", "accounts", accountCols, w, f.Page, scanAccount, func(a auth.Account) int64 { return a.ID })
}

// UpdateAccount applies change to an account inside one transaction. The
// change may not move a contact to another customer or between staff and
// contacts; role changes need the right to the resulting account too.
func (s *Store) UpdateAccount(ctx context.Context, p auth.Principal, id int64, change func(*auth.Account) error) (auth.Account, error) {
	defer s.tokens.forget() // its tokens act as it does (tokencache.go)
	var out auth.Account
	err := s.tx(ctx, "update account", func(c conn) error {
		before, err := scanAccount(c.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "account")
		}
		if err := auth.Authorize(p, auth.Update, accountResource(before)); err != nil {
			return err
		}
		a := before
		if err := change(&a); err != nil {
			return err
		}
		a.ID, a.CreatedAt, a.Login = before.ID, before.CreatedAt, auth.NormalizeLogin(a.Login)
		if a.CustomerID != before.CustomerID {
			return apperr.Field("customer_id", "a contact cannot move to another customer; create a new contact instead")
		}
		if a.Role.IsStaff() != before.Role.IsStaff() {
			return apperr.Field("role", "a staff account cannot become a contact or the other way round")
		}
		if err := a.Validate(); err != nil {
			return err
		}
		if err := auth.Authorize(p, auth.Update, accountResource(a)); err != nil {
			return err
		}
		if a.ID == p.AccountID && (a.Disabled || a.Role != before.Role) {
			return apperr.Field("role", "you cannot disable your own account or change your own role")
		}
		a.UpdatedAt = s.Now()
		_, err = c.exec(ctx, `UPDATE accounts SET login = ?, name = ?, phone = ?, role = ?, department = ?, lang = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			a.Login, a.Name, a.Phone, a.Role, a.Department, a.Lang, a.Disabled, a.UpdatedAt, a.ID)
		if err != nil {
			return uniqueOr(err, "login", "an account with this login already exists")
		}
		if a.Disabled && !before.Disabled {
			// A disabled account keeps no way in.
			if _, err := c.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`, a.UpdatedAt, a.ID); err != nil {
				return err
			}
		}
		out = a
		return c.journal(ctx, p, "account", a.ID, a.CustomerID, "updated", before, a, "")
	})
	return out, err
}

// SetPassword changes a password. Callers changing their own password must
// give the current one; admins resetting someone else's need the update right.
func (s *Store) SetPassword(ctx context.Context, p auth.Principal, id int64, current, next string) error {
	if err := auth.ValidatePassword(next); err != nil {
		return err
	}
	hash, err := auth.HashPassword(next)
	if err != nil {
		return err
	}
	return s.tx(ctx, "set password", func(c conn) error {
		a, err := scanAccount(c.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "account")
		}
		if p.AccountID == id {
			var old string
			if err := c.queryRow(ctx, `SELECT password_hash FROM accounts WHERE id = ?`, id).Scan(&old); err != nil {
				return err
			}
			if !auth.CheckPassword(old, current) {
				return apperr.Field("current_password", "the current password is not correct")
			}
		} else if err := auth.Authorize(p, auth.Update, accountResource(a)); err != nil {
			return err
		}
		// A new session epoch ends every browser session signed in with the old password.
		if _, err := c.exec(ctx, `UPDATE accounts SET password_hash = ?, session_epoch = session_epoch + 1, updated_at = ? WHERE id = ?`, hash, s.Now(), id); err != nil {
			return err
		}
		return c.journal(ctx, p, "account", id, a.CustomerID, "password_changed", nil, nil, "")
	})
}

// ResetPassword sets a password without the old one: for `tend user
// reset-password`, run by whoever holds the server.
func (s *Store) ResetPassword(ctx context.Context, login, next string) error {
	a, err := s.AccountByLogin(ctx, login)
	if err != nil {
		return err
	}
	return s.SetPassword(ctx, auth.System, a.ID, "", next)
}

// AccountByLogin finds an account by login, for the CLI and sign-in.
func (s *Store) AccountByLogin(ctx context.Context, login string) (auth.Account, error) {
	a, err := scanAccount(s.read().queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE login = ?`, auth.NormalizeLogin(login)))
	if err != nil {
		return a, s.fail("find account", notFound(err, "account"))
	}
	return a, nil
}

// Authenticate checks a login and password. Every failure looks the same
// to the caller, and costs the same time.
func (s *Store) Authenticate(ctx context.Context, login, password string) (auth.Account, error) {
	bad := apperr.New(apperr.Unauthenticated, "wrong login or password")
	var hash string
	var a auth.Account
	row := s.read().queryRow(ctx, `SELECT password_hash, `+accountCols+` FROM accounts WHERE login = ?`, auth.NormalizeLogin(login))
	var cust sql.NullInt64
	err := row.Scan(&hash, &a.ID, &a.Login, &a.Name, &a.Phone, &a.Role, &a.Department, &cust, &a.Lang, &a.Disabled, &a.CreatedAt, &a.UpdatedAt)
	a.CustomerID = cust.Int64
	if errors.Is(err, sql.ErrNoRows) || (err == nil && hash == "") {
		auth.BurnPasswordCheck(password)
		return auth.Account{}, bad
	}
	if err != nil {
		return auth.Account{}, s.fail("authenticate", err)
	}
	if !auth.CheckPassword(hash, password) || a.Disabled {
		return auth.Account{}, bad
	}
	return a, nil
}

// SessionEpoch is the account's current session generation; a session
// records it at sign-in and is valid only while it is unchanged.
func (s *Store) SessionEpoch(ctx context.Context, id int64) (int64, error) {
	var epoch int64
	err := s.read().queryRow(ctx, `SELECT session_epoch FROM accounts WHERE id = ?`, id).Scan(&epoch)
	return epoch, s.failOrNil("session epoch", err)
}

// PrincipalFor loads the principal of a session's account; a disabled or
// missing account, or a session from before a password change, gets
// Unauthenticated.
func (s *Store) PrincipalFor(ctx context.Context, id, epoch int64) (auth.Principal, error) {
	var a auth.Account
	var cust sql.NullInt64
	var current int64
	err := s.read().queryRow(ctx, `SELECT id, name, role, customer_id, disabled, session_epoch FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Role, &cust, &a.Disabled, &current)
	a.CustomerID = cust.Int64
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (a.Disabled || current != epoch)) {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "your session has ended; sign in again")
	}
	if err != nil {
		return auth.Principal{}, s.fail("load session account", err)
	}
	return principalOf(a, auth.ScopeWrite), nil
}

func principalOf(a auth.Account, scope auth.TokenScope) auth.Principal {
	p := a.Principal()
	p.Scope = scope
	return p
}

// tokenTouchEvery limits last-used updates to one write a minute per token.
const tokenTouchEvery = time.Minute

// UpdateProfile changes the caller's own name, phone and language (nil
// leaves a value as it is).
func (s *Store) UpdateProfile(ctx context.Context, p auth.Principal, name, phone, lang *string) (auth.Account, error) {
	if p.Scope == auth.ScopeRead {
		return auth.Account{}, apperr.New(apperr.Forbidden, "this API token may only read")
	}
	var out auth.Account
	defer s.tokens.forget() // tokens carry the name (tokencache.go)
	err := s.tx(ctx, "update profile", func(c conn) error {
		before, err := scanAccount(c.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, p.AccountID))
		if err != nil {
			return notFound(err, "account")
		}
		a := before
		if name != nil {
			a.Name = *name
		}
		if phone != nil {
			a.Phone = *phone
		}
		if lang != nil {
			a.Lang = *lang
		}
		if err := a.Validate(); err != nil {
			return err
		}
		a.UpdatedAt = s.Now()
		if _, err := c.exec(ctx, `UPDATE accounts SET name = ?, phone = ?, lang = ?, updated_at = ? WHERE id = ?`, a.Name, a.Phone, a.Lang, a.UpdatedAt, a.ID); err != nil {
			return err
		}
		out = a
		return c.journal(ctx, p, "account", a.ID, a.CustomerID, "profile_updated", before, a, "")
	})
	return out, err
}

// SetPasswordHash stores a ready hash, for the demo loader: its accounts
// share the public password "demo", hashed once.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.tx(ctx, "set password hash", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, hash, id)
		return err
	})
}
