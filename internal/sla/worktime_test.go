package sla

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the machine's tz database
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func sched(t testing.TB, win string, zone *time.Location) Schedule {
	t.Helper()
	w, err := ParseWindow(win, zone)
	if err != nil {
		t.Fatal(err)
	}
	return Schedule{Cal: Default(), Win: w}
}

func msk(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Moscow())
}

func TestDueCases(t *testing.T) {
	s := sched(t, "09:00-18:00", Moscow())
	s17 := sched(t, "09:00-17:00", Moscow())
	vlad := mustZone(t, "Asia/Vladivostok")
	berlin := mustZone(t, "Europe/Berlin")
	sv := sched(t, "09:00-18:00", vlad)
	sb := sched(t, "09:00-18:00", berlin)
	tests := []struct {
		name string
		s    Schedule
		from time.Time
		d    time.Duration
		want time.Time
	}{
		// Registered at 03:00 on New Year's night 2025: Jan 1–8 are off,
		// work starts Thursday Jan 9.
		{"holiday night", s, msk(2025, 1, 1, 3, 0), 4 * time.Hour, msk(2025, 1, 9, 13, 0)},
		{"holiday night zero budget", s, msk(2025, 1, 1, 3, 0), 0, msk(2025, 1, 9, 9, 0)},
		// Dec 30 2025 16–18 is 2 h; Dec 31 2025 is a day off (moved from
		// Jan 5) and Jan 1–11 2026 too (Jan 9 moved from Jan 3); the other
		// 6 h run Monday Jan 12 09–15.
		{"new year block", s, msk(2025, 12, 30, 16, 0), 8 * time.Hour, msk(2026, 1, 12, 15, 0)},
		// Budget ending exactly at the window end returns that instant.
		{"ends at close", s, msk(2025, 12, 30, 16, 0), 2 * time.Hour, msk(2025, 12, 30, 18, 0)},
		{"full day ends at close", s, msk(2025, 3, 3, 9, 0), 9 * time.Hour, msk(2025, 3, 3, 18, 0)},
		// 2024: Saturday Apr 27 works for Monday Apr 29; Apr 29–May 1 off.
		{"working saturday", s, msk(2024, 4, 26, 17, 0), 2 * time.Hour, msk(2024, 4, 27, 10, 0)},
		{"across transfer", s, msk(2024, 4, 27, 17, 0), 3 * time.Hour, msk(2024, 5, 2, 11, 0)},
		{"working saturday full day", s, msk(2024, 12, 28, 9, 0), 9 * time.Hour, msk(2024, 12, 28, 18, 0)},
		{"friday evening to saturday", s, msk(2024, 12, 27, 18, 0), time.Hour, msk(2024, 12, 28, 10, 0)},
		// Mar 7 2025 is short (ends 17:00), Mar 8 holiday, Mar 9 Sunday.
		{"short day", s, msk(2025, 3, 7, 15, 0), 3 * time.Hour, msk(2025, 3, 10, 10, 0)},
		{"short day 9-17 window", s17, msk(2025, 3, 7, 15, 0), 3 * time.Hour, msk(2025, 3, 10, 11, 0)},
		{"short day ends at close", s, msk(2025, 3, 7, 9, 0), 8 * time.Hour, msk(2025, 3, 7, 17, 0)},
		// Short working Saturday Nov 1 2025; Nov 3–4 off.
		{"short saturday", s, msk(2025, 10, 31, 17, 0), 3 * time.Hour, msk(2025, 11, 1, 11, 0)},
		{"after short saturday", s, msk(2025, 11, 1, 16, 0), 2 * time.Hour, msk(2025, 11, 5, 10, 0)},
		// Same calendar on Vladivostok hours.
		{"vladivostok", sv, time.Date(2025, 12, 30, 16, 0, 0, 0, vlad), 8 * time.Hour, time.Date(2026, 1, 12, 15, 0, 0, 0, vlad)},
		// Berlin switches to summer time on Sunday Mar 30 2025: the window
		// stays 09:00 local.
		{"berlin dst", sb, time.Date(2025, 3, 28, 17, 0, 0, 0, berlin), 2 * time.Hour, time.Date(2025, 3, 31, 10, 0, 0, 0, berlin)},
		// Crossing several years, with a provisional one at the end.
		{"multi-year", s, msk(2027, 12, 30, 17, 0), 2 * time.Hour, msk(2028, 1, 10, 10, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Due(tt.from, tt.d)
			if !got.Equal(tt.want) {
				t.Fatalf("Due(%v, %v) = %v, want %v", tt.from, tt.d, got, tt.want)
			}
			if got.Location() != tt.from.Location() {
				t.Errorf("result in %v, want the caller's %v", got.Location(), tt.from.Location())
			}
			if b := tt.s.Between(tt.from, got); b != tt.d {
				t.Errorf("Between(from, due) = %v, want %v", b, tt.d)
			}
		})
	}
}

