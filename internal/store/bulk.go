package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/sla"
)

// Bulk loading fills a database with a long history at once: the benchmark
// (bench/) writes a million requests with their comments, proposals, SLA
// clocks and journal through it. It writes the same rows the store's own
// operations write, through the schema's constraints (foreign keys, unique
// numbers, NOT NULL), in large batches: one transaction of prepared
// multi-row INSERTs per batch on SQLite, COPY on PostgreSQL.
//
// What the store derives itself is derived here too, by the same code: the
// registration number and journal entry, the search terms, each clock's
// due instant, at-risk instant and state, the request's nearest due, and
// the at-risk and breach notes the clock sweep would have written (so a
// server started on the data finds nothing overdue to note). Nothing else may write to the
// database while a batch is written: ids are handed out by the loader
// (each batch continues after the highest id in the table, so the store's
// own operations may run between batches).

// BulkClock is one SLA clock of a bulk-loaded request, as its events left
// it; the loader works out its due instant and state.
type BulkClock struct {
	Kind     desk.ClockKind
	Seq      int
	Started  time.Time
	Stopped  time.Time // zero: still running
	Deadline time.Time // zero: no agreed deadline
}

// BulkRequest is a request with its history. The loader assigns the ids,
// the registration number, SLADueAt and the registration journal entry;
// Journal holds what happened after registration (actions, comments,
// reminders), each entry with At, actor, Action and Note.
type BulkRequest struct {
	Request       desk.Request
	CreatedByName string // who registered it (Request.CreatedBy)
	Comments      []desk.Comment
	Proposals     []desk.Proposal
	Clocks        []BulkClock
	Pauses        []sla.Interval // a zero To: the request still waits on the customer
	Journal       []Entry
}

// Bulk is a bulk load in progress; make it with NewBulk and end it with
// Finish.
type Bulk struct {
	s    *Store
	now  time.Time
	cal  *sla.Calendar
	lics map[int64]licensing.Plan // the plan of each license
	cps  map[[2]int64]clockPlan   // by license and emergency
	next map[string]int64         // the next id of each table
	last map[int]int64            // the last registration number of each year
	// terms are search terms already written to the vocabulary (SQLite),
	// not to send again.
	terms map[string]bool
	// Rows counts the rows written so far.
	Rows int64
}

// NewBulk starts a bulk load. Licenses and plans must exist before the
// requests that refer to them are loaded (create them the usual way).
func (s *Store) NewBulk(ctx context.Context) (*Bulk, error) {
	b := &Bulk{s: s, now: s.Now(), cal: s.cal(), lics: map[int64]licensing.Plan{}, cps: map[[2]int64]clockPlan{},
		next: map[string]int64{}, last: map[int]int64{}, terms: map[string]bool{}}
	c := s.read()
	if s.engine == SQLite {
		// A large page cache on the write connection while loading: the
		// indexes of a growing table are written all over, and SQLite's
		// default 2 MiB cache reread them from the file for every batch.
		// Finish gives the default back.
		if _, err := s.w.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			return nil, s.fail("bulk load", err)
		}
	}
	last, err := c.lastNumbers(ctx)
	if err != nil {
		return nil, s.fail("bulk load", err)
	}
	b.last = last
	return b, b.loadPlans(ctx)
}

// sync continues each table's ids after its highest id.
func (b *Bulk) sync(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		var maxID int64
		if err := b.s.read().queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+t).Scan(&maxID); err != nil {
			return b.s.fail("bulk load", err)
		}
		b.next[t] = maxID + 1
	}
	return nil
}

func (b *Bulk) loadPlans(ctx context.Context) error {
	rows, err := b.s.read().query(ctx, `SELECT l.id, `+prefixed("p.", plans.cols)+` FROM licenses l JOIN plans p ON p.id = l.plan_id`)
	if err != nil {
		return b.s.fail("bulk load", err)
	}
	defer rows.Close()
	for rows.Next() {
		var licID int64
		var pl licensing.Plan
		var targets string
		if err := rows.Scan(&licID, &pl.ID, &pl.Name, &pl.WindowStart, &pl.WindowEnd, &pl.Zone, &pl.Emergency24x7, &targets, &pl.AtRiskPercent, &pl.CreatedAt, &pl.UpdatedAt); err != nil {
			return b.s.fail("bulk load", err)
		}
		var t planTargets
		if err := jsonText(targets, &t); err != nil {
			return b.s.fail("bulk load", err)
		}
		pl.Emergency, pl.Normal = t.Emergency, t.Normal
		b.lics[licID] = pl
	}
	return b.s.failOrNil("bulk load", rows.Err())
}

