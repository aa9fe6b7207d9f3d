package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/sla"
)

const requestCols = `id, number, customer_id, product_id, instance_id, requester_id, requester_name, requester_phone, channel,
	type, priority, state, return_state, proposal_open, subject, description, steps, expected, actual,
	covered, coverage_reason, coverage_message, license_id, assignee_id, problem_id, resolution, rating, rating_comment,
	waiting_since, reminded_at, resolved_at, closed_at, created_by, version, created_at, updated_at, last_activity_at, sla_due_at`

func scanRequest(row scanner) (desk.Request, error) {
	var r desk.Request
	var cust, prod, inst, reqr, lic, asg, prob, by sql.NullInt64
	var waiting, reminded, resolved, closed, slaDue sql.NullTime
	err := row.Scan(&r.ID, &r.Number, &cust, &prod, &inst, &reqr, &r.RequesterName, &r.RequesterPhone, &r.Channel,
		&r.Type, &r.Priority, &r.State, &r.ReturnState, &r.ProposalOpen, &r.Subject, &r.Description, &r.Steps, &r.Expected, &r.Actual,
		&r.Covered, &r.CoverageReason, &r.CoverageNote, &lic, &asg, &prob, &r.Resolution, &r.Rating, &r.RatingComment,
		&waiting, &reminded, &resolved, &closed, &by, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.LastActivityAt, &slaDue)
	r.CustomerID, r.ProductID, r.InstanceID, r.RequesterID = cust.Int64, prod.Int64, inst.Int64, reqr.Int64
	r.LicenseID, r.AssigneeID, r.ProblemID, r.CreatedBy = lic.Int64, asg.Int64, prob.Int64, by.Int64
	r.WaitingSince, r.RemindedAt, r.ResolvedAt, r.ClosedAt = timePtr(waiting), timePtr(reminded), timePtr(resolved), timePtr(closed)
	r.SLADueAt = timePtr(slaDue)
	return r, err
}

func requestResource(r desk.Request) auth.Resource {
	return auth.Resource{Kind: auth.KindRequest, CustomerID: r.CustomerID, OwnerID: r.RequesterID}
}

func (c conn) loadRequest(ctx context.Context, id int64) (desk.Request, error) {
	var rr readableRequest
	if err := c.readAll(ctx, rr.read(id)); err != nil {
		return desk.Request{}, err
	}
	if !rr.found {
		return desk.Request{}, noSuchRequest()
	}
	return rr.r, nil
}

func noSuchRequest() error { return apperr.New(apperr.NotFound, "no such request") }

// requestFor loads a request the caller may read; another customer's
// request is "not found".
func (c conn) requestFor(ctx context.Context, p auth.Principal, id int64) (desk.Request, error) {
	r, err := c.loadRequest(ctx, id)
	if err != nil {
		return r, err
	}
	return r, mayRead(p, r)
}

// mayRead decides whether p may read r; another customer's request is
// "not found".
func mayRead(p auth.Principal, r desk.Request) error {
	if err := auth.Authorize(p, auth.Read, requestResource(r)); err != nil {
		if apperr.Is(err, apperr.Forbidden) {
			return noSuchRequest()
		}
		return err
	}
	return nil
}

// readableRequest reads a request in a batch of reads (pipeline.go) with
// what the caller wants of it: what the others read is used only once
// check has passed, which decides as requestFor does.
type readableRequest struct {
	r     desk.Request
	found bool
}

func (rr *readableRequest) read(id int64) read {
	return read{q: `SELECT ` + requestCols + ` FROM requests WHERE id = ?`, args: []any{id}, each: func(row scanner) (err error) {
		rr.r, err = scanRequest(row)
		rr.found = err == nil
		return err
	}}
}

func (rr *readableRequest) check(p auth.Principal) error {
	if !rr.found {
		return noSuchRequest()
	}
	return mayRead(p, rr.r)
}

// Idempotency: a key and the id of what its first call created are written
// in the same transaction as that result.

