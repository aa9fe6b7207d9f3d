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

const tokenCols = `id, account_id, name, scope, hint, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (auth.Token, error) {
	var t auth.Token
	var exp, used, rev sql.NullTime
	err := row.Scan(&t.ID, &t.AccountID, &t.Name, &t.Scope, &t.Hint, &t.CreatedAt, &exp, &used, &rev)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timePtr(exp), timePtr(used), timePtr(rev)
	return t, err
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func tokenResource(t auth.Token) auth.Resource {
	return auth.Resource{Kind: auth.KindToken, OwnerID: t.AccountID}
}

// CreateToken issues an API token for the caller. The secret is returned
// once and only its hash is kept. A token never has more rights than its
// owner: it authenticates as the owner, optionally read-only.
func (s *Store) CreateToken(ctx context.Context, p auth.Principal, name string, scope auth.TokenScope, expires *time.Time) (auth.Token, string, error) {
	name = strings.TrimSpace(name)
	if scope == "" {
		scope = auth.ScopeWrite
	}
	if err := auth.ValidateNewToken(name, scope, expires, s.Now()); err != nil {
		return auth.Token{}, "", err
	}
	if p.Scope == auth.ScopeRead && scope == auth.ScopeWrite {
		return auth.Token{}, "", apperr.Field("scope", "a read-only token cannot issue a token that writes")
	}
	secret, hash := auth.NewTokenSecret()
	t := auth.Token{AccountID: p.AccountID, Name: name, Scope: scope, Hint: secret[:len(auth.TokenPrefix)+4], CreatedAt: s.Now(), ExpiresAt: expires}
	err := s.tx(ctx, "create token", func(c conn) error {
		if err := auth.Authorize(p, auth.Create, tokenResource(t)); err != nil {
			return err
		}
		id, err := c.insert(ctx, `INSERT INTO api_tokens (account_id, name, scope, hash, hint, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.AccountID, t.Name, t.Scope, hash, t.Hint, t.CreatedAt, expires)
		if err != nil {
			return err
		}
		t.ID = id
		return c.journal(ctx, p, "token", id, p.CustomerID, "created", nil, t, "")
	})
	if err != nil {
		return auth.Token{}, "", err
	}
	return t, secret, nil
}

// ListTokens lists the caller's tokens (an admin sees everyone's).
func (s *Store) ListTokens(ctx context.Context, p auth.Principal, pg Page) (List[auth.Token], error) {
	scope, err := auth.ListScope(p, auth.KindToken)
	if err != nil {
		return List[auth.Token]{}, err
	}
	var w where
	w.scope(scope, "0", "account_id")
	return listPage(ctx, s, "list tokens", "api_tokens", tokenCols, w, pg, scanToken, func(t auth.Token) int64 { return t.ID })
}

// RevokeToken ends a token at once; revoking twice is harmless.
func (s *Store) RevokeToken(ctx context.Context, p auth.Principal, id int64) (auth.Token, error) {
	defer s.tokens.forget() // tokencache.go
	var out auth.Token
	err := s.tx(ctx, "revoke token", func(c conn) error {
		t, err := scanToken(c.queryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "token")
		}
		if err := auth.Authorize(p, auth.Update, tokenResource(t)); err != nil {
			if apperr.Is(err, apperr.Forbidden) {
				return apperr.New(apperr.NotFound, "no such token")
			}
			return err
		}
		if t.RevokedAt == nil {
			now := s.Now()
			t.RevokedAt = &now
			if _, err := c.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, now, id); err != nil {
				return err
			}
			if err := c.journal(ctx, p, "token", id, 0, "revoked", nil, nil, t.Name); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	return out, err
}

// PrincipalByToken authenticates an API token. A token that did is
// remembered for a moment (tokencache.go).
func (s *Store) PrincipalByToken(ctx context.Context, secret string) (auth.Principal, error) {
	bad := apperr.New(apperr.Unauthenticated, "the API token is not valid, has expired or was revoked")
	if !strings.HasPrefix(secret, auth.TokenPrefix) {
		return auth.Principal{}, bad
	}
	hash := auth.HashToken(secret)
	now := s.Now()
	t, ok := s.tokens.get(hash, now)
	if !ok {
		gen := s.tokens.generation()
		var (
			scope     auth.TokenScope
			exp, used sql.NullTime
			revoked   sql.NullTime
			a         auth.Account
			cust      sql.NullInt64
		)
		err := s.read().queryRow(ctx, `SELECT t.id, t.scope, t.expires_at, t.last_used_at, t.revoked_at, a.id, a.name, a.role, a.customer_id, a.disabled
			FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = ?`, hash).
			Scan(&t.id, &scope, &exp, &used, &revoked, &a.ID, &a.Name, &a.Role, &cust, &a.Disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.Principal{}, bad
		}
		if err != nil {
			return auth.Principal{}, s.fail("authenticate token", err)
		}
		if revoked.Valid || a.Disabled {
			return auth.Principal{}, bad
		}
		a.CustomerID = cust.Int64
		t.p, t.expires, t.used = principalOf(a, scope), exp.Time, used.Time
		s.tokens.put(hash, t, gen, now)
	}
	if !t.expires.IsZero() && !t.expires.After(now) {
		return auth.Principal{}, bad
	}
	if now.Sub(t.used) > tokenTouchEvery {
		// Best effort: a failed touch must not fail the request.
		s.w.ExecContext(ctx, rebind(s.engine, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), now, t.id)
		s.tokens.touched(hash, now)
	}
	return t.p, nil
}
