package sla

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func date(s string) (int, time.Month, int) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Year(), t.Month(), t.Day()
}

func kindOf(c *Calendar, s string) DayKind { return c.Kind(date(s)) }

// Yearly totals of the published production calendars (five-day week).
// 2020 and 2021 are what the data gives once the presidential paid
// non-working days are counted as days off: 2020 was 248 / 1979 and 2021
// 247 / 1972 before those decrees.
func TestYearTotals(t *testing.T) {
	tests := []struct {
		year, working, short, off, hours int
	}{
		{2019, 247, 6, 118, 1970},
		{2020, 219, 3, 147, 1749},
		{2021, 240, 3, 125, 1917},
		{2022, 247, 3, 118, 1973},
		{2023, 247, 3, 118, 1973},
		{2024, 248, 5, 118, 1979},
		{2025, 247, 4, 118, 1972},
		{2026, 247, 4, 118, 1972},
		{2027, 247, 4, 118, 1972},
	}
	c := Default()
	for _, tt := range tests {
		s := c.Summary(tt.year)
		if s.Provisional {
			t.Errorf("%d: provisional, want decreed", tt.year)
		}
		got := [4]int{s.WorkingDays, s.ShortDays, s.DaysOff, s.Hours40}
		want := [4]int{tt.working, tt.short, tt.off, tt.hours}
		if got != want {
			t.Errorf("%d: working/short/off/hours = %v, want %v", tt.year, got, want)
		}
	}
	if got := c.Years(); !slices.Equal(got, []int{2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 2027}) {
		t.Errorf("Years() = %v", got)
	}
}

// Per-month working days and hours as published for 2024–2026.
func TestMonthTotals(t *testing.T) {
	tests := []struct {
		year    int
		working [12]int
		hours   [12]int
	}{
		{2024,
			[12]int{17, 20, 20, 21, 20, 19, 23, 22, 21, 23, 21, 21},
			[12]int{136, 159, 159, 168, 159, 151, 184, 176, 168, 184, 167, 168}},
		{2025,
			[12]int{17, 20, 21, 22, 18, 19, 23, 21, 22, 23, 19, 22},
			[12]int{136, 160, 167, 175, 144, 151, 184, 168, 176, 184, 151, 176}},
		{2026,
			[12]int{15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22},
			[12]int{120, 152, 168, 175, 151, 167, 184, 168, 176, 176, 159, 176}},
	}
	for _, tt := range tests {
		s := Default().Summary(tt.year)
		for m := range 12 {
			if s.Months[m].WorkingDays != tt.working[m] || s.Months[m].Hours40 != tt.hours[m] {
				t.Errorf("%d-%02d: %d days / %d h, want %d / %d", tt.year, m+1,
					s.Months[m].WorkingDays, s.Months[m].Hours40, tt.working[m], tt.hours[m])
			}
		}
	}
}

