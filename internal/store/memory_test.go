package store_test

import (
	"context"
	"testing"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/store"
)

// A server gone quiet closes its idle readers; the next read opens one
// again and answers as before.
func TestReadsAfterReleasingMemory(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			staff := auth.Principal{AccountID: 1, Role: auth.RoleAdmin}
			before, err := app.Store.ListCustomers(ctx, staff, "", store.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			app.Store.ReleaseMemory()
			after, err := app.Store.ListCustomers(ctx, staff, "", store.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if len(before.Items) == 0 || len(after.Items) != len(before.Items) {
				t.Fatalf("customers before %d, after releasing memory %d", len(before.Items), len(after.Items))
			}
		})
	}
}
