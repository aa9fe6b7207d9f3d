package blob

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how much of a large file is written before the kernel
// is asked to start writing it to the disk.
const writebackEvery = 8 << 20

// earlyWriteback wraps a file being filled so that the disk writes it
// while the rest arrives: without it every byte of a large upload waited
// in the page cache for the final fsync (issue 7: a 1 GiB upload went from
// 806–814 to 895–916 MiB/s). SYNC_FILE_RANGE_WRITE only starts the
// writeback; the fsync at the end still decides durability.
type earlyWriteback struct {
	f        *os.File
	off, top int64 // written so far; start of what has not been handed to the disk
}

func newEarlyWriteback(f *os.File) *earlyWriteback { return &earlyWriteback{f: f} }

func (w *earlyWriteback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.top >= writebackEvery {
		// Best effort: a file system without it simply waits for the fsync.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.top, w.off-w.top, unix.SYNC_FILE_RANGE_WRITE)
		w.top = w.off
	}
	return n, err
}