func TestIsWorkingNextWorking(t *testing.T) {
	s := sched(t, "09:00-18:00", Moscow())
	tests := []struct {
		at      time.Time
		working bool
		next    time.Time
	}{
		{msk(2025, 3, 3, 9, 0), true, msk(2025, 3, 3, 9, 0)},
		{msk(2025, 3, 3, 17, 59), true, msk(2025, 3, 3, 17, 59)},
		{msk(2025, 3, 3, 18, 0), false, msk(2025, 3, 4, 9, 0)},
		{msk(2025, 3, 3, 8, 59), false, msk(2025, 3, 3, 9, 0)},
		{msk(2025, 3, 7, 16, 59), true, msk(2025, 3, 7, 16, 59)}, // short day
		{msk(2025, 3, 7, 17, 0), false, msk(2025, 3, 10, 9, 0)},
		{msk(2025, 1, 1, 12, 0), false, msk(2025, 1, 9, 9, 0)},
		{msk(2024, 4, 27, 12, 0), true, msk(2024, 4, 27, 12, 0)}, // working Saturday
		{msk(2025, 12, 31, 10, 0), false, msk(2026, 1, 12, 9, 0)},
		{time.Date(2025, 3, 3, 6, 30, 0, 0, time.UTC), true, time.Date(2025, 3, 3, 6, 30, 0, 0, time.UTC)}, // 09:30 MSK
	}
	for _, tt := range tests {
		if got := s.IsWorking(tt.at); got != tt.working {
			t.Errorf("IsWorking(%v) = %v", tt.at, got)
		}
		if got := s.NextWorking(tt.at); !got.Equal(tt.next) {
			t.Errorf("NextWorking(%v) = %v, want %v", tt.at, got, tt.next)
		}
	}
}

func TestBetweenCases(t *testing.T) {
	s := sched(t, "09:00-18:00", Moscow())
	tests := []struct {
		from, to time.Time
		want     time.Duration
	}{
		{msk(2025, 3, 3, 10, 0), msk(2025, 3, 3, 10, 0), 0},
		{msk(2025, 3, 4, 10, 0), msk(2025, 3, 3, 10, 0), 0},
		{msk(2025, 3, 3, 0, 0), msk(2025, 3, 4, 0, 0), 9 * time.Hour},
		{msk(2025, 3, 3, 0, 0), msk(2025, 3, 10, 0, 0), 4*9*time.Hour + 8*time.Hour}, // Fri short, Sat holiday
		// A whole year is 9 h per working day minus 1 h per short day.
		{msk(2025, 1, 1, 0, 0), msk(2026, 1, 1, 0, 0), time.Duration(247*9-4) * time.Hour},
		{msk(2020, 1, 1, 0, 0), msk(2021, 1, 1, 0, 0), time.Duration(219*9-3) * time.Hour},
		{msk(2019, 1, 1, 0, 0), msk(2028, 1, 1, 0, 0), time.Duration((247+219+240+247+247+248+247+247+247)*9-(6+3+3+3+3+5+4+4+4)) * time.Hour},
	}
	for _, tt := range tests {
		if got := s.Between(tt.from, tt.to); got != tt.want {
			t.Errorf("Between(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestAlwaysMode(t *testing.T) {
	s := Schedule{Mode: Always} // no window needed
	from := msk(2025, 1, 1, 3, 0)
	if got := s.Due(from, 5*time.Hour); !got.Equal(msk(2025, 1, 1, 8, 0)) {
		t.Errorf("Due = %v", got)
	}
	if got := s.Due(from, 0); !got.Equal(from) {
		t.Errorf("Due(0) = %v", got)
	}
	if got := s.Between(from, from.Add(49*time.Hour)); got != 49*time.Hour {
		t.Errorf("Between = %v", got)
	}
	if !s.IsWorking(from) || !s.NextWorking(from).Equal(from) {
		t.Error("24x7 is always working")
	}
}

func TestNilCalendarMeansDefault(t *testing.T) {
	w, _ := ParseWindow("09:00-18:00", Moscow())
	s := Schedule{Win: w}
	if got := s.Due(msk(2025, 12, 30, 16, 0), 8*time.Hour); !got.Equal(msk(2026, 1, 12, 15, 0)) {
		t.Errorf("Due = %v", got)
	}
}

func TestInvalidWindowPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "start must be before end") {
			t.Errorf("recovered %v", r)
		}
	}()
	Schedule{Win: Window{Start: 18 * time.Hour, End: 9 * time.Hour}}.Due(msk(2025, 1, 1, 0, 0), time.Hour)
}