// Holidays, transfers and short days as set by the decrees for 2024–2026.
func TestOfficialDays(t *testing.T) {
	c := Default()
	tests := []struct {
		kind DayKind
		days string
	}{
		// 2024, decree No. 1314: Jan 6 -> May 10, Jan 7 -> Dec 31,
		// Apr 27 (Sat) -> Apr 29, Nov 2 (Sat) -> Apr 30, Dec 28 (Sat) -> Dec 30.
		{Holiday, "2024-01-01 2024-01-02 2024-01-03 2024-01-04 2024-01-05 2024-01-06 2024-01-07 2024-01-08 " +
			"2024-02-23 2024-03-08 2024-04-29 2024-04-30 2024-05-01 2024-05-09 2024-05-10 2024-06-12 " +
			"2024-11-04 2024-12-30 2024-12-31"},
		{Working, "2024-04-27 2024-12-28 2024-01-09 2024-05-02 2024-05-13"},
		{Short, "2024-02-22 2024-03-07 2024-05-08 2024-06-11 2024-11-02"},
		{Weekend, "2024-04-28 2024-11-03 2024-12-29 2024-05-11 2024-05-12"},
		// 2025, decree No. 1335: Jan 4 -> May 2, Jan 5 -> Dec 31, Feb 23 -> May 8,
		// Mar 8 -> Jun 13, Nov 1 (Sat) -> Nov 3.
		{Holiday, "2025-01-01 2025-01-07 2025-01-08 2025-02-23 2025-03-08 2025-05-01 2025-05-02 " +
			"2025-05-08 2025-05-09 2025-06-12 2025-06-13 2025-11-03 2025-11-04 2025-12-31"},
		{Working, "2025-01-09 2025-02-24 2025-05-05 2025-05-07 2025-12-30"},
		{Short, "2025-03-07 2025-04-30 2025-06-11 2025-11-01"},
		{Weekend, "2025-05-03 2025-05-04 2025-05-10 2025-05-11 2025-11-02"},
		// 2026, decree No. 1466: Jan 3 -> Jan 9, Jan 4 -> Dec 31; Mar 8 and
		// May 9 fall on Sunday/Saturday and move to Mar 9 and May 11.
		{Holiday, "2026-01-01 2026-01-08 2026-01-09 2026-02-23 2026-03-08 2026-03-09 2026-05-01 " +
			"2026-05-09 2026-05-11 2026-06-12 2026-11-04 2026-12-31"},
		{Working, "2026-01-12 2026-02-20 2026-03-10 2026-05-12 2026-12-30"},
		{Short, "2026-04-30 2026-05-08 2026-06-11 2026-11-03"},
		{Weekend, "2026-01-10 2026-01-11 2026-02-21 2026-02-22 2026-05-10"},
	}
	for _, tt := range tests {
		for _, d := range strings.Fields(tt.days) {
			if got := kindOf(c, d); got != tt.kind {
				t.Errorf("%s: %v, want %v", d, got, tt.kind)
			}
		}
	}
}

// The presidential paid non-working days of 2020 and 2021 must be days off.
func TestPresidentialNonWorkingDays(t *testing.T) {
	c := Default()
	var days []string
	for d := time.Date(2020, 3, 30, 0, 0, 0, 0, time.UTC); !d.After(time.Date(2020, 5, 8, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format(time.DateOnly))
	}
	days = append(days, "2020-06-24", "2020-07-01",
		"2021-05-04", "2021-05-05", "2021-05-06", "2021-05-07",
		"2021-11-01", "2021-11-02", "2021-11-03")
	for _, d := range days {
		if k := kindOf(c, d); k.IsWorking() {
			t.Errorf("%s is %v, want a day off", d, k)
		}
	}
	for _, y := range []int{2020, 2021} {
		if src := c.Source(y); !strings.Contains(src, "Presidential decree") {
			t.Errorf("Source(%d) = %q, want the presidential decrees named", y, src)
		}
	}
}

type consultantYear struct {
	Holidays    []string `json:"holidays"`
	Preholidays []string `json:"preholidays"`
	Nowork      []string `json:"nowork"`
}

// Every day of 2024–2027 against an independent source (consultant.ru data
// as published by d10xa/holidays-calendar).
func TestCrossCheckConsultant(t *testing.T) {
	c := Default()
	for year := 2024; year <= 2027; year++ {
		raw, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("consultant%d.json", year)))
		if err != nil {
			t.Fatal(err)
		}
		var cy consultantYear
		if err := json.Unmarshal(raw, &cy); err != nil {
			t.Fatal(err)
		}
		off := map[string]bool{}
		for _, d := range append(cy.Holidays, cy.Nowork...) {
			off[d] = true
		}
		short := map[string]bool{}
		for _, d := range cy.Preholidays {
			short[d] = true
		}
		for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
			s := d.Format(time.DateOnly)
			want := Working
			switch {
			case off[s]:
				want = Weekend // or Holiday: the source does not distinguish
			case short[s]:
				want = Short
			}
			got := c.Kind(d.Date())
			if got.IsWorking() != want.IsWorking() || (want != Weekend && got != want) {
				t.Errorf("%s: %v, consultant says %v", s, got, want)
			}
		}
	}
}

