package store_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/demo"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// A breach pending when the server stops is recorded once after it
// starts again, and two replicas sweeping together record it once.
func TestClockTimersSurviveRestartAndFireOnce(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			clock := &apptest.Clock{}
			clock.Set(time.Date(2026, 3, 2, 10, 0, 0, 0, sla.Moscow()))
			opts := store.Options{Now: clock.Now, Log: slog.New(slog.DiscardHandler)}
			if engine == "sqlite" {
				opts.DataDir = t.TempDir()
			} else {
				opts.DSN = apptest.PostgresDSN(t)
			}
			ctx := context.Background()
			open := func() *store.Store {
				st, err := store.Open(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return st
			}
			st := open()
			if _, err := demo.Load(ctx, st, nil, clock.Now()); err != nil {
				t.Fatal(err)
			}
			beta, err := st.AccountByLogin(ctx, "admin@beta.example")
			if err != nil {
				t.Fatal(err)
			}
			r, _, err := st.RegisterRequest(ctx, beta.Principal(), desk.NewRequest{ProductID: 1, Type: "fault", Subject: "Pending", Description: "x"}, "", sla.Default())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			st.Close() // the server stops with the timers pending

			clock.Set(time.Date(2026, 3, 2, 14, 30, 0, 0, sla.Moscow())) // first response (4h) is late now
			st = open()
			defer st.Close()
			breaches := func() int {
				j, err := st.ListJournal(ctx, auth.System, store.JournalFilter{Entity: "request", EntityID: r.ID, Page: store.Page{Limit: 200}})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range j.Items {
					if e.Action == "sla_breached" {
						n++
					}
				}
				return n
			}
			rep, err := st.SweepClocks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Breached == 0 || breaches() != 1 {
				t.Fatalf("after the restart: %+v, %d breach entries", rep, breaches())
			}
			if rep, _ := st.SweepClocks(ctx); rep.Breached != 0 {
				t.Errorf("the breach fired again: %+v", rep)
			}
			if engine != "postgres" {
				return
			}
			// Two replicas on one database: the next breach is noted once.
			clock.Set(time.Date(2026, 3, 4, 11, 0, 0, 0, sla.Moscow())) // agreement (16h of 9–17) is late too
			other := open()
			defer other.Close()
			var wg sync.WaitGroup
			var total [2]store.ClockReport
			for i, s := range []*store.Store{st, other} {
				wg.Go(func() {
					rep, err := s.SweepClocks(ctx)
					if err != nil {
						t.Error(err)
					}
					total[i] = rep
				})
			}
			wg.Wait()
			if breaches() != 2 {
				t.Errorf("two replicas recorded %d breaches in all (reports %+v), want 2", breaches(), total)
			}
		})
	}
}