func TestParseWindow(t *testing.T) {
	good := map[string][2]time.Duration{
		"09:00-18:00":   {9 * time.Hour, 18 * time.Hour},
		" 9:00 – 17:00": {9 * time.Hour, 17 * time.Hour},
		"00:00-24:00":   {0, 24 * time.Hour},
		"08:30-17:15":   {8*time.Hour + 30*time.Minute, 17*time.Hour + 15*time.Minute},
	}
	for in, want := range good {
		w, err := ParseWindow(in, Moscow())
		if err != nil || w.Start != want[0] || w.End != want[1] || w.Zone != Moscow() {
			t.Errorf("ParseWindow(%q) = %v, %v", in, w, err)
		}
	}
	bad := map[string]string{
		"":            "HH:MM-HH:MM",
		"0900-1800":   "not HH:MM",
		"09:00":       "HH:MM-HH:MM",
		"18:00-09:00": "before end",
		"09:00-09:00": "before end",
		"09:60-18:00": "minutes",
		"25:00-26:00": "hours",
		"24:00-24:00": "hours",
		"09:00-24:01": "hours",
		"ab:cd-18:00": "not HH:MM",
		"09:00-18":    "not HH:MM",
		"123:00-18:0": "not HH:MM",
	}
	for in, want := range bad {
		_, err := ParseWindow(in, Moscow())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseWindow(%q) error %v, want mention of %q and the input", in, err, want)
		}
	}
	if _, err := ParseWindow("09:00-18:00", nil); err == nil || !strings.Contains(err.Error(), "time zone") {
		t.Errorf("nil zone: %v", err)
	}
	w, _ := ParseWindow("09:00-18:00", Moscow())
	if w.String() != "09:00-18:00 Europe/Moscow" && w.String() != "09:00-18:00 MSK" {
		t.Errorf("String() = %q", w.String())
	}
	if err := (Window{Start: -time.Hour, End: time.Hour}).Validate(); err == nil {
		t.Error("negative start accepted")
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"working": WorkingHours, "24x7": Always, " 24/7 ": Always, "WORKING": WorkingHours} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("always-ish"); err == nil || !strings.Contains(err.Error(), "always-ish") {
		t.Errorf("bad mode: %v", err)
	}
	if WorkingHours.String() != "working" || Always.String() != "24x7" {
		t.Error("Mode.String")
	}
}

// naiveBetween walks day by day, independent of the prefix tables.
func naiveBetween(cal *Calendar, w Window, from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	wall := func(y int, m time.Month, d int, off time.Duration) time.Time {
		return time.Date(y, m, d, int(off/time.Hour), int(off%time.Hour/time.Minute), int(off%time.Minute/time.Second), int(off%time.Second), w.Zone)
	}
	lf := from.In(w.Zone)
	var total time.Duration
	for day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, time.UTC); ; day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		if time.Date(y, m, d, 0, 0, 0, 0, w.Zone).After(to) {
			return total
		}
		k := cal.Kind(y, m, d)
		if !k.IsWorking() {
			continue
		}
		end := w.End
		if k == Short {
			end -= time.Hour
		}
		if end <= w.Start {
			continue
		}
		open, closeAt := wall(y, m, d, w.Start), wall(y, m, d, end)
		if open.Before(from) {
			open = from
		}
		if closeAt.After(to) {
			closeAt = to
		}
		if closeAt.After(open) {
			total += closeAt.Sub(open)
		}
	}
}

