package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Concurrent writers on SQLite share commits, and each still gets its own
// transaction: what a failing (or panicking) caller wrote is gone, what
// the others wrote is there.
func TestGroupCommitKeepsEachCallersTransaction(t *testing.T) {
	ctx := context.Background()
	s := probeStore(t, `CREATE TABLE probe (n INTEGER PRIMARY KEY, note TEXT NOT NULL)`)
	const callers = 300
	errs := make([]error, callers)
	var wg sync.WaitGroup
	// The callers start together, as a burst of requests would: spawned
	// one by one on a busy machine, each could finish before the next began.
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = s.tx(ctx, "probe", func(c conn) error {
				if _, err := c.exec(ctx, `INSERT INTO probe (n, note) VALUES (?, ?)`, i, "first"); err != nil {
					return err
				}
				if _, err := c.exec(ctx, `INSERT INTO probe (n, note) VALUES (?, ?)`, callers+i, "second"); err != nil {
					return err
				}
				switch {
				case i%17 == 0:
					panic("caller " + fmt.Sprint(i))
				case i%5 == 0:
					return errors.New("refused")
				case i%7 == 0:
					// A constraint error in the middle: the first insert
					// of this caller must go too.
					_, err := c.exec(ctx, `INSERT INTO probe (n, note) VALUES (?, ?)`, i, "again")
					return err
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		fails := i%17 == 0 || i%5 == 0 || i%7 == 0
		var rows int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM probe WHERE n IN (?, ?)`, i, callers+i).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		switch {
		case fails && (errs[i] == nil || rows != 0):
			t.Errorf("caller %d should have failed and written nothing: err %v, rows %d", i, errs[i], rows)
		case !fails && (errs[i] != nil || rows != 2):
			t.Errorf("caller %d should have written its two rows: err %v, rows %d", i, errs[i], rows)
		}
	}
	if n := s.group.groups.Load(); n >= callers {
		t.Errorf("%d callers took %d groups: nothing was grouped", callers, n)
	} else {
		t.Logf("%d callers, %d groups", callers, n)
	}
}

// A caller whose context has ended before its group is written gets an
// error and writes nothing; the group goes on for the others.
func TestGroupCommitSkipsCancelledCallers(t *testing.T) {
	ctx := context.Background()
	s := probeStore(t, `CREATE TABLE probe (n INTEGER PRIMARY KEY)`)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	hold := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	// The first caller holds the writer until the others are queued.
	wg.Go(func() {
		s.tx(ctx, "probe", func(c conn) error {
			close(started)
			<-hold
			_, err := c.exec(ctx, `INSERT INTO probe (n) VALUES (0)`)
			return err
		})
	})
	<-started
	errs := make([]error, 3)
	for i, c := range []context.Context{ctx, cancelled, ctx} {
		wg.Go(func() {
			errs[i] = s.tx(c, "probe", func(cn conn) error {
				_, err := cn.exec(c, `INSERT INTO probe (n) VALUES (?)`, i+1)
				return err
			})
		})
	}
	for {
		s.group.mu.Lock()
		n := len(s.group.pending)
		s.group.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	var got []int
	rows, err := s.r.Query(`SELECT n FROM probe ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		rows.Scan(&n)
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[0 1 3]" || errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("rows %v, errors %v", got, errs)
	}
}

// probeStore opens an empty SQLite store with one table of the test's.
func probeStore(t *testing.T, table string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.w.Exec(table); err != nil {
		t.Fatal(err)
	}
	return s
}
