package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
)

// An API token that authenticated is remembered for a moment, and what
// changes what it may do takes effect at once on this server: revoking it,
// disabling its account, renaming the account; its expiry is checked on
// every call.
func TestTokenCacheForgetsWhatChanges(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			st := app.Store
			admin, err := st.AccountByLogin(ctx, "admin@vendor.example")
			if err != nil {
				t.Fatal(err)
			}
			agent, err := st.AccountByLogin(ctx, "agent@vendor.example")
			if err != nil {
				t.Fatal(err)
			}
			newToken := func(expires *time.Time) (auth.Token, string) {
				t.Helper()
				tok, secret, err := st.CreateToken(ctx, agent.Principal(), "script", auth.ScopeWrite, expires)
				if err != nil {
					t.Fatal(err)
				}
				return tok, secret
			}
			works := func(secret string) (auth.Principal, bool) {
				t.Helper()
				p, err := st.PrincipalByToken(ctx, secret)
				return p, err == nil
			}

			// Remembered: a token deleted behind the server's back still
			// works for the moment, and no longer after it.
			tok, secret := newToken(nil)
			if _, ok := works(secret); !ok {
				t.Fatal("a new token does not authenticate")
			}
			if err := st.ExecForTest(ctx, fmt.Sprintf(`DELETE FROM api_tokens WHERE id = %d`, tok.ID)); err != nil {
				t.Fatal(err)
			}
			if _, ok := works(secret); !ok {
				t.Error("a token that just authenticated was looked up again")
			}
			app.Clock.Advance(3 * time.Second)
			if _, ok := works(secret); ok {
				t.Error("a deleted token still works after the moment")
			}

			// Revoked: refused at once.
			tok, secret = newToken(nil)
			works(secret)
			if _, err := st.RevokeToken(ctx, agent.Principal(), tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, ok := works(secret); ok {
				t.Error("a revoked token still works")
			}

			// Expired while remembered: refused.
			soon := app.Clock.Now().Add(time.Second)
			_, secret = newToken(&soon)
			works(secret)
			app.Clock.Advance(1500 * time.Millisecond)
			if _, ok := works(secret); ok {
				t.Error("an expired token still works")
			}

			// Renamed, then disabled: seen at once.
			_, secret = newToken(nil)
			works(secret)
			if _, err := st.UpdateAccount(ctx, admin.Principal(), agent.ID, func(a *auth.Account) error { a.Name = "Renamed Agent"; return nil }); err != nil {
				t.Fatal(err)
			}
			if p, ok := works(secret); !ok || p.Name != "Renamed Agent" {
				t.Errorf("after the rename the token acts as %q (%v)", p.Name, ok)
			}
			if _, err := st.UpdateAccount(ctx, admin.Principal(), agent.ID, func(a *auth.Account) error { a.Disabled = true; return nil }); err != nil {
				t.Fatal(err)
			}
			if _, ok := works(secret); ok {
				t.Error("a disabled account's token still works")
			}
		})
	}
}
