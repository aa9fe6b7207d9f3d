package store

import (
	"context"
	"database/sql"
	"sync"
)

// The SQLite driver parses and plans a query every time it is run unless
// it is run through a prepared statement, and parsing cost more than
// running most of the store's queries (issue 7: a registration runs about
// twenty). So on SQLite the store runs each query through a prepared
// statement kept per pool; database/sql keeps it prepared on each
// connection of the pool and lends it to transactions on that connection.
// PostgreSQL's driver (pgx) already keeps statements prepared per
// connection, so there the queries run as they are.

// maxCachedStmts bounds the cache: lists build their SQL from filters, so
// the number of distinct queries is large in theory; the hot ones come
// first and stay, the rare ones run unprepared.
const maxCachedStmts = 400

type stmtKey struct {
	db *sql.DB
	q  string
}

type stmtCache struct {
	mu      sync.RWMutex
	m       map[stmtKey]*sql.Stmt // nil once the store is closed
	pending map[stmtKey]bool      // being prepared
}

// closeStmts releases the store's prepared statements.
func (s *Store) closeStmts() {
	sc := s.stmts
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range sc.m {
		st.Close()
	}
	sc.m = nil
}

// prepared gives the statement for q on the connection c uses, or nil
// when q is to run unprepared: on PostgreSQL, on a connection of its own
// (bulk loads), or when the cache is full. A statement for a transaction
// belongs to it and is closed when it ends.
//
// SQLite has one write connection, and a transaction holds it: a query
// first seen in a transaction runs unprepared and is prepared on the pool
// in the background, once the connection is free again.
func (c conn) prepared(ctx context.Context, q string) *sql.Stmt {
	if c.s.engine != SQLite {
		return nil
	}
	var db *sql.DB
	var tx *sql.Tx
	switch x := c.q.(type) {
	case *sql.DB:
		db = x
	case *sql.Tx:
		if c.db == nil {
			return nil
		}
		db, tx = c.db, x
	default:
		return nil
	}
	sc := c.s.stmts
	key := stmtKey{db, q}
	sc.mu.RLock()
	st, ok := sc.m[key]
	full := len(sc.m)+len(sc.pending) >= maxCachedStmts || sc.m == nil
	sc.mu.RUnlock()
	switch {
	case ok && tx != nil:
		return tx.StmtContext(ctx, st)
	case ok:
		return st
	case full:
		return nil
	case tx != nil:
		sc.mu.Lock()
		if _, ok := sc.pending[key]; !ok && sc.m != nil {
			sc.pending[key] = true
			go sc.prepare(context.WithoutCancel(ctx), key)
		}
		sc.mu.Unlock()
		return nil
	}
	return sc.prepare(ctx, key)
}

// prepare prepares key.q on its pool and keeps it.
func (sc *stmtCache) prepare(ctx context.Context, key stmtKey) *sql.Stmt {
	st, err := key.db.PrepareContext(ctx, key.q)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.pending, key)
	if err != nil {
		return nil // run unprepared: the error, if any, shows there
	}
	if prev, ok := sc.m[key]; ok || sc.m == nil {
		st.Close()
		return prev
	}
	sc.m[key] = st
	return st
}
