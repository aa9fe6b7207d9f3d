// Package store keeps tend's data in SQLite or PostgreSQL with one schema
// and one set of queries. Each exported method is one business operation in
// one transaction, and checks access through auth.Authorize inside it.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"tend/internal/apperr"
	"tend/internal/sla"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the database. Reads and writes go through separate pools so that
// SQLite's single writer never blocks readers.
type Store struct {
	engine Engine
	w      *sql.DB // writes; one connection on SQLite
	r      *sql.DB // reads
	pool   *pgxpool.Pool
	unlock func()
	now    func() time.Time
	log    *slog.Logger
	// calendar is the production calendar in force (see UseCalendar).
	calendar func() *sla.Calendar
	// stmts keeps queries prepared on SQLite (stmtcache.go).
	stmts *stmtCache
	// group batches SQLite's write transactions (group.go).
	group writeGroup
	// checkpoints copies SQLite's log into the database file (checkpoint.go).
	checkpoints *checkpointer
	// sealer seals mailbox passwords and the reply-address key; nil until
	// UseSecretKey (mail_secrets.go).
	sealer atomic.Pointer[sealer]
	// numberYears are the years whose number sequences are known to
	// exist on PostgreSQL (numbers.go).
	numberYears sync.Map
	// tokens remembers API tokens that authenticated (tokencache.go).
	tokens tokenCache
}

// Options configure Open.
type Options struct {
	// DSN is a postgres:// URL, or empty for SQLite in DataDir.
	DSN string
	// DataDir holds tend.db when the engine is SQLite.
	DataDir string
	// Now is the clock (time.Now when nil); tests pass their own.
	Now func() time.Time
	Log *slog.Logger
}

// Open connects to the database named by opts. It does not migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, log: opts.Log, stmts: &stmtCache{m: map[stmtKey]*sql.Stmt{}, pending: map[stmtKey]bool{}}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if strings.HasPrefix(opts.DSN, "postgres://") || strings.HasPrefix(opts.DSN, "postgresql://") {
		return s, s.openPostgres(ctx, opts.DSN)
	}
	path := strings.TrimPrefix(opts.DSN, "sqlite:")
	if path == "" {
		if opts.DataDir == "" {
			return nil, errors.New("no database: give --db or --data")
		}
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
		path = filepath.Join(opts.DataDir, "tend.db")
	}
	return s, s.openSQLite(path)
}

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	s.engine = Postgres
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("read the PostgreSQL URL: %w", err)
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	s.w, s.r = db, db
	s.unlock = func() {}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		s.pool.Close()
		return fmt.Errorf("cannot reach PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return nil
}

func (s *Store) openSQLite(path string) error {
	s.engine = SQLite
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	s.unlock = unlock
	// WAL lets readers work beside the writer; busy_timeout waits for locks
	// instead of failing; immediate transactions take the write lock at BEGIN
	// so two writers never deadlock upgrading a read lock.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	dsn := "file:" + path + "?" + pragmas
	// The writer's statement journals (one per savepoint of a shared
	// commit, group.go) stay in memory: in a file they cost a fifth of its
	// time under registrations (issue 7).
	s.w, err = sql.Open("sqlite", dsn+"&_txlock=immediate&_pragma=temp_store(MEMORY)"+
		fmt.Sprintf("&_pragma=cache_size(%d)&_pragma=wal_autocheckpoint(%d)", -writerCacheKiB, writerCheckpointPages))
	if err != nil {
		unlock()
		return fmt.Errorf("open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.r, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"+fmt.Sprintf("&_pragma=cache_size(%d)", -readerCacheKiB))
	if err != nil {
		s.w.Close()
		unlock()
		return fmt.Errorf("open %s: %w", path, err)
	}
	// Readers stay open: database/sql keeps only two idle connections by
	// default, and opening one reads the schema again and drops its
	// prepared statements (issue 7: a tenth of the CPU under load).
	s.r.SetMaxOpenConns(sqliteReaders())
	s.r.SetMaxIdleConns(sqliteReaders())
	if err := s.w.Ping(); err != nil {
		s.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	if s.checkpoints, err = startCheckpointer(dsn); err != nil {
		s.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	return nil
}

// Engine says which database this store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now().UTC() }

// Close releases the pools and the SQLite lock.
func (s *Store) Close() error {
	s.closeStmts()
	err := s.checkpoints.close()
	if s.r != nil && s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if s.w != nil {
		err = errors.Join(err, s.w.Close())
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.unlock != nil {
		s.unlock()
	}
	return err
}

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.r.PingContext(ctx); err != nil {
		return apperr.New(apperr.Unavailable, "the database does not answer")
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return apperr.New(apperr.Unavailable, "the database does not answer")
	}
	return nil
}

// Migrate brings the schema up to date. Migrations are forward-only; on
// PostgreSQL a session lock keeps two starting replicas from racing.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.engine == Postgres {
		dialect = goose.DialectPostgres
		// One lock per schema: replicas sharing a schema wait for each other,
		// while separate schemas (tests, tenants) migrate side by side.
		var schema string
		if err := s.w.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, s.fail("migrate", err)
		}
		h := fnv.New64a()
		h.Write([]byte("tend migrations " + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(dialect, s.w, migrationFS{base: sub, engine: s.engine}, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []string
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// conn runs queries written with ? placeholders on either engine.
type conn struct {
	q querier
	s *Store
	// db is the pool of a transaction q, which keeps its queries prepared
	// (stmtcache.go); nil for other transactions.
	db *sql.DB
	// rec, when set, records writes for one pipeline instead of running
	// them (pipeline.go).
	rec *[]recordedStmt
}

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if c.rec != nil {
		*c.rec = append(*c.rec, recordedStmt{q: rebind(c.s.engine, q), args: utcArgs(args)})
		return recordedResult{}, nil
	}
	if st := c.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, utcArgs(args)...)
	}
	return c.q.ExecContext(ctx, rebind(c.s.engine, q), utcArgs(args)...)
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, utcArgs(args)...)
	}
	return c.q.QueryContext(ctx, rebind(c.s.engine, q), utcArgs(args)...)
}

