package sla

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Import errors. Every error returned by ParseXML, ParseJSON, YearData.Validate
// and Calendar.With wraps one of these (test with errors.Is); the message
// around it names the entry, the date and the field, so it can be shown to
// the person who uploaded the file as is.
var (
	ErrEmpty          = errors.New("empty calendar file")
	ErrTooLarge       = errors.New("calendar file too large")
	ErrSyntax         = errors.New("malformed calendar file")
	ErrBadYear        = errors.New("bad year")
	ErrBadDate        = errors.New("no such date")
	ErrOtherYear      = errors.New("date outside the calendar's year")
	ErrDuplicateDay   = errors.New("day listed twice")
	ErrBadKind        = errors.New("unknown day type")
	ErrHolidayWorking = errors.New("public holiday marked as a working day")
	ErrWorkingDays    = errors.New("implausible number of working days")
	ErrDuplicateYear  = errors.New("year imported twice")
)

// Plausibility bounds for a year's working days. A five-day week gives
// 247–249 working days in an ordinary year; 2020, with seven weeks of
// presidential non-working days, had 219. Outside these bounds the file is
// almost certainly not a production calendar (holidays missing, or every
// day marked off).
const (
	MinWorkingDays = 200
	MaxWorkingDays = 255
	minYear        = 1900
	maxYear        = 2999
	maxFileSize    = 1 << 20 // a real calendar is ~4 KB
	maxReported    = 10      // errors listed before "and N more"
)

// Validate checks the year on its own: valid year, real dates, known kinds,
// art. 112 holidays not working, and a plausible count of working days.
func (y YearData) Validate() error {
	_, err := y.resolve()
	return err
}

