package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"tend/internal/apperr"
	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/store"
)

// The desk's queue: SLA states as filters agree with the counts and with
// each row's clock, pages by keyset cover every row once, and customers
// are kept out.
func TestQueueSLAFilterCountsAndClocks(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			st := app.Store
			agentAcc, err := st.AccountByLogin(ctx, "agent@vendor.example")
			if err != nil {
				t.Fatal(err)
			}
			agent := agentAcc.Principal()
			open := true

			// Half an hour on, the emergency nobody answered has breached
			// its 15-minute first response (Premium 24/7).
			app.Clock.Advance(30 * time.Minute)
			counts, err := st.CountQueue(ctx, agent, store.RequestFilter{})
			if err != nil {
				t.Fatal(err)
			}
			all, err := st.ListRequests(ctx, agent, store.RequestFilter{Open: &open, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if counts.Open != all.Total || counts.Open == 0 {
				t.Fatalf("counts say %d open, the list %d", counts.Open, all.Total)
			}
			sum, states := 0, 0
			for _, n := range counts.BySLA {
				sum += n
			}
			for _, n := range counts.ByState {
				states += n
			}
			if sum != counts.Open || states != counts.Open {
				t.Errorf("by SLA %v and by state %v do not add up to %d", counts.BySLA, counts.ByState, counts.Open)
			}
			if counts.BySLA[store.SLABreached] == 0 || counts.BySLA[store.SLANone] == 0 || counts.NotCovered == 0 {
				t.Errorf("demo counts %+v: want breached, clockless and uncovered requests", counts)
			}

			for _, state := range store.SLAStates {
				sort := "due"
				if state == store.SLANone {
					sort = "created"
				}
				var got []desk.Request
				cursor := ""
				for range 50 {
					page, err := st.ListQueue(ctx, agent, store.QueueFilter{SLA: state, RequestFilter: store.RequestFilter{Open: &open, Sort: sort, Limit: 2, Cursor: cursor}})
					if err != nil {
						t.Fatalf("%s: %v", state, err)
					}
					if page.Total != counts.BySLA[state] {
						t.Errorf("%s: list total %d, count %d", state, page.Total, counts.BySLA[state])
					}
					got = append(got, page.Items...)
					if cursor = page.Next; cursor == "" {
						break
					}
				}
				if len(got) != counts.BySLA[state] {
					t.Errorf("%s: pages hold %d requests, the count is %d", state, len(got), counts.BySLA[state])
				}
				ids := make([]int64, len(got))
				for i, r := range got {
					ids[i] = r.ID
					if i > 0 && sort == "due" && r.SLADueAt.Before(*got[i-1].SLADueAt) {
						t.Errorf("%s: not in order of the nearest due", state)
					}
				}
				slices.Sort(ids)
				if len(slices.Compact(slices.Clone(ids))) != len(ids) {
					t.Errorf("%s: a request shows on two pages", state)
				}
				clocks, err := st.QueueClocks(ctx, agent, ids)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					c, ok := clocks[r.ID]
					if state == store.SLANone {
						if ok {
							t.Errorf("%s has no running clock but a countdown %+v", r.Number, c)
						}
						continue
					}
					if !ok || c.State != state {
						t.Errorf("%s listed as %s has the clock %+v", r.Number, state, c)
						continue
					}
					if !c.Due.Equal(*r.SLADueAt) {
						t.Errorf("%s: clock due %s, request due %s", r.Number, c.Due, r.SLADueAt)
					}
					if (state == store.SLABreached) != (c.Left < 0) {
						t.Errorf("%s: %s with %s left", r.Number, state, c.Left)
					}
				}
			}

			// Filters narrow the counts too.
			em, err := st.CountQueue(ctx, agent, store.RequestFilter{Priority: "emergency"})
			if err != nil {
				t.Fatal(err)
			}
			if em.Open == 0 || em.Open >= counts.Open {
				t.Errorf("emergencies: %d of %d open", em.Open, counts.Open)
			}
			if _, err := st.ListQueue(ctx, agent, store.QueueFilter{SLA: "soon"}); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("an unknown SLA state: %v", err)
			}
			if _, err := st.ListQueue(ctx, agent, store.QueueFilter{SLA: store.SLABreached, RequestFilter: store.RequestFilter{Cursor: "bogus"}}); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("a forged cursor: %v", err)
			}

			// The queue is the vendor's: customers, even their admins, are refused.
			alfa, err := st.AccountByLogin(ctx, "admin@alfa.example")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []auth.Principal{alfa.Principal(), {}} {
				if _, err := st.CountQueue(ctx, p, store.RequestFilter{}); err == nil {
					t.Errorf("%s counted the queue", p.Role)
				}
				if _, err := st.ListQueue(ctx, p, store.QueueFilter{SLA: store.SLABreached}); err == nil {
					t.Errorf("%s listed the queue", p.Role)
				}
				if _, err := st.QueueClocks(ctx, p, []int64{1}); err == nil {
					t.Errorf("%s read the queue's clocks", p.Role)
				}
			}
			if err := store.CheckDesk(alfa.Principal()); !apperr.Is(err, apperr.Forbidden) {
				t.Errorf("a customer admin at the desk: %v", err)
			}
		})
	}
}