// Now is the instant the loader evaluates clocks at.
func (b *Bulk) Now() time.Time { return b.now }

func (b *Bulk) id(table string) int64 {
	id := b.next[table]
	b.next[table]++
	return id
}

// bulkTable collects the rows of one table for one batch.
type bulkTable struct {
	name string
	cols []string
	rows [][]any
	// orIgnore skips rows whose key is there already (SQLite only).
	orIgnore bool
}

func (t *bulkTable) add(vals ...any) {
	for i, v := range vals {
		switch x := v.(type) {
		case nil, string, bool, int, int64, float64, pgtype.TSVector:
		case desk.State:
			vals[i] = string(x)
		case desk.Channel:
			vals[i] = string(x)
		case desk.ClockKind:
			vals[i] = string(x)
		case desk.ProposalStatus:
			vals[i] = string(x)
		case auth.Role:
			vals[i] = string(x)
		case auth.Department:
			vals[i] = string(x)
		case time.Time:
			vals[i] = x.UTC()
		case *time.Time:
			if x == nil {
				vals[i] = nil
			} else {
				vals[i] = x.UTC()
			}
		default:
			panic(fmt.Sprintf("bulk load: a %T in %s", v, t.name))
		}
	}
	t.rows = append(t.rows, vals)
}

func newTable(name, cols string) *bulkTable {
	parts := strings.Split(cols, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return &bulkTable{name: name, cols: parts}
}

const journalCols = `id, at, actor_id, actor_name, entity, entity_id, customer_id, action, before_json, after_json, note`

func (t *bulkTable) journal(id int64, e Entry) {
	var before, after any
	if e.Before != nil {
		before = string(e.Before)
	}
	if e.After != nil {
		after = string(e.After)
	}
	t.add(id, e.At, nullID(e.ActorID), e.ActorName, e.Entity, e.EntityID, nullID(e.CustomerID), e.Action, before, after, e.Note)
}

func systemEntry(at time.Time, entity string, id, customerID int64, action string, after any, note string) Entry {
	e := Entry{At: at, ActorName: auth.System.Name, Entity: entity, EntityID: id, CustomerID: customerID, Action: action, Note: note}
	if after != nil {
		e.After = json.RawMessage(mustJSON(after))
	}
	return e
}

// Customers writes customer organisations (each validated, with its
// "created" journal entry) and sets their ids.
func (b *Bulk) Customers(ctx context.Context, cs []licensing.Customer) error {
	if err := b.sync(ctx, "customers", "journal"); err != nil {
		return err
	}
	cust := newTable("customers", `id, code, name, phone, email, notes, created_at, updated_at`)
	jr := newTable("journal", journalCols)
	for i := range cs {
		c := &cs[i]
		if err := c.Validate(); err != nil {
			return fmt.Errorf("customer %q: %w", c.Code, err)
		}
		c.ID = b.id("customers")
		cust.add(c.ID, c.Code, c.Name, c.Phone, c.Email, c.Notes, c.CreatedAt, c.UpdatedAt)
		jr.journal(b.id("journal"), systemEntry(c.CreatedAt, "customer", c.ID, c.ID, "created", c, ""))
	}
	return b.write(ctx, cust, jr)
}

// Accounts writes staff members and customer contacts (validated, without
// a password: they sign in once one is set) and sets their ids.
func (b *Bulk) Accounts(ctx context.Context, as []auth.Account) error {
	if err := b.sync(ctx, "accounts", "journal"); err != nil {
		return err
	}
	acc := newTable("accounts", `id, login, name, phone, role, department, customer_id, lang, password_hash, disabled, created_at, updated_at`)
	jr := newTable("journal", journalCols)
	for i := range as {
		a := &as[i]
		if err := a.Validate(); err != nil {
			return fmt.Errorf("account %q: %w", a.Login, err)
		}
		a.ID = b.id("accounts")
		acc.add(a.ID, a.Login, a.Name, a.Phone, a.Role, a.Department, nullID(a.CustomerID), a.Lang, "", a.Disabled, a.CreatedAt, a.UpdatedAt)
		jr.journal(b.id("journal"), systemEntry(a.CreatedAt, "account", a.ID, a.CustomerID, "created", *a, ""))
	}
	return b.write(ctx, acc, jr)
}

// Requests writes requests with their histories in one batch and sets
// each request's ID, Number and SLADueAt.
func (b *Bulk) Requests(ctx context.Context, rs []BulkRequest) error {
	if err := b.sync(ctx, "requests", "comments", "proposals", "request_clocks", "request_pauses", "journal"); err != nil {
		return err
	}
	req := newTable("requests", `id, `+strings.TrimPrefix(requestCols, "id, "))
	com := newTable("comments", `id, request_id, author_id, author_name, from_staff, internal, body, created_at`)
	prop := newTable("proposals", `id, request_id, version, scope, effort_hours, deadline, status, proposed_by, proposed_at, decided_by, decided_at, comment`)
	clk := newTable("request_clocks", `id, request_id, kind, seq, started_at, stopped_at, deadline, due_at, at_risk_at, state, at_risk_note, breach_note`)
	pau := newTable("request_pauses", `id, request_id, from_at, to_at`)
	jr := newTable("journal", journalCols)
	srch := b.searchTables()
	var entries []Entry
	for i := range rs {
		br := &rs[i]
		r := &br.Request
		if r.CustomerID == 0 || r.Subject == "" || r.CreatedAt.IsZero() {
			return apperr.New(apperr.Invalid, "bulk request %d: customer, subject and creation time are required", i)
		}
		if err := desk.CheckClass(r.Type, r.Priority); err != nil {
			return apperr.New(apperr.Invalid, "bulk request %d: %v", i, err)
		}
		r.ID = b.id("requests")
		year := r.CreatedAt.In(numberZone()).Year()
		b.last[year]++
		r.Number = fmt.Sprintf("REQ-%d-%06d", year, b.last[year])

		// The registration entry, as register writes it: the request as
		// it was registered.
		reg := *r
		reg.State, reg.ReturnState, reg.ProposalOpen = desk.StateReceived, "", false
		reg.AssigneeID, reg.ProblemID, reg.InstanceID = 0, 0, r.InstanceID
		reg.Resolution, reg.Rating, reg.RatingComment = "", 0, ""
		reg.WaitingSince, reg.RemindedAt, reg.ResolvedAt, reg.ClosedAt, reg.SLADueAt = nil, nil, nil, nil, nil
		reg.Version, reg.UpdatedAt, reg.LastActivityAt = 1, r.CreatedAt, r.CreatedAt
		note := "channel " + string(r.Channel)
		if !r.Covered {
			note += "; not covered: " + r.CoverageNote
		}
		entries = append(entries[:0], Entry{At: r.CreatedAt, ActorID: r.CreatedBy, ActorName: br.CreatedByName, Action: "registered",
			After: json.RawMessage(mustJSON(reg)), Note: note})
		entries = append(entries, br.Journal...)

		// Clocks: worked out as recomputeClocks does, with the notes the
		// sweep would have written by now.
		r.SLADueAt = nil
		if len(br.Clocks) > 0 {
			cp, ok, err := b.plan(ctx, *r)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.New(apperr.Invalid, "bulk request %d has clocks but no plan covers it", i)
			}
			for _, k := range br.Clocks {
				row := clockRow{kind: k.Kind, seq: k.Seq, started: k.Started,
					stopped: sql.NullTime{Time: k.Stopped, Valid: !k.Stopped.IsZero()}, deadline: sql.NullTime{Time: k.Deadline, Valid: !k.Deadline.IsZero()}}
				// A stopped clock evaluates the same at any instant after it
				// stopped, so this is also what its last recompute stored.
				ev := cp.evaluate(row, br.Pauses, b.now)
				due, state := ev.view.Due, ev.view.State
				if !row.stopped.Valid && (r.SLADueAt == nil || due.Before(*r.SLADueAt)) {
					d := due
					r.SLADueAt = &d
				}
				// The notes the sweep writes while a clock runs: at risk once
				// the share is used, breached once past due.
				end := b.now
				if row.stopped.Valid {
					end = k.Stopped
				}
				breachNoted := state == sla.Breached
				atRiskNoted := breachNoted || state == sla.AtRisk || state == sla.Met && !ev.atRisk.After(end)
				if atRiskNoted && ev.atRisk.Before(due) {
					who := "the support lead"
					if r.AssigneeID != 0 {
						who = fmt.Sprintf("the assignee (account %d) and the support lead", r.AssigneeID)
					}
					entries = append(entries, systemEntry(ev.atRisk, "request", r.ID, r.CustomerID, "sla_at_risk",
						map[string]any{"kind": k.Kind, "seq": k.Seq, "due": due.UTC()}, fmt.Sprintf("%s target at risk, due %s; notified %s", k.Kind, due.UTC().Format(time.RFC3339), who)))
				}
				if breachNoted {
					entries = append(entries, systemEntry(due, "request", r.ID, r.CustomerID, "sla_breached",
						map[string]any{"kind": k.Kind, "seq": k.Seq, "due": due.UTC()}, fmt.Sprintf("%s target breached (due %s)", k.Kind, due.UTC().Format(time.RFC3339))))
				}
				var stopped, deadline any
				if row.stopped.Valid {
					stopped = k.Stopped
				}
				if row.deadline.Valid {
					deadline = k.Deadline
				}
				clk.add(b.id("request_clocks"), r.ID, k.Kind, k.Seq, k.Started, stopped, deadline, due, ev.atRisk, state.String(), atRiskNoted, breachNoted)
			}
		}
		req.add(r.ID, r.Number, nullID(r.CustomerID), nullID(r.ProductID), nullID(r.InstanceID), nullID(r.RequesterID), r.RequesterName, r.RequesterPhone, r.Channel,
			r.Type, r.Priority, r.State, r.ReturnState, r.ProposalOpen, r.Subject, r.Description, r.Steps, r.Expected, r.Actual,
			r.Covered, r.CoverageReason, r.CoverageNote, nullID(r.LicenseID), nullID(r.AssigneeID), nullID(r.ProblemID), r.Resolution, r.Rating, r.RatingComment,
			r.WaitingSince, r.RemindedAt, r.ResolvedAt, r.ClosedAt, nullID(r.CreatedBy), r.Version, r.CreatedAt, r.UpdatedAt, r.LastActivityAt, r.SLADueAt)
		b.addSearchDoc(srch, *r)
		for j := range br.Comments {
			cm := &br.Comments[j]
			cm.ID, cm.RequestID = b.id("comments"), r.ID
			com.add(cm.ID, r.ID, nullID(cm.AuthorID), cm.AuthorName, cm.FromStaff, cm.Internal, cm.Body, cm.CreatedAt)
		}
		for j := range br.Proposals {
			p := &br.Proposals[j]
			p.ID, p.RequestID = b.id("proposals"), r.ID
			prop.add(p.ID, r.ID, p.Version, p.Scope, p.EffortHours, p.Deadline, p.Status, p.ProposedBy, p.ProposedAt, p.DecidedBy, p.DecidedAt, p.Comment)
		}
		for _, p := range br.Pauses {
			var to any
			if !p.To.IsZero() {
				to = p.To
			}
			pau.add(b.id("request_pauses"), r.ID, p.From, to)
		}
		// The journal in time order, so ids follow the history.
		slices.SortStableFunc(entries, func(a, b Entry) int { return a.At.Compare(b.At) })
		for _, e := range entries {
			e.Entity, e.EntityID, e.CustomerID = "request", r.ID, r.CustomerID
			jr.journal(b.id("journal"), e)
		}
	}
	return b.write(ctx, append(append([]*bulkTable{req}, srch...), com, prop, clk, pau, jr)...)
}

