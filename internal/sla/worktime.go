package sla

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Window is the daily working window of a support plan, as wall-clock
// offsets from local midnight in Zone, e.g. 09:00–18:00 Europe/Moscow.
// The window belongs to the plan, not to the server, so a plan sold in
// Vladivostok can run on Vladivostok hours.
type Window struct {
	Start, End time.Duration // since local midnight; 0 <= Start < End <= 24h
	Zone       *time.Location
}

// Validate reports whether the window can be used by a Schedule.
func (w Window) Validate() error {
	switch {
	case w.Start < 0 || w.End > 24*time.Hour:
		return fmt.Errorf("working window %s: times must lie within 00:00–24:00", w)
	case w.Start >= w.End:
		return fmt.Errorf("working window %s: start must be before end (windows across midnight are not supported)", w)
	}
	return nil
}

func (w Window) String() string {
	s := clockString(w.Start) + "-" + clockString(w.End)
	if w.Zone != nil {
		s += " " + w.Zone.String()
	}
	return s
}

func clockString(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := fmt.Sprintf("%s%02d:%02d", sign, h, m)
	if rest := d % time.Minute; rest != 0 {
		s += fmt.Sprintf("+%v", rest)
	}
	return s
}

// ParseWindow parses "09:00-18:00" (an en dash and spaces are accepted) in
// zone. The zone is required: a window without one would silently follow
// the server's clock.
func ParseWindow(s string, zone *time.Location) (Window, error) {
	if zone == nil {
		return Window{}, fmt.Errorf("working window %q: no time zone given", s)
	}
	norm := strings.ReplaceAll(strings.ReplaceAll(s, "–", "-"), "—", "-")
	a, b, ok := strings.Cut(norm, "-")
	if !ok {
		return Window{}, fmt.Errorf("working window %q: want HH:MM-HH:MM, e.g. 09:00-18:00", s)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return Window{}, fmt.Errorf("working window %q: start: %v", s, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return Window{}, fmt.Errorf("working window %q: end: %v", s, err)
	}
	w := Window{Start: start, End: end, Zone: zone}
	if start >= end {
		return Window{}, fmt.Errorf("working window %q: start must be before end (windows across midnight are not supported)", s)
	}
	return w, nil
}

// parseClock parses "H:MM" or "HH:MM"; "24:00" only as an end.
func parseClock(s string, end bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, mm := 0, 0
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not HH:MM", s)
		}
		hh = hh*10 + int(c-'0')
	}
	mi, ok := twoDigits(m)
	if !ok {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	mm = mi
	switch {
	case mm > 59:
		return 0, fmt.Errorf("%q: minutes must be 00–59", s)
	case hh == 24 && mm == 0 && end:
	case hh > 23:
		return 0, fmt.Errorf("%q: hours must be 00–23 (24:00 only as the end)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Mode says whether an SLA clock runs on working hours or around the clock
// (emergency requests under a license with out-of-hours handling, R4.3).
type Mode uint8

const (
	// WorkingHours counts only time inside the window on working days.
	WorkingHours Mode = iota
	// Always counts wall-clock time, 24/7.
	Always
)

// String returns "working" or "24x7", the words ParseMode reads.
func (m Mode) String() string {
	switch m {
	case WorkingHours:
		return "working"
	case Always:
		return "24x7"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode reads "working" or "24x7" (also "24/7").
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "working":
		return WorkingHours, nil
	case "24x7", "24/7":
		return Always, nil
	}
	return 0, fmt.Errorf("clock mode %q: want \"working\" or \"24x7\"", s)
}

// Schedule is the working-time rule of one SLA target: a calendar, a
// window and a mode. It is a small value; build it wherever needed — the
// expensive tables it uses are cached in the Calendar and shared.
//
// A nil Cal means Default(); a nil Win.Zone means UTC. In WorkingHours mode
// the window must be valid (Window.Validate); the methods panic otherwise,
// because an empty window would make every deadline infinitely far away.
//
// Working time is the half-open interval [open, close) of each working day:
// open is the window start, close the window end, one hour earlier on short
// days. DST is honoured: open and close are wall-clock times, durations are
// real elapsed time.
type Schedule struct {
	Cal  *Calendar
	Win  Window
	Mode Mode
}

// Between returns the working time in [from, to); 0 if to is not after from.
func (s Schedule) Between(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if s.Mode == Always {
		return to.Sub(from)
	}
	tf, of := s.locate(from)
	tt, ot := s.locate(to)
	if tf.year == tt.year {
		return tt.worked(ot) - tf.worked(of)
	}
	total := tf.total - tf.worked(of)
	for y := tf.year + 1; y < tt.year; y++ {
		total += s.table(y).total
	}
	return total + tt.worked(ot)
}

// Due returns the instant at which d of working time has passed after from:
// the earliest t with Between(from, t) == d. When the budget runs out
// exactly at the end of a working day, that end instant is returned (not the
// next morning), so a 9-hour budget started at 09:00 is due at 18:00 the
// same day.
//
// For d <= 0 Due returns NextWorking(from): a zero budget is due as soon as
// someone is at work, and never at a moment when nobody is (in WorkingHours
// mode Due never returns an instant outside working time, except the close
// instant described above). In Always mode Due is from+d (from if d <= 0).
// The result is in from's location.
func (s Schedule) Due(from time.Time, d time.Duration) time.Time {
	if s.Mode == Always {
		if d <= 0 {
			return from
		}
		return from.Add(d)
	}
	if d <= 0 {
		return s.NextWorking(from)
	}
	tab, off := s.locate(from)
	target := tab.worked(off) + d
	for target > tab.total {
		target -= tab.total
		tab = s.nextTable(tab)
	}
	return tab.instant(target).In(from.Location())
}

// NextWorking returns t if t is inside working time, otherwise the start of
// the next working period. In Always mode it returns t.
func (s Schedule) NextWorking(t time.Time) time.Time {
	if s.Mode == Always {
		return t
	}
	tab, off := s.locate(t)
	i := tab.firstClosingAfter(off)
	for i == len(tab.spans) {
		tab = s.nextTable(tab)
		i, off = 0, -1
	}
	sp := tab.spans[i]
	if sp.open <= off {
		return t
	}
	return tab.start.Add(sp.open).In(t.Location())
}

// IsWorking reports whether t is inside working time (always true in Always
// mode).
func (s Schedule) IsWorking(t time.Time) bool {
	if s.Mode == Always {
		return true
	}
	tab, off := s.locate(t)
	i := tab.lastOpenAtOrBefore(off)
	return i >= 0 && off < tab.spans[i].close
}

// span is one working day's [open, close) as offsets from the year's start.
type span struct {
	open, close time.Duration
	before      time.Duration // working time in the year before open
}

// yearTable is the prefix sum of working time over one local year for one
// window: Between and Due become two binary searches instead of a walk over
// days. Only days with working time have a span.
type yearTable struct {
	year  int
	start time.Time // local midnight of Jan 1
	spans []span
	total time.Duration
}

// worked returns the working time from the year's start to offset off.
func (t *yearTable) worked(off time.Duration) time.Duration {
	i := t.lastOpenAtOrBefore(off)
	if i < 0 {
		return 0
	}
	sp := t.spans[i]
	return sp.before + min(off, sp.close) - sp.open
}

// instant returns the earliest instant at which worked reaches w,
// 0 < w <= total.
func (t *yearTable) instant(w time.Duration) time.Time {
	lo, hi := 0, len(t.spans)-1
	for lo < hi { // first span whose end-of-day cumulative reaches w
		mid := int(uint(lo+hi) >> 1)
		sp := t.spans[mid]
		if sp.before+sp.close-sp.open >= w {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	sp := t.spans[lo]
	return t.start.Add(sp.open + w - sp.before)
}

// lastOpenAtOrBefore returns the index of the last span with open <= off,
// or -1.
func (t *yearTable) lastOpenAtOrBefore(off time.Duration) int {
	lo, hi := 0, len(t.spans)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.spans[mid].open <= off {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// firstClosingAfter returns the index of the first span with close > off,
// or len(spans).
func (t *yearTable) firstClosingAfter(off time.Duration) int {
	lo, hi := 0, len(t.spans)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.spans[mid].close > off {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

type tableKey struct {
	zone       *time.Location
	start, end time.Duration
	year       int
}

// maxTables bounds the per-calendar cache. Keys include the *time.Location
// pointer (comparing zones by name is unsafe: two locations may share a
// name and differ in rules), so a caller that loads a fresh Location for
// every request would otherwise grow the cache without end. Past the
// bound, tables are built per call: correct, only slower.
const maxTables = 4096

func (s Schedule) cal() *Calendar {
	if s.Cal == nil {
		return Default()
	}
	return s.Cal
}

func (s Schedule) zone() *time.Location {
	if s.Win.Zone == nil {
		return time.UTC
	}
	return s.Win.Zone
}

func (s Schedule) locate(t time.Time) (*yearTable, time.Duration) {
	tab := s.table(t.In(s.zone()).Year())
	return tab, t.Sub(tab.start)
}

func (s Schedule) nextTable(t *yearTable) *yearTable {
	if t.year >= 1<<20 {
		// Unreachable with a valid window: every year has working time.
		panic("sla: no working time found in a million years")
	}
	return s.table(t.year + 1)
}

func (s Schedule) table(year int) *yearTable {
	if err := s.Win.Validate(); err != nil {
		panic("sla: " + err.Error())
	}
	c := s.cal()
	key := tableKey{zone: s.zone(), start: s.Win.Start, end: s.Win.End, year: year}
	if v, ok := c.tables.Load(key); ok {
		return v.(*yearTable)
	}
	tab := buildTable(c, key)
	if c.ntables.Load() >= maxTables {
		return tab
	}
	if v, loaded := c.tables.LoadOrStore(key, tab); loaded {
		return v.(*yearTable)
	}
	c.ntables.Add(1)
	return tab
}

func buildTable(c *Calendar, k tableKey) *yearTable {
	start := time.Date(k.year, 1, 1, 0, 0, 0, 0, k.zone)
	kinds := c.yearKinds(k.year)
	tab := &yearTable{year: k.year, start: start, spans: make([]span, 0, 256)}
	for i, kind := range kinds {
		if !kind.IsWorking() {
			continue
		}
		end := k.end
		if kind == Short {
			end -= time.Hour
		}
		if end <= k.start {
			continue
		}
		open := wallClock(k.year, i+1, k.start, k.zone).Sub(start)
		closeAt := wallClock(k.year, i+1, end, k.zone).Sub(start)
		if closeAt <= open {
			continue // a DST jump swallowed the window
		}
		tab.spans = append(tab.spans, span{open: open, close: closeAt, before: tab.total})
		tab.total += closeAt - open
	}
	return tab
}

// wallClock is the instant of local wall-clock time d on day yd of year.
// It goes through time.Date with hours and minutes, not midnight+d, so the
// window stays at 09:00 local on DST-change days.
func wallClock(year, yd int, d time.Duration, loc *time.Location) time.Time {
	return time.Date(year, 1, yd, int(d/time.Hour), int(d%time.Hour/time.Minute), 0, int(d%time.Minute), loc)
}

var moscow = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
})

// Moscow returns Europe/Moscow, or a fixed UTC+3 zone named MSK when the
// system has no tz database (distroless images). The fallback is exact for
// every year the calendar ships: Moscow has been UTC+3 without DST since
// 26 October 2014. It is one shared *time.Location, which also keeps the
// working-time cache small.
func Moscow() *time.Location { return moscow() }
