package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Disk keeps files in a folder (<data>/files): each under ab/cd/<sha256>,
// with uploads in progress as .upload-* temp files in the folder itself, so
// that the final rename never crosses file systems.
type Disk struct {
	root  string
	flush flusher // batches' Sync (batch.go)
}

const tempPrefix = ".upload-"

// NewDisk makes the folder if needed and removes temp files left by a
// process that died in the middle of an upload a day or more ago.
func NewDisk(root string) (*Disk, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	d := &Disk{root: root}
	d.sweep(24 * time.Hour)
	return d, nil
}

// Root is the folder the files are in.
func (d *Disk) Root() string { return d.root }

func (d *Disk) sweep(olderThan time.Duration) {
	temps, _ := filepath.Glob(filepath.Join(d.root, tempPrefix+"*"))
	for _, name := range temps {
		if fi, err := os.Stat(name); err == nil && time.Since(fi.ModTime()) > olderThan {
			os.Remove(name)
		}
	}
}

// Put streams r to a temp file while hashing and counting it, then moves it
// to its content address. Memory use is one copy buffer, whatever the size.
// The file is durable when Put returns.
func (d *Disk) Put(ctx context.Context, r io.Reader, limit int64) (Blob, error) {
	b, final, err := d.put(ctx, r, limit, true)
	if err == nil && !b.Created {
		// The bytes were there already, perhaps written by a batch that has
		// not synced yet: the caller's record must not outlive them.
		err = syncPath(final, filepath.Dir(final))
	}
	if err != nil {
		return Blob{}, err
	}
	return b, nil
}

// put stores r and answers where; durable syncs the file before it gets
// its name (a batch syncs everything at once instead).
func (d *Disk) put(ctx context.Context, r io.Reader, limit int64, durable bool) (b Blob, final string, err error) {
	f, err := os.CreateTemp(d.root, tempPrefix+"*")
	if err != nil {
		return Blob{}, "", fmt.Errorf("file store: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()

	h := sha256.New()
	head := &headWriter{max: 512}
	src := &sourceReader{ctx: ctx, r: io.LimitReader(r, limit+1)}
	n, err := copyHashing(io.MultiWriter(newEarlyWriteback(f), head), h, src)
	switch {
	case src.err != nil:
		return Blob{}, "", &ReadError{Err: src.err}
	case err != nil:
		return Blob{}, "", fmt.Errorf("file store: write: %w", err)
	case n > limit:
		return Blob{}, "", ErrTooLarge
	case n == 0:
		return Blob{}, "", ErrEmpty
	}
	if durable {
		if err := f.Sync(); err != nil {
			return Blob{}, "", fmt.Errorf("file store: sync: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		f = nil
		return Blob{}, "", fmt.Errorf("file store: close: %w", err)
	}
	f = nil

	sum := hex.EncodeToString(h.Sum(nil))
	b = Blob{Key: sum, Size: n, SHA256: sum, ContentType: http.DetectContentType(head.b)}
	final = d.path(sum)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return Blob{}, "", fmt.Errorf("file store: %w", err)
	}
	b.Created, err = place(tmp, final)
	if err != nil {
		return Blob{}, "", fmt.Errorf("file store: %w", err)
	}
	os.Remove(tmp) // after a link, or when the file was already there
	return b, final, nil
}

// copyHashing copies src to w and hashes it on another goroutine: hashing
// (about 2 GB/s with SHA instructions) took as long as a fast disk takes
// to write, and the two need not wait for each other (issue 7). Buffers of
// 64 KiB stay in the processor's cache between the copy and the hash;
// larger ones were slower. Memory use is at most eight buffers, whatever
// the size.
func copyHashing(w io.Writer, h hash.Hash, src io.Reader) (int64, error) {
	const bufSize, nbufs = 64 << 10, 8
	free := make(chan []byte, nbufs)
	made := 0
	next := func() []byte { // a small file needs one buffer
		select {
		case b := <-free:
			return b
		default:
		}
		if made < nbufs {
			made++
			return make([]byte, bufSize)
		}
		return <-free
	}
	hashed := make(chan []byte, nbufs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range hashed {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	defer func() {
		close(hashed)
		<-done
	}()
	var n int64
	for {
		buf := next()
		k, rerr := io.ReadFull(src, buf)
		if k > 0 {
			if _, err := w.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			hashed <- buf[:k]
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return n, nil
		case rerr != nil:
			return n, rerr
		}
	}
}

// place puts tmp at final unless final exists already (the same bytes:
// dedupe). A hard link creates final atomically only if it is absent, so
// of two identical uploads at once exactly one reports it created the file.
func place(tmp, final string) (created bool, err error) {
	err = os.Link(tmp, final)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	// No hard links on this file system: check, then rename.
	if _, err := os.Stat(final); err == nil {
		return false, nil
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, err
	}
	return true, nil
}

// Open opens a stored file.
func (d *Disk) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	if !validKey(key) {
		return nil, ErrNotFound
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	return f, nil
}

// Delete removes a stored file and the folders it leaves empty.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return nil
	}
	p := d.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file store: %w", err)
	}
	// Remove fails on a folder that is not empty, which is what we want.
	os.Remove(filepath.Dir(p))
	os.Remove(filepath.Dir(filepath.Dir(p)))
	return nil
}

func (d *Disk) path(key string) string {
	return filepath.Join(d.root, key[:2], key[2:4], key)
}

// validKey accepts only what Put hands out: 64 lowercase hex digits, so a
// key can never walk out of the folder.
func validKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	return strings.IndexFunc(key, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) < 0
}

// sourceReader stops at the context's end and remembers a read failure,
// so Put can tell a broken upload from a storage fault.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// headWriter keeps the first max bytes written, for sniffing.
type headWriter struct {
	b   []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

var _ Store = (*Disk)(nil)