func TestProvisionalYears(t *testing.T) {
	c := Default()
	for _, y := range []int{2018, 2028, 2100} {
		if !c.Provisional(y) || c.Source(y) != "" {
			t.Errorf("%d: Provisional=%v Source=%q, want provisional", y, c.Provisional(y), c.Source(y))
		}
		if !c.Summary(y).Provisional {
			t.Errorf("%d: Summary not marked provisional", y)
		}
	}
	if c.Provisional(2025) || c.Source(2025) == "" {
		t.Error("2025 should be decreed with a source")
	}
	tests := map[string]DayKind{
		"2028-01-03": Holiday, // Monday, New Year holidays
		"2028-01-07": Holiday,
		"2028-01-08": Holiday, // Saturday: still a holiday, no transfer
		"2028-01-10": Working, // provisional years have no transfers
		"2028-02-23": Holiday,
		"2028-02-22": Working, // and no short days
		"2028-03-08": Holiday,
		"2028-05-01": Holiday,
		"2028-05-09": Holiday,
		"2028-06-12": Holiday,
		"2028-11-04": Holiday,
		"2028-11-06": Working,
		"2028-07-15": Weekend,
		"2028-07-17": Working,
		"2018-12-31": Working, // the 2018 decree is not shipped
	}
	for d, want := range tests {
		if got := kindOf(c, d); got != want {
			t.Errorf("%s: %v, want %v", d, got, want)
		}
	}
	// A nil calendar is all provisional.
	var nilCal *Calendar
	if !nilCal.Provisional(2025) || nilCal.Kind(2025, 1, 1) != Holiday || nilCal.Years() != nil {
		t.Error("nil calendar should behave as provisional everywhere")
	}
}

func TestKindNormalises(t *testing.T) {
	c := Default()
	if c.Kind(2025, 2, 30) != c.Kind(2025, 3, 2) {
		t.Error("Feb 30 should normalise to Mar 2")
	}
	if got := c.KindOf(time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)); got != Holiday {
		t.Errorf("KindOf: %v", got)
	}
}

func TestStrings(t *testing.T) {
	for k, want := range map[DayKind]string{Working: "working", Short: "short", Weekend: "weekend", Holiday: "holiday", 9: "DayKind(9)"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
	for s, want := range map[ClockState]string{Running: "running", Paused: "paused", Met: "met", AtRisk: "at_risk", Breached: "breached", 9: "ClockState(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

func TestWriteDays(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDays(&buf, Default(), 2025); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 365 {
		t.Fatalf("%d lines, want 365", len(lines))
	}
	for i, want := range map[int]string{0: "2025-01-01\tholiday", 8: "2025-01-09\tworking", 65: "2025-03-07\tshort", 3: "2025-01-04\tholiday", 364: "2025-12-31\tholiday"} {
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want)
		}
	}
	if lines[10] != "2025-01-11\tweekend" {
		t.Errorf("line 11 = %q", lines[10])
	}
	buf.Reset()
	if err := WriteDays(&buf, Default(), 2024); err != nil || strings.Count(buf.String(), "\n") != 366 {
		t.Errorf("2024 should have 366 lines, err %v", err)
	}
	if err := WriteDays(&buf, Default(), 0); err == nil {
		t.Error("year 0 should fail")
	}
}

// WriteJSON output is accepted by ParseJSON and gives back the same days,
// for every shipped year: imports and exports speak the same format.
func TestWriteJSONRoundTrip(t *testing.T) {
	c := Default()
	for _, year := range c.Years() {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, c, year); err != nil {
			t.Fatal(err)
		}
		y, err := ParseJSON(&buf)
		if err != nil {
			t.Fatalf("%d: %v", year, err)
		}
		c2, err := New(y)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.yearKinds(year), c2.yearKinds(year)) {
			t.Errorf("%d: round trip changed the days", year)
		}
	}
}

