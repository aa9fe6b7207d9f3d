package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/sla"
)

// calendarDay is one stored day, in the JSON format sla.ParseJSON reads, so
// a stored year can be exported and imported again as is.
type calendarDay struct {
	Date string `json:"date"`
	Kind string `json:"kind"`
}

// calendarRecord is an imported year as the journal shows it.
type calendarRecord struct {
	Year    int             `json:"year"`
	Source  string          `json:"source"`
	Days    json.RawMessage `json:"days"`
	Version int64           `json:"version"`
}

// kindByName reads the words sla.DayKind.String writes.
var kindByName = func() map[string]sla.DayKind {
	m := map[string]sla.DayKind{}
	for _, k := range []sla.DayKind{sla.Working, sla.Short, sla.Weekend, sla.Holiday} {
		m[k.String()] = k
	}
	return m
}()

// CalendarVersion is the number of calendar imports ever stored: it grows
// with each one, so a replica polls it to notice another's import.
func (s *Store) CalendarVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read().queryRow(ctx, `SELECT version FROM calendar_version WHERE id = 1`).Scan(&v)
	return v, s.failOrNil("read calendar version", err)
}

// CalendarYears returns every imported year of the production calendar, in
// ascending order, and the calendar version they make up. It is tend's own
// read at start-up and when a replica notices a change, so it takes no
// principal; who may see the calendar is decided where it is shown.
//
// The version is read before the years: a concurrent import can then only
// make the years newer than the version, and the next poll sees the version
// move and reads them again. The years are returned as stored, not
// validated: the caller builds the calendar with sla.Calendar.With, which
// does.
func (s *Store) CalendarYears(ctx context.Context) ([]sla.YearData, int64, error) {
	const op = "read calendar"
	version, err := s.CalendarVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.read().query(ctx, `SELECT year, source, days FROM calendar_years ORDER BY year`)
	if err != nil {
		return nil, 0, s.fail(op, err)
	}
	defer rows.Close()
	var out []sla.YearData
	for rows.Next() {
		var y sla.YearData
		var days string
		if err := rows.Scan(&y.Year, &y.Source, &days); err != nil {
			return nil, 0, s.fail(op, err)
		}
		if y.Days, err = decodeCalendarDays(y.Year, days); err != nil {
			return nil, 0, s.fail(op, err)
		}
		out = append(out, y)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.fail(op, err)
	}
	return out, version, nil
}

// ImportCalendar stores imported years of the production calendar, all or
// none, replacing a year imported before, and answers the new calendar
// version. Each year is validated again here (the caller has normally done
// so by building the calendar), so nothing unreadable is ever stored. Every
// year gets a journal entry: entity "calendar", entity_id the year.
func (s *Store) ImportCalendar(ctx context.Context, p auth.Principal, years []sla.YearData) (int64, error) {
	var version int64
	err := s.tx(ctx, "import calendar", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, auth.Resource{Kind: auth.KindCalendar}); err != nil {
			return err
		}
		if len(years) == 0 {
			return apperr.Field("file", "the calendar file holds no year")
		}
		seen := map[int]bool{}
		for _, y := range years {
			if seen[y.Year] {
				return apperr.Field("file", "the year %d is given twice", y.Year)
			}
			seen[y.Year] = true
			if err := y.Validate(); err != nil {
				return apperr.Field("file", "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
			}
		}
		// Taking the version first also serialises two imports on PostgreSQL:
		// the second waits for the first's row lock.
		if err := c.queryRow(ctx, `UPDATE calendar_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&version); err != nil {
			return err
		}
		now := s.Now()
		for _, y := range years {
			days := encodeCalendarDays(y)
			after := calendarRecord{Year: y.Year, Source: y.Source, Days: json.RawMessage(days), Version: version}
			var old calendarRecord
			var oldDays string
			err := c.queryRow(ctx, `SELECT source, days, version FROM calendar_years WHERE year = ?`, y.Year).Scan(&old.Source, &oldDays, &old.Version)
			action := "replaced"
			var before any
			switch {
			case errors.Is(err, sql.ErrNoRows):
				action = "imported"
				_, err = c.exec(ctx, `INSERT INTO calendar_years (year, source, days, version, imported_at, imported_by, imported_by_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					y.Year, y.Source, days, version, now, p.Name, nullID(p.AccountID))
			case err != nil:
				return err
			default:
				old.Year, old.Days = y.Year, json.RawMessage(oldDays)
				before = old
				_, err = c.exec(ctx, `UPDATE calendar_years SET source = ?, days = ?, version = ?, imported_at = ?, imported_by = ?, imported_by_id = ? WHERE year = ?`,
					y.Source, days, version, now, p.Name, nullID(p.AccountID), y.Year)
			}
			if err != nil {
				return err
			}
			if err := c.journal(ctx, p, "calendar", int64(y.Year), 0, action, before, after, y.Source); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// encodeCalendarDays writes a year's listed days, in date order.
func encodeCalendarDays(y sla.YearData) string {
	list := make([]calendarDay, 0, len(y.Days))
	for md, k := range y.Days {
		list = append(list, calendarDay{Date: fmt.Sprintf("%04d-%02d-%02d", y.Year, int(md.Month), md.Day), Kind: k.String()})
	}
	slices.SortFunc(list, func(a, b calendarDay) int { return strings.Compare(a.Date, b.Date) })
	return mustJSON(list)
}

// decodeCalendarDays reads what encodeCalendarDays wrote.
func decodeCalendarDays(year int, src string) (map[sla.MonthDay]sla.DayKind, error) {
	var list []calendarDay
	if err := json.Unmarshal([]byte(src), &list); err != nil {
		return nil, fmt.Errorf("stored calendar for %d: %w", year, err)
	}
	days := make(map[sla.MonthDay]sla.DayKind, len(list))
	for _, d := range list {
		t, err := time.Parse(time.DateOnly, d.Date)
		k, ok := kindByName[d.Kind]
		if err != nil || !ok || t.Year() != year {
			return nil, fmt.Errorf("stored calendar for %d: unreadable day %q (%q)", year, d.Date, d.Kind)
		}
		days[sla.MonthDay{Month: t.Month(), Day: t.Day()}] = k
	}
	return days, nil
}
