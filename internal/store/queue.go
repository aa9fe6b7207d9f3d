package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
)

// The agent desk's queue (issue 5). ListRequests stays the one list of
// requests; this file adds what only the desk needs: the SLA state of a
// request as a filter, the counts behind the filter chips in one GROUP BY,
// and each row's nearest clock for the countdown.
//
// Indexes (00003_requests.sql, 00004_sla_clocks.sql) and what they serve:
//   - requests_sla_due (sla_due_at, id): the SLA states are ranges of the
//     nearest due (past it: breached; before it: running, at risk or
//     paused; NULL: no clock), and sort=due walks it in order, the keyset
//     cursor continuing where the last page stopped.
//   - request_clocks_running (request_id) WHERE stopped_at IS NULL: the
//     running clocks of one request, probed per row to tell "at risk" from
//     "running" and to read a page's clocks.
//   - requests_state (state, priority, id): the counts read the open states
//     as a few ranges of it; finished requests, the bulk of a large
//     table, are never touched.
//   - the primary keys of requests (id order for "newest"), licenses and
//     plans; requests_activity (last_activity_at, id) for sort=activity.

// SLA states a queue can be narrowed to. A request's SLA state is that of
// its running clocks taken together: breached when the nearest due has
// passed, else paused while it waits on the customer, else at risk when a
// clock has used its plan's at-risk share, else running.
const (
	SLARunning  = "running"
	SLAAtRisk   = "at_risk"
	SLABreached = "breached"
	SLAPaused   = "paused"
	SLANone     = "none" // no running clock: not covered, no plan, or nothing left to time
)

// SLAStates lists the SLA states in the order the desk shows them.
var SLAStates = []string{SLABreached, SLAAtRisk, SLARunning, SLAPaused, SLANone}

// QueueFilter is a desk queue: a RequestFilter and an SLA state.
type QueueFilter struct {
	RequestFilter
	SLA string // one of SLAStates, or "" for any
}

// deskScope lets in those who may read every customer's requests: the
// queue mixes all customers, so it is the vendor staff's.
func deskScope(p auth.Principal) error {
	sc, err := auth.ListScope(p, auth.KindRequest)
	if err != nil {
		return err
	}
	if !sc.All {
		return apperr.New(apperr.Forbidden, "the desk queue shows every customer's requests; it is for the vendor's staff")
	}
	return nil
}

// CheckDesk reports whether p may use the desk (nil) or why not.
func CheckDesk(p auth.Principal) error { return deskScope(p) }

// atRiskClock is true for a request with a running clock past its at-risk
// instant; request_clocks_running finds the request's running clocks.
const atRiskClock = `EXISTS (SELECT 1 FROM request_clocks k WHERE k.request_id = requests.id AND k.stopped_at IS NULL AND k.at_risk_at <= ?)`

// slaCond narrows to one SLA state at now.
func slaCond(w *where, state string, now time.Time) error {
	switch state {
	case "":
	case SLABreached:
		w.add("sla_due_at <= ?", now)
	case SLAPaused:
		w.add("sla_due_at > ? AND waiting_since IS NOT NULL", now)
	case SLAAtRisk:
		w.add("sla_due_at > ? AND waiting_since IS NULL AND "+atRiskClock, now, now)
	case SLARunning:
		w.add("sla_due_at > ? AND waiting_since IS NULL AND NOT "+atRiskClock, now, now)
	case SLANone:
		w.add("sla_due_at IS NULL")
	default:
		return apperr.Field("sla", "the SLA state must be one of %s", strings.Join(SLAStates, ", "))
	}
	return nil
}

