package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimiter slows down password guessing: a budget of attempts per login
// and per client address, refilled over time. It keeps state in memory, so
// each replica limits on its own.
type LoginLimiter struct {
	mu      sync.Mutex
	byKey   map[string]*rate.Limiter
	perKey  rate.Limit
	burst   int
	maxKeys int
}

// NewLoginLimiter allows burst attempts at once per key, then one per every.
func NewLoginLimiter(burst int, every time.Duration) *LoginLimiter {
	return &LoginLimiter{byKey: map[string]*rate.Limiter{}, perKey: rate.Every(every), burst: burst, maxKeys: 100_000}
}

// Allow spends one attempt for each key at now. When refused it says how
// long to wait; a refused call spends nothing.
func (l *LoginLimiter) Allow(now time.Time, keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byKey) > l.maxKeys {
		// Forget keys whose budget is full again; they would behave the same.
		for k, lim := range l.byKey {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.byKey, k)
			}
		}
	}
	rs := make([]*rate.Reservation, 0, len(keys))
	var wait time.Duration
	for _, k := range keys {
		lim, ok := l.byKey[k]
		if !ok {
			lim = rate.NewLimiter(l.perKey, l.burst)
			l.byKey[k] = lim
		}
		r := lim.ReserveN(now, 1)
		rs = append(rs, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait > 0 {
		for _, r := range rs {
			r.CancelAt(now)
		}
		return false, wait
	}
	return true, 0
}
