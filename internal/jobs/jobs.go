// Package jobs runs tend's background work: loops that wake on a ticker,
// call a domain service, log what failed, and stop when their context ends.
// Each loop's work is safe to run on several replicas at once (it is
// versioned or idempotent in the database), so no leader election is needed.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Runner starts loops and waits for them on shutdown.
type Runner struct {
	log *slog.Logger
	wg  sync.WaitGroup
}

func New(log *slog.Logger) *Runner { return &Runner{log: log} }

// Every runs fn now and then every interval until ctx ends. A failing run
// is logged and retried at the next tick.
func (r *Runner) Every(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error) {
	r.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "background job failed", "job", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// Wait blocks until every loop has returned.
func (r *Runner) Wait() { r.wg.Wait() }

// Go runs a loop that manages its own timing (it must return when ctx ends).
func (r *Runner) Go(ctx context.Context, fn func(context.Context)) {
	r.wg.Go(func() { fn(ctx) })
}
