// Package idle notices when a server has gone quiet and gives memory back
// then: Go returns freed heap to the system only gradually and collects
// garbage on its own schedule, so a server after a burst would sit for
// minutes at the burst's size.
package idle

import (
	"context"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Tracker counts requests in flight and when the last one ended.
type Tracker struct {
	inFlight atomic.Int64
	lastEnd  atomic.Int64 // unix nanoseconds
	active   atomic.Bool  // a request came since the last release
}

// Wrap counts the requests h serves.
func (t *Tracker) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.inFlight.Add(1)
		t.active.Store(true)
		defer func() {
			t.lastEnd.Store(time.Now().UnixNano())
			t.inFlight.Add(-1)
		}()
		h.ServeHTTP(w, r)
	})
}

// quietSince says whether nothing has been served since now-quiet.
func (t *Tracker) quietSince(now time.Time, quiet time.Duration) bool {
	return t.inFlight.Load() == 0 && now.Sub(time.Unix(0, t.lastEnd.Load())) >= quiet
}

// Release runs release and returns freed memory to the system once each
// time the server has served requests and then stayed quiet for quiet.
// It checks every quiet/4 until ctx ends.
func (t *Tracker) Release(ctx context.Context, quiet time.Duration, release func()) {
	tick := time.NewTicker(max(quiet/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if t.active.Load() && t.quietSince(now, quiet) {
				t.active.Store(false)
				release()
				debug.FreeOSMemory()
			}
		}
	}
}
