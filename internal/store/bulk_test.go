package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/demo"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// A bulk load writes what the store's own operations would: clocks whose
// cached due instants a recompute leaves as they are, numbers and ids that
// registration continues. Lists over it count up to MaxCount and page by
// the sort key without gaps or repeats.
func TestBulkLoadListsAndCounts(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, sla.Moscow())
			opts := store.Options{Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
			if engine == "sqlite" {
				opts.DataDir = t.TempDir()
			} else {
				opts.DSN = apptest.PostgresDSN(t)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := demo.Load(ctx, st, nil, now); err != nil {
				t.Fatal(err)
			}
			agentAcc, err := st.AccountByLogin(ctx, "agent@vendor.example")
			if err != nil {
				t.Fatal(err)
			}
			agent := agentAcc.Principal()
			alfaAdmin, err := st.AccountByLogin(ctx, "admin@alfa.example")
			if err != nil {
				t.Fatal(err)
			}
			lics, err := st.CustomerLicenses(ctx, auth.System, alfaAdmin.CustomerID)
			if err != nil || len(lics) == 0 {
				t.Fatalf("alfa's licenses: %v %v", lics, err)
			}
			lic := lics[0]

			bulk, err := st.NewBulk(ctx)
			if err != nil {
				t.Fatal(err)
			}
			const n = store.MaxCount + 1
			var batch []store.BulkRequest
			for i := range n {
				at := now.Add(-time.Duration(n-i) * time.Minute)
				r := desk.Request{CustomerID: lic.CustomerID, ProductID: lic.ProductID, RequesterID: alfaAdmin.ID, RequesterName: alfaAdmin.Name, RequesterPhone: "+7 495 111-11-12",
					Channel: desk.ChannelPortal, Type: "fault", Priority: "normal", State: desk.StateInWork, Subject: fmt.Sprintf("Bulk %d", i), Description: "d",
					Covered: true, LicenseID: lic.ID, AssigneeID: agent.AccountID, CreatedBy: alfaAdmin.ID, Version: 3, CreatedAt: at, UpdatedAt: at, LastActivityAt: at}
				br := store.BulkRequest{Request: r, CreatedByName: alfaAdmin.Name,
					Comments: []desk.Comment{{AuthorID: agent.AccountID, AuthorName: agent.Name, FromStaff: true, Body: "On it.", CreatedAt: at.Add(time.Minute)}},
					Journal:  []store.Entry{{At: at.Add(time.Minute), ActorID: agent.AccountID, ActorName: agent.Name, Action: "comment", Note: "On it."}},
					Clocks: []store.BulkClock{{Kind: desk.ClockFirstResponse, Seq: 1, Started: at, Stopped: at.Add(time.Minute)},
						{Kind: desk.ClockResolution, Seq: 1, Started: at}}}
				if i%2 == 1 { // every other one finished
					br.Request.State = desk.StateClosed
					closed := at.Add(time.Hour)
					br.Request.ClosedAt = &closed
					br.Clocks[1].Stopped = closed
				}
				if i%7 == 0 { // some wait on the customer
					br.Pauses = []sla.Interval{{From: at.Add(2 * time.Minute)}}
				}
				batch = append(batch, br)
				if len(batch) == 2000 || i == n-1 {
					if err := bulk.Requests(ctx, batch); err != nil {
						t.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if err := bulk.Finish(ctx); err != nil {
				t.Fatal(err)
			}

			all, err := st.ListRequests(ctx, agent, store.RequestFilter{Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if all.Total != store.MaxCount || !all.TotalCapped {
				t.Errorf("all requests: total %d, capped %v; want %d and capped", all.Total, all.TotalCapped, store.MaxCount)
			}
			// The loader fills the search index too.
			found, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: "bulk", Limit: 5})
			if err != nil || found.Total != store.MaxCount || !found.TotalCapped {
				t.Errorf("search for bulk: total %d, capped %v, %v; want %d and capped", found.Total, found.TotalCapped, err, store.MaxCount)
			}
			found, err = st.ListRequests(ctx, agent, store.RequestFilter{Query: "Bulk 7777", Limit: 5})
			if err != nil || len(found.Items) != 1 || found.Items[0].Subject != "Bulk 7777" {
				t.Errorf("search for Bulk 7777: %+v %v", found.Items, err)
			}
			yes := true
			open, err := st.ListRequests(ctx, agent, store.RequestFilter{Open: &yes, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if open.TotalCapped || open.Total < n/2 || open.Total > n/2+20 {
				t.Errorf("open requests: total %d, capped %v; want about %d, exact", open.Total, open.TotalCapped, n/2)
			}

			// The due queue, page by page.
			walk := func() map[int64]time.Time {
				seen := map[int64]time.Time{}
				f := store.RequestFilter{Sort: "due", CustomerID: lic.CustomerID, States: []desk.State{desk.StateInWork}, Limit: store.MaxPage}
				var last desk.Request
				for pages := 0; ; pages++ {
					page, err := st.ListRequests(ctx, agent, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Items {
						if _, dup := seen[r.ID]; dup {
							t.Fatalf("page %d repeats %s", pages, r.Number)
						}
						if r.SLADueAt == nil {
							t.Fatalf("%s in the due queue without a due", r.Number)
						}
						if last.ID != 0 && (r.SLADueAt.Before(*last.SLADueAt) || r.SLADueAt.Equal(*last.SLADueAt) && r.ID < last.ID) {
							t.Fatalf("%s (due %s) after %s (due %s)", r.Number, r.SLADueAt, last.Number, last.SLADueAt)
						}
						seen[r.ID], last = *r.SLADueAt, r
					}
					if page.Next == "" {
						if len(seen) != page.Total {
							t.Errorf("walked %d requests, the count said %d", len(seen), page.Total)
						}
						return seen
					}
					f.Cursor = page.Next
				}
			}
			before := walk()
			if len(before) < n/2 {
				t.Fatalf("%d requests in the due queue, want at least %d", len(before), n/2)
			}
			// Recomputed on the same calendar, nothing moves: the loader
			// derived the clocks as the store does.
			if _, err := st.RecomputeClocks(ctx, 0); err != nil {
				t.Fatal(err)
			}
			for id, due := range walk() {
				if !due.Equal(before[id]) {
					t.Errorf("request %d: bulk-loaded due %s, recomputed %s", id, before[id], due)
				}
			}
			view, err := st.ViewRequest(ctx, agent, all.Items[len(all.Items)-1].ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range view.SLA {
				if c.Kind == desk.ClockResolution && c.Stopped == nil && (view.SLADueAt == nil || !c.Due.Equal(*view.SLADueAt)) {
					t.Errorf("%s: running resolution clock due %s, request due %v", view.Number, c.Due, view.SLADueAt)
				}
			}

			// Registration continues after the loaded ids and numbers.
			r, _, err := st.RegisterRequest(ctx, alfaAdmin.Principal(), desk.NewRequest{ProductID: lic.ProductID, Type: "fault", Subject: "After the load", Description: "x"}, "", sla.Default())
			if err != nil {
				t.Fatal(err)
			}
			if r.ID <= all.Items[0].ID || !strings.HasPrefix(r.Number, "REQ-2026-") || r.Number <= all.Items[0].Number {
				t.Errorf("registered %d %s after the load's last %d %s", r.ID, r.Number, all.Items[0].ID, all.Items[0].Number)
			}
			j, err := st.RequestJournal(ctx, agent, all.Items[0].ID, store.Page{})
			if err != nil || len(j.Items) < 2 || j.Items[0].Action != "registered" {
				t.Errorf("journal of a loaded request: %+v %v", j.Items, err)
			}
		})
	}
}
