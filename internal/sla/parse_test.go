package sla

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

// xmlDoc builds a calendar XML for year from "MM.DD:t" items; the art. 112
// holidays are included unless noFixed is set.
func xmlDoc(year int, noFixed bool, items ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<calendar year=\"%d\" lang=\"ru\" date=\"2026.09.02\">\n<days>\n", year)
	if !noFixed {
		for _, md := range fixedHolidays {
			fmt.Fprintf(&b, "<day d=\"%s\" t=\"1\"/>\n", md)
		}
	}
	for _, it := range items {
		d, t, _ := strings.Cut(it, ":")
		fmt.Fprintf(&b, "<day d=\"%s\" t=\"%s\"/>\n", d, t)
	}
	b.WriteString("</days>\n</calendar>\n")
	return b.String()
}

// jsonDoc is xmlDoc for the JSON format, items are "YYYY-MM-DD:kind".
func jsonDoc(year int, items ...string) string {
	var parts []string
	for _, md := range fixedHolidays {
		parts = append(parts, fmt.Sprintf(`{"date":"%04d-%02d-%02d","kind":"holiday"}`, year, int(md.Month), md.Day))
	}
	for _, it := range items {
		d, k, _ := strings.Cut(it, ":")
		parts = append(parts, fmt.Sprintf(`{"date":%q,"kind":%q}`, d, k))
	}
	return "[" + strings.Join(parts, ",\n") + "]"
}

// saturdays returns "MM.DD:t" items for every Saturday of year.
func saturdays(year int, t string) []string {
	var out []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday && !isFixedHoliday(d.Month(), d.Day()) {
			out = append(out, fmt.Sprintf("%02d.%02d:%s", int(d.Month()), d.Day(), t))
		}
	}
	return out
}

// weekdaysOff returns "MM.DD:1" for the weekdays of the given months.
func weekdaysOff(year int, months ...time.Month) []string {
	var out []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		if slices.Contains(months, d.Month()) && plainKind(d.Weekday()) == Working && !isFixedHoliday(d.Month(), d.Day()) {
			out = append(out, fmt.Sprintf("%02d.%02d:1", int(d.Month()), d.Day()))
		}
	}
	return out
}

// jsonOff is weekdaysOff as "YYYY-MM-DD:holiday" items.
func jsonOff(year int, months ...time.Month) []string {
	var out []string
	for _, it := range weekdaysOff(year, months...) {
		out = append(out, fmt.Sprintf("%d-%s-%s:holiday", year, it[0:2], it[3:5]))
	}
	return out
}