// queueConds adds the filters every queue query shares: those that are not
// a chip dimension (state, coverage, SLA). none says the text query has
// nothing to look for, so nothing matches.
func (s *Store) queueConds(ctx context.Context, w *where, f RequestFilter) (none bool, err error) {
	if f.Query != "" {
		ts, none, err := s.read().parseTextSearch(ctx, f.Query, f.CustomerID)
		if err != nil || none {
			return none, s.failOrNil("search the queue", err)
		}
		ts.add(w, s.engine)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.Priority != "" {
		w.add("priority = ?", f.Priority)
	}
	if f.ProductID != 0 {
		w.add("product_id = ?", f.ProductID)
	}
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.AssigneeID != 0 {
		w.add("assignee_id = ?", f.AssigneeID)
	}
	return false, nil
}

// ListQueue lists a desk queue. Without an SLA state it is ListRequests;
// with one it adds the SLA condition and pages the same way: by the sort
// key of the last row seen, never by OFFSET.
//
// Indexes: with sort=due the SLA ranges and the order are both
// requests_sla_due's; "newest" and "last activity" walk the primary key or
// requests_activity, or take the SLA range of requests_sla_due (only open
// requests have a due, a small part of the table) and sort that. "At risk"
// and "running" probe request_clocks_running once per candidate row.
func (s *Store) ListQueue(ctx context.Context, p auth.Principal, f QueueFilter) (RequestList, error) {
	if err := deskScope(p); err != nil {
		return RequestList{}, err
	}
	if f.SLA == "" {
		return s.ListRequests(ctx, p, f.RequestFilter)
	}
	if f.SLA == SLANone && f.Sort == "due" {
		return RequestList{}, apperr.Field("sort", "requests without a running SLA clock have no due to sort by")
	}
	var w where
	if err := slaCond(&w, f.SLA, s.Now()); err != nil {
		return RequestList{}, err
	}
	if len(f.States) > 0 {
		w.add("state IN ("+placeholders(len(f.States))+")", anySlice(f.States)...)
	}
	if f.Open != nil {
		op := "IN"
		if !*f.Open {
			op = "NOT IN"
		}
		w.add("state "+op+" ("+placeholders(len(openStates))+")", anySlice(openStates)...)
	}
	if none, err := s.queueConds(ctx, &w, f.RequestFilter); err != nil || none {
		return RequestList{Items: []desk.Request{}}, err
	}
	if f.Covered != nil {
		w.add("covered = ?", *f.Covered)
	}
	order := "id DESC"
	switch f.Sort {
	case "", "created":
	case "activity":
		order = "last_activity_at DESC, id DESC"
	case "due":
		order = "sla_due_at, id"
	default:
		return RequestList{}, apperr.Field("sort", "sort must be created, activity or due")
	}
	c := s.read()
	out := RequestList{Items: []desk.Request{}}
	var err error
	// Counted as ListRequests counts: exactly up to MaxCount.
	if out.Total, out.TotalCapped, err = c.countCapped(ctx, "requests", w); err != nil {
		return out, s.fail("count queue", err)
	}
	if f.Cursor != "" {
		at, id, err := decodeQueueCursor(f.Cursor)
		if err != nil {
			return out, err
		}
		switch f.Sort {
		case "activity":
			w.add("(last_activity_at < ? OR (last_activity_at = ? AND id < ?))", at, at, id)
		case "due":
			w.add("(sla_due_at > ? OR (sla_due_at = ? AND id > ?))", at, at, id)
		default:
			w.add("id < ?", id)
		}
	}
	limit := Page{Limit: f.Limit}.limit()
	rows, err := c.query(ctx, `SELECT `+requestCols+` FROM requests`+w.sql()+` ORDER BY `+order+` LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return out, s.fail("list queue", err)
	}
	if err := readPage(rows, &out, limit, f.Sort, encodeQueueCursor); err != nil {
		return out, s.fail("list queue", err)
	}
	return out, nil
}

// The queue's own cursor: "q" + the sort key and the id. It is not
// ListRequests' cursor, so either may change without breaking the other.
func encodeQueueCursor(at time.Time, id int64) string {
	return "q" + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10)+":"+strconv.FormatInt(id, 10)))
}

func decodeQueueCursor(s string) (time.Time, int64, error) {
	bad := apperr.Field("cursor", "the cursor is not one this server gave out")
	rest, ok := strings.CutPrefix(s, "q")
	if !ok {
		return time.Time{}, 0, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ns, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return time.Time{}, 0, bad
	}
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.Unix(0, n).UTC(), i, nil
}

// QueueCounts are the numbers on the desk's filter chips: the open
// requests matching the queue's other filters, by state, SLA state and
// coverage.
type QueueCounts struct {
	Open       int                `json:"open"`
	ByState    map[desk.State]int `json:"by_state"`
	BySLA      map[string]int     `json:"by_sla"`
	NotCovered int                `json:"not_covered"`
}

// CountQueue counts the open requests that match f's type, priority,
// product, customer, assignee and text, by state, SLA state and coverage,
// in one GROUP BY. f's states, coverage, sort and cursor are ignored: the
// counts say what each chip would show.
//
// Index: requests_state (state, priority, id) gives the open states as a
// few ranges, so the finished requests (most of a large table) are not
// read; the SLA state of each open row compares its sla_due_at and, for
// those not yet due, probes request_clocks_running.
func (s *Store) CountQueue(ctx context.Context, p auth.Principal, f RequestFilter) (QueueCounts, error) {
	out := QueueCounts{ByState: map[desk.State]int{}, BySLA: map[string]int{}}
	if err := deskScope(p); err != nil {
		return out, err
	}
	now := s.Now()
	var w where
	w.add("state IN ("+placeholders(len(openStates))+")", anySlice(openStates)...)
	if none, err := s.queueConds(ctx, &w, f); err != nil || none {
		return out, err
	}
	args := append([]any{now, now}, w.args...)
	rows, err := s.read().query(ctx, `SELECT state, covered, sla, COUNT(*) FROM (
		SELECT state, covered, CASE
			WHEN sla_due_at IS NULL THEN 'none'
			WHEN sla_due_at <= ? THEN 'breached'
			WHEN waiting_since IS NOT NULL THEN 'paused'
			WHEN `+atRiskClock+` THEN 'at_risk'
			ELSE 'running' END AS sla
		FROM requests`+w.sql()+`) q GROUP BY state, covered, sla`, args...)
	if err != nil {
		return out, s.fail("count queue", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state desk.State
		var covered bool
		var sla string
		var n int
		if err := rows.Scan(&state, &covered, &sla, &n); err != nil {
			return out, s.fail("count queue", err)
		}
		out.Open += n
		out.ByState[state] += n
		out.BySLA[sla] += n
		if !covered {
			out.NotCovered += n
		}
	}
	return out, s.failOrNil("count queue", rows.Err())
}

// QueueClock is a request's SLA at a glance: its running clock due first,
// the working time left until then, and the state of all its clocks.
type QueueClock struct {
	Kind  desk.ClockKind `json:"kind"`
	Due   time.Time      `json:"due"`
	Left  time.Duration  `json:"left"`  // working time (wall time for 24x7) from now; negative when late
	State string         `json:"state"` // breached, paused, at_risk or running
}

// QueueClocks works out the SLA of each listed request that has running
// clocks, from the due and at-risk instants cached on its clocks, in two
// queries for a whole page: no clock history is replayed.
//
// Indexes: request_clocks_running (request_id) WHERE stopped_at IS NULL
// for the clocks, the primary keys of requests, licenses and plans.
func (s *Store) QueueClocks(ctx context.Context, p auth.Principal, ids []int64) (map[int64]QueueClock, error) {
	out := map[int64]QueueClock{}
	if err := deskScope(p); err != nil {
		return out, err
	}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > MaxPage {
		return out, apperr.Field("ids", "at most %d requests at a time", MaxPage)
	}
	c := s.read()
	type clockAt struct {
		kind              desk.ClockKind
		due, atRisk       time.Time
		priority          string
		waiting           bool
		licenseID         int64
		hasDue, hasAtRisk bool
	}
	byReq := map[int64][]clockAt{}
	rows, err := c.query(ctx, `SELECT k.request_id, k.kind, k.due_at, k.at_risk_at, r.priority, r.waiting_since, r.license_id
		FROM request_clocks k JOIN requests r ON r.id = k.request_id
		WHERE k.stopped_at IS NULL AND k.request_id IN (`+placeholders(len(ids))+`)`, anySlice(ids)...)
	if err != nil {
		return out, s.fail("queue clocks", err)
	}
	licIDs := map[int64]bool{}
	for rows.Next() {
		var id int64
		var k clockAt
		var due, atRisk, waiting nullTime
		var lic nullInt
		if err := rows.Scan(&id, &k.kind, &due, &atRisk, &k.priority, &waiting, &lic); err != nil {
			rows.Close()
			return out, s.fail("queue clocks", err)
		}
		k.due, k.hasDue = due.Time, due.Valid
		k.atRisk, k.hasAtRisk = atRisk.Time, atRisk.Valid
		k.waiting, k.licenseID = waiting.Valid, lic.Int64
		if !k.hasDue || k.licenseID == 0 {
			continue
		}
		byReq[id] = append(byReq[id], k)
		licIDs[k.licenseID] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, s.fail("queue clocks", err)
	}
	if len(licIDs) == 0 {
		return out, nil
	}
	lids := make([]int64, 0, len(licIDs))
	for id := range licIDs {
		lids = append(lids, id)
	}
	planOf := map[int64]licensing.Plan{}
	rows, err = c.query(ctx, `SELECT l.id, `+prefixed("p.", plans.cols)+` FROM licenses l JOIN plans p ON p.id = l.plan_id
		WHERE l.id IN (`+placeholders(len(lids))+`)`, anySlice(lids)...)
	if err != nil {
		return out, s.fail("queue clocks", err)
	}
	for rows.Next() {
		var licID int64
		var pl licensing.Plan
		var targets string
		if err := rows.Scan(&licID, &pl.ID, &pl.Name, &pl.WindowStart, &pl.WindowEnd, &pl.Zone, &pl.Emergency24x7, &targets, &pl.AtRiskPercent, &pl.CreatedAt, &pl.UpdatedAt); err != nil {
			rows.Close()
			return out, s.fail("queue clocks", err)
		}
		var t planTargets
		if err := jsonText(targets, &t); err != nil {
			rows.Close()
			return out, s.fail("queue clocks", err)
		}
		pl.Emergency, pl.Normal = t.Emergency, t.Normal
		planOf[licID] = pl
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, s.fail("queue clocks", err)
	}
	now, cal := s.Now(), s.cal()
	for id, ks := range byReq {
		first := ks[0]
		pl, ok := planOf[first.licenseID]
		if !ok {
			continue
		}
		cp, ok, err := planSchedule(pl, first.priority, cal)
		if err != nil || !ok {
			continue // a plan that no longer parses shows no countdown rather than failing the queue
		}
		q := QueueClock{Kind: first.kind, Due: first.due, State: SLARunning}
		atRisk := false
		for _, k := range ks {
			if k.due.Before(q.Due) {
				q.Kind, q.Due = k.kind, k.due
			}
			if k.hasAtRisk && !k.atRisk.After(now) {
				atRisk = true
			}
		}
		switch {
		case !now.Before(q.Due):
			q.State = SLABreached
			q.Left = -cp.sched.Between(q.Due, now)
		case first.waiting:
			q.State = SLAPaused
		case atRisk:
			q.State = SLAAtRisk
		}
		if q.State != SLABreached {
			q.Left = cp.sched.Between(now, q.Due)
		}
		q.Due = q.Due.UTC()
		out[id] = q
	}
	return out, nil
}
