package sla

import (
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	s := sched(t, "09:00-18:00", Moscow())
	h := time.Hour
	// Week of Mon Mar 3 2025: Fri Mar 7 is short, Sat Mar 8 a holiday.
	mon := func(hh, mm int) time.Time { return msk(2025, 3, 3, hh, mm) }
	tue := func(hh, mm int) time.Time { return msk(2025, 3, 4, hh, mm) }
	wed := func(hh, mm int) time.Time { return msk(2025, 3, 5, hh, mm) }
	thu := func(hh, mm int) time.Time { return msk(2025, 3, 6, hh, mm) }
	base := Clock{Started: mon(10, 0), Target: 16 * h} // due Tue 17:00

	tests := []struct {
		name    string
		s       Schedule
		c       Clock
		now     time.Time
		share   float64
		due     time.Time
		left    time.Duration
		elapsed time.Duration
		state   ClockState
	}{
		{"running", s, base, mon(12, 0), 0.8, tue(17, 0), 14 * h, 2 * h, Running},
		{"at risk", s, base, tue(15, 0), 0.8, tue(17, 0), 2 * h, 14 * h, AtRisk},
		{"at risk disabled", s, base, tue(15, 0), 0, tue(17, 0), 2 * h, 14 * h, Running},
		{"breached at due", s, base, tue(17, 0), 0.8, tue(17, 0), 0, 16 * h, Breached},
		{"breached later", s, base, wed(10, 0), 0.8, tue(17, 0), -2 * h, 18 * h, Breached},
		{"met", s, with(base, func(c *Clock) { c.Stopped = tue(16, 0) }), wed(12, 0), 0.8, tue(17, 0), h, 15 * h, Met},
		{"met exactly at due", s, with(base, func(c *Clock) { c.Stopped = tue(17, 0) }), wed(12, 0), 0.8, tue(17, 0), 0, 16 * h, Met},
		{"stopped after due", s, with(base, func(c *Clock) { c.Stopped = wed(9, 30) }), wed(12, 0), 0.8, tue(17, 0), -90 * time.Minute, 17*h + 30*time.Minute, Breached},
		{"stopped in the future of now", s, with(base, func(c *Clock) { c.Stopped = tue(16, 0) }), mon(12, 0), 0.8, tue(17, 0), 14 * h, 2 * h, Running},
		// Open pause since Mon 12:00: 6 h Monday + 3 h Tuesday paused, due
		// moves 9 working hours: Tue 17–18 and Wed 09–17.
		{"paused", s, with(base, func(c *Clock) { c.Pauses = []Interval{{From: mon(12, 0)}} }), tue(12, 0), 0.8, wed(17, 0), 14 * h, 2 * h, Paused},
		{"closed pause", s, with(base, func(c *Clock) { c.Pauses = []Interval{{mon(12, 0), mon(14, 0)}} }), tue(12, 0), 0.5, wed(10, 0), 7 * h, 9 * h, AtRisk},
		{"overlapping pauses count once", s, with(base, func(c *Clock) {
			c.Pauses = []Interval{{mon(13, 0), mon(15, 0)}, {mon(12, 0), mon(14, 0)}}
		}), tue(12, 0), 0.9, wed(11, 0), 8 * h, 8 * h, Running},
		{"pause overnight costs nothing", s, with(base, func(c *Clock) { c.Pauses = []Interval{{mon(19, 0), tue(8, 0)}} }), tue(12, 0), 0.9, tue(17, 0), 5 * h, 11 * h, Running},
		{"pause before start is clipped", s, with(base, func(c *Clock) { c.Pauses = []Interval{{mon(8, 0), mon(11, 0)}} }), tue(12, 0), 0.9, tue(18, 0), 6 * h, 10 * h, Running},
		{"pause in the future ignored", s, with(base, func(c *Clock) { c.Pauses = []Interval{{tue(13, 0), tue(14, 0)}} }), tue(12, 0), 0.9, tue(17, 0), 5 * h, 11 * h, Running},
		{"pause after breach stays breached", s, with(base, func(c *Clock) { c.Pauses = []Interval{{From: wed(10, 0)}} }), wed(12, 0), 0.8, tue(17, 0), -4 * h, 18 * h, Breached},
		// Agreed deadline replaces the target.
		{"deadline", s, with(base, func(c *Clock) { c.Deadline = thu(12, 0) }), mon(12, 0), 0.8, thu(12, 0), 27 * h, 2 * h, Running},
		{"deadline shifted by pause", s, with(base, func(c *Clock) {
			c.Deadline = thu(12, 0)
			c.Pauses = []Interval{{tue(9, 0), tue(12, 0)}}
		}), wed(12, 0), 0.8, thu(15, 0), 12 * h, 17 * h, Running},
		// 24/7: wall-clock time, pauses included.
		{"24x7", Schedule{Mode: Always}, Clock{Started: mon(10, 0), Target: 4 * h}, mon(13, 0), 0.8, mon(14, 0), h, 3 * h, Running},
		{"24x7 at risk", Schedule{Mode: Always}, Clock{Started: mon(10, 0), Target: 4 * h}, mon(13, 30), 0.8, mon(14, 0), 30 * time.Minute, 210 * time.Minute, AtRisk},
		{"24x7 paused", Schedule{Mode: Always}, Clock{Started: mon(10, 0), Target: 4 * h, Pauses: []Interval{{From: mon(11, 0)}}}, mon(13, 0), 0.8, mon(16, 0), 3 * h, h, Paused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.s.Evaluate(tt.c, tt.now, tt.share)
			if !v.Due.Equal(tt.due) || v.Left != tt.left || v.Elapsed != tt.elapsed || v.State != tt.state {
				t.Errorf("got due %v left %v elapsed %v %v\nwant due %v left %v elapsed %v %v",
					v.Due, v.Left, v.Elapsed, v.State, tt.due, tt.left, tt.elapsed, tt.state)
			}
		})
	}
}

func with(c Clock, f func(*Clock)) Clock {
	c.Pauses = append([]Interval(nil), c.Pauses...)
	f(&c)
	return c
}

func TestEvaluateNotStarted(t *testing.T) {
	if v := (Schedule{}).Evaluate(Clock{Target: time.Hour}, msk(2025, 1, 1, 0, 0), 0.8); v != (ClockView{}) {
		t.Errorf("zero Started: %+v", v)
	}
}

// A clock registered on a holiday night starts counting on the first
// working morning; its due follows the calendar.
func TestEvaluateHolidayNight(t *testing.T) {
	s := sched(t, "09:00-18:00", Moscow())
	c := Clock{Started: msk(2025, 12, 31, 23, 30), Target: 8 * time.Hour}
	v := s.Evaluate(c, msk(2026, 1, 5, 12, 0), 0.8)
	if !v.Due.Equal(msk(2026, 1, 12, 17, 0)) || v.Elapsed != 0 || v.Left != 8*time.Hour || v.State != Running {
		t.Errorf("%+v", v)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	s := sched(b, "09:00-18:00", Moscow())
	c := Clock{Started: msk(2025, 12, 29, 10, 0), Target: 40 * time.Hour,
		Pauses: []Interval{{msk(2025, 12, 30, 12, 0), msk(2026, 1, 12, 11, 0)}}}
	now := msk(2026, 1, 14, 12, 0)
	for b.Loop() {
		_ = s.Evaluate(c, now, 0.8)
	}
}
