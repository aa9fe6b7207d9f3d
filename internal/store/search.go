package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/search"
)

// Full-text search of requests (R7.2). The terms of a request's text are
// made in Go (internal/search) and kept in request_search: an FTS5 table on
// SQLite, a GIN-indexed tsvector on PostgreSQL (00008_search.*.sql, the SQL
// that differs in dialect.go). Both engines see only finished terms, so a
// query finds the same requests on either.
//
// The terms are written in the transaction that writes the text: at
// registration (writeRegistration; staged on SQLite, see stageSearchDoc),
// by the bulk loader, and by indexRequest wherever the text changes
// (nothing changes a request's subject or description after registration
// today). Requests registered before the index existed are indexed by
// IndexSearchBacklog.

// searchDoc is what the index holds for one request: the terms of its
// text and its scope term.
type searchDoc struct {
	id    int64
	terms []string
	scope string
}

// newSearchDoc reads a request's number (for the year and serial), subject,
// description and, for a fault, the steps, expected and actual results,
// where error messages are pasted.
func newSearchDoc(id, customerID int64, number, subject, description, steps, expected, actual string) searchDoc {
	terms := withNumberTerms(requestTextTerms(subject, description, steps, expected, actual), number)
	return searchDoc{id: id, terms: terms, scope: scopeTerm(customerID)}
}

func requestSearchDoc(r desk.Request) searchDoc {
	return newSearchDoc(r.ID, r.CustomerID, r.Number, r.Subject, r.Description, r.Steps, r.Expected, r.Actual)
}

// requestTextTerms are the terms of a request's text, without its number:
// registration makes them before it has one.
func requestTextTerms(subject, description, steps, expected, actual string) []string {
	return search.Terms(strings.Join([]string{subject, description, steps, expected, actual}, "\n"))
}

// withNumberTerms adds the terms of a registration number to terms.
func withNumberTerms(terms []string, number string) []string {
	out := append(slices.Clone(terms), search.Terms(number)...)
	slices.Sort(out)
	return slices.Compact(out)
}

// text is the doc as the engines take it: its terms separated by spaces.
func (d searchDoc) text() string {
	if len(d.terms) == 0 {
		return d.scope
	}
	return strings.Join(d.terms, " ") + " " + d.scope
}

// A request's scope term names the customer it was registered for, "§0"
// for none (the triage queue). A search within one customer (a customer's
// own people, or staff filtering by customer) asks the index for that
// customer's term or "§0" beside the words, so the index intersects the
// two lists itself: otherwise a common word was looked up for each of its
// matches in the customer's index (about 20 ms at 100 000 requests for
// the largest customer, ten times that at a million). The customer_id
// condition stays in the SQL and decides: the term only narrows. That
// holds because a request's customer is only ever set once, from none
// (AssignRequest in mail.go); a request moved between customers would need
// indexRequest. "§" is never in a term (terms are letters and digits).
func scopeTerm(customerID int64) string { return "§" + strconv.FormatInt(customerID, 10) }

func scopeTerms(customerID int64) []string {
	if customerID == 0 {
		return nil
	}
	return []string{scopeTerm(customerID), scopeTerm(0)}
}

// indexRequest writes the search terms of r in the caller's transaction,
// replacing those it had: for a change of a request's text.
func (c conn) indexRequest(ctx context.Context, r desk.Request) error {
	return c.stageSearchDoc(ctx, requestSearchDoc(r), true)
}

// textSearch is the q of a list: a registration number, or a search.
type textSearch struct {
	number string
	query  searchQuery
}

// parseTextSearch reads q for a list within customer (0: any). none says
// q has nothing to look for (stop words, punctuation): the list is empty,
// rather than an error, because the desk's search box asks as it is typed
// into, and "и " is on the way to "и турникет".
func (c conn) parseTextSearch(ctx context.Context, q string, customer int64) (ts textSearch, none bool, err error) {
	if number, ok := search.Number(q); ok {
		return textSearch{number: number}, false, nil
	}
	parsed, err := search.Parse(q)
	if err != nil || parsed.Empty() {
		return ts, err == nil, err
	}
	ts.query, err = c.buildSearch(ctx, parsed, scopeTerms(customer))
	return ts, false, err
}

