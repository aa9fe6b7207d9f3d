package store

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"tend/internal/apperr"
)

// Group commit on SQLite (issue 7). SQLite has one writer, and what a
// write costs is mostly its commit: every page the transaction touched is
// appended to the write-ahead log, and a registration touches about twenty
// (the request and its indexes, the journal, the clocks, the notice, the
// search terms), most of them the same right-hand leaf pages the previous
// registration touched. Transactions that arrive while another is being
// written therefore run together, each in its own savepoint, and commit
// once: a shared page is written once per group, not once per caller.
//
// To each caller this is its own transaction: what its function wrote
// commits or none of it does; a function that fails rolls back only its
// savepoint; a commit that fails fails every caller in the group, and then
// nothing of any of them was written.

// maxGroup bounds the callers that share one commit, so that one group's
// latency stays that of a few registrations.
const maxGroup = 32

type writeGroup struct {
	mu      sync.Mutex
	pending []*groupItem
	leading bool         // a caller is writing groups now
	groups  atomic.Int64 // groups written, for the tests
}

type groupItem struct {
	ctx  context.Context
	op   string
	fn   func(conn) error
	err  error
	done chan struct{} // closed when err is final
	lead chan struct{} // closed when this caller is to write the next group
}

// groupTx runs fn in a write transaction shared with the callers waiting
// beside it. The first caller to arrive writes groups until none are
// waiting for it; the callers behind it wait for their result or to be
// handed the lead.
func (s *Store) groupTx(ctx context.Context, op string, fn func(conn) error) error {
	it := &groupItem{ctx: ctx, op: op, fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, it)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		// Once taken into a group a caller's write may commit: it waits for
		// the outcome even when its context ends (the writer stops its
		// statements on that context, so the wait is short).
		select {
		case <-it.done:
			return it.err
		case <-it.lead:
		}
	}
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := append([]*groupItem(nil), g.pending[:n]...)
	g.pending = append(g.pending[:0], g.pending[n:]...)
	g.mu.Unlock()

	s.writeGroup(batch)

	// Hand the lead to the first caller that came meanwhile, so no caller
	// writes other callers' groups for long.
	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	<-it.done
	return it.err
}

// writeGroup runs a batch in one transaction and settles every item.
func (s *Store) writeGroup(batch []*groupItem) {
	defer func() {
		for _, it := range batch {
			close(it.done)
		}
	}()
	if len(batch) == 1 {
		it := batch[0]
		it.err = s.soloTx(it.ctx, it.op, func(c conn) error { return runSafely(it.fn, c) })
		s.group.groups.Add(1)
		return
	}
	// The transaction belongs to no one caller: it must not end with the
	// first caller's context.
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, it := range batch {
			it.err = s.fail(it.op, err)
		}
		return
	}
	c := conn{q: tx, s: s, db: s.w}
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = s.fail(it.op, err)
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT tend_group`); err != nil {
			s.abortGroup(tx, batch, err)
			return
		}
		if it.err = runSafely(it.fn, c); it.err == nil {
			if _, err := tx.Exec(`RELEASE tend_group`); err != nil {
				s.abortGroup(tx, batch, err)
				return
			}
			continue
		}
		it.err = s.fail(it.op, it.err)
		// Undo this caller's writes only. SQLite rolls the whole
		// transaction back after some errors (an interrupted statement, a
		// full disk); then the savepoint is gone and the group fails.
		if _, err := tx.Exec(`ROLLBACK TO tend_group`); err != nil {
			s.abortGroup(tx, batch, err)
			return
		}
		if _, err := tx.Exec(`RELEASE tend_group`); err != nil {
			s.abortGroup(tx, batch, err)
			return
		}
	}
	s.group.groups.Add(1)
	if err := tx.Commit(); err != nil {
		for _, it := range batch {
			if it.err == nil {
				it.err = s.fail(it.op, err)
			}
		}
		return
	}
	s.checkpoints.committed()
}

// abortGroup rolls the group back and fails every caller not already
// failed: their writes were undone, or never made.
func (s *Store) abortGroup(tx interface{ Rollback() error }, items []*groupItem, cause error) {
	tx.Rollback()
	for _, it := range items {
		if it.err == nil {
			it.err = &apperr.Error{Code: apperr.Unavailable, Message: "the write was interrupted; try again",
				Err: fmt.Errorf("%s: group transaction: %w", it.op, cause)}
		}
	}
}

// runSafely runs one caller's function; a panic becomes that caller's
// error instead of stopping the writer that serves the others.
func runSafely(fn func(conn) error, c conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(c)
}