func TestWithReplacesAllOrNothing(t *testing.T) {
	base := Default()
	y2027, err := ParseJSON(strings.NewReader(json2027Moved))
	if err != nil {
		t.Fatal(err)
	}
	y2027.Source = "Government decree of 01.09.2026 No. 9999 (test)"
	c, err := base.With(y2027)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind(2027, 11, 5) != Working || base.Kind(2027, 11, 5) != Holiday {
		t.Error("import should replace 2027 in the new calendar only")
	}
	if c.Source(2027) != y2027.Source || c.Source(2025) != base.Source(2025) {
		t.Error("sources not carried over")
	}
	if d, ok := c.Data(2027); !ok || d.Days[MonthDay{11, 13}] != Working {
		t.Error("Data should return the imported exceptions")
	}
	// Mutating the caller's YearData afterwards must not leak into c.
	y2027.Days[MonthDay{11, 5}] = Holiday
	if d, _ := c.Data(2027); d.Days[MonthDay{11, 5}] == Holiday {
		t.Error("calendar shares the caller's map")
	}

	// A second year with an error rejects the whole import.
	good2028 := YearData{Year: 2028, Days: provisionalExceptions(2028)}
	bad := YearData{Year: 2029, Days: map[MonthDay]DayKind{{2, 30}: Holiday}}
	if got, err := base.With(good2028, bad); err == nil || got != nil {
		t.Fatal("invalid year accepted")
	}
	if !base.Provisional(2028) {
		t.Error("failed import changed the receiver")
	}
	if _, err := base.With(good2028, good2028); err == nil || !strings.Contains(err.Error(), "2028") {
		t.Errorf("duplicate year: %v", err)
	}
	c3, err := base.With(good2028)
	if err != nil || c3.Provisional(2028) || c3.Source(2028) != "imported calendar" {
		t.Errorf("2028 import: %v provisional=%v source=%q", err, c3.Provisional(2028), c3.Source(2028))
	}
}

// provisionalExceptions lists the art. 112 holidays of year as exceptions.
func provisionalExceptions(year int) map[MonthDay]DayKind {
	m := map[MonthDay]DayKind{}
	for _, md := range fixedHolidays {
		m[md] = Holiday
	}
	return m
}

// A hypothetical re-decree of 2027: Nov 5 working, Saturday Nov 13 working
// instead, as floated in the press in December 2025.
const json2027Moved = `[
 {"date":"2027-01-01","kind":"holiday"},{"date":"2027-01-02","kind":"holiday"},
 {"date":"2027-01-03","kind":"holiday"},{"date":"2027-01-04","kind":"holiday"},
 {"date":"2027-01-05","kind":"holiday"},{"date":"2027-01-06","kind":"holiday"},
 {"date":"2027-01-07","kind":"holiday"},{"date":"2027-01-08","kind":"holiday"},
 {"date":"2027-02-22","kind":"holiday"},{"date":"2027-02-23","kind":"holiday"},
 {"date":"2027-03-08","kind":"holiday"},{"date":"2027-05-01","kind":"holiday"},
 {"date":"2027-05-03","kind":"holiday"},{"date":"2027-05-09","kind":"holiday"},
 {"date":"2027-05-10","kind":"holiday"},{"date":"2027-06-12","kind":"holiday"},
 {"date":"2027-06-14","kind":"holiday"},{"date":"2027-11-03","kind":"short"},
 {"date":"2027-11-04","kind":"holiday"},{"date":"2027-11-13","kind":"working","note":"press, Dec 2025"},
 {"date":"2027-12-31","kind":"holiday"}
]`

// The calendar and its lazily built tables are shared between goroutines.
func TestConcurrentUse(t *testing.T) {
	c, err := New(mustYears(t)...)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := ParseWindow("09:00-18:00", Moscow())
	s := Schedule{Cal: c, Win: w}
	from := time.Date(2025, 12, 30, 16, 0, 0, 0, Moscow())
	want := time.Date(2026, 1, 12, 15, 0, 0, 0, Moscow())
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if got := s.Due(from, 8*time.Hour); !got.Equal(want) {
					t.Errorf("goroutine %d: %v", g, got)
					return
				}
				_ = s.Between(from, from.AddDate(i%5, 0, 0))
				_ = c.Summary(2019 + i%10)
			}
		}()
	}
	wg.Wait()
}

func mustYears(t *testing.T) []YearData {
	t.Helper()
	var ys []YearData
	for _, y := range Default().Years() {
		d, ok := Default().Data(y)
		if !ok {
			t.Fatal(y)
		}
		ys = append(ys, d)
	}
	return ys
}
