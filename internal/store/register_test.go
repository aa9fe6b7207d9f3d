package store_test

import (
	"context"
	"testing"

	"tend/internal/apptest"
	"tend/internal/desk"
	"tend/internal/sla"
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
			contact, err := st.AccountByLogin(ctx, "admin@alfa.example")
			if err != nil {
				t.Fatal(err)
			}
			lics, err := st.CustomerLicenses(ctx, contact.Principal(), contact.CustomerID)
			if err != nil || len(lics) == 0 {
				t.Fatalf("alfa's licenses: %v %v", lics, err)
			}
			in := desk.NewRequest{ProductID: lics[0].ProductID, Type: "fault", Priority: "normal",
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
