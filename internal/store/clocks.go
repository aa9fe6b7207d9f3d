package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/sla"
)

// UseCalendar sets the production calendar in force (the shipped one
// until then); SLA clocks are computed on it.
func (s *Store) UseCalendar(cal func() *sla.Calendar) { s.calendar = cal }

func (s *Store) cal() *sla.Calendar {
	if s.calendar == nil {
		return sla.Default()
	}
	return s.calendar()
}

// Clock is one SLA target of a request as the request page shows it.
type Clock struct {
	Kind     desk.ClockKind `json:"kind"`
	Seq      int            `json:"seq"`
	Started  time.Time      `json:"started_at"`
	Target   string         `json:"target"` // working time (or wall time in 24x7 mode), e.g. "4h0m0s"
	Mode     string         `json:"mode"`   // working | 24x7
	Deadline *time.Time     `json:"deadline,omitempty"`
	Stopped  *time.Time     `json:"stopped_at,omitempty"`
	Due      time.Time      `json:"due"`
	Left     string         `json:"left"` // working time left; negative when late
	LeftSec  int64          `json:"left_seconds"`
	State    string         `json:"state"` // running, paused, met, at_risk, breached
}

type clockRow struct {
	id                       int64
	kind                     desk.ClockKind
	seq                      int
	started                  time.Time
	stopped, deadline        sql.NullTime
	due, atRisk              sql.NullTime
	state                    string
	atRiskNoted, breachNoted bool
}

// clockPlan is what clock arithmetic needs from the request's plan.
type clockPlan struct {
	sched   sla.Schedule
	targets licensing.Targets
	share   float64
}

// planFor finds the schedule and targets of a request: those of the plan
// of the license that covers it. Requests without one have no clocks.
func (c conn) planFor(ctx context.Context, r desk.Request) (clockPlan, bool, error) {
	if !clocked(r) {
		return clockPlan{}, false, nil
	}
	var p licensing.Plan
	var found bool
	if err := c.readAll(ctx, planRead(r.LicenseID, &p, &found)); err != nil || !found {
		return clockPlan{}, false, err
	}
	return planSchedule(p, r.Priority, c.s.cal())
}

// planRead reads the plan of a license.
func planRead(licenseID int64, out *licensing.Plan, found *bool) read {
	return planReadWhere(`(SELECT plan_id FROM licenses WHERE id = ?)`, licenseID, out, found)
}

// requestPlanRead reads the plan of a request's license, by the request's
// id alone, so that it can be read with the request.
func requestPlanRead(requestID int64, out *licensing.Plan, found *bool) read {
	return planReadWhere(`(SELECT l.plan_id FROM requests r JOIN licenses l ON l.id = r.license_id WHERE r.id = ?)`, requestID, out, found)
}

func planReadWhere(planID string, arg int64, out *licensing.Plan, found *bool) read {
	return read{q: `SELECT ` + plans.cols + ` FROM plans WHERE id = ` + planID, args: []any{arg},
		each: func(row scanner) (err error) {
			*out, err = plans.scan(row)
			*found = err == nil
			return err
		}}
}

// clocked says whether a request's license gives it SLA clocks: it is
// covered, or only outside the plan's hours.
func clocked(r desk.Request) bool {
	return r.LicenseID != 0 && (r.Covered || r.CoverageReason == licensing.ReasonOutsideHours)
}

func planSchedule(p licensing.Plan, priority string, cal *sla.Calendar) (clockPlan, bool, error) {
	win, err := sla.ParseWindow(p.WindowStart+"-"+p.WindowEnd, p.Location())
	if err != nil {
		return clockPlan{}, false, fmt.Errorf("plan %d window: %w", p.ID, err)
	}
	cp := clockPlan{sched: sla.Schedule{Cal: cal, Win: win, Mode: sla.WorkingHours}, targets: p.Normal, share: float64(p.AtRiskPercent) / 100}
	if priority == licensing.PriorityEmergency {
		cp.targets = p.Emergency
		if p.Emergency24x7 {
			cp.sched.Mode = sla.Always // R4.3: handled outside working hours too
		}
	}
	return cp, true, nil
}

