//go:build !unix

package store

// lockFile is a no-op where flock is not available; SQLite's own locking
// still keeps the file consistent.
func lockFile(string) (func(), error) { return func() {}, nil }
