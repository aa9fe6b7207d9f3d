package store

import (
	"context"
	"fmt"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
)

// TimerConfig sets the desk's clocks on the customer's side (R3.5, R3.7).
type TimerConfig struct {
	// RemindAfter: a question or proposal waiting this long gets a reminder.
	RemindAfter time.Duration
	// CloseUnansweredAfter: a question waiting this long closes the request.
	CloseUnansweredAfter time.Duration
	// AutoCloseAfter: a resolved request the customer neither confirms nor
	// reopens closes by itself after this long.
	AutoCloseAfter time.Duration
}

// DefaultTimers are the desk's defaults.
var DefaultTimers = TimerConfig{RemindAfter: 48 * time.Hour, CloseUnansweredAfter: 14 * 24 * time.Hour, AutoCloseAfter: 5 * 24 * time.Hour}

// TimerReport counts what one sweep did.
type TimerReport struct {
	Reminded, ClosedUnanswered, AutoClosed int
}

type due struct {
	id, version int64
	state       desk.State
}

// SweepRequestTimers fires every timer that is due. The deadlines live in
// the requests themselves (waiting_since, resolved_at), so nothing is lost
// across restarts, and each firing is a versioned update: when two
// replicas sweep at once, one wins and the other skips.
func (s *Store) SweepRequestTimers(ctx context.Context, cfg TimerConfig) (TimerReport, error) {
	var rep TimerReport
	now := s.Now()
	list := func(q string, args ...any) ([]due, error) {
		rows, err := s.read().query(ctx, q, args...)
		if err != nil {
			return nil, s.fail("sweep timers", err)
		}
		defer rows.Close()
		var out []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.version, &d.state); err != nil {
				return nil, s.fail("sweep timers", err)
			}
			out = append(out, d)
		}
		return out, s.failOrNil("sweep timers", rows.Err())
	}
	lost := func(err error) bool { return apperr.Is(err, apperr.Conflict) } // another replica was first

	closing, err := list(`SELECT id, version, state FROM requests WHERE state = ? AND waiting_since <= ? ORDER BY id`,
		desk.StateClarifying, now.Add(-cfg.CloseUnansweredAfter))
	if err != nil {
		return rep, err
	}
	for _, d := range closing {
		text := fmt.Sprintf("Closed: the question waited %s without an answer. Reopen the request to continue.", days(cfg.CloseUnansweredAfter))
		_, err := s.SystemAct(ctx, d.id, ActInput{Action: desk.ActionCloseUnanswered, Needs: desk.Needs{Text: text}, Version: d.version})
		switch {
		case err == nil:
			rep.ClosedUnanswered++
		case !lost(err):
			return rep, err
		}
	}

	resolved, err := list(`SELECT id, version, state FROM requests WHERE state = ? AND resolved_at <= ? ORDER BY id`,
		desk.StateResolved, now.Add(-cfg.AutoCloseAfter))
	if err != nil {
		return rep, err
	}
	for _, d := range resolved {
		text := fmt.Sprintf("Closed automatically: %s passed after the resolution without confirmation or reopening.", days(cfg.AutoCloseAfter))
		_, err := s.SystemAct(ctx, d.id, ActInput{Action: desk.ActionAutoClose, Needs: desk.Needs{Text: text}, Version: d.version})
		switch {
		case err == nil:
			rep.AutoClosed++
		case !lost(err):
			return rep, err
		}
	}

	waiting, err := list(`SELECT id, version, state FROM requests WHERE waiting_since <= ? AND reminded_at IS NULL ORDER BY id`,
		now.Add(-cfg.RemindAfter))
	if err != nil {
		return rep, err
	}
	for _, d := range waiting {
		sent := false
		err := s.tx(ctx, "send reminder", func(c conn) error {
			r, err := c.loadRequest(ctx, d.id)
			if err != nil {
				return err
			}
			if !r.State.Open() || r.Version != d.version {
				return nil
			}
			r.RemindedAt = &now
			r.Version++
			if err := c.saveRequest(ctx, r, d.version); err != nil {
				return err
			}
			sent = true
			what := "the answer to the question"
			if r.State != desk.StateClarifying {
				what = "the decision on the proposal"
			}
			return c.journal(ctx, auth.System, "request", r.ID, r.CustomerID, "reminder", nil, nil, "reminded the customer: the vendor waits for "+what)
		})
		if err != nil && !lost(err) {
			return rep, err
		}
		if err == nil && sent {
			rep.Reminded++
		}
	}
	return rep, nil
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n >= 1 {
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
