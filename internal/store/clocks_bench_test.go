package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"tend/internal/desk"
	"tend/internal/sla"
)

// BenchmarkRecomputeClocks100k measures recomputing the clocks of 100 000
// open requests after a calendar change (issue 4: under 2 s on 2 cores).
// Each request has three running clocks and one closed pause. Run with
// TEND_BENCH_PG=postgres://… to measure PostgreSQL instead of SQLite.
func BenchmarkRecomputeClocks100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	opts := Options{DataDir: b.TempDir(), Log: slog.New(slog.DiscardHandler)}
	if dsn := os.Getenv("TEND_BENCH_PG"); dsn != "" {
		opts = Options{DSN: dsn, Log: opts.Log}
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, sla.Moscow())
	opts.Now = func() time.Time { return now }
	s, err := Open(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	err = s.tx(ctx, "bench setup", func(c conn) error {
		cust, _ := c.insert(ctx, `INSERT INTO customers (code, name, created_at, updated_at) VALUES ('bench', 'Bench', ?, ?)`, now, now)
		prod, _ := c.insert(ctx, `INSERT INTO products (code, name, delivery, created_at, updated_at) VALUES ('p', 'P', 'hosted', ?, ?)`, now, now)
		plan, err := c.insert(ctx, `INSERT INTO plans (name, window_start, window_end, zone, emergency_24x7, targets, at_risk_percent, created_at, updated_at)
			VALUES ('Bench', '09:00', '18:00', 'Europe/Moscow', FALSE, ?, 80, ?, ?)`,
			`{"emergency":{"first_response":"1h","clarification":"2h","agreement":"4h","resolution":"16h"},"normal":{"first_response":"4h","clarification":"8h","agreement":"16h","resolution":"80h"}}`, now, now)
		if err != nil {
			return err
		}
		lic, err := c.insert(ctx, `INSERT INTO licenses (customer_id, product_id, plan_id, valid_from, valid_to, entitlements, created_at, updated_at)
			VALUES (?, ?, ?, '2020-01-01', '2030-12-31', '[]', ?, ?)`, cust, prod, plan, now, now)
		if err != nil {
			return err
		}
		for i := range n {
			at := now.Add(-time.Duration(i%5000) * time.Hour)
			id, err := c.insert(ctx, `INSERT INTO requests (number, customer_id, product_id, requester_name, requester_phone, channel, type, priority, state,
				subject, description, covered, license_id, created_at, updated_at, last_activity_at)
				VALUES (?, ?, ?, 'r', '1', 'portal', 'fault', 'normal', 'in_work', 's', 'd', TRUE, ?, ?, ?, ?)`,
				fmt.Sprintf("REQ-B-%06d", i), cust, prod, lic, at, at, at)
			if err != nil {
				return err
			}
			for _, k := range []desk.ClockKind{desk.ClockFirstResponse, desk.ClockAgreement, desk.ClockResolution} {
				if _, err := c.exec(ctx, `INSERT INTO request_clocks (request_id, kind, seq, started_at, state) VALUES (?, ?, 1, ?, 'running')`, id, k, at); err != nil {
					return err
				}
			}
			if _, err := c.exec(ctx, `INSERT INTO request_pauses (request_id, from_at, to_at) VALUES (?, ?, ?)`, id, at.Add(time.Hour), at.Add(20*time.Hour)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The first run fills the caches; each measured run follows a calendar
	// change that moves every due instant (a working Saturday added).
	if _, err := s.RecomputeClocks(ctx, 0); err != nil {
		b.Fatal(err)
	}
	cals := []*sla.Calendar{sla.Default(), withExtraWorkingDay(b)}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cal := cals[i%2]
		s.UseCalendar(func() *sla.Calendar { return cal })
		got, err := s.RecomputeClocks(ctx, 0)
		if err != nil || got != n {
			b.Fatalf("recomputed %d, %v", got, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/recompute")
}

// withExtraWorkingDay is the shipped calendar with a working Saturday in
// early 2026 (2026-01-17), which moves nearly every due instant after it.
func withExtraWorkingDay(b *testing.B) *sla.Calendar {
	y, ok := sla.Default().Data(2026)
	if !ok {
		b.Fatal("no 2026")
	}
	y.Days[sla.MonthDay{Month: time.January, Day: 17}] = sla.Working
	cal, err := sla.Default().With(y)
	if err != nil {
		b.Fatal(err)
	}
	return cal
}
