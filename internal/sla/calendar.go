package sla

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DayKind is what the production calendar says about one day.
type DayKind uint8

const (
	// Working is a full working day (a weekday, or a Saturday/Sunday made
	// working by a transfer decree).
	Working DayKind = iota
	// Short is a pre-holiday working day, one hour shorter (Labour Code
	// art. 95). It can fall on a working Saturday.
	Short
	// Weekend is an ordinary Saturday or Sunday with no decree attached.
	Weekend
	// Holiday is a day off by law or decree: a public holiday, a day off
	// moved from another date, or a paid non-working day set by the
	// President (2020, 2021). For working time it is the same as Weekend;
	// the distinction exists for display and for the calendar export.
	Holiday
)

var kindNames = [...]string{Working: "working", Short: "short", Weekend: "weekend", Holiday: "holiday"}

// String returns "working", "short", "weekend" or "holiday" — the words used
// by ParseJSON and WriteDays, so exports can be read back.
func (k DayKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "DayKind(" + strconv.Itoa(int(k)) + ")"
}

// IsWorking reports whether people work that day (Working or Short).
func (k DayKind) IsWorking() bool { return k == Working || k == Short }

func (k DayKind) valid() bool { return k <= Holiday }

// parseKind is the inverse of String.
func parseKind(s string) (DayKind, bool) {
	for k, name := range kindNames {
		if s == name {
			return DayKind(k), true
		}
	}
	return 0, false
}

// MonthDay names a day inside a YearData; the year is YearData.Year.
type MonthDay struct {
	Month time.Month
	Day   int
}

func (md MonthDay) String() string { return fmt.Sprintf("%02d.%02d", int(md.Month), md.Day) }

// YearData is one year of the production calendar as imported: the days
// that differ from the plain rule "Saturday and Sunday off, weekdays
// working". Listing a day with its plain kind is allowed and harmless.
type YearData struct {
	Year int
	// Source names the decree(s) behind the year; it is what
	// Calendar.Source reports. Empty means "imported" without a note.
	Source string
	// Days are the exceptions, keyed by month and day of Year.
	Days map[MonthDay]DayKind
}

// Calendar is a production calendar: decreed years plus the provisional
// rule for every other year. It is immutable once built, so one value is
// shared by all goroutines; updates produce a new Calendar (With), which
// lets a server swap calendars atomically while old requests finish on the
// old one.
//
// The zero value and nil are usable and have no decreed years.
type Calendar struct {
	years map[int]*yearInfo

	// Per-(window, year) working-time tables, built lazily by Schedule.
	tables  sync.Map // tableKey -> *yearTable
	ntables atomic.Int64
}

type yearInfo struct {
	kinds  []DayKind // index: day of year - 1
	source string
	data   YearData // as imported, for export
}

//go:embed calendars/ru-*.xml calendars/decrees.json
var embedded embed.FS

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := loadEmbedded()
	if err != nil {
		// The files are part of the binary and covered by tests; failing
		// here means the build itself is broken.
		panic("sla: embedded calendar: " + err.Error())
	}
	return c
})

// Default returns the calendar shipped with tend: decreed years 2019–2027,
// provisional rules elsewhere. It is parsed once and shared.
func Default() *Calendar { return defaultCalendar() }

// decreeNote is one entry of calendars/decrees.json.
type decreeNote struct {
	Government   string   `json:"government"`
	Presidential []string `json:"presidential"`
	Data         string   `json:"data"`
}

func (d decreeNote) source() string {
	s := d.Government
	if len(d.Presidential) > 0 {
		s += "; paid non-working days: " + strings.Join(d.Presidential, "; ")
	}
	return s
}