func fingerprint(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replayed reports the result id of an earlier call with the same key; a
// key reused for a different body is a conflict.
func (c conn) replayed(ctx context.Context, p auth.Principal, key, fp string) (int64, error) {
	if key == "" {
		return 0, nil
	}
	if len(key) > 200 {
		return 0, apperr.Field("Idempotency-Key", "the key is longer than 200 characters")
	}
	var stored string
	var id int64
	err := c.queryRow(ctx, `SELECT fingerprint, result_id FROM idempotency_keys WHERE account_id = ? AND key = ?`, p.AccountID, key).Scan(&stored, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if stored != fp {
		return 0, &apperr.Error{Code: apperr.Conflict, Field: "Idempotency-Key", Message: "this Idempotency-Key was already used for a different request"}
	}
	return id, nil
}

func (c conn) rememberKey(ctx context.Context, p auth.Principal, key, fp string, id int64) error {
	if key == "" {
		return nil
	}
	_, err := c.exec(ctx, `INSERT INTO idempotency_keys (account_id, key, fingerprint, result_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.AccountID, key, fp, id, c.s.Now())
	return err
}

// withKey runs an idempotent operation: a replay returns the first result's
// id; two concurrent first calls with one key cannot both commit (the key's
// primary key stops the second), and the loser then replays the winner.
func (s *Store) withKey(ctx context.Context, p auth.Principal, op, key, fp string, fn func(c conn) (int64, error)) (id int64, replay bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		err = s.tx(ctx, op, func(c conn) error {
			prev, err := c.replayed(ctx, p, key, fp)
			if err != nil || prev != 0 {
				id, replay = prev, prev != 0
				return err
			}
			if id, err = fn(c); err != nil {
				return err
			}
			return c.rememberKey(ctx, p, key, fp, id)
		})
		if err == nil || key == "" || !isUniqueViolation(err) {
			return id, replay, err
		}
	}
	return id, replay, err
}

// RegisterRequest registers a request (R3.4): it is numbered, checked
// against the customer's licenses (R2.3: one that is not covered is still
// registered, marked with the reason), and journaled, all in one
// transaction. cal is the production calendar in force.
//
// The checks of what the request refers to (customer, requester, product,
// instance, licenses, plan) read committed reference data and run before
// the write transaction, beside other writers: on SQLite, whose one writer
// every registration waits for, that took a third off the time each holds
// it (issue 7). The number, the request, its journal entry and its clocks
// are written in the one transaction.
func (s *Store) RegisterRequest(ctx context.Context, p auth.Principal, in desk.NewRequest, idemKey string, cal *sla.Calendar) (desk.Request, bool, error) {
	fp := fingerprint(in)
	var out desk.Request
	now := s.Now().Truncate(time.Microsecond)
	if err := s.ensureNumbers(ctx, now); err != nil {
		return desk.Request{}, false, err
	}
	if s.engine == Postgres && idemKey == "" {
		// On PostgreSQL the number and the id are taken from their
		// sequences in the round trip that reads what the request refers
		// to (numbers.go), and the writes go in one pipeline, one
		// transaction: no lock is held from one round trip to the next
		// (issue 7). A call that may be retried (an Idempotency-Key) takes
		// its number in its transaction.
		var number string
		var id int64
		reg, err := s.read().checkRegistration(ctx, p, in, cal, numberAndIDReads(now, &number, &id)...)
		if err != nil {
			return desk.Request{}, false, s.failOrNil("register request", err)
		}
		reg.number, reg.id, reg.now = number, id, now
		run := s.tx
		if reg.pipelinable() {
			run = s.pipelined
		}
		err = run(ctx, "register request", func(c conn) error {
			var err error
			out, err = c.writeRegistration(ctx, p, reg)
			return err
		})
		if err != nil {
			return desk.Request{}, false, err
		}
		return out, false, nil
	}
	reg, err := s.read().checkRegistration(ctx, p, in, cal)
	if err != nil {
		return desk.Request{}, false, s.failOrNil("register request", err)
	}
	id, replay, err := s.withKey(ctx, p, "register request", idemKey, fp, func(c conn) (int64, error) {
		r, err := c.writeRegistration(ctx, p, reg)
		out = r
		return r.ID, err
	})
	if err != nil {
		return desk.Request{}, false, err
	}
	if replay {
		out, err = s.GetRequest(ctx, p, id)
	}
	return out, replay, err
}

// register checks and writes a registration in the caller's transaction.
func (c conn) register(ctx context.Context, p auth.Principal, in desk.NewRequest, cal *sla.Calendar) (desk.Request, error) {
	reg, err := c.checkRegistration(ctx, p, in, cal)
	if err != nil {
		return desk.Request{}, err
	}
	return c.writeRegistration(ctx, p, reg)
}

// registration is a registration checked and ready to write.
type registration struct {
	in    desk.NewRequest
	cov   licensing.Coverage
	cp    clockPlan
	timed bool // cp applies: the request has clocks
	// terms are the search terms of the text (search.go).
	terms []string
	// number and id, when set, were taken before the transaction, at now.
	number string
	id     int64
	now    time.Time
}

// pipelinable says whether the registration's writes can go in one
// pipeline (pipeline.go): they read nothing they wrote unless clocks other
// than starting ones are applied, which reads the request back.
func (reg registration) pipelinable() bool {
	return !reg.timed || onlyStarts(desk.ClocksAtRegistration(reg.in.Type))
}

// onlyStarts says whether the clock operations only start clocks, which
// registration writes itself; anything else is left to applyClocks.
func onlyStarts(ops []desk.ClockOp) bool {
	for _, op := range ops {
		if op.Op != desk.ClockStart {
			return false
		}
	}
	return true
}

// checkRegistration settles who registers for whom and checks everything
// the request refers to; it only reads.
//
// extra reads go in the same batch once the caller's rights are settled
// (RegisterRequest takes the number there).
func (c conn) checkRegistration(ctx context.Context, p auth.Principal, in desk.NewRequest, cal *sla.Calendar, extra ...read) (registration, error) {
	now := c.s.Now()
	if p.IsCustomer() {
		if in.CustomerID != 0 && in.CustomerID != p.CustomerID {
			return registration{}, apperr.New(apperr.NotFound, "no such customer")
		}
		if in.RequesterID != 0 && in.RequesterID != p.AccountID {
			return registration{}, apperr.Field("requester_id", "you register requests in your own name")
		}
		if in.Channel != desk.ChannelAPI {
			in.Channel = desk.ChannelPortal
		}
		in.CustomerID, in.RequesterID = p.CustomerID, p.AccountID
	} else if in.Channel == "" {
		in.Channel = desk.ChannelPhone
	}
	if in.CustomerID == 0 && in.Channel != desk.ChannelEmail {
		return registration{}, apperr.Field("customer_id", "say which customer the request is from")
	}
	if err := auth.Authorize(p, auth.Create, auth.Resource{Kind: auth.KindRequest, CustomerID: in.CustomerID, OwnerID: in.RequesterID}); err != nil {
		return registration{}, err
	}
	// Everything the request refers to is read at once (on PostgreSQL in
	// one round trip, pipeline.go), then checked in the order below.
	var (
		customerFound, productFound, requesterFound, instanceFound bool
		reqName, reqPhone                                          string
		reqCustomer                                                sql.NullInt64
		instCustomer, instProduct                                  int64
		lics                                                       []licensing.License
		reads                                                      []read
	)
	if in.CustomerID != 0 {
		reads = append(reads, existsRead("customers", in.CustomerID, &customerFound))
	}
	if in.RequesterID != 0 {
		reads = append(reads, read{q: `SELECT name, phone, customer_id FROM accounts WHERE id = ?`, args: []any{in.RequesterID}, each: func(row scanner) error {
			requesterFound = true
			return row.Scan(&reqName, &reqPhone, &reqCustomer)
		}})
	}
	if in.ProductID != 0 {
		reads = append(reads, existsRead("products", in.ProductID, &productFound))
	}
	if in.InstanceID != 0 {
		reads = append(reads, read{q: `SELECT customer_id, product_id FROM instances WHERE id = ?`, args: []any{in.InstanceID}, each: func(row scanner) error {
			instanceFound = true
			return row.Scan(&instCustomer, &instProduct)
		}})
	}
	if in.CustomerID != 0 && in.ProductID != 0 {
		reads = append(reads, licensesRead(in.CustomerID, &lics))
	}
	if err := c.readAll(ctx, append(reads, extra...)...); err != nil {
		return registration{}, err
	}
	if in.CustomerID != 0 && !customerFound {
		return registration{}, noSuch("customer_id", "customer", in.CustomerID)
	}
	if in.RequesterID != 0 {
		// The requester's own name and phone unless others are given.
		if !requesterFound || reqCustomer.Int64 != in.CustomerID {
			return registration{}, apperr.Field("requester_id", "the requester must be a contact of the customer")
		}
		if in.RequesterName == "" {
			in.RequesterName = reqName
		}
		if in.RequesterPhone == "" {
			in.RequesterPhone = reqPhone
		}
	}
	if in.ProductID == 0 && in.CustomerID != 0 && in.Channel != desk.ChannelEmail {
		return registration{}, apperr.Field("product_id", "choose the product the request is about")
	}
	if err := in.Validate(); err != nil {
		return registration{}, err
	}
	if in.ProductID != 0 && !productFound {
		return registration{}, noSuch("product_id", "product", in.ProductID)
	}
	if in.InstanceID != 0 && (!instanceFound || instCustomer != in.CustomerID || instProduct != in.ProductID) {
		return registration{}, apperr.Field("instance_id", "the instance must be the customer's installation of this product")
	}
	cov := licensing.Coverage{Reason: "triage", Message: "Not yet linked to a customer; the support desk will sort it."}
	if in.CustomerID != 0 && in.ProductID == 0 {
		// An e-mail that does not say which product: the desk sets it (mail.go).
		cov = licensing.Coverage{Reason: "product_unknown", Message: "The product is not yet known; the support desk will set it."}
	}
	if in.CustomerID != 0 && in.ProductID != 0 {
		cov = licensing.Cover(lics, in.ProductID, in.Type, in.Priority, now, cal)
	}
	r := desk.Request{Type: in.Type, Priority: in.Priority, LicenseID: cov.LicenseID, Covered: cov.Covered, CoverageReason: cov.Reason}
	// The license's plan was read with the licenses.
	var cp clockPlan
	var timed bool
	for _, l := range lics {
		if l.ID != r.LicenseID || l.Plan == nil || !clocked(r) {
			continue
		}
		var err error
		if cp, timed, err = planSchedule(*l.Plan, r.Priority, c.s.cal()); err != nil {
			return registration{}, err
		}
		break
	}
	// The search terms of the text are made here, outside the write
	// transaction: on SQLite every registration waits for the one writer.
	terms := requestTextTerms(in.Subject, in.Description, in.Steps, in.Expected, in.Actual)
	return registration{in: in, cov: cov, cp: cp, timed: timed, terms: terms}, nil
}

// writeRegistration numbers and writes a checked registration, with its
// journal entry and the clocks that start now.
func (c conn) writeRegistration(ctx context.Context, p auth.Principal, reg registration) (desk.Request, error) {
	// In microseconds, as PostgreSQL keeps instants: the request answered
	// from memory below is the one a later read returns.
	now := c.s.Now().Truncate(time.Microsecond)
	in, cov := reg.in, reg.cov
	number, id, err := reg.number, reg.id, error(nil)
	if number != "" {
		now = reg.now
	} else if number, id, err = c.numberAndID(ctx, now); err != nil {
		return desk.Request{}, err
	}
	r := desk.Request{
		Number: number, CustomerID: in.CustomerID, ProductID: in.ProductID, InstanceID: in.InstanceID,
		RequesterID: in.RequesterID, RequesterName: in.RequesterName, RequesterPhone: in.RequesterPhone,
		Channel: in.Channel, Type: in.Type, Priority: in.Priority, State: desk.StateReceived,
		Subject: in.Subject, Description: in.Description, Steps: in.Steps, Expected: in.Expected, Actual: in.Actual,
		Covered: cov.Covered, CoverageReason: cov.Reason, CoverageNote: cov.Message, LicenseID: cov.LicenseID,
		CreatedBy: p.AccountID, Version: 1, CreatedAt: now, UpdatedAt: now, LastActivityAt: now,
	}
	// The clocks that start now are worked out here and written with the
	// request, as applyClocks and recomputeClocks would leave them: the
	// registration is the desk's busiest write, and this is one insert
	// instead of a dozen statements (issue 7).
	ops := desk.ClocksAtRegistration(r.Type)
	cp, timed := reg.cp, reg.timed && onlyStarts(ops)
	var started []evaluated
	if timed {
		for _, op := range ops {
			if cp.target(op.Kind) <= 0 {
				continue // the plan sets no such target
			}
			ev := cp.evaluate(clockRow{kind: op.Kind, seq: 1, started: now}, nil, now)
			started = append(started, ev)
			if due := ev.view.Due.UTC(); r.SLADueAt == nil || due.Before(*r.SLADueAt) {
				r.SLADueAt = &due
			}
		}
	}
	// A NULL id is SQLite's next rowid; PostgreSQL's was taken with the
	// number, and the insert returns nothing, so that it can be pipelined.
	const insertRequest = `INSERT INTO requests (id, number, customer_id, product_id, instance_id, requester_id, requester_name, requester_phone,
		channel, type, priority, state, subject, description, steps, expected, actual, covered, coverage_reason, coverage_message, license_id,
		created_by, version, created_at, updated_at, last_activity_at, sla_due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{nullID(id), r.Number, nullID(r.CustomerID), nullID(r.ProductID), nullID(r.InstanceID), nullID(r.RequesterID), r.RequesterName, r.RequesterPhone,
		r.Channel, r.Type, r.Priority, r.State, r.Subject, r.Description, r.Steps, r.Expected, r.Actual, r.Covered, r.CoverageReason, r.CoverageNote, nullID(r.LicenseID),
		nullID(r.CreatedBy), r.Version, now, now, now, r.SLADueAt}
	if id != 0 {
		r.ID = id
		_, err = c.exec(ctx, insertRequest, args...)
	} else {
		r.ID, err = c.insert(ctx, insertRequest, args...)
	}
	if err != nil {
		return desk.Request{}, err
	}
	if err := c.stageSearchDoc(ctx, searchDoc{id: r.ID, terms: withNumberTerms(reg.terms, r.Number), scope: scopeTerm(r.CustomerID)}, false); err != nil {
		return desk.Request{}, err
	}
	note := "channel " + string(r.Channel)
	if !r.Covered {
		note += "; not covered: " + r.CoverageNote
	}
	registered := r
	registered.SLADueAt = nil // the entry shows the request before its clocks
	// The notices are made from the request in hand, not read back.
	if err := c.journalOf(ctx, p, "request", r.ID, r.CustomerID, &r, "registered", nil, registered, note); err != nil {
		return r, err
	}
	if !timed && reg.timed {
		if err := c.applyClocks(ctx, r, ops, now); err != nil {
			return r, err
		}
		return c.loadRequest(ctx, r.ID)
	}
	if len(started) > 0 {
		q := `INSERT INTO request_clocks (request_id, kind, seq, started_at, due_at, at_risk_at, state) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, 1, ?, ?, ?, ?), ", len(started)), ", ")
		args := make([]any, 0, 6*len(started))
		for _, ev := range started {
			args = append(args, r.ID, ev.row.kind, now, ev.view.Due, ev.atRisk, ev.view.State.String())
		}
		if _, err := c.exec(ctx, q, args...); err != nil {
			return r, err
		}
	}
	return r, nil
}

// licensesOf reads a customer's licenses with their plans, in the caller's
// transaction.
func (c conn) licensesOf(ctx context.Context, customerID int64) ([]licensing.License, error) {
	var out []licensing.License
	err := c.readAll(ctx, licensesRead(customerID, &out))
	return out, err
}

// licensesRead reads a customer's licenses with their plans, in one query
// (it was one per plan).
func licensesRead(customerID int64, out *[]licensing.License) read {
	planCache := map[int64]*licensing.Plan{}
	return read{q: `SELECT ` + prefixed("l.", licenses.cols) + `, ` + prefixed("p.", plans.cols) + `
		FROM licenses l JOIN plans p ON p.id = l.plan_id WHERE l.customer_id = ? ORDER BY l.id`, args: []any{customerID}, each: func(row scanner) error {
		var l licensing.License
		var pl licensing.Plan
		var ents, targets string
		if err := row.Scan(&l.ID, &l.CustomerID, &l.ProductID, &l.PlanID, &l.ValidFrom, &l.ValidTo, &ents, &l.Notes, &l.CreatedAt, &l.UpdatedAt,
			&pl.ID, &pl.Name, &pl.WindowStart, &pl.WindowEnd, &pl.Zone, &pl.Emergency24x7, &targets, &pl.AtRiskPercent, &pl.CreatedAt, &pl.UpdatedAt); err != nil {
			return err
		}
		if err := jsonText(ents, &l.Entitlements); err != nil {
			return err
		}
		if cached, ok := planCache[pl.ID]; ok {
			l.Plan = cached
		} else {
			var t planTargets
			if err := jsonText(targets, &t); err != nil {
				return err
			}
			pl.Emergency, pl.Normal = t.Emergency, t.Normal
			l.Plan, planCache[pl.ID] = &pl, &pl
		}
		*out = append(*out, l)
		return nil
	}}
}
