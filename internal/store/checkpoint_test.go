package store

import (
	"context"
	"testing"
	"time"
)

// The log is copied into the database file by the background checkpointer
// soon after commits, well below the writer's own threshold; the writer's
// statement journals stay in memory.
func TestCheckpointerCopiesTheLogAfterCommits(t *testing.T) {
	ctx := context.Background()
	s := probeStore(t, `CREATE TABLE probe (n INTEGER PRIMARY KEY, note TEXT NOT NULL)`)
	var walPages int
	if err := s.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&walPages); err != nil {
		t.Fatal(err)
	}
	if walPages != writerCheckpointPages {
		t.Fatalf("the writer checkpoints itself at %d pages, want %d", walPages, writerCheckpointPages)
	}
	var tempStore int
	if err := s.w.QueryRow(`PRAGMA temp_store`).Scan(&tempStore); err != nil || tempStore != 2 {
		t.Fatalf("the writer's statement journals are not kept in memory: temp_store %d (%v)", tempStore, err)
	}
	before := s.checkpoints.runs.Load()
	for i := range 50 {
		if err := s.tx(ctx, "probe", func(c conn) error {
			_, err := c.exec(ctx, `INSERT INTO probe (n, note) VALUES (?, 'x')`, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 50 small commits are far below the writer's threshold: only the
	// checkpointer copies them.
	deadline := time.Now().Add(10 * time.Second)
	for s.checkpoints.runs.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint ran after 50 commits")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM probe`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("read back %d rows (%v), want 50", n, err)
	}
}
