package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"
)

// Checkpoints off the writer's path (issue 7). In WAL mode SQLite copies
// the log back into the database file once the log passes a threshold, and
// by default the connection whose commit crossed it does the copying, with
// an fsync of the database file, while every caller waiting for the one
// writer waits with it: a tenth of the writer's time under registrations.
// A connection of its own does it here instead, in passive mode (it never
// waits for or blocks the writer or the readers), soon after commits. The
// writer keeps SQLite's own checkpoint at a higher threshold; it restarts
// the log (below) and bounds it if this one falls behind or is not told
// (the bulk loader).

const (
	// checkpointGap is the least time between two background checkpoints.
	// Small and frequent is better than large: a checkpoint ends with an
	// fsync of the database file, and while the file system flushes, the
	// writer's appends to the log wait. Measured at a million requests
	// (registrations at concurrency 8): a gap of 100 ms gave p99 36-39 ms,
	// 10 ms 25 ms, 5 ms 16 ms, none 13-14 ms but 10% fewer registrations.
	checkpointGap = 5 * time.Millisecond
	// writerCheckpointPages is the writer's own threshold (SQLite's
	// default is 1 000 pages). The writer's checkpoint is still needed: the
	// log starts again from its beginning only when a write begins with
	// all of it copied, which under steady writes happens only right after
	// the writer's own checkpoint (with the background one alone the log
	// grew by 100 MB/s). By then the background has copied nearly all of
	// it, so the writer's share is small; the log stays at about 8 MiB.
	writerCheckpointPages = 2000
)

type checkpointer struct {
	db    *sql.DB
	nudge chan struct{}
	stop  chan struct{}
	done  chan struct{}
	runs  atomic.Int64 // checkpoints run, for the tests
}

func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-256)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	cp := &checkpointer{db: db, nudge: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go cp.loop()
	return cp, nil
}

// committed tells the checkpointer the log has grown; it never blocks.
func (cp *checkpointer) committed() {
	if cp == nil {
		return
	}
	select {
	case cp.nudge <- struct{}{}:
	default:
	}
}

func (cp *checkpointer) loop() {
	defer close(cp.done)
	for {
		select {
		case <-cp.stop:
			return
		case <-cp.nudge:
		}
		if err := cp.checkpoint(context.Background()); err != nil {
			// The writer's own threshold still bounds the log.
			select {
			case <-cp.stop:
				return
			case <-time.After(time.Second):
			}
		}
		select {
		case <-cp.stop:
			return
		case <-time.After(checkpointGap):
		}
	}
}

// checkpoint copies what it can of the log into the database file.
func (cp *checkpointer) checkpoint(ctx context.Context) error {
	var busy, logged, copied int
	if err := cp.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cp.runs.Add(1)
	return nil
}

func (cp *checkpointer) close() error {
	if cp == nil {
		return nil
	}
	close(cp.stop)
	<-cp.done
	return cp.db.Close()
}
