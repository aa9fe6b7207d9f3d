package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryRunsUntilCancelledAndSurvivesErrors(t *testing.T) {
	r := New(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int32
	r.Every(ctx, "test", time.Millisecond, func(context.Context) error {
		if runs.Add(1) == 1 {
			return errors.New("first run fails")
		}
		return nil
	})
	for runs.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	r.Wait()
	n := runs.Load()
	time.Sleep(5 * time.Millisecond)
	if runs.Load() != n {
		t.Error("the loop ran after Wait returned")
	}
}