// searchTables hold a batch's search index rows (search.go) as each
// engine's request_search takes them: the terms separated by spaces for
// FTS5, with the vocabulary's new terms beside them; a tsvector for COPY
// (which takes no SQL function to build one).
func (b *Bulk) searchTables() []*bulkTable {
	if b.s.engine == Postgres {
		return []*bulkTable{newTable("request_search", "request_id, terms")}
	}
	vocab := newTable("request_search_terms", "term")
	vocab.orIgnore = true // terms already there from before the load
	return []*bulkTable{newTable("request_search", "rowid, terms"), vocab}
}

func (b *Bulk) addSearchDoc(tables []*bulkTable, r desk.Request) {
	d := requestSearchDoc(r)
	if b.s.engine != Postgres {
		tables[0].add(r.ID, d.text())
		if len(b.terms) > 1<<18 {
			clear(b.terms) // bounded memory; INSERT OR IGNORE copes with repeats
		}
		for _, t := range d.terms {
			if !b.terms[t] {
				b.terms[t] = true
				tables[1].add(t)
			}
		}
		return
	}
	// PostgreSQL sorts the lexemes as it receives them (the scope term is
	// last here, out of order).
	v := pgtype.TSVector{Valid: true, Lexemes: make([]pgtype.TSVectorLexeme, 0, len(d.terms)+1)}
	for _, t := range d.terms {
		v.Lexemes = append(v.Lexemes, pgtype.TSVectorLexeme{Word: t})
	}
	v.Lexemes = append(v.Lexemes, pgtype.TSVectorLexeme{Word: d.scope})
	tables[0].add(r.ID, v)
}

