package store

import (
	"sync"
	"time"

	"tend/internal/auth"
)

// API tokens that authenticated are remembered for tokenCacheFor (issue
// 7): a client calls many times a second, and looking its token up on
// every call was a round trip to the database on every call, a third of
// a registration's on PostgreSQL. Whatever changes what a token may do —
// revoking it, disabling or changing its account — forgets every token on
// this server at once; another replica of a scaled-out tend notices within
// tokenCacheFor. A token's expiry is checked on every call.
const tokenCacheFor = 2 * time.Second

// tokenCacheMax bounds the memory: past it, the cache starts again empty.
const tokenCacheMax = 10000

type tokenCache struct {
	mu  sync.Mutex
	gen uint64 // moved by forget, so a lookup that raced a change is not kept
	m   map[string]cachedToken
}

type cachedToken struct {
	p       auth.Principal
	id      int64
	expires time.Time // zero: never
	used    time.Time // last written to last_used_at
	until   time.Time
}

// get returns the remembered token with this hash, if it is still fresh.
func (tc *tokenCache) get(hash string, now time.Time) (cachedToken, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	t, ok := tc.m[hash]
	if !ok || !now.Before(t.until) || now.Before(t.until.Add(-tokenCacheFor)) {
		return cachedToken{}, false
	}
	return t, true
}

// generation is read before a lookup and handed to put.
func (tc *tokenCache) generation() uint64 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.gen
}

// put remembers a token looked up at generation gen, unless something
// was forgotten since.
func (tc *tokenCache) put(hash string, t cachedToken, gen uint64, now time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if gen != tc.gen {
		return
	}
	if tc.m == nil || len(tc.m) >= tokenCacheMax {
		tc.m = map[string]cachedToken{}
	}
	t.until = now.Add(tokenCacheFor)
	tc.m[hash] = t
}

// touched records that the token's last use was written at now.
func (tc *tokenCache) touched(hash string, now time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if t, ok := tc.m[hash]; ok {
		t.used = now
		tc.m[hash] = t
	}
}

// forget drops every remembered token: called after a change to tokens or
// accounts has committed.
func (tc *tokenCache) forget() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.gen++
	tc.m = nil
}
