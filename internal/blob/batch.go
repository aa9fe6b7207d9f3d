package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// NewBatch starts a batch of files made durable together.
func (d *Disk) NewBatch() Batch { return &diskBatch{d: d} }

type diskBatch struct {
	d     *Disk
	paths []string // every file put, for file systems without syncfs
}

func (b *diskBatch) Put(ctx context.Context, r io.Reader, limit int64) (Blob, error) {
	blob, final, err := b.d.put(ctx, r, limit, false)
	if err != nil {
		return Blob{}, err
	}
	// Kept even when the file was there already: its bytes may come from
	// another batch that has not synced yet.
	b.paths = append(b.paths, final)
	return blob, nil
}

// Sync flushes the file system the store is on once (syncfs), shared with
// every batch that waits at the same time; where there is no syncfs it
// fsyncs each file and folder of the batch.
func (b *diskBatch) Sync(ctx context.Context) error {
	if len(b.paths) == 0 {
		return nil
	}
	err := b.d.flush.run(func() error { return syncFS(b.d.root) })
	if errors.Is(err, errors.ErrUnsupported) {
		err = b.syncEach()
	}
	if err != nil {
		return fmt.Errorf("file store: sync: %w", err)
	}
	b.paths = b.paths[:0]
	return nil
}

func (b *diskBatch) syncEach() error {
	dirs := map[string]bool{b.d.root: true}
	for _, p := range b.paths {
		if err := syncPath(p); err != nil {
			return err
		}
		// The file's folder, and the folders above it that Put may have made.
		for dir := filepath.Dir(p); dir != b.d.root && !dirs[dir]; dir = filepath.Dir(dir) {
			dirs[dir] = true
		}
	}
	for dir := range dirs {
		if err := syncPath(dir); err != nil {
			return err
		}
	}
	return nil
}

// syncPath fsyncs files or folders by name.
func syncPath(paths ...string) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// flusher is group commit for the file system: a caller needs a flush
// that begins after its own writes; callers that come while one runs wait
// for the next, which they then share. Several mailboxes and SMTP
// sessions at once cost one flush, not one each.
type flusher struct {
	mu       sync.Mutex
	cond     *sync.Cond
	running  bool
	started  uint64 // flushes begun
	finished uint64 // flushes ended
	failed   uint64 // the last that failed
	err      error  // its error
}

func (f *flusher) run(flush func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	need := f.started + 1
	for f.finished < need {
		if f.running {
			f.cond.Wait()
			continue
		}
		f.running = true
		f.started++
		n := f.started
		f.mu.Unlock()
		err := flush()
		f.mu.Lock()
		f.running, f.finished = false, n
		if err != nil {
			f.failed, f.err = n, err
		}
		f.cond.Broadcast()
	}
	// After a failed flush the kernel may have dropped the pages it could
	// not write, and a later flush would not see them: every caller the
	// failure may have touched hears of it.
	if f.failed >= need {
		return f.err
	}
	return nil
}
