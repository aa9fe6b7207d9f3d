package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDiskBatch(t *testing.T) {
	ctx := context.Background()
	d, err := NewDisk(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	b := d.NewBatch()
	if err := b.Sync(ctx); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	one, err := b.Put(ctx, bytes.NewReader([]byte("first original")), 1<<20)
	if err != nil || !one.Created {
		t.Fatalf("put: %+v %v", one, err)
	}
	same, err := b.Put(ctx, bytes.NewReader([]byte("first original")), 1<<20)
	if err != nil || same.Created || same.Key != one.Key {
		t.Fatalf("the same bytes again: %+v %v", same, err)
	}
	two, err := b.Put(ctx, bytes.NewReader([]byte("second original")), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, bytes.NewReader(nil), 1<<20); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := b.Put(ctx, bytes.NewReader(make([]byte, 100)), 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Where the file system has no syncfs, each file and folder is synced.
	if err := (&diskBatch{d: d, paths: []string{d.path(one.Key), d.path(two.Key)}}).syncEach(); err != nil {
		t.Fatalf("sync each: %v", err)
	}
	for key, want := range map[string]string{one.Key: "first original", two.Key: "second original"} {
		f, err := d.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != want {
			t.Errorf("%s holds %q", key, got)
		}
	}
	if got := files(t, d.Root()); len(got) != 2 {
		t.Errorf("files = %v (temp files left?)", got)
	}
	// A plain Put of bytes a batch wrote: found, not created, and made
	// durable itself.
	again, err := d.Put(ctx, bytes.NewReader([]byte("second original")), 1<<20)
	if err != nil || again.Created || again.Key != two.Key {
		t.Errorf("put after the batch: %+v %v", again, err)
	}
}

// A store without batches of its own writes each file durably.
func TestNewBatchOnAnyStore(t *testing.T) {
	d, err := NewDisk(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(onlyStore{d})
	if _, ok := b.(eachDurable); !ok {
		t.Fatalf("batch %T", b)
	}
	if blob, err := b.Put(context.Background(), bytes.NewReader([]byte("x")), 10); err != nil || !blob.Created {
		t.Errorf("put: %+v %v", blob, err)
	}
	if _, ok := NewBatch(d).(*diskBatch); !ok {
		t.Error("Disk's own batch is not used")
	}
}

type onlyStore struct{ Store }

// Group commit: every caller returns only after a flush that began after
// it called, callers at once share flushes, and a failed flush reaches
// every caller it may have touched.
func TestFlusherSharesFlushes(t *testing.T) {
	var f flusher
	var calls atomic.Int64 // callers so far
	var mu sync.Mutex
	var flushes [][2]int64 // per finished flush: callers seen at its start, and at its end
	release := make(chan struct{})
	first := true
	flush := func() error {
		start := calls.Load()
		mu.Lock()
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-release // hold the first flush while the others arrive
		}
		mu.Lock()
		flushes = append(flushes, [2]int64{start, calls.Load()})
		mu.Unlock()
		return nil
	}
	const n = 20
	var wg sync.WaitGroup
	arrived := make(chan struct{}, n)
	for range n {
		wg.Go(func() {
			me := calls.Add(1)
			arrived <- struct{}{}
			if err := f.run(flush); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.ContainsFunc(flushes, func(fl [2]int64) bool { return fl[0] >= me }) {
				t.Errorf("caller %d returned before a flush that began after it", me)
			}
		})
	}
	for range n {
		<-arrived
	}
	close(release)
	wg.Wait()
	if len(flushes) >= n || len(flushes) < 1 {
		t.Errorf("%d callers made %d flushes; they should share", n, len(flushes))
	}

	var g flusher
	boom := errors.New("disk gone")
	if err := g.run(func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failed flush: %v", err)
	}
	if err := g.run(func() error { return nil }); err != nil {
		t.Errorf("a later flush that worked: %v", err)
	}
}