// resolve validates y and expands it into one kind per day.
func (y YearData) resolve() ([]DayKind, error) {
	if y.Year < minYear || y.Year > maxYear {
		return nil, fmt.Errorf("%w: %d (want %d–%d)", ErrBadYear, y.Year, minYear, maxYear)
	}
	if len(y.Days) == 0 {
		return nil, fmt.Errorf("calendar for %d: %w: no days listed", y.Year, ErrEmpty)
	}
	var errs []error
	keys := make([]MonthDay, 0, len(y.Days))
	for md := range y.Days {
		keys = append(keys, md)
	}
	slices.SortFunc(keys, func(a, b MonthDay) int {
		if a.Month != b.Month {
			return int(a.Month) - int(b.Month)
		}
		return a.Day - b.Day
	})
	for _, md := range keys {
		if md.Month < 1 || md.Month > 12 || md.Day < 1 || md.Day > daysInMonth(y.Year, md.Month) {
			errs = append(errs, fmt.Errorf("calendar for %d, day %s: %w in %d", y.Year, md, ErrBadDate, y.Year))
		} else if k := y.Days[md]; !k.valid() {
			errs = append(errs, fmt.Errorf("calendar for %d, day %s: %w %d", y.Year, md, ErrBadKind, k))
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	kinds := make([]DayKind, daysIn(y.Year))
	wd := time.Date(y.Year, 1, 1, 0, 0, 0, 0, time.UTC).Weekday()
	for i := range kinds {
		kinds[i] = plainKind(wd)
		wd = (wd + 1) % 7
	}
	for md, k := range y.Days {
		kinds[time.Date(y.Year, md.Month, md.Day, 0, 0, 0, 0, time.UTC).YearDay()-1] = k
	}
	for _, md := range fixedHolidays {
		yd := time.Date(y.Year, md.Month, md.Day, 0, 0, 0, 0, time.UTC).YearDay()
		if kinds[yd-1].IsWorking() {
			errs = append(errs, fmt.Errorf("calendar for %d, day %s: %w (Labour Code art. 112 makes %04d-%02d-%02d a day off)",
				y.Year, md, ErrHolidayWorking, y.Year, int(md.Month), md.Day))
		}
	}
	working := 0
	for _, k := range kinds {
		if k.IsWorking() {
			working++
		}
	}
	if working < MinWorkingDays || working > MaxWorkingDays {
		errs = append(errs, fmt.Errorf("calendar for %d: %w: %d (expected %d–%d; an ordinary year has about 247)",
			y.Year, ErrWorkingDays, working, MinWorkingDays, MaxWorkingDays))
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return kinds, nil
}

// joinErrors is errors.Join capped at maxReported, so a garbage file does
// not produce a thousand-line message.
func joinErrors(errs []error) error {
	if len(errs) > maxReported {
		more := len(errs) - maxReported
		errs = append(errs[:maxReported:maxReported], fmt.Errorf("… and %d more problems", more))
	}
	return errors.Join(errs...)
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w (over %d bytes)", what, ErrTooLarge, maxFileSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrEmpty)
	}
	return data, nil
}

type xmlCalendar struct {
	XMLName xml.Name `xml:"calendar"`
	Year    string   `xml:"year,attr"`
	Date    string   `xml:"date,attr"`
	Days    []xmlDay `xml:"days>day"`
}

type xmlDay struct {
	D string `xml:"d,attr"`
	T string `xml:"t,attr"`
	F string `xml:"f,attr"`
}

// ParseXML reads one year in the public xmlcalendar format:
//
//	<calendar year="2025"><days><day d="MM.DD" t="1|2|3" [f="MM.DD"]/>…</days></calendar>
//
// t=1 is a day off (Holiday), t=2 a short working day, t=3 a working
// weekend day. Unlisted days follow the weekend rule. The result is
// validated as YearData.Validate does; Source records the file's date.
func ParseXML(r io.Reader) (YearData, error) {
	const what = "calendar XML"
	data, err := readLimited(r, what)
	if err != nil {
		return YearData{}, err
	}
	var doc xmlCalendar
	if err := xml.Unmarshal(data, &doc); err != nil {
		return YearData{}, fmt.Errorf("%s: %w: %v", what, ErrSyntax, err)
	}
	year, err := strconv.Atoi(strings.TrimSpace(doc.Year))
	if err != nil || year < minYear || year > maxYear {
		return YearData{}, fmt.Errorf("%s: %w: <calendar year=%q> (want a year %d–%d)", what, ErrBadYear, doc.Year, minYear, maxYear)
	}
	if len(doc.Days) == 0 {
		return YearData{}, fmt.Errorf("%s for %d: %w: no <day> entries", what, year, ErrEmpty)
	}
	y := YearData{Year: year, Days: make(map[MonthDay]DayKind, len(doc.Days))}
	if doc.Date != "" {
		y.Source = "xmlcalendar file dated " + strings.TrimSpace(doc.Date)
	}
	first := make(map[MonthDay]int, len(doc.Days))
	var errs []error
	for i, d := range doc.Days {
		at := fmt.Sprintf("%s for %d, entry %d, d=%q", what, year, i+1, d.D)
		md, ok := parseMonthDay(d.D)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w (want MM.DD, e.g. 01.07)", at, ErrBadDate))
			continue
		}
		if md.Day > daysInMonth(year, md.Month) {
			errs = append(errs, fmt.Errorf("%s: %w in %d", at, ErrBadDate, year))
			continue
		}
		if f := strings.TrimSpace(d.F); f != "" {
			if _, ok := parseMonthDay(f); !ok {
				errs = append(errs, fmt.Errorf("%s: f=%q: %w (want MM.DD of the day moved from)", at, d.F, ErrBadDate))
				continue
			}
		}
		var k DayKind
		switch strings.TrimSpace(d.T) {
		case "1":
			k = Holiday
		case "2":
			k = Short
		case "3":
			k = Working
		default:
			errs = append(errs, fmt.Errorf("%s: t=%q: %w (want 1 day off, 2 short day, 3 working day)", at, d.T, ErrBadKind))
			continue
		}
		if j, dup := first[md]; dup {
			errs = append(errs, fmt.Errorf("%s: %w (first at entry %d)", at, ErrDuplicateDay, j))
			continue
		}
		first[md] = i + 1
		y.Days[md] = k
	}
	if len(errs) > 0 {
		return YearData{}, joinErrors(errs)
	}
	if err := y.Validate(); err != nil {
		return YearData{}, err
	}
	return y, nil
}

// parseMonthDay parses "MM.DD" (month 1–12, day 1–31; the year-specific
// check is the caller's).
func parseMonthDay(s string) (MonthDay, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != '.' {
		return MonthDay{}, false
	}
	m, ok1 := twoDigits(s[0:2])
	d, ok2 := twoDigits(s[3:5])
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > 31 {
		return MonthDay{}, false
	}
	return MonthDay{time.Month(m), d}, true
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

type jsonDay struct {
	Date string `json:"date"`
	Kind string `json:"kind"`
	Note string `json:"note,omitempty"`
}

// ParseJSON reads one year as a plain JSON list of exceptions:
//
//	[{"date":"2027-01-01","kind":"holiday"}, {"date":"2027-02-20","kind":"short"}, …]
//
// kind is holiday, short, working or weekend; an optional "note" is
// ignored. The year is taken from the first entry and every entry must be
// in it. Unlisted days follow the weekend rule. Unknown fields are
// rejected so that a misspelt "kind" is not silently read as a working day.
func ParseJSON(r io.Reader) (YearData, error) {
	const what = "calendar JSON"
	data, err := readLimited(r, what)
	if err != nil {
		return YearData{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var list []jsonDay
	if err := dec.Decode(&list); err != nil {
		return YearData{}, fmt.Errorf("%s: %w: %v (want a list like [{\"date\":\"2027-01-01\",\"kind\":\"holiday\"}])", what, ErrSyntax, err)
	}
	if dec.More() {
		return YearData{}, fmt.Errorf("%s: %w: data after the list", what, ErrSyntax)
	}
	if len(list) == 0 {
		return YearData{}, fmt.Errorf("%s: %w: the list has no days", what, ErrEmpty)
	}
	year := 0
	y := YearData{Days: make(map[MonthDay]DayKind, len(list))}
	first := make(map[MonthDay]int, len(list))
	var errs []error
	for i, e := range list {
		at := fmt.Sprintf("%s entry %d, date %q", what, i+1, e.Date)
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(e.Date))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w (want YYYY-MM-DD, e.g. 2027-01-07)", at, ErrBadDate))
			continue
		}
		if year == 0 {
			year = t.Year()
			if year < minYear || year > maxYear {
				return YearData{}, fmt.Errorf("%s: %w: %d (want %d–%d)", at, ErrBadYear, year, minYear, maxYear)
			}
		}
		if t.Year() != year {
			errs = append(errs, fmt.Errorf("%s: %w %d (the year of the first entry)", at, ErrOtherYear, year))
			continue
		}
		k, ok := parseKind(strings.TrimSpace(e.Kind))
		if !ok {
			errs = append(errs, fmt.Errorf("%s: kind %q: %w (want holiday, short, working or weekend)", at, e.Kind, ErrBadKind))
			continue
		}
		md := MonthDay{t.Month(), t.Day()}
		if j, dup := first[md]; dup {
			errs = append(errs, fmt.Errorf("%s: %w (first at entry %d)", at, ErrDuplicateDay, j))
			continue
		}
		first[md] = i + 1
		y.Days[md] = k
	}
	if len(errs) > 0 {
		return YearData{}, joinErrors(errs)
	}
	y.Year = year
	if err := y.Validate(); err != nil {
		return YearData{}, err
	}
	return y, nil
}

// WriteDays writes every day of year as "2025-01-01\tholiday", one a line:
// a flat export people can diff against the published calendar.
func WriteDays(w io.Writer, c *Calendar, year int) error {
	if year < 1 || year > 9999 {
		return fmt.Errorf("%w: %d", ErrBadYear, year)
	}
	bw := bufio.NewWriter(w)
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range c.yearKinds(year) {
		bw.WriteString(t.Format(time.DateOnly))
		bw.WriteByte('\t')
		bw.WriteString(k.String())
		bw.WriteByte('\n')
		t = t.AddDate(0, 0, 1)
	}
	return bw.Flush()
}

// WriteJSON writes year's exceptions (the days whose kind differs from the
// plain weekend rule) in the format ParseJSON reads, so an imported or
// shipped year can be stored and re-applied.
func WriteJSON(w io.Writer, c *Calendar, year int) error {
	if year < 1 || year > 9999 {
		return fmt.Errorf("%w: %d", ErrBadYear, year)
	}
	list := []jsonDay{}
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range c.yearKinds(year) {
		if k != plainKind(t.Weekday()) {
			list = append(list, jsonDay{Date: t.Format(time.DateOnly), Kind: k.String()})
		}
		t = t.AddDate(0, 0, 1)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}