func (c conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, utcArgs(args)...)
	}
	return c.q.QueryRowContext(ctx, rebind(c.s.engine, q), utcArgs(args)...)
}

// prepare makes a statement for repeated use within the transaction.
func (c conn) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	p, ok := c.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return nil, errors.New("prepare: not available on this connection")
	}
	return p.PrepareContext(ctx, rebind(c.s.engine, q))
}

// insert runs an INSERT … RETURNING id and gives the id.
func (c conn) insert(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := c.queryRow(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, err
}

// utcArgs stores every instant in UTC: SQLite compares them as text, so one
// zone keeps the order right.
func utcArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC()
		case *time.Time:
			if v != nil {
				args[i] = v.UTC()
			}
		}
	}
	return args
}

// read gives a conn on the read pool.
func (s *Store) read() conn { return conn{q: s.r, s: s} }

// tx runs fn in one write transaction and commits if fn returns nil.
func (s *Store) tx(ctx context.Context, op string, fn func(conn) error) error {
	if s.engine == SQLite {
		return s.groupTx(ctx, op, fn)
	}
	return s.soloTx(ctx, op, fn)
}

// soloTx runs fn in a transaction of its own.
func (s *Store) soloTx(ctx context.Context, op string, fn func(conn) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	if err := fn(conn{q: tx, s: s, db: s.w}); err != nil {
		tx.Rollback()
		return s.fail(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err)
	}
	s.checkpoints.committed()
	return nil
}

// fail turns a database error into one the caller can act on.
func (s *Store) fail(op string, err error) error {
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apperr.Error{Code: apperr.Unavailable, Message: "the operation was cancelled or timed out", Err: fmt.Errorf("%s: %w", op, err)}
	case errors.Is(err, sql.ErrNoRows):
		return &apperr.Error{Code: apperr.NotFound, Message: "not found", Err: fmt.Errorf("%s: %w", op, err)}
	case isUnavailable(err):
		return &apperr.Error{Code: apperr.Unavailable, Message: "the database is unreachable; try again shortly", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return &apperr.Error{Code: apperr.Internal, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// uniqueOr maps a unique violation to a Conflict on field.
func uniqueOr(err error, field, msg string) error {
	if err != nil && isUniqueViolation(err) {
		return &apperr.Error{Code: apperr.Conflict, Field: field, Message: msg}
	}
	return err
}

// SQLite's page caches, per connection. The default (2 MiB) holds neither
// the inner pages of a million requests' tables and indexes nor the leaf
// pages a registration writes, so under load most page reads were system
// calls, and on a machine that evicts page cache that has not been touched
// for a few seconds, reads from the disk (issue 7). The caches are
// emptied when the server goes quiet (ReleaseMemory).
const (
	writerCacheKiB = 64 << 10
	readerCacheKiB = 16 << 10
)

func sqliteReaders() int { return max(4, runtime.NumCPU()) }

// ReleaseMemory gives back what a server that has gone quiet holds for the
// next burst: on SQLite each read connection keeps its own page cache
// (and the search index's pages), so the idle ones are closed and open
// again on the next read, which costs a read of the schema (issue 7: idle
// RSS). PostgreSQL keeps its caches in its own processes.
func (s *Store) ReleaseMemory() {
	if s.engine == SQLite {
		s.r.SetMaxIdleConns(0)
		s.r.SetMaxIdleConns(sqliteReaders())
		// The writer stays open; its cache is emptied (it refills from
		// the file on the next write).
		s.w.Exec(`PRAGMA shrink_memory`)
	}
}