func TestParseXMLValid(t *testing.T) {
	y, err := ParseXML(strings.NewReader(xmlDoc(2028, false, "02.22:2", "03.07:2", "12.30:3")))
	if err != nil {
		t.Fatal(err)
	}
	if y.Year != 2028 || y.Days[MonthDay{2, 22}] != Short || y.Days[MonthDay{12, 30}] != Working || y.Days[MonthDay{1, 7}] != Holiday {
		t.Errorf("parsed %+v", y)
	}
	if y.Source != "xmlcalendar file dated 2026.09.02" {
		t.Errorf("Source = %q", y.Source)
	}
	// Feb 29 exists in leap years.
	if _, err := ParseXML(strings.NewReader(xmlDoc(2028, false, "02.29:2"))); err != nil {
		t.Errorf("02.29 in 2028: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	big := strings.Repeat(" ", maxFileSize+1)
	tests := []struct {
		name    string
		json    bool
		in      string
		want    error
		mention []string // the message must name these
	}{
		{"xml empty", false, "", ErrEmpty, nil},
		{"xml blank", false, " \n\t", ErrEmpty, nil},
		{"xml too large", false, big, ErrTooLarge, nil},
		{"xml broken", false, "<calendar year=\"2025\"><days>", ErrSyntax, nil},
		{"xml wrong root", false, "<holidays/>", ErrSyntax, []string{"calendar"}},
		{"xml no year", false, "<calendar><days><day d=\"01.01\" t=\"1\"/></days></calendar>", ErrBadYear, []string{`year=""`}},
		{"xml bad year", false, "<calendar year=\"20x5\"><days><day d=\"01.01\" t=\"1\"/></days></calendar>", ErrBadYear, []string{"20x5"}},
		{"xml no days", false, "<calendar year=\"2025\"><days></days></calendar>", ErrEmpty, []string{"2025"}},
		{"xml Feb 30", false, xmlDoc(2025, false, "02.30:1"), ErrBadDate, []string{"02.30", "2025"}},
		{"xml Feb 29 non-leap", false, xmlDoc(2025, false, "02.29:1"), ErrBadDate, []string{"02.29"}},
		{"xml month 13", false, xmlDoc(2025, false, "13.01:1"), ErrBadDate, []string{"13.01", "MM.DD"}},
		{"xml d format", false, xmlDoc(2025, false, "1.5:1"), ErrBadDate, []string{`"1.5"`}},
		{"xml bad f", false, strings.Replace(xmlDoc(2025, false), `d="05.09" t="1"`, `d="05.09" t="1" f="5 Jan"`, 1), ErrBadDate, []string{"f=", "5 Jan"}},
		{"xml duplicate", false, xmlDoc(2025, false, "05.01:2"), ErrDuplicateDay, []string{"05.01", "entry"}},
		{"xml unknown t", false, xmlDoc(2025, false, "06.11:4"), ErrBadKind, []string{`t="4"`, "06.11"}},
		{"xml missing t", false, xmlDoc(2025, false, "06.11:"), ErrBadKind, []string{`t=""`}},
		{"xml holiday working", false, xmlDoc(2025, true, "01.01:1", "01.02:1"), ErrHolidayWorking, []string{"2025-01-03", "art. 112"}},
		{"xml too few working days", false, xmlDoc(2025, false, weekdaysOff(2025, 3, 4, 5)...), ErrWorkingDays, []string{"2025", "expected"}},
		{"xml too many working days", false, xmlDoc(2025, false, saturdays(2025, "3")...), ErrWorkingDays, []string{"2025"}},

		{"json empty", true, "", ErrEmpty, nil},
		{"json empty list", true, "[]", ErrEmpty, nil},
		{"json null", true, "null", ErrEmpty, nil},
		{"json too large", true, big, ErrTooLarge, nil},
		{"json object", true, `{"date":"2027-01-01","kind":"holiday"}`, ErrSyntax, []string{"list"}},
		{"json broken", true, `[{"date":"2027-01-01"`, ErrSyntax, nil},
		{"json trailing", true, jsonDoc(2027) + " []", ErrSyntax, []string{"after the list"}},
		{"json unknown field", true, `[{"date":"2027-01-01","knd":"holiday"}]`, ErrSyntax, []string{"knd"}},
		{"json Feb 30", true, jsonDoc(2027, "2027-02-30:holiday"), ErrBadDate, []string{"2027-02-30"}},
		{"json date format", true, jsonDoc(2027, "01.05.2027:holiday"), ErrBadDate, []string{"01.05.2027", "YYYY-MM-DD"}},
		{"json missing date", true, jsonDoc(2027, ":holiday"), ErrBadDate, []string{`date ""`}},
		{"json other year", true, jsonDoc(2027, "2026-05-04:holiday"), ErrOtherYear, []string{"2026-05-04", "2027"}},
		{"json year range", true, `[{"date":"1800-01-01","kind":"holiday"}]`, ErrBadYear, []string{"1800"}},
		{"json duplicate", true, jsonDoc(2027, "2027-01-07:holiday"), ErrDuplicateDay, []string{"2027-01-07"}},
		{"json unknown kind", true, jsonDoc(2027, "2027-11-05:dayoff"), ErrBadKind, []string{"dayoff", "2027-11-05"}},
		{"json holiday working", true, `[{"date":"2027-01-01","kind":"holiday"}]`, ErrHolidayWorking, []string{"2027-01-04"}},
		{"json too few working days", true, jsonDoc(2027, jsonOff(2027, 3, 4, 5)...), ErrWorkingDays, []string{"2027"}},
		{"json weekend kind accepted", true, jsonDoc(2027, "2027-03-01:weekend", "2027-03-06:working"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var y YearData
			var err error
			if tt.json {
				y, err = ParseJSON(strings.NewReader(tt.in))
			} else {
				y, err = ParseXML(strings.NewReader(tt.in))
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if y.Year != 0 || y.Days != nil {
				t.Errorf("error with a partial result %+v", y)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestImportReportsAllProblems(t *testing.T) {
	_, err := ParseXML(strings.NewReader(xmlDoc(2025, false, "02.30:1", "04.31:1", "06.11:9")))
	for _, m := range []string{"02.30", "04.31", "06.11"} {
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("error %v does not mention %s", err, m)
		}
	}
	// A garbage file is summarised, not listed in full.
	var items []string
	for d := 1; d <= 28; d++ {
		items = append(items, fmt.Sprintf("%02d.%02d:x", 3, d))
	}
	_, err = ParseXML(strings.NewReader(xmlDoc(2025, false, items...)))
	if err == nil || !strings.Contains(err.Error(), "and 18 more problems") {
		t.Errorf("error not capped: %v", err)
	}
}

func TestYearDataValidate(t *testing.T) {
	ok := YearData{Year: 2028, Days: provisionalExceptions(2028)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		y    YearData
		want error
	}{
		{YearData{Year: 0, Days: ok.Days}, ErrBadYear},
		{YearData{Year: 3000, Days: ok.Days}, ErrBadYear},
		{YearData{Year: 2028}, ErrEmpty},
		{YearData{Year: 2028, Days: map[MonthDay]DayKind{{13, 1}: Holiday}}, ErrBadDate},
		{YearData{Year: 2028, Days: map[MonthDay]DayKind{{2, 30}: Holiday}}, ErrBadDate},
		{YearData{Year: 2028, Days: map[MonthDay]DayKind{{1, 1}: DayKind(7)}}, ErrBadKind},
	}
	for _, tt := range tests {
		if err := tt.y.Validate(); !errors.Is(err, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.y, err, tt.want)
		}
		if _, err := New(tt.y); !errors.Is(err, tt.want) {
			t.Errorf("New(%+v): %v, want %v", tt.y, err, tt.want)
		}
	}
}

// checkYear asserts what every successfully parsed year must satisfy.
func checkYear(t *testing.T, y YearData) {
	t.Helper()
	if err := y.Validate(); err != nil {
		t.Fatalf("parsed year fails validation: %v", err)
	}
	c, err := New(y)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := c.Summary(y.Year)
	if s.Provisional || s.WorkingDays < MinWorkingDays || s.WorkingDays > MaxWorkingDays ||
		s.WorkingDays+s.DaysOff != daysIn(y.Year) || s.Hours40 != 8*s.WorkingDays-s.ShortDays {
		t.Fatalf("bad summary %+v", s)
	}
	for _, md := range fixedHolidays {
		if c.Kind(y.Year, md.Month, md.Day).IsWorking() {
			t.Fatalf("%d-%s is working", y.Year, md)
		}
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, c, y.Year); err != nil {
		t.Fatal(err)
	}
	y2, err := ParseJSON(&buf)
	if err != nil {
		t.Fatalf("re-reading our own export: %v", err)
	}
	c2, err := New(y2)
	if err != nil || !slices.Equal(c.yearKinds(y.Year), c2.yearKinds(y.Year)) {
		t.Fatalf("round trip differs: %v", err)
	}
}

func FuzzParseXML(f *testing.F) {
	files, _ := fs.Glob(embedded, "calendars/*.xml")
	for _, name := range files {
		b, _ := embedded.ReadFile(name)
		f.Add(b)
	}
	f.Add([]byte(xmlDoc(2025, false, "02.30:1")))
	f.Add([]byte(xmlDoc(2025, true, "01.01:1")))
	f.Add([]byte(`<calendar year="2025"><days><day d="01.01" t="1"/></days></calendar>`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		y, err := ParseXML(bytes.NewReader(data))
		if err != nil {
			if y.Year != 0 || y.Days != nil {
				t.Fatalf("error with a partial result: %v", err)
			}
			return
		}
		checkYear(t, y)
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, year := range Default().Years() {
		var buf bytes.Buffer
		WriteJSON(&buf, Default(), year)
		f.Add(buf.Bytes())
	}
	f.Add([]byte(json2027Moved))
	f.Add([]byte(jsonDoc(2027, "2027-02-30:holiday")))
	f.Add([]byte(`[{"date":"2027-01-01","kind":"holiday"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		y, err := ParseJSON(bytes.NewReader(data))
		if err != nil {
			if y.Year != 0 || y.Days != nil {
				t.Fatalf("error with a partial result: %v", err)
			}
			return
		}
		checkYear(t, y)
	})
}