// add narrows w to what the search finds.
func (ts textSearch) add(w *where, e Engine) {
	if ts.number != "" {
		w.add("number = ?", ts.number)
		return
	}
	ts.query.searchMatch(w, e)
}

// listSource is where a list's page of ids comes from: requests, or the
// search index (newest first) and the staged requests it does not hold
// yet, merged by id.
type listSource struct {
	table, idCol, order string
	staged              []int64 // newest first
}

// searchList narrows a list of requests (w, in order) to what f.Query
// finds, and says where its ids come from. none says nothing can match.
//
// Words with nothing else, newest first, are answered by the index alone,
// in id order: it stops at the page (and at the count's cap) without
// reading a request it does not show. So are words within one customer on
// SQLite (searchWithinCustomer). Otherwise the index gives the ids the
// other conditions and the order apply to.
func (c conn) searchList(ctx context.Context, p auth.Principal, scope auth.Scope, f RequestFilter, w *where, order string) (src listSource, none bool, err error) {
	src = listSource{table: "requests", idCol: "id", order: order}
	// The customer the search is within, for the index to narrow by: the
	// caller's, or the one filtered by.
	customer := scope.CustomerID
	if customer == 0 {
		customer = f.CustomerID
	}
	if customer == 0 && scope.OwnerID != 0 {
		customer = p.CustomerID
	}
	ts, none, err := c.parseTextSearch(ctx, f.Query, customer)
	if err != nil || none {
		return src, none, err
	}
	e := c.s.engine
	alone := len(w.conds) == 0
	withinCustomer := e == SQLite && w.only("customer_id = ?")
	if ts.number != "" || order != "id DESC" || !alone && !withinCustomer {
		ts.add(w, e)
		return src, false, nil
	}
	if len(ts.query.staged) > 0 {
		// The staged requests found, within the list's conditions.
		within := where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
		within.add("id IN (SELECT value FROM json_each(?))", mustJSON(ts.query.staged))
		rows, err := c.query(ctx, `SELECT id FROM requests`+within.sql()+` ORDER BY id DESC`, within.args...)
		if err != nil {
			return src, false, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return src, false, err
			}
			src.staged = append(src.staged, id)
		}
		if err := rows.Err(); err != nil {
			return src, false, err
		}
	}
	if alone {
		src.table, src.idCol = "request_search", searchID(e)
	} else {
		src.table, src.idCol = searchWithinCustomer, "request_search.rowid"
	}
	src.order = src.idCol + " DESC"
	w.add(searchOwnMatch(e), ts.query.arg)
	return src, false, nil
}

