package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Pipelined writes on PostgreSQL (issue 7). A registration is half a
// dozen inserts that read nothing they wrote; sent one by one, each is a
// round trip, and at a million requests half of the machine's CPU went to
// the system calls and wake-ups of those round trips (the server's and
// PostgreSQL's). Recorded instead, they go to the server in one pipeline
// ending in one Sync, which PostgreSQL runs as one implicit transaction:
// all of them commit or none does.

// recordedStmt is a write kept for the pipeline.
type recordedStmt struct {
	q    string
	args []any
}

// recordedResult stands for the result of a write not yet sent.
type recordedResult struct{}

var errNotSent = errors.New("a pipelined write has no result until the pipeline runs")

func (recordedResult) LastInsertId() (int64, error) { return 0, errNotSent }
func (recordedResult) RowsAffected() (int64, error) { return 0, errNotSent }

// pipelined runs fn with a conn that records its writes and sends them in
// one pipeline, one transaction. fn's reads go to the read pool and see
// committed data only, so fn must read nothing it wrote and must not
// decide anything by how many rows a write touched.
func (s *Store) pipelined(ctx context.Context, op string, fn func(conn) error) error {
	var rec []recordedStmt
	if err := fn(conn{q: s.r, s: s, rec: &rec}); err != nil {
		return s.fail(op, err)
	}
	if len(rec) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, st := range rec {
		b.Queue(st.q, st.args...)
	}
	br := s.pool.SendBatch(ctx, b)
	var err error
	for range rec {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// read is one query of a batch of reads, with what to do with each row.
type read struct {
	q    string
	args []any
	each func(scanner) error
}

// readAll runs independent reads. On PostgreSQL's read pool they go in one
// pipeline, one round trip instead of one each, and, as one implicit
// transaction, see one snapshot; elsewhere (SQLite, in-process; inside a
// transaction) they run one after another.
func (c conn) readAll(ctx context.Context, reads ...read) error {
	if c.s.engine != Postgres || c.q != c.s.r || len(reads) < 2 {
		for _, rd := range reads {
			if err := c.readRows(ctx, rd); err != nil {
				return err
			}
		}
		return nil
	}
	b := &pgx.Batch{}
	for _, rd := range reads {
		b.Queue(rebind(c.s.engine, rd.q), utcArgs(rd.args)...)
	}
	br := c.s.pool.SendBatch(ctx, b)
	for _, rd := range reads {
		rows, err := br.Query()
		if err == nil {
			err = eachRow(rows, rd.each)
			rows.Close()
		}
		if err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// readRows runs one read on its own.
func (c conn) readRows(ctx context.Context, rd read) error {
	rows, err := c.query(ctx, rd.q, rd.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, rd.each)
}

// eachRow hands every row to each.
func eachRow(rows interface {
	scanner
	Next() bool
	Err() error
}, each func(scanner) error) error {
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
