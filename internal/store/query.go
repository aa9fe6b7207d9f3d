package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
)

// where collects the conditions and arguments of a filtered query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// scope restricts rows to what an access scope allows.
func (w *where) scope(sc auth.Scope, customerCol, ownerCol string) {
	switch {
	case sc.All:
	case sc.CustomerID != 0:
		w.add(customerCol+" = ?", sc.CustomerID)
	case sc.OwnerID != 0:
		w.add(ownerCol+" = ?", sc.OwnerID)
	default:
		w.add("1 = 0")
	}
}

// only says every condition is cond (and there is one at least).
func (w where) only(cond string) bool {
	return len(w.conds) > 0 && !slices.ContainsFunc(w.conds, func(c string) bool { return c != cond })
}

func (w where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeArg makes a case-insensitive substring pattern, escaping wildcards.
func likeArg(q string) string {
	q = strings.ToLower(q)
	q = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
	return "%" + q + "%"
}

// Page is keyset pagination by id: stable while rows are added.
type Page struct {
	After int64 // the last id of the previous page
	Limit int
}

// MaxPage caps a page so one call cannot ask for everything.
const MaxPage = 200

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 50
	case p.Limit > MaxPage:
		return MaxPage
	}
	return p.Limit
}

// List is one page of results with the count of all matches.
type List[T any] struct {
	Items []T   `json:"items"`
	Total int   `json:"total"`
	Next  int64 `json:"next,omitempty"` // pass as after= for the next page; absent on the last
}

// listPage runs one page of a filtered list ordered by id, and its count.
func listPage[T any](ctx context.Context, s *Store, op, table, cols string, w where, pg Page, scan func(interface{ Scan(...any) error }) (T, error), idOf func(T) int64) (List[T], error) {
	return guardedListPage(ctx, s, op, table, cols, w, pg, scan, idOf, guard{})
}

// guard is what a list reads in its page's round trip and must check
// before the page is returned (the request whose journal it is).
type guard struct {
	reads []read
	check func() error
}

func guardedListPage[T any](ctx context.Context, s *Store, op, table, cols string, w where, pg Page, scan func(interface{ Scan(...any) error }) (T, error), idOf func(T) int64, g guard) (List[T], error) {
	c := s.read()
	out := List[T]{Items: []T{}}
	counted := w // the count is of the whole list, not from the cursor on
	if pg.After > 0 {
		w.add("id > ?", pg.After)
	}
	limit := pg.limit()
	page := read{q: `SELECT ` + cols + ` FROM ` + table + w.sql() + ` ORDER BY id LIMIT ?`, args: append(w.args, limit+1), each: func(row scanner) error {
		v, err := scan(row)
		out.Items = append(out.Items, v)
		return err
	}}
	if err := c.readAll(ctx, append(g.reads, page)...); err != nil {
		return List[T]{}, s.fail(op, err)
	}
	if g.check != nil {
		if err := g.check(); err != nil {
			return List[T]{}, s.failOrNil(op, err)
		}
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		out.Next = idOf(out.Items[limit-1])
	}
	if pg.After == 0 && out.Next == 0 {
		// The whole list is on its first page (a request's journal
		// mostly is): its count is its length, without a query.
		out.Total = len(out.Items)
		return out, nil
	}
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM `+table+counted.sql(), counted.args...).Scan(&out.Total); err != nil {
		return out, s.fail(op, err)
	}
	return out, nil
}

// notFound names what was not found.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.New(apperr.NotFound, "no such %s", what)
	}
	return err
}

// mustExist checks a reference given in input, naming the field if it is dangling.
func (c conn) mustExist(ctx context.Context, table string, id int64, field, what string) error {
	var found bool
	if err := c.readAll(ctx, existsRead(table, id, &found)); err != nil || found {
		return err
	}
	return noSuch(field, what, id)
}

// noSuch is the error for a reference in input that is dangling.
func noSuch(field, what string, id int64) error {
	return apperr.Field(field, "there is no %s with id %d", what, id)
}

// existsRead reads whether a row of table has the id.
func existsRead(table string, id int64, found *bool) read {
	return read{q: `SELECT 1 FROM ` + table + ` WHERE id = ?`, args: []any{id}, each: func(row scanner) error {
		*found = true
		var one int
		return row.Scan(&one)
	}}
}

func (s *Store) failOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.fail(op, err)
}

// Nullable scan targets, short names for the many optional columns.
type (
	nullInt  = sql.NullInt64
	nullTime = sql.NullTime
)