func (cp clockPlan) target(k desk.ClockKind) time.Duration {
	switch k {
	case desk.ClockFirstResponse:
		return time.Duration(cp.targets.FirstResponse)
	case desk.ClockClarification:
		return time.Duration(cp.targets.Clarification)
	case desk.ClockAgreement:
		return time.Duration(cp.targets.Agreement)
	case desk.ClockResolution:
		return time.Duration(cp.targets.Resolution)
	}
	return 0
}

// applyClocks carries out clock changes on a request at now, then
// recomputes its clocks.
func (c conn) applyClocks(ctx context.Context, r desk.Request, ops []desk.ClockOp, now time.Time) error {
	cp, ok, err := c.planFor(ctx, r)
	if err != nil || !ok {
		return err
	}
	for _, op := range ops {
		switch op.Op {
		case desk.ClockStart:
			if cp.target(op.Kind) <= 0 {
				continue // the plan sets no such target
			}
			var seq int
			if err := c.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM request_clocks WHERE request_id = ? AND kind = ?`, r.ID, op.Kind).Scan(&seq); err != nil {
				return err
			}
			if _, err := c.exec(ctx, `INSERT INTO request_clocks (request_id, kind, seq, started_at, state) VALUES (?, ?, ?, ?, ?)`,
				r.ID, op.Kind, seq, now, sla.Running.String()); err != nil {
				return err
			}
		case desk.ClockStop:
			if _, err := c.exec(ctx, `UPDATE request_clocks SET stopped_at = ? WHERE request_id = ? AND kind = ? AND stopped_at IS NULL`, now, r.ID, op.Kind); err != nil {
				return err
			}
		case desk.ClockStopAll:
			if _, err := c.exec(ctx, `UPDATE request_clocks SET stopped_at = ? WHERE request_id = ? AND stopped_at IS NULL`, now, r.ID); err != nil {
				return err
			}
		case desk.ClockResume:
			// The time it stood stopped counts as a pause, so reopening
			// continues the clock where it stopped.
			var id int64
			var stopped sql.NullTime
			err := c.queryRow(ctx, `SELECT id, stopped_at FROM request_clocks WHERE request_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1`, r.ID, op.Kind).Scan(&id, &stopped)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !stopped.Valid) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, `INSERT INTO request_pauses (request_id, from_at, to_at) VALUES (?, ?, ?)`, r.ID, stopped.Time, now); err != nil {
				return err
			}
			if _, err := c.exec(ctx, `UPDATE request_clocks SET stopped_at = NULL, breach_note = FALSE, at_risk_note = FALSE WHERE id = ?`, id); err != nil {
				return err
			}
		case desk.ClockDeadline:
			var deadline time.Time
			err := c.queryRow(ctx, `SELECT deadline FROM proposals WHERE request_id = ? AND status = ? ORDER BY version DESC LIMIT 1`, r.ID, desk.ProposalAccepted).Scan(&deadline)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, `UPDATE request_clocks SET deadline = ? WHERE request_id = ? AND kind = ? AND stopped_at IS NULL`, deadline, r.ID, op.Kind); err != nil {
				return err
			}
		}
	}
	return c.recomputeClocks(ctx, r.ID, cp, now)
}

// setWaiting opens or closes the request's pause: every clock stops while
// the request waits on the customer (R3.5).
func (c conn) setWaiting(ctx context.Context, requestID int64, waiting bool, now time.Time) error {
	var open int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM request_pauses WHERE request_id = ? AND to_at IS NULL`, requestID).Scan(&open); err != nil {
		return err
	}
	switch {
	case waiting && open == 0:
		_, err := c.exec(ctx, `INSERT INTO request_pauses (request_id, from_at) VALUES (?, ?)`, requestID, now)
		return err
	case !waiting && open > 0:
		_, err := c.exec(ctx, `UPDATE request_pauses SET to_at = ? WHERE request_id = ? AND to_at IS NULL`, now, requestID)
		return err
	}
	return nil
}

func (c conn) clockRows(ctx context.Context, requestID int64) ([]clockRow, error) {
	var out []clockRow
	err := c.readAll(ctx, clockRowsRead(requestID, &out))
	return out, err
}

func clockRowsRead(requestID int64, out *[]clockRow) read {
	return read{q: `SELECT id, kind, seq, started_at, stopped_at, deadline, due_at, at_risk_at, state, at_risk_note, breach_note
		FROM request_clocks WHERE request_id = ? ORDER BY id`, args: []any{requestID}, each: func(row scanner) error {
		var k clockRow
		if err := row.Scan(&k.id, &k.kind, &k.seq, &k.started, &k.stopped, &k.deadline, &k.due, &k.atRisk, &k.state, &k.atRiskNoted, &k.breachNoted); err != nil {
			return err
		}
		*out = append(*out, k)
		return nil
	}}
}

func (c conn) pauses(ctx context.Context, requestID int64) ([]sla.Interval, error) {
	var out []sla.Interval
	err := c.readAll(ctx, pausesRead(requestID, &out))
	return out, err
}

func pausesRead(requestID int64, out *[]sla.Interval) read {
	return read{q: `SELECT from_at, to_at FROM request_pauses WHERE request_id = ? ORDER BY id`, args: []any{requestID}, each: func(row scanner) error {
		var from time.Time
		var to sql.NullTime
		if err := row.Scan(&from, &to); err != nil {
			return err
		}
		*out = append(*out, sla.Interval{From: from, To: to.Time})
		return nil
	}}
}

// evaluated is a clock worked out at one instant.
type evaluated struct {
	row    clockRow
	view   sla.ClockView
	atRisk time.Time // when the at-risk share of the budget is used up
	target time.Duration
}

func (cp clockPlan) evaluate(k clockRow, pauses []sla.Interval, now time.Time) evaluated {
	clock := sla.Clock{Started: k.started, Target: cp.target(k.kind), Pauses: pauses, Stopped: k.stopped.Time, Deadline: k.deadline.Time}
	ev := evaluated{row: k, view: cp.sched.Evaluate(clock, now, cp.share), target: clock.Target}
	budget := clock.Target
	if !clock.Deadline.IsZero() {
		budget = cp.sched.Between(clock.Started, clock.Deadline)
	}
	early := clock
	early.Deadline, early.Target = time.Time{}, time.Duration(float64(budget)*cp.share)
	ev.atRisk = cp.sched.Evaluate(early, now, 0).Due
	return ev
}

// recomputeClocks works out the request's clocks at now and caches due
// instants for queues and timers.
func (c conn) recomputeClocks(ctx context.Context, requestID int64, cp clockPlan, now time.Time) error {
	ks, err := c.clockRows(ctx, requestID)
	if err != nil {
		return err
	}
	ps, err := c.pauses(ctx, requestID)
	if err != nil {
		return err
	}
	var nearest *time.Time
	for _, k := range ks {
		ev := cp.evaluate(k, ps, now)
		if !k.stopped.Valid && (nearest == nil || ev.view.Due.Before(*nearest)) {
			d := ev.view.Due
			nearest = &d
		}
		if k.due.Valid && k.due.Time.Equal(ev.view.Due) && k.atRisk.Valid && k.atRisk.Time.Equal(ev.atRisk) && k.state == ev.view.State.String() {
			continue
		}
		if _, err := c.exec(ctx, `UPDATE request_clocks SET due_at = ?, at_risk_at = ?, state = ? WHERE id = ?`, ev.view.Due, ev.atRisk, ev.view.State.String(), k.id); err != nil {
			return err
		}
	}
	_, err = c.exec(ctx, `UPDATE requests SET sla_due_at = ? WHERE id = ?`, nearest, requestID)
	return err
}

// RequestClocks evaluates a request's clocks now, for its page.
func (s *Store) RequestClocks(ctx context.Context, p auth.Principal, requestID int64) ([]Clock, error) {
	c := s.read()
	r, err := c.requestFor(ctx, p, requestID)
	if err != nil {
		return nil, s.failOrNil("request clocks", err)
	}
	return s.clocksOf(ctx, c, r)
}

func (s *Store) clocksOf(ctx context.Context, c conn, r desk.Request) ([]Clock, error) {
	if !clocked(r) {
		return []Clock{}, nil
	}
	var cr clockReads
	if err := c.readAll(ctx, cr.reads(r.ID)...); err != nil {
		return []Clock{}, s.fail("request clocks", err)
	}
	out, err := cr.views(r, c.s.cal(), s.Now())
	return out, s.failOrNil("request clocks", err)
}

// clockReads holds what a request's clocks are shown from: its plan, its
// clocks and its pauses, read together (readAll).
type clockReads struct {
	plan    licensing.Plan
	hasPlan bool
	rows    []clockRow
	pauses  []sla.Interval
}

// reads are the reads of a request's plan, clocks and pauses, by its id
// alone: they can go in the batch that reads the request.
func (cr *clockReads) reads(requestID int64) []read {
	return []read{requestPlanRead(requestID, &cr.plan, &cr.hasPlan), clockRowsRead(requestID, &cr.rows), pausesRead(requestID, &cr.pauses)}
}

// views works the clocks read out at now; a request that is not clocked
// has none.
func (cr *clockReads) views(r desk.Request, cal *sla.Calendar, now time.Time) ([]Clock, error) {
	out := []Clock{}
	if !cr.hasPlan || !clocked(r) {
		return out, nil
	}
	cp, ok, err := planSchedule(cr.plan, r.Priority, cal)
	if err != nil || !ok {
		return out, err
	}
	for _, k := range cr.rows {
		ev := cp.evaluate(k, cr.pauses, now)
		cl := Clock{Kind: k.kind, Seq: k.seq, Started: k.started, Target: ev.target.String(), Mode: cp.sched.Mode.String(),
			Deadline: timePtr(k.deadline), Stopped: timePtr(k.stopped), Due: ev.view.Due.UTC(),
			Left: ev.view.Left.String(), LeftSec: int64(ev.view.Left.Seconds()), State: ev.view.State.String()}
		out = append(out, cl)
	}
	return out, nil
}

// ClockReport counts what a clock sweep recorded.
type ClockReport struct{ AtRisk, Breached int }

// SweepClocks records, once each, the requests that reached the at-risk
// share of a target (the assignee and the support lead are told through
// the journal's notices) and those that breached it (R4.4).
func (s *Store) SweepClocks(ctx context.Context) (ClockReport, error) {
	var rep ClockReport
	now := s.Now()
	rows, err := s.read().query(ctx, `SELECT request_id FROM request_clocks WHERE stopped_at IS NULL AND at_risk_note = FALSE AND at_risk_at <= ?
		UNION SELECT request_id FROM request_clocks WHERE stopped_at IS NULL AND breach_note = FALSE AND due_at <= ?`, now, now)
	if err != nil {
		return rep, s.fail("sweep clocks", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return rep, s.fail("sweep clocks", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		err := s.tx(ctx, "sweep clocks", func(c conn) error {
			r, err := c.loadRequest(ctx, id)
			if err != nil {
				return err
			}
			cp, ok, err := c.planFor(ctx, r)
			if err != nil || !ok {
				return err
			}
			if err := c.recomputeClocks(ctx, id, cp, now); err != nil {
				return err
			}
			ks, err := c.clockRows(ctx, id)
			if err != nil {
				return err
			}
			for _, k := range ks {
				if k.stopped.Valid {
					continue
				}
				// The conditional update makes each notice happen once, even
				// with several replicas sweeping.
				if k.state == sla.Breached.String() && !k.breachNoted {
					res, err := c.exec(ctx, `UPDATE request_clocks SET breach_note = TRUE, at_risk_note = TRUE WHERE id = ? AND breach_note = FALSE`, k.id)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 1 {
						rep.Breached++
						if err := c.journal(ctx, auth.System, "request", id, r.CustomerID, "sla_breached", nil,
							map[string]any{"kind": k.kind, "seq": k.seq, "due": k.due.Time}, fmt.Sprintf("%s target breached (due %s)", k.kind, k.due.Time.UTC().Format(time.RFC3339))); err != nil {
							return err
						}
					}
				} else if k.state == sla.AtRisk.String() && !k.atRiskNoted {
					res, err := c.exec(ctx, `UPDATE request_clocks SET at_risk_note = TRUE WHERE id = ? AND at_risk_note = FALSE`, k.id)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 1 {
						rep.AtRisk++
						who := "the support lead"
						if r.AssigneeID != 0 {
							who = fmt.Sprintf("the assignee (account %d) and the support lead", r.AssigneeID)
						}
						if err := c.journal(ctx, auth.System, "request", id, r.CustomerID, "sla_at_risk", nil,
							map[string]any{"kind": k.kind, "seq": k.seq, "due": k.due.Time}, fmt.Sprintf("%s target at risk, due %s; notified %s", k.kind, k.due.Time.UTC().Format(time.RFC3339), who)); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// RecomputeClocks recomputes the running clocks of every request (planID
// 0) or of the requests under one plan: after a calendar import or a plan
// change. It reads all running clocks, pauses and plans in three queries,
// works them out in memory, and writes back only what moved, in batches.
func (s *Store) RecomputeClocks(ctx context.Context, planID int64) (int, error) {
	c := s.read()
	now := s.Now()
	where := `k.stopped_at IS NULL`
	var args []any
	if planID != 0 {
		where += ` AND l.plan_id = ?`
		args = append(args, planID)
	}
	// Plans by license, with the request's priority deciding the targets.
	planOf := map[int64]licensing.Plan{}
	rows, err := c.query(ctx, `SELECT l.id, `+prefixed("p.", plans.cols)+` FROM licenses l JOIN plans p ON p.id = l.plan_id`)
	if err != nil {
		return 0, s.fail("recompute clocks", err)
	}
	for rows.Next() {
		var licID int64
		var pl licensing.Plan
		var targets string
		if err := rows.Scan(&licID, &pl.ID, &pl.Name, &pl.WindowStart, &pl.WindowEnd, &pl.Zone, &pl.Emergency24x7, &targets, &pl.AtRiskPercent, &pl.CreatedAt, &pl.UpdatedAt); err != nil {
			rows.Close()
			return 0, s.fail("recompute clocks", err)
		}
		var t planTargets
		if err := jsonText(targets, &t); err != nil {
			rows.Close()
			return 0, s.fail("recompute clocks", err)
		}
		pl.Emergency, pl.Normal = t.Emergency, t.Normal
		planOf[licID] = pl
	}
	rows.Close()

	pauses := map[int64][]sla.Interval{}
	running := `SELECT k.request_id FROM request_clocks k JOIN requests r ON r.id = k.request_id JOIN licenses l ON l.id = r.license_id WHERE ` + where
	if planID == 0 {
		// Every running clock: the partial index alone answers, no join.
		running = `SELECT request_id FROM request_clocks WHERE stopped_at IS NULL`
	}
	rows, err = c.query(ctx, `SELECT request_id, from_at, to_at FROM request_pauses WHERE request_id IN (`+running+`)`, args...)
	if err != nil {
		return 0, s.fail("recompute clocks", err)
	}
	for rows.Next() {
		var id int64
		var from time.Time
		var to sql.NullTime
		if err := rows.Scan(&id, &from, &to); err != nil {
			rows.Close()
			return 0, s.fail("recompute clocks", err)
		}
		pauses[id] = append(pauses[id], sla.Interval{From: from, To: to.Time})
	}
	rows.Close()

	type clockUpdate struct {
		id          int64
		due, atRisk time.Time
		state       string
	}
	var updates []clockUpdate
	nearest := map[int64]time.Time{}
	current := map[int64]sql.NullTime{}
	schedules := map[[2]int64]clockPlan{}
	cal := s.cal()
	rows, err = c.query(ctx, `SELECT k.id, k.request_id, k.kind, k.seq, k.started_at, k.deadline, k.due_at, k.at_risk_at, k.state, r.priority, r.license_id, r.sla_due_at
		FROM request_clocks k JOIN requests r ON r.id = k.request_id JOIN licenses l ON l.id = r.license_id WHERE `+where, args...)
	if err != nil {
		return 0, s.fail("recompute clocks", err)
	}
	for rows.Next() {
		var k clockRow
		var reqID, licID int64
		var priority string
		var slaDue sql.NullTime
		if err := rows.Scan(&k.id, &reqID, &k.kind, &k.seq, &k.started, &k.deadline, &k.due, &k.atRisk, &k.state, &priority, &licID, &slaDue); err != nil {
			rows.Close()
			return 0, s.fail("recompute clocks", err)
		}
		emergency := int64(0)
		if priority == licensing.PriorityEmergency {
			emergency = 1
		}
		cp, ok := schedules[[2]int64{licID, emergency}]
		if !ok {
			pl, found := planOf[licID]
			if !found {
				continue
			}
			if cp, _, err = planSchedule(pl, priority, cal); err != nil {
				rows.Close()
				return 0, s.fail("recompute clocks", err)
			}
			schedules[[2]int64{licID, emergency}] = cp
		}
		ev := cp.evaluate(k, pauses[reqID], now)
		if n, seen := nearest[reqID]; !seen || ev.view.Due.Before(n) {
			nearest[reqID] = ev.view.Due
		}
		current[reqID] = slaDue
		if !(k.due.Valid && k.due.Time.Equal(ev.view.Due) && k.atRisk.Valid && k.atRisk.Time.Equal(ev.atRisk) && k.state == ev.view.State.String()) {
			updates = append(updates, clockUpdate{k.id, ev.view.Due, ev.atRisk, ev.view.State.String()})
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, s.fail("recompute clocks", err)
	}
	rows.Close()

	type dueUpdate struct {
		id  int64
		due time.Time
	}
	var dues []dueUpdate
	for id, due := range nearest {
		if cur := current[id]; !cur.Valid || !cur.Time.Equal(due) {
			dues = append(dues, dueUpdate{id, due})
		}
	}
	const batch = 5000
	for start := 0; start < len(updates) || start < len(dues); start += batch {
		if s.engine == Postgres {
			// One statement per batch and table, the rows as arrays: a
			// round trip per row cost more than the updates (issue 7).
			us := updates[min(start, len(updates)):min(start+batch, len(updates))]
			ds := dues[min(start, len(dues)):min(start+batch, len(dues))]
			err := s.tx(ctx, "recompute clocks", func(c conn) error {
				if len(us) > 0 {
					ids, due, atRisk, state := make([]int64, len(us)), make([]time.Time, len(us)), make([]time.Time, len(us)), make([]string, len(us))
					for i, u := range us {
						ids[i], due[i], atRisk[i], state[i] = u.id, u.due.UTC(), u.atRisk.UTC(), u.state
					}
					if _, err := c.exec(ctx, `UPDATE request_clocks k SET due_at = v.due, at_risk_at = v.at_risk, state = v.state
						FROM unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[], ?::text[]) AS v(id, due, at_risk, state) WHERE k.id = v.id`,
						ids, due, atRisk, state); err != nil {
						return err
					}
				}
				if len(ds) > 0 {
					ids, due := make([]int64, len(ds)), make([]time.Time, len(ds))
					for i, d := range ds {
						ids[i], due[i] = d.id, d.due.UTC()
					}
					if _, err := c.exec(ctx, `UPDATE requests r SET sla_due_at = v.due
						FROM unnest(?::bigint[], ?::timestamptz[]) AS v(id, due) WHERE r.id = v.id`, ids, due); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
			continue
		}
		err := s.tx(ctx, "recompute clocks", func(c conn) error {
			// Prepared once per batch: parsing the statement for every row
			// cost more than the update itself.
			setClock, err := c.prepare(ctx, `UPDATE request_clocks SET due_at = ?, at_risk_at = ?, state = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			defer setClock.Close()
			setDue, err := c.prepare(ctx, `UPDATE requests SET sla_due_at = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			defer setDue.Close()
			for _, u := range updates[min(start, len(updates)):min(start+batch, len(updates))] {
				if _, err := setClock.ExecContext(ctx, u.due.UTC(), u.atRisk.UTC(), u.state, u.id); err != nil {
					return err
				}
			}
			for _, d := range dues[min(start, len(dues)):min(start+batch, len(dues))] {
				if _, err := setDue.ExecContext(ctx, d.due.UTC(), d.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return len(nearest), nil
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