func loadEmbedded() (*Calendar, error) {
	raw, err := embedded.ReadFile("calendars/decrees.json")
	if err != nil {
		return nil, err
	}
	var notes map[string]decreeNote
	if err := json.Unmarshal(raw, &notes); err != nil {
		return nil, fmt.Errorf("decrees.json: %w", err)
	}
	files, err := embedded.ReadDir("calendars")
	if err != nil {
		return nil, err
	}
	var years []YearData
	for _, f := range files {
		if path.Ext(f.Name()) != ".xml" {
			continue
		}
		r, err := embedded.Open("calendars/" + f.Name())
		if err != nil {
			return nil, err
		}
		y, err := ParseXML(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		note, ok := notes[strconv.Itoa(y.Year)]
		if !ok {
			return nil, fmt.Errorf("%s: no entry for %d in decrees.json", f.Name(), y.Year)
		}
		y.Source = note.source()
		years = append(years, y)
	}
	return New(years...)
}

// New builds a calendar from the given years only (no embedded data). Years
// are validated as in With.
func New(years ...YearData) (*Calendar, error) {
	return (*Calendar)(nil).With(years...)
}

// With returns a new calendar in which the given years replace (or add to)
// the receiver's decreed years. Every year is validated first and any error
// rejects the whole call, so an import never half-applies; the receiver is
// never modified. All problems found are reported together.
func (c *Calendar) With(years ...YearData) (*Calendar, error) {
	var errs []error
	seen := make(map[int]bool, len(years))
	infos := make([]*yearInfo, 0, len(years))
	for _, y := range years {
		if seen[y.Year] {
			errs = append(errs, fmt.Errorf("%w: %d", ErrDuplicateYear, y.Year))
			continue
		}
		seen[y.Year] = true
		kinds, err := y.resolve()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		src := y.Source
		if src == "" {
			src = "imported calendar"
		}
		infos = append(infos, &yearInfo{kinds: kinds, source: src, data: y.clone()})
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	n := &Calendar{years: make(map[int]*yearInfo)}
	if c != nil {
		for y, info := range c.years {
			n.years[y] = info // yearInfo is never mutated, sharing is safe
		}
	}
	for _, info := range infos {
		n.years[info.data.Year] = info
	}
	return n, nil
}

func (y YearData) clone() YearData {
	days := make(map[MonthDay]DayKind, len(y.Days))
	for k, v := range y.Days {
		days[k] = v
	}
	y.Days = days
	return y
}

func (c *Calendar) info(year int) *yearInfo {
	if c == nil {
		return nil
	}
	return c.years[year]
}

// Kind reports what kind of day year-month-day is. Out-of-range days are
// normalised the way time.Date does (Feb 30 is Mar 2).
func (c *Calendar) Kind(year int, month time.Month, day int) DayKind {
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	return c.kindYD(t.Year(), t.YearDay())
}

// KindOf is Kind for the calendar date of t in t's own location.
func (c *Calendar) KindOf(t time.Time) DayKind {
	return c.kindYD(t.Year(), t.YearDay())
}

// kindYD is the hot path: year and 1-based day of year.
func (c *Calendar) kindYD(year, yd int) DayKind {
	if info := c.info(year); info != nil {
		return info.kinds[yd-1]
	}
	return provisionalKind(year, yd)
}

// fixedHolidays are the non-working public holidays of Labour Code
// art. 112: the New Year holidays Jan 1–6 and 8, Christmas Jan 7, and six
// single days.
var fixedHolidays = []MonthDay{
	{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {1, 7}, {1, 8},
	{2, 23}, {3, 8}, {5, 1}, {5, 9}, {6, 12}, {11, 4},
}

func isFixedHoliday(m time.Month, d int) bool {
	return slices.Contains(fixedHolidays, MonthDay{m, d})
}

// provisionalKind is the rule for years without a decree: weekends and the
// art. 112 holidays, without the transfers and short days a decree would
// add, because those cannot be predicted.
func provisionalKind(year, yd int) DayKind {
	t := time.Date(year, 1, yd, 0, 0, 0, 0, time.UTC)
	if isFixedHoliday(t.Month(), t.Day()) {
		return Holiday
	}
	return plainKind(t.Weekday())
}

func plainKind(wd time.Weekday) DayKind {
	if wd == time.Saturday || wd == time.Sunday {
		return Weekend
	}
	return Working
}

// yearKinds returns the kind of every day of year (index: day of year - 1).
// The slice must not be modified.
func (c *Calendar) yearKinds(year int) []DayKind {
	if info := c.info(year); info != nil {
		return info.kinds
	}
	n := daysIn(year)
	out := make([]DayKind, n)
	for i := range out {
		out[i] = provisionalKind(year, i+1)
	}
	return out
}

// Provisional reports whether year has no decreed calendar, so its days
// follow only the weekend and art. 112 rules and may still change. UIs
// should say so next to deadlines in such years.
func (c *Calendar) Provisional(year int) bool { return c.info(year) == nil }

// Source names the decree(s) behind year, or "" if the year is provisional.
func (c *Calendar) Source(year int) string {
	if info := c.info(year); info != nil {
		return info.source
	}
	return ""
}

// Years lists the decreed (shipped or imported) years in ascending order.
func (c *Calendar) Years() []int {
	if c == nil {
		return nil
	}
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Data returns the year as imported (the exceptions and source), for
// storing an imported calendar and re-applying it at start-up. ok is false
// for provisional years.
func (c *Calendar) Data(year int) (y YearData, ok bool) {
	info := c.info(year)
	if info == nil {
		return YearData{}, false
	}
	return info.data.clone(), true
}

// MonthSummary counts one month the way published production calendars do.
type MonthSummary struct {
	WorkingDays int // working days including short ones
	ShortDays   int
	DaysOff     int // weekends and holidays
	Hours40     int // norm for a 40-hour week: 8 h a working day, 7 h a short one
}

// YearSummary is a year's totals, comparable with the published production
// calendar ("247 working days, 1972 hours").
type YearSummary struct {
	Year        int
	WorkingDays int
	ShortDays   int
	DaysOff     int
	Hours40     int
	Provisional bool
	Months      [12]MonthSummary
}

// Summary counts working days, short days, days off and the 40-hour-week
// norm of hours for year, in total and per month.
func (c *Calendar) Summary(year int) YearSummary {
	s := YearSummary{Year: year, Provisional: c.Provisional(year)}
	kinds := c.yearKinds(year)
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range kinds {
		m := &s.Months[t.Month()-1]
		switch k {
		case Working:
			m.WorkingDays++
			m.Hours40 += 8
		case Short:
			m.WorkingDays++
			m.ShortDays++
			m.Hours40 += 7
		default:
			m.DaysOff++
		}
		t = t.AddDate(0, 0, 1)
	}
	for _, m := range s.Months {
		s.WorkingDays += m.WorkingDays
		s.ShortDays += m.ShortDays
		s.DaysOff += m.DaysOff
		s.Hours40 += m.Hours40
	}
	return s
}

func daysIn(year int) int {
	return time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
}

func daysInMonth(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
