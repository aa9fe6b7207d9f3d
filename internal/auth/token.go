package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"

	"tend/internal/apperr"
)

// TokenPrefix marks tend API tokens so secret scanners can find leaked ones.
const TokenPrefix = "tend_"

// TokenScope limits what a token may do on top of its owner's rights.
type TokenScope string

const (
	ScopeRead  TokenScope = "read"  // reads only
	ScopeWrite TokenScope = "write" // everything the owner may do
)

// Token is an API token as stored: only its hash is kept.
type Token struct {
	ID         int64      `json:"id"`
	AccountID  int64      `json:"account_id"`
	Name       string     `json:"name"`
	Scope      TokenScope `json:"scope"`
	Hint       string     `json:"hint"` // the first characters, to recognise it in a list
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewTokenSecret returns a fresh token (shown once) and the hash to store.
func NewTokenSecret() (secret, hash string) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashToken(secret)
}

// HashToken is how a presented token is looked up. Tokens carry 160 random
// bits, so a fast hash is enough; nothing readable is stored.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ValidateNewToken checks a token request.
func ValidateNewToken(name string, scope TokenScope, expires *time.Time, now time.Time) error {
	if strings.TrimSpace(name) == "" {
		return apperr.Field("name", "give the token a name, such as the script that will use it")
	}
	if len(name) > 100 {
		return apperr.Field("name", "name is longer than 100 characters")
	}
	if scope != ScopeRead && scope != ScopeWrite {
		return apperr.Field("scope", "scope must be read or write")
	}
	if expires != nil && !expires.After(now) {
		return apperr.Field("expires_at", "expiry must be in the future")
	}
	return nil
}
