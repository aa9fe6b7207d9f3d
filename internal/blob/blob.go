// Package blob keeps files (attachments, diagnostic archives) outside the
// database. A file is streamed to storage while it is hashed and counted;
// it is never held in memory. Files are content-addressed: the key is the
// SHA-256 of the bytes, so the same file uploaded twice is stored once.
package blob

import (
	"context"
	"errors"
	"io"
)

// Blob describes a stored file.
type Blob struct {
	Key    string // where the bytes are; today the hex SHA-256
	Size   int64
	SHA256 string // hex
	// ContentType is sniffed from the first 512 bytes (http.DetectContentType).
	ContentType string
	// Created says this Put stored new bytes; false when an identical file
	// was already there. Only the call that created a blob may delete it
	// when the record that was to refer to it is not written.
	Created bool
}

// Store keeps files. Implementations: Disk (S3 comes later).
type Store interface {
	// Put streams r to storage. More than limit bytes is ErrTooLarge and
	// nothing is kept; no bytes at all is ErrEmpty. A failure to read r
	// (the client went away) is a *ReadError and nothing is kept.
	Put(ctx context.Context, r io.Reader, limit int64) (Blob, error)
	// Open gives the file's bytes; a missing key is ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes a file; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// Batch writes several files whose records are written afterwards, as a
// poll of a mailbox does: Put does not wait for the disk, and Sync makes
// everything the batch wrote durable at once — one flush for the lot
// instead of one fsync per file, which on a busy disk cost more than all
// the rest of taking a message (issue 6). Nothing may refer to a file of
// the batch before Sync has returned nil; a crash before then leaves at
// most files that nothing refers to.
type Batch interface {
	// Put is Store.Put without the wait for the disk.
	Put(ctx context.Context, r io.Reader, limit int64) (Blob, error)
	// Sync makes every file the batch put durable.
	Sync(ctx context.Context) error
}

// Batcher is a Store that writes batches (Disk does).
type Batcher interface {
	NewBatch() Batch
}

// NewBatch starts a batch on s: its own kind when s is a Batcher, else
// one whose files are durable as each is put.
func NewBatch(s Store) Batch {
	if b, ok := s.(Batcher); ok {
		return b.NewBatch()
	}
	return eachDurable{s}
}

type eachDurable struct{ s Store }

func (b eachDurable) Put(ctx context.Context, r io.Reader, limit int64) (Blob, error) {
	return b.s.Put(ctx, r, limit)
}
func (eachDurable) Sync(context.Context) error { return nil }

var (
	// ErrTooLarge: the file is over the limit given to Put.
	ErrTooLarge = errors.New("blob: the file is larger than the limit")
	// ErrEmpty: the file has no bytes.
	ErrEmpty = errors.New("blob: the file is empty")
	// ErrNotFound: no file under that key.
	ErrNotFound = errors.New("blob: no such file")
)

// ReadError is a failure reading the source (a broken upload), as opposed
// to a failure of the storage itself.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "blob: reading the upload: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }
