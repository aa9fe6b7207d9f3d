package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"tend/internal/sla"
)

// Registration numbers read REQ-<year>-<n>: n counts from 1 each year of
// the vendor's zone, is unique, and increases.
//
// SQLite counts in request_counters, a row per year, under its one writer.
// PostgreSQL counts in a sequence per year (request_numbers_<year>): a
// sequence hands out values without holding a lock to the commit, so a
// registration takes its number and its id in the round trip that reads
// what it refers to, and writes everything in one pipeline (issue 7). The
// two are taken under a transaction-scoped advisory lock, last in that
// round trip, so ids and numbers increase together however registrations
// interleave, and the lock is held for no write and no flush. A
// registration that fails after taking its number leaves a gap.

// numberZone is where a registration's year is counted: the vendor's.
var numberZone = sla.Moscow

func numberYear(now time.Time) int { return now.In(numberZone()).Year() }

func formatNumber(year int, n int64) string { return fmt.Sprintf("REQ-%d-%06d", year, n) }

// numberSeqPrefix and the year name a year's sequence on PostgreSQL.
const numberSeqPrefix = "request_numbers_"

func numberSeq(year int) string { return numberSeqPrefix + strconv.Itoa(year) }

// createNumberSeq makes a year's sequence unless it exists; one made by
// another at the same moment counts as made.
func (s *Store) createNumberSeq(ctx context.Context, year int) error {
	_, err := s.pool.Exec(ctx, `CREATE SEQUENCE IF NOT EXISTS `+numberSeq(year))
	if err != nil && !isUniqueViolation(err) {
		return s.fail("number requests", err)
	}
	return nil
}

// numberAndIDQuery takes a year's next number and the next request id
// on PostgreSQL, after numberLock.
const (
	numberLock       = `SELECT pg_advisory_xact_lock(7234501)`
	numberAndIDQuery = `SELECT nextval(?::text::regclass), nextval(pg_get_serial_sequence('requests', 'id'))`
)

// ensureNumbers makes sure, on PostgreSQL, that the sequences of now's
// year and the next exist, so that a registration at New Year finds its
// year's made. It runs outside any transaction (a sequence made inside one
// would stay invisible to the others until it committed) and remembers
// the years it has seen.
func (s *Store) ensureNumbers(ctx context.Context, now time.Time) error {
	if s.engine != Postgres {
		return nil
	}
	year := numberYear(now)
	if _, ok := s.numberYears.Load(year); ok {
		return nil
	}
	for _, y := range []int{year, year + 1} {
		if err := s.createNumberSeq(ctx, y); err != nil {
			return err
		}
	}
	s.numberYears.Store(year, true)
	return nil
}

// numberAndID takes the next registration number of now's year and, on
// PostgreSQL, the request's id. On SQLite the counter row is written in
// the caller's transaction, and the insert gives the id (0 here).
func (c conn) numberAndID(ctx context.Context, now time.Time) (string, int64, error) {
	if c.s.engine == Postgres {
		var number string
		var id int64
		err := c.readAll(ctx, numberAndIDReads(now, &number, &id)...)
		return number, id, err
	}
	year := numberYear(now)
	var last int64
	err := c.queryRow(ctx, `INSERT INTO request_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = request_counters.last + 1 RETURNING last`, year).Scan(&last)
	if err != nil {
		return "", 0, err
	}
	return formatNumber(year, last), 0, nil
}

// numberAndIDReads are numberAndID on PostgreSQL as reads to go last in
// a batch, whose implicit transaction ends right after them.
func numberAndIDReads(now time.Time, number *string, id *int64) []read {
	year := numberYear(now)
	return []read{
		{q: numberLock, each: func(scanner) error { return nil }},
		{q: numberAndIDQuery, args: []any{numberSeq(year)}, each: func(row scanner) error {
			var last int64
			if err := row.Scan(&last, id); err != nil {
				return err
			}
			*number = formatNumber(year, last)
			return nil
		}},
	}
}

// lastNumbers reads the last number handed out in each year.
func (c conn) lastNumbers(ctx context.Context) (map[int]int64, error) {
	q, args := `SELECT year, last FROM request_counters`, []any(nil)
	if c.s.engine == Postgres {
		args = []any{numberSeqPrefix, numberSeqPrefix}
		q = `SELECT substr(sequencename, length(?::text) + 1)::int, last_value FROM pg_sequences
			WHERE schemaname = current_schema() AND starts_with(sequencename, ?::text) AND last_value IS NOT NULL`
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	last := map[int]int64{}
	for rows.Next() {
		var y int
		var n int64
		if err := rows.Scan(&y, &n); err != nil {
			return nil, err
		}
		last[y] = n
	}
	return last, rows.Err()
}

// setLastNumbers records the last number handed out in each year (the bulk
// loader's); the next registration continues after it.
func (s *Store) setLastNumbers(ctx context.Context, last map[int]int64) error {
	if s.engine != Postgres {
		return s.tx(ctx, "number requests", func(c conn) error {
			for y, n := range last {
				if _, err := c.exec(ctx, `INSERT INTO request_counters (year, last) VALUES (?, ?)
					ON CONFLICT (year) DO UPDATE SET last = excluded.last`, y, n); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for y, n := range last {
		if n < 1 {
			continue
		}
		if err := s.createNumberSeq(ctx, y); err != nil {
			return err
		}
		if _, err := s.pool.Exec(ctx, `SELECT setval($1::text::regclass, $2)`, numberSeq(y), n); err != nil {
			return s.fail("number requests", err)
		}
	}
	return nil
}
