package store

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine is the SQL engine behind a Store. Everything that differs between
// the two lives in this file.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// sqliteTypes spells PostgreSQL's column types the way SQLite (and the
// modernc driver, which turns TIMESTAMP columns back into time.Time) wants.
var sqliteTypes = strings.NewReplacer(
	"BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY",
	"TIMESTAMPTZ", "TIMESTAMP",
	"BYTEA", "BLOB",
)

// migrationFS serves the migrations for one engine: the shared files with
// types respelled for SQLite, and a file named NNN_x.sqlite.sql or
// NNN_x.postgres.sql only to its own engine.
type migrationFS struct {
	base   fs.FS
	engine Engine
}

func (m migrationFS) Open(name string) (fs.File, error) {
	if name == "." {
		return m.base.Open(name)
	}
	if other := m.otherSuffix(); strings.HasSuffix(name, other) {
		return nil, fs.ErrNotExist
	}
	if m.engine == Postgres {
		return m.base.Open(name)
	}
	b, err := fs.ReadFile(m.base, name)
	if err != nil {
		return nil, err
	}
	return &memFile{name: name, r: strings.NewReader(sqliteTypes.Replace(string(b)))}, nil
}

// Glob is what goose calls; it hides the other engine's files.
func (m migrationFS) Glob(pattern string) ([]string, error) {
	all, err := fs.Glob(m.base, pattern)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, n := range all {
		if !strings.HasSuffix(n, m.otherSuffix()) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (m migrationFS) otherSuffix() string {
	if m.engine == Postgres {
		return ".sqlite.sql"
	}
	return ".postgres.sql"
}

type memFile struct {
	name string
	r    *strings.Reader
}

func (f *memFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return i.f.name }
func (i memInfo) Size() int64        { return i.f.r.Size() }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// rebinds caches queries rewritten from ? to $n for PostgreSQL.
var rebinds sync.Map

// rebind turns the ? placeholders every query is written with into $1, $2…
// (queries hold no literal question marks).
func rebind(e Engine, q string) string {
	if e != Postgres {
		return q
	}
	if v, ok := rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	rebinds.Store(q, b.String())
	return b.String()
}

// isUniqueViolation reports a unique constraint failure on either engine.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isUnavailable reports errors that mean the database cannot be reached,
// as opposed to a query it refused.
func isUnavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// 08: connection exception; 57P01-03: the server is shutting down or starting.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_IOERR || c == sqlite3.SQLITE_FULL
	}
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
}
