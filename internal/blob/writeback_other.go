//go:build !linux

package blob

import (
	"io"
	"os"
)

// newEarlyWriteback is the file itself where the kernel cannot be asked to
// start writing early (writeback_linux.go).
func newEarlyWriteback(f *os.File) io.Writer { return f }
