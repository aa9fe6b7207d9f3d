package sla

import (
	"slices"
	"strconv"
	"time"
)

// ClockState is where an SLA clock stands at a given instant.
type ClockState uint8

const (
	Running  ClockState = iota // counting, comfortably before due
	Paused                     // stopped while waiting on the customer (R3.5)
	Met                        // stopped (target reached) on or before due
	AtRisk                     // counting, past the at-risk share of its budget
	Breached                   // past due, or stopped after due
)

var stateNames = [...]string{Running: "running", Paused: "paused", Met: "met", AtRisk: "at_risk", Breached: "breached"}

// String returns "running", "paused", "met", "at_risk" or "breached",
// stable words suitable for storage and APIs.
func (s ClockState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "ClockState(" + strconv.Itoa(int(s)) + ")"
}

// Interval is one pause of a clock. A zero To means the clock is still
// paused.
type Interval struct{ From, To time.Time }

// Clock is the stored state of one SLA target of a request.
type Clock struct {
	Started time.Time
	// Target is the budget of working time (per the Schedule's mode).
	Target time.Duration
	// Pauses are the periods the request waited on the customer. They may
	// overlap and come in any order.
	Pauses []Interval
	// Stopped is when the target was reached (zero: not yet).
	Stopped time.Time
	// Deadline, when set, is a deadline agreed with the customer (R4.4);
	// it replaces Target.
	Deadline time.Time
}

// ClockView is a clock evaluated at one instant.
type ClockView struct {
	// Due is the deadline, shifted later by the working time spent paused
	// before it. While paused it keeps moving: it shows when the clock
	// would run out if it resumed now.
	Due time.Time
	// Left is the working time from now (or from Stopped) until Due;
	// negative once past due.
	Left time.Duration
	// Elapsed is the working time the clock has consumed, pauses excluded.
	Elapsed time.Duration
	State   ClockState
}

// Evaluate computes the clock's due instant and state at now. It is pure:
// the same clock and now always give the same view, so views can be
// recomputed for reports and journals at any past instant.
//
// Times after now are ignored: a Stopped later than now counts as not yet
// stopped and pauses are cut at now, so evaluating at an earlier instant
// reproduces what was shown then. A pause moves Due only if it began
// before Due; once breached, a later pause cannot undo the breach (the
// state is Breached, not Paused).
//
// atRiskShare (e.g. 0.8) marks a running clock AtRisk once Elapsed reaches
// that share of its budget (Target, or the working time from Started to
// an agreed Deadline); a share outside (0, 1] disables AtRisk.
//
// A clock with a zero Started has not started and evaluates to the zero
// view (Running, no due).
func (s Schedule) Evaluate(c Clock, now time.Time, atRiskShare float64) ClockView {
	if c.Started.IsZero() {
		return ClockView{}
	}
	stopped := !c.Stopped.IsZero() && !c.Stopped.After(now)
	end := now
	if stopped {
		end = c.Stopped
	}

	pausedNow := false
	pauses := make([]Interval, 0, len(c.Pauses))
	for _, p := range c.Pauses {
		if !stopped && !p.From.After(now) && (p.To.IsZero() || p.To.After(now)) {
			pausedNow = true
		}
		from, to := p.From, p.To
		if from.Before(c.Started) {
			from = c.Started
		}
		if to.IsZero() || to.After(end) {
			to = end
		}
		if to.After(from) {
			pauses = append(pauses, Interval{from, to})
		}
	}
	pauses = mergeIntervals(pauses)

	var due time.Time
	var budget time.Duration
	if !c.Deadline.IsZero() {
		due = c.Deadline
		budget = s.Between(c.Started, c.Deadline)
	} else {
		due = s.Due(c.Started, c.Target)
		budget = c.Target
	}
	var paused time.Duration
	for _, p := range pauses {
		w := s.Between(p.From, p.To)
		paused += w
		if p.From.Before(due) && w > 0 {
			due = s.Due(due, w)
		}
	}
	due = due.In(c.Started.Location())

	v := ClockView{Due: due}
	if end.After(c.Started) {
		v.Elapsed = s.Between(c.Started, end) - paused
	}
	if end.Before(due) {
		v.Left = s.Between(end, due)
	} else {
		v.Left = -s.Between(due, end)
	}

	switch {
	case stopped && !c.Stopped.After(due):
		v.State = Met
	case stopped:
		v.State = Breached
	case pausedNow && now.Before(due):
		v.State = Paused
	case !now.Before(due):
		v.State = Breached
	case atRiskShare > 0 && atRiskShare <= 1 &&
		float64(v.Elapsed) >= atRiskShare*float64(budget):
		v.State = AtRisk
	default:
		v.State = Running
	}
	return v
}

// mergeIntervals sorts by start and joins overlapping or touching
// intervals, so overlapping pauses are not counted twice.
func mergeIntervals(in []Interval) []Interval {
	if len(in) < 2 {
		return in
	}
	slices.SortFunc(in, func(a, b Interval) int { return a.From.Compare(b.From) })
	out := in[:1]
	for _, p := range in[1:] {
		last := &out[len(out)-1]
		if !p.From.After(last.To) {
			if p.To.After(last.To) {
				last.To = p.To
			}
			continue
		}
		out = append(out, p)
	}
	return out
}
