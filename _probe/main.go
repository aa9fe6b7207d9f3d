package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/store"
)

func main() {
	data := flag.String("data", "/var/tmp/tend-bench/sqlite", "")
	dsn := flag.String("dsn", "", "")
	n := flag.Int("n", 200, "")
	flag.Parse()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: *data, DSN: *dsn, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer st.Close()
	st.Migrate(ctx)
	agent := auth.Principal{AccountID: 1, Name: "a", Role: auth.RoleAgent, Scope: auth.ScopeWrite}
	cust := auth.Principal{AccountID: 100, Name: "c", Role: auth.RoleCustomerAdmin, CustomerID: 1, Scope: auth.ScopeWrite}
	timeit := func(name string, fn func(i int) error) {
		var ds []time.Duration
		for i := 0; i < *n; i++ {
			t0 := time.Now()
			if err := fn(i); err != nil {
				fmt.Println(name, err)
				return
			}
			ds = append(ds, time.Since(t0))
		}
		sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		fmt.Printf("%-20s p50 %8v p95 %8v\n", name, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*95/100].Round(time.Microsecond))
	}
	states := []string{"received", "clarifying", "scope_defined", "deadline_agreed", "agreed", "in_work"}
	var ss []string
	ss = append(ss, states...)
	f := store.RequestFilter{Sort: "due", Priority: "normal", CustomerID: 1, Limit: 50}
	for _, s := range ss {
		f.States = append(f.States, deskState(s))
	}
	timeit("queue_first", func(i int) error { _, err := st.ListRequests(ctx, agent, f); return err })
	timeit("customer_list", func(i int) error { _, err := st.ListRequests(ctx, cust, store.RequestFilter{Limit: 50}); return err })
	timeit("view", func(i int) error { _, err := st.ViewRequest(ctx, agent, int64(1+i*4999)); return err })
	timeit("journal", func(i int) error { _, err := st.RequestJournal(ctx, agent, int64(1+i*4999), store.Page{}); return err })
}

func deskState(s string) desk.State { return desk.State(s) }