// pageIDs are the n newest ids of the index's page (w) and the staged
// ones, below before (0: from the newest).
func (src listSource) pageIDs(ctx context.Context, c conn, w where, n int, before int64) ([]int64, error) {
	rows, err := c.query(ctx, `SELECT `+src.idCol+` FROM `+src.table+w.sql()+` ORDER BY `+src.order+` LIMIT ?`, append(w.args, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range src.staged {
		if before == 0 || id < before {
			ids = append(ids, id)
		}
	}
	// Newest first; a request moved into the index meanwhile is in both.
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	ids = slices.Compact(ids)
	return ids[:min(n, len(ids))], nil
}

// searchFlushBatch is how many staged rows FlushSearchIndex moves per
// transaction.
const searchFlushBatch = 1000

// SearchFlushInterval is how often the server moves staged search terms
// into SQLite's FTS5 index. Larger, rarer batches make FTS5 merge less per
// document: moved every second they cost 5–10% of the registration rate
// under load; searches read the staged terms meanwhile, about 1 ms per
// thousand, so a busy desk's searches pay at most some 15 ms.
const SearchFlushInterval = 10 * time.Second

// FlushSearchIndex moves the search terms staged by registrations into
// the index proper (stageSearchDoc), in batches, and gives how many it
// moved. The server runs it every second; searches find staged requests
// meanwhile. On PostgreSQL there is nothing to move.
func (s *Store) FlushSearchIndex(ctx context.Context) (int, error) {
	if s.engine == Postgres {
		return 0, nil
	}
	total := 0
	for {
		var n int
		err := s.tx(ctx, "flush search index", func(c conn) error {
			var err error
			n, err = c.flushSearchBatch(ctx, searchFlushBatch)
			return err
		})
		total += n
		if err != nil || n < searchFlushBatch {
			return total, err
		}
	}
}

// SearchBatch is how many requests the backlog indexes per transaction:
// on SQLite each batch holds the one writer for about 10 ms.
const SearchBatch = 500

// IndexSearchBacklog indexes up to batch (SearchBatch when 0) of the
// requests registered before the search index existed, newest first (the
// ones people look for). It gives how many it indexed and whether any are
// left.
//
// Why in Go, in batches, after start-up: the stemmer is Go code, so the
// migration cannot fill the index in SQL; doing it in the migration would
// hold start-up on a large database for a minute and a half per million
// requests (12 000–14 000 a second here), while serving the desk at once
// and filling the index beside it leaves only the search of old requests
// incomplete for that time. `tend migrate` drains it ahead, for those who upgrade that
// way. The text is read and stemmed outside the write transaction; the
// transaction moves the mark first, so two replicas never index one batch
// twice (the second finds the mark moved and writes nothing).
func (s *Store) IndexSearchBacklog(ctx context.Context, batch int) (indexed int, more bool, err error) {
	if batch <= 0 {
		batch = SearchBatch
	}
	var below int64
	if err := s.read().queryRow(ctx, `SELECT below FROM search_backlog WHERE id = 1`).Scan(&below); err != nil {
		return 0, false, s.fail("index search backlog", err)
	}
	if below <= 1 {
		return 0, false, nil
	}
	rows, err := s.read().query(ctx, `SELECT id, customer_id, number, subject, description, steps, expected, actual FROM requests
		WHERE id < ? ORDER BY id DESC LIMIT ?`, below, batch)
	if err != nil {
		return 0, false, s.fail("index search backlog", err)
	}
	var docs []searchDoc
	for rows.Next() {
		var id int64
		var customer nullInt
		var number, subject, description, steps, expected, actual string
		if err := rows.Scan(&id, &customer, &number, &subject, &description, &steps, &expected, &actual); err != nil {
			rows.Close()
			return 0, false, s.fail("index search backlog", err)
		}
		docs = append(docs, newSearchDoc(id, customer.Int64, number, subject, description, steps, expected, actual))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, s.fail("index search backlog", err)
	}
	next := int64(1) // nothing below this batch: done
	if len(docs) == batch {
		next = docs[len(docs)-1].id
	}
	moved := false
	err = s.tx(ctx, "index search backlog", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE search_backlog SET below = ? WHERE id = 1 AND below = ?`, next, below)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another replica took this batch
		}
		moved = true
		return c.writeSearchDocs(ctx, docs)
	})
	if err != nil {
		return 0, false, err
	}
	if !moved {
		return 0, true, nil
	}
	return len(docs), next > 1, nil
}

// DrainSearchBacklog indexes the whole backlog, resting pause between
// batches so that on SQLite other writers get the write lock between them.
// It gives how many requests it indexed.
func (s *Store) DrainSearchBacklog(ctx context.Context, pause time.Duration) (int, error) {
	total := 0
	for {
		n, more, err := s.IndexSearchBacklog(ctx, SearchBatch)
		total += n
		if err != nil || !more {
			return total, err
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
				return total, s.fail("index search backlog", ctx.Err())
			case <-time.After(pause):
			}
		}
	}
}