// plan is planFor without a query: the schedule of the request's license.
func (b *Bulk) plan(ctx context.Context, r desk.Request) (clockPlan, bool, error) {
	if r.LicenseID == 0 || !(r.Covered || r.CoverageReason == licensing.ReasonOutsideHours) {
		return clockPlan{}, false, nil
	}
	em := int64(0)
	if r.Priority == licensing.PriorityEmergency {
		em = 1
	}
	key := [2]int64{r.LicenseID, em}
	if cp, ok := b.cps[key]; ok {
		return cp, true, nil
	}
	pl, ok := b.lics[r.LicenseID]
	if !ok {
		// A license created since the load began.
		if err := b.loadPlans(ctx); err != nil {
			return clockPlan{}, false, err
		}
		pl, ok = b.lics[r.LicenseID]
	}
	if !ok {
		return clockPlan{}, false, apperr.New(apperr.Invalid, "license %d does not exist (create licenses before the requests)", r.LicenseID)
	}
	cp, _, err := planSchedule(pl, r.Priority, b.cal)
	if err != nil {
		return clockPlan{}, false, err
	}
	b.cps[key] = cp
	return cp, true, nil
}

// Finish stores the registration counters and, on PostgreSQL, vacuums and
// analyzes: the planner's statistics and the visibility map (which lets
// counts read only an index) are what autovacuum keeps on a database in
// use, and a fresh load has neither.
func (b *Bulk) Finish(ctx context.Context) error {
	if err := b.s.setLastNumbers(ctx, b.last); err != nil {
		return err
	}
	if b.s.engine == SQLite {
		_, err := b.s.w.ExecContext(ctx, `PRAGMA cache_size = -2000`)
		return b.s.failOrNil("bulk load", err)
	}
	if _, err := b.s.w.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
		return b.s.fail("bulk load", err)
	}
	return nil
}

