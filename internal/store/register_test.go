package store_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// A registration writes its request, search terms, journal entry, notice
// and clocks together or not at all, on PostgreSQL where they go in one
// pipeline as on SQLite where they share a commit: a notice that cannot be
// queued leaves none of the rest, and the next registration works.
func TestRegistrationIsAllOrNothing(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			failNotice := []string{`CREATE TRIGGER fail_notice BEFORE INSERT ON mail_outbox BEGIN SELECT RAISE(ABORT, 'notice refused'); END`}
			dropTrigger := `DROP TRIGGER fail_notice`
			if engine == "postgres" {
				failNotice = []string{
					`CREATE FUNCTION fail_notice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'notice refused'; END $$`,
					`CREATE TRIGGER fail_notice BEFORE INSERT ON mail_outbox FOR EACH ROW EXECUTE FUNCTION fail_notice()`,
				}
				dropTrigger = `DROP TRIGGER fail_notice ON mail_outbox`
			}
			ctx := context.Background()
			st := apptest.NewApp(t, engine, apptest.Options{Demo: true}).Store
			contact, product := alfaContact(t, st)
			in := desk.NewRequest{ProductID: product, Type: "fault", Priority: "normal",
				Subject: "Never written", Description: "The notice for this one cannot be queued."}
			count := func(q string, args ...any) int {
				t.Helper()
				n, err := st.CountForTest(ctx, q, args...)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			tables := []string{"requests", "journal", "mail_outbox", "request_clocks"}
			before := map[string]int{}
			for _, table := range tables {
				before[table] = count(`SELECT COUNT(*) FROM ` + table)
			}
			for _, q := range failNotice {
				if err := st.ExecForTest(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := st.RegisterRequest(ctx, contact.Principal(), in, "", sla.Default()); err == nil {
				t.Fatal("registered although its notice could not be queued")
			}
			for _, table := range tables {
				if n := count(`SELECT COUNT(*) FROM ` + table); n != before[table] {
					t.Errorf("%s: %d rows after the failed registration, %d before", table, n, before[table])
				}
			}
			if n := count(`SELECT COUNT(*) FROM requests WHERE subject = ?`, in.Subject); n != 0 {
				t.Errorf("the failed registration's request is there (%d)", n)
			}

			if err := st.ExecForTest(ctx, dropTrigger); err != nil {
				t.Fatal(err)
			}
			r, _, err := st.RegisterRequest(ctx, contact.Principal(), in, "", sla.Default())
			if err != nil {
				t.Fatalf("the next registration: %v", err)
			}
			for _, q := range []string{
				`SELECT COUNT(*) FROM requests WHERE id = ?`,
				`SELECT COUNT(*) FROM mail_outbox WHERE request_id = ?`,
				`SELECT COUNT(*) FROM request_clocks WHERE request_id = ?`,
			} {
				if n := count(q, r.ID); n < 1 {
					t.Errorf("%s: %d rows of the registered request, want at least 1", q, n)
				}
			}
			if n := count(`SELECT COUNT(*) FROM journal WHERE entity = 'request' AND entity_id = ? AND action = 'registered'`, r.ID); n != 1 {
				t.Errorf("the registered request has %d registration entries, want 1", n)
			}
		})
	}
}

// Registration numbers count per year of the vendor's zone (Moscow) on
// both engines: concurrent registrations get distinct numbers, a new year
// starts again at 1, with and without an Idempotency-Key, and numbers
// increase with the ids.
func TestRegistrationNumbersCountPerYear(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true, Now: time.Date(2026, 12, 31, 23, 50, 0, 0, sla.Moscow())})
			st := app.Store
			contact, product := alfaContact(t, st)
			register := func(subject, key string) desk.Request {
				t.Helper()
				r, _, err := st.RegisterRequest(ctx, contact.Principal(), desk.NewRequest{ProductID: product, Type: "fault", Priority: "normal",
					Subject: subject, Description: "Numbering."}, key, sla.Default())
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			const burst = 24
			got := make([]desk.Request, burst)
			var wg sync.WaitGroup
			for i := range burst {
				wg.Go(func() { got[i] = register(fmt.Sprintf("Burst %d", i), "") })
			}
			wg.Wait()
			sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
			seen := map[string]bool{}
			for i, r := range got {
				if seen[r.Number] || len(r.Number) != len("REQ-2026-000000") || r.Number[:9] != "REQ-2026-" {
					t.Errorf("burst: %q repeated or not of 2026", r.Number)
				}
				seen[r.Number] = true
				if i > 0 && r.Number <= got[i-1].Number && engine == "sqlite" {
					t.Errorf("burst: id %d got %s after id %d's %s", r.ID, r.Number, got[i-1].ID, got[i-1].Number)
				}
			}
			last2026 := register("Last of the year", "")

			// 00:05 on 1 January in Moscow is still 2026 in UTC.
			app.Clock.Set(time.Date(2027, 1, 1, 0, 5, 0, 0, sla.Moscow()))
			first := register("First of the year", "")
			second := register("Second of the year", "key-2027")
			third := register("Third of the year", "")
			want := []string{"REQ-2027-000001", "REQ-2027-000002", "REQ-2027-000003"}
			for i, r := range []desk.Request{first, second, third} {
				if r.Number != want[i] {
					t.Errorf("registration %d of 2027 numbered %s, want %s", i+1, r.Number, want[i])
				}
				if r.ID <= last2026.ID {
					t.Errorf("%s has id %d, not after 2026's last (%d)", r.Number, r.ID, last2026.ID)
				}
			}
			// Nothing failed, so nothing was skipped: the burst and the
			// last are consecutive, the last the highest.
			numbers := []string{last2026.Number}
			for _, r := range got {
				numbers = append(numbers, r.Number)
			}
			sort.Strings(numbers)
			for i := 1; i < len(numbers); i++ {
				var a, b int
				fmt.Sscanf(numbers[i-1], "REQ-2026-%d", &a)
				fmt.Sscanf(numbers[i], "REQ-2026-%d", &b)
				if b != a+1 {
					t.Errorf("%s follows %s", numbers[i], numbers[i-1])
				}
			}
			if numbers[len(numbers)-1] != last2026.Number {
				t.Errorf("the year's last is %s, the highest %s", last2026.Number, numbers[len(numbers)-1])
			}
		})
	}
}

// alfaContact is the demo's customer admin at Alfa and a product Alfa is
// licensed for.
func alfaContact(t *testing.T, st *store.Store) (auth.Account, int64) {
	t.Helper()
	ctx := context.Background()
	contact, err := st.AccountByLogin(ctx, "admin@alfa.example")
	if err != nil {
		t.Fatal(err)
	}
	lics, err := st.CustomerLicenses(ctx, contact.Principal(), contact.CustomerID)
	if err != nil || len(lics) == 0 {
		t.Fatalf("alfa's licenses: %v %v", lics, err)
	}
	return contact, lics[0].ProductID
}