// Properties over random starts, budgets, windows, zones and both modes.
func TestDueProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(20250101, 42))
	zones := []*time.Location{Moscow(), time.UTC, mustZone(t, "Asia/Vladivostok"), mustZone(t, "Europe/Berlin"),
		mustZone(t, "America/New_York"), mustZone(t, "Asia/Kolkata")}
	lo := time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	n := 4000
	if testing.Short() {
		n = 500
	}
	for i := range n {
		startMin := r.IntN(23*60) / 15 * 15
		endMin := startMin + 15 + r.IntN(24*60-startMin-15+1)
		endMin = min(endMin, 24*60)
		if r.IntN(8) == 0 {
			endMin = min(startMin+r.IntN(60)+1, 24*60) // windows of an hour or less: short days vanish
		}
		win := Window{Start: time.Duration(startMin) * time.Minute, End: time.Duration(endMin) * time.Minute, Zone: zones[r.IntN(len(zones))]}
		if win.Start >= win.End {
			continue
		}
		mode := WorkingHours
		if r.IntN(5) == 0 {
			mode = Always
		}
		s := Schedule{Cal: Default(), Win: win, Mode: mode}
		start := time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
		var d time.Duration
		switch r.IntN(4) {
		case 0:
			d = time.Duration(r.IntN(40*60)) * time.Minute
		case 1:
			d = time.Duration(r.Int64N(int64(3000 * time.Hour)))
		case 2:
			d = time.Duration(r.IntN(10)) * time.Hour
		default:
			d = time.Duration(r.Int64N(int64(20 * time.Hour)))
		}
		due := s.Due(start, d)
		if got := s.Between(start, due); got != d {
			t.Fatalf("#%d %v %v from %v: Between(from, Due(from, %v)=%v) = %v", i, win, mode, start, d, due, got)
		}
		if due.Before(start) {
			t.Fatalf("#%d: due %v before start %v", i, due, start)
		}
		if mode == WorkingHours {
			if d > 0 {
				// Inside working time, or exactly at a close instant.
				if !s.IsWorking(due.Add(-1)) {
					t.Fatalf("#%d %v: due %v lands in non-working time", i, win, due)
				}
				// And the earliest such instant.
				if got := s.Between(start, due.Add(-1)); got != d-1 {
					t.Fatalf("#%d %v: due %v is not the earliest (%v before it)", i, win, due, got)
				}
			} else if !s.IsWorking(due) {
				t.Fatalf("#%d %v: Due(from, 0) = %v is not working time", i, win, due)
			}
		}
		// Monotonic in d.
		d2 := d + time.Duration(r.Int64N(int64(50*time.Hour)))
		if due2 := s.Due(start, d2); due2.Before(due) {
			t.Fatalf("#%d: Due(%v)=%v before Due(%v)=%v", i, d2, due2, d, due)
		}
		// Additivity, and agreement with the day-by-day reference.
		mid := start.Add(time.Duration(r.Int64N(int64(400 * time.Hour))))
		end := mid.Add(time.Duration(r.Int64N(int64(2000 * time.Hour))))
		if a, b, c := s.Between(start, mid), s.Between(mid, end), s.Between(start, end); a+b != c {
			t.Fatalf("#%d: Between not additive: %v + %v != %v", i, a, b, c)
		}
		if mode == WorkingHours && i%4 == 0 {
			if got, want := s.Between(start, end), naiveBetween(Default(), win, start, end); got != want {
				t.Fatalf("#%d %v: Between(%v, %v) = %v, day-by-day says %v", i, win, start, end, got, want)
			}
		}
		// NextWorking is working time and nothing is skipped before it.
		if mode == WorkingHours {
			nw := s.NextWorking(start)
			if !s.IsWorking(nw) || s.Between(start, nw) != 0 || nw.Before(start) {
				t.Fatalf("#%d %v: NextWorking(%v) = %v", i, win, start, nw)
			}
		}
	}
}

var sinkTime time.Time
var sinkDur time.Duration

// Due over roughly a working year (2000 h at 9 h a day), from before the
// New Year block of 2025 into late 2025.
func BenchmarkDueAcrossYear(b *testing.B) {
	s := sched(b, "09:00-18:00", Moscow())
	from := msk(2024, 12, 20, 15, 0)
	for b.Loop() {
		sinkTime = s.Due(from, 2000*time.Hour)
	}
}

func BenchmarkBetween(b *testing.B) {
	s := sched(b, "09:00-18:00", Moscow())
	from, to := msk(2024, 3, 1, 10, 0), msk(2025, 2, 15, 12, 0)
	for b.Loop() {
		sinkDur = s.Between(from, to)
	}
}

// Varying starts, so the benchmark is not one hot path through the branch
// predictor.
func BenchmarkDueVaried(b *testing.B) {
	s := sched(b, "09:00-18:00", Moscow())
	r := rand.New(rand.NewPCG(1, 2))
	froms := make([]time.Time, 1024)
	for i := range froms {
		froms[i] = msk(2019, 1, 1, 0, 0).Add(time.Duration(r.Int64N(int64(8 * 365 * 24 * time.Hour))))
	}
	i := 0
	for b.Loop() {
		sinkTime = s.Due(froms[i&1023], time.Duration(i&1023)*time.Hour)
		i++
	}
}