// write stores one batch: the tables in the order given (parents first),
// in one transaction.
func (b *Bulk) write(ctx context.Context, tables ...*bulkTable) error {
	var err error
	if b.s.engine == Postgres {
		err = b.copyPostgres(ctx, tables)
	} else {
		err = b.insertSQLite(ctx, tables)
	}
	if err != nil {
		return b.s.fail("bulk load", err)
	}
	for _, t := range tables {
		b.Rows += int64(len(t.rows))
	}
	return nil
}

func (b *Bulk) copyPostgres(ctx context.Context, tables []*bulkTable) error {
	tx, err := b.s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", t.name, err)
		}
		if t.cols[0] != "id" {
			continue // keyed by another table's id: no sequence of its own
		}
		// The store's own inserts take ids from the sequence: move it
		// past the ids given here.
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+t.name+`', 'id'), (SELECT MAX(id) FROM `+t.name+`))`); err != nil {
			return fmt.Errorf("sequence of %s: %w", t.name, err)
		}
	}
	return tx.Commit(ctx)
}

// sqliteChunk is how many rows one INSERT carries, within SQLite's limit
// of 32766 parameters.
func sqliteChunk(cols int) int { return min(200, 32000/cols) }

func (b *Bulk) insertSQLite(ctx context.Context, tables []*bulkTable) error {
	c, err := b.s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		chunk := sqliteChunk(len(t.cols))
		row := "(" + placeholders(len(t.cols)) + ")"
		insert := func(n int) string {
			verb := `INSERT INTO `
			if t.orIgnore {
				verb = `INSERT OR IGNORE INTO `
			}
			return verb + t.name + ` (` + strings.Join(t.cols, ", ") + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		}
		var full *sql.Stmt
		args := make([]any, 0, chunk*len(t.cols))
		for start := 0; start < len(t.rows); start += chunk {
			part := t.rows[start:min(start+chunk, len(t.rows))]
			args = args[:0]
			for _, r := range part {
				args = append(args, r...)
			}
			if len(part) == chunk {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, insert(chunk)); err != nil {
						return err
					}
					defer full.Close()
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insert(len(part)), args...)
			}
			if err != nil {
				return fmt.Errorf("insert into %s: %w", t.name, err)
			}
		}
	}
	return tx.Commit()
}

// SizeOnDisk is the size of the database: the SQLite file (without its
// write-ahead log), or the whole PostgreSQL database.
func (s *Store) SizeOnDisk(ctx context.Context) (int64, error) {
	q := `SELECT pg_database_size(current_database())`
	if s.engine == SQLite {
		q = `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	}
	var n int64
	err := s.r.QueryRowContext(ctx, q).Scan(&n)
	return n, s.failOrNil("database size", err)
}
