//go:build !linux

package blob

import "errors"

// syncFS: only Linux has syncfs; elsewhere a batch fsyncs its files.
func syncFS(string) error { return errors.ErrUnsupported }
