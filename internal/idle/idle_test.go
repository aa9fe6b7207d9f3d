package idle

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestReleasesOnceAfterEachBurst(t *testing.T) {
	var tr Tracker
	var released atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.Release(ctx, 40*time.Millisecond, func() { released.Add(1) })
	h := tr.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	waitFor := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for released.Load() != n {
			if time.Now().After(deadline) {
				t.Fatalf("released %d times, want %d", released.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(120 * time.Millisecond)
	if released.Load() != 0 {
		t.Fatal("released before any request was served")
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	waitFor(1)
	time.Sleep(120 * time.Millisecond)
	if released.Load() != 1 {
		t.Fatalf("released %d times while quiet, want once", released.Load())
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	waitFor(2)
}

func TestNotQuietWhileARequestRuns(t *testing.T) {
	var tr Tracker
	tr.inFlight.Add(1)
	if tr.quietSince(time.Now().Add(time.Hour), time.Second) {
		t.Fatal("quiet with a request in flight")
	}
	tr.inFlight.Add(-1)
	if !tr.quietSince(time.Now().Add(time.Hour), time.Second) {
		t.Fatal("not quiet an hour after the last request")
	}
}
