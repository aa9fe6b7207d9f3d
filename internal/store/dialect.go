package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"tend/internal/search"
)

// Engine is the SQL engine behind a Store. Everything that differs between
// the two lives in this file.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// sqliteTypes spells PostgreSQL's column types the way SQLite (and the
// modernc driver, which turns TIMESTAMP columns back into time.Time) wants.
var sqliteTypes = strings.NewReplacer(
	"BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY",
	"TIMESTAMPTZ", "TIMESTAMP",
	"BYTEA", "BLOB",
)

// migrationFS serves the migrations for one engine: the shared files with
// types respelled for SQLite, and a file named NNN_x.sqlite.sql or
// NNN_x.postgres.sql only to its own engine.
type migrationFS struct {
	base   fs.FS
	engine Engine
}

func (m migrationFS) Open(name string) (fs.File, error) {
	if name == "." {
		return m.base.Open(name)
	}
	if other := m.otherSuffix(); strings.HasSuffix(name, other) {
		return nil, fs.ErrNotExist
	}
	if m.engine == Postgres {
		return m.base.Open(name)
	}
	b, err := fs.ReadFile(m.base, name)
	if err != nil {
		return nil, err
	}
	return &memFile{name: name, r: strings.NewReader(sqliteTypes.Replace(string(b)))}, nil
}

// Glob is what goose calls; it hides the other engine's files.
func (m migrationFS) Glob(pattern string) ([]string, error) {
	all, err := fs.Glob(m.base, pattern)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, n := range all {
		if !strings.HasSuffix(n, m.otherSuffix()) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (m migrationFS) otherSuffix() string {
	if m.engine == Postgres {
		return ".sqlite.sql"
	}
	return ".postgres.sql"
}

type memFile struct {
	name string
	r    *strings.Reader
}

func (f *memFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return i.f.name }
func (i memInfo) Size() int64        { return i.f.r.Size() }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// rebinds caches queries rewritten from ? to $n for PostgreSQL.
var rebinds sync.Map

// rebind turns the ? placeholders every query is written with into $1, $2…
// (queries hold no literal question marks).
func rebind(e Engine, q string) string {
	if e != Postgres {
		return q
	}
	if v, ok := rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	rebinds.Store(q, b.String())
	return b.String()
}

// isUniqueViolation reports a unique constraint failure on either engine.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isUnavailable reports errors that mean the database cannot be reached,
// as opposed to a query it refused.
func isUnavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// 08: connection exception; 57P01-03: the server is shutting down or starting.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_IOERR || c == sqlite3.SQLITE_FULL
	}
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
}

// Full-text search of requests (search.go): the same Go-made terms in an
// FTS5 table on SQLite and a GIN-indexed tsvector on PostgreSQL
// (00008_search.*.sql).

// searchID and searchOwnMatch are request_search's request id and the
// condition that a row of it has every term of a query (searchQuery.arg).
func searchID(e Engine) string {
	if e == Postgres {
		return "request_id"
	}
	return "rowid"
}

func searchOwnMatch(e Engine) string {
	if e == Postgres {
		return "terms @@ CAST(? AS tsquery)"
	}
	return "request_search MATCH ?"
}

// searchWithinCustomer is where SQLite finds a customer's requests with
// some words, newest first (ListRequests adds "customer_id = ?" and the
// match): the index's matches in id order, from the last, each looked up
// in the customer's index (requests_customer holds the id; the table's
// rows are not read). The index's matches are already narrowed to the
// customer's by its scope term (search.go); the lookup decides. For the
// largest customer at a million requests and a common word this took a
// page from 9 to 0.5 ms and the count to 10 000 from 15 to 8: the general
// form listed every match in memory first, and then read each row.
const searchWithinCustomer = `request_search CROSS JOIN requests INDEXED BY requests_customer ON requests.id = request_search.rowid`

// searchMatch narrows requests to those a query finds. On SQLite these
// are the index's and the staged ones (request_search_pending), whose ids
// searchQuery.staged holds.
func (sq searchQuery) searchMatch(w *where, e Engine) {
	if e == Postgres {
		w.add("id IN (SELECT request_id FROM request_search WHERE terms @@ CAST(? AS tsquery))", sq.arg)
		return
	}
	staged := sq.staged
	if staged == nil {
		staged = []int64{}
	}
	// One list of ids (an OR of two made SQLite read every request).
	w.add("id IN (SELECT rowid FROM request_search WHERE request_search MATCH ? UNION ALL SELECT value FROM json_each(?))", sq.arg, mustJSON(staged))
}

// searchQuery is a search as an engine runs it: every group must match.
type searchQuery struct {
	groups []termGroup
	arg    string  // the FTS5 expression or the tsquery
	staged []int64 // SQLite: the staged requests it finds
}

// termGroup matches a doc that has any of its terms, or, for a prefix, a
// term that begins with its one term.
type termGroup struct {
	terms  []string
	prefix bool
}

// matches says whether a doc (searchDoc.text: terms separated by spaces)
// has one of the group's terms.
func (g termGroup) matches(doc string) bool {
	for _, t := range g.terms {
		for from := 0; ; {
			i := strings.Index(doc[from:], t)
			if i < 0 {
				break
			}
			i += from
			end := i + len(t)
			if (i == 0 || doc[i-1] == ' ') && (g.prefix || end == len(doc) || doc[end] == ' ') {
				return true
			}
			from = i + 1
		}
	}
	return false
}

// maxPrefixTerms is how many indexed terms a prefix may stand for before
// SQLite is left to match the prefix itself.
const maxPrefixTerms = 64

// buildSearch makes the engine's query of q, narrowed to a scope term
// (scopeTerms).
//
// On SQLite a prefix becomes the indexed terms it begins (read from
// request_search_terms): FTS5 merges every posting of a prefix into memory
// before giving the first row (4 ms for a common word at 100 000 requests,
// growing with the table), while a few whole terms stream in id order and
// stop at the page. PostgreSQL's GIN index reads a prefix's postings as
// fast as a term's, so there it stays a prefix.
func (c conn) buildSearch(ctx context.Context, q search.Query, scope []string) (sq searchQuery, err error) {
	if c.s.engine == Postgres {
		var b strings.Builder
		if len(scope) > 0 {
			b.WriteString("(")
			for i, t := range scope {
				if i > 0 {
					b.WriteString(" | ")
				}
				b.WriteString("'" + t + "'")
			}
			b.WriteString(") & ")
		}
		b.WriteString(q.TSQuery())
		return searchQuery{arg: b.String()}, nil
	}
	if len(scope) > 0 {
		sq.groups = append(sq.groups, termGroup{terms: scope})
	}
	for _, t := range q.Terms {
		if !t.Prefix {
			sq.groups = append(sq.groups, termGroup{terms: []string{t.Text}})
			continue
		}
		rows, err := c.query(ctx, `SELECT term FROM request_search_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?`,
			t.Text, t.Text+string(utf8.MaxRune), maxPrefixTerms+1)
		if err != nil {
			return sq, err
		}
		var terms []string
		for rows.Next() {
			var term string
			if err := rows.Scan(&term); err != nil {
				rows.Close()
				return sq, err
			}
			terms = append(terms, term)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sq, err
		}
		if len(terms) == 0 || len(terms) > maxPrefixTerms {
			// None (FTS5 finds that at once) or too many to list.
			sq.groups = append(sq.groups, termGroup{terms: []string{t.Text}, prefix: true})
		} else {
			sq.groups = append(sq.groups, termGroup{terms: terms})
		}
	}
	var b strings.Builder
	for i, g := range sq.groups {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteByte('(')
		for j, t := range g.terms {
			if j > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString(`"` + t + `"`)
		}
		if g.prefix {
			b.WriteByte('*')
		}
		b.WriteByte(')')
	}
	sq.arg = b.String()
	// The staged requests (a second's registrations at most, while the
	// server runs) are matched here, by the query itself: their terms
	// reach the vocabulary when they move into the index.
	staged := []termGroup{}
	if len(scope) > 0 {
		staged = append(staged, termGroup{terms: scope})
	}
	for _, t := range q.Terms {
		staged = append(staged, termGroup{terms: []string{t.Text}, prefix: t.Prefix})
	}
	rows, err := c.query(ctx, `SELECT request_id, terms FROM request_search_pending`)
	if err != nil {
		return sq, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			return sq, err
		}
		if !slices.ContainsFunc(staged, func(g termGroup) bool { return !g.matches(text) }) {
			sq.staged = append(sq.staged, id)
		}
	}
	return sq, rows.Err()
}

// writeSearchDocs writes the index rows of requests, replacing those they
// had, and on SQLite adds their terms to the vocabulary buildSearch reads.
func (c conn) writeSearchDocs(ctx context.Context, docs []searchDoc) error {
	if len(docs) == 0 {
		return nil
	}
	if c.s.engine == Postgres {
		// One statement for a batch: arrays, not a round trip a request.
		ids, terms := make([]int64, len(docs)), make([]string, len(docs))
		for i, d := range docs {
			ids[i], terms[i] = d.id, d.text()
		}
		_, err := c.exec(ctx, `INSERT INTO request_search (request_id, terms)
			SELECT d.id, array_to_tsvector(string_to_array(d.terms, ' ')) FROM unnest(?::bigint[], ?::text[]) AS d(id, terms)
			ON CONFLICT (request_id) DO UPDATE SET terms = excluded.terms`, ids, terms)
		return err
	}
	// A row at a time through the one prepared statement: SQLite runs it
	// in microseconds, and a multi-row form would prepare a statement for
	// every batch size.
	for _, d := range docs {
		if _, err := c.exec(ctx, `INSERT OR REPLACE INTO request_search (rowid, terms) VALUES (?, ?)`, d.id, d.text()); err != nil {
			return err
		}
	}
	return c.addSearchVocabulary(ctx, docs)
}

// addSearchVocabulary adds the docs' terms to request_search_terms
// (SQLite), as one JSON array of distinct terms.
func (c conn) addSearchVocabulary(ctx context.Context, docs []searchDoc) error {
	var vocab []string
	for _, d := range docs {
		vocab = append(vocab, d.terms...)
	}
	if len(docs) > 1 {
		slices.Sort(vocab)
		vocab = slices.Compact(vocab)
	}
	js, err := json.Marshal(vocab)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT OR IGNORE INTO request_search_terms (term) SELECT value FROM json_each(?)`, string(js))
	return err
}

// stageSearchDoc writes one request's index row in the caller's
// transaction, where one request is written (a registration, a change of
// its text); replacing says it may have one already.
//
// On SQLite it is staged in request_search_pending, found by searches
// from there, and moved into the FTS5 table in batches
// (FlushSearchIndex): FTS5 writes a segment for every transaction that
// adds to it, and doing that for each registration took a quarter off
// their rate (1 500 to 1 150 a second at 100 000 requests), where a staged
// row costs what any small insert does. PostgreSQL's GIN index keeps such
// a list of its own (fastupdate).
func (c conn) stageSearchDoc(ctx context.Context, d searchDoc, replacing bool) error {
	if c.s.engine == Postgres {
		return c.writeSearchDocs(ctx, []searchDoc{d})
	}
	if replacing {
		if _, err := c.exec(ctx, `DELETE FROM request_search WHERE rowid = ?`, d.id); err != nil {
			return err
		}
	}
	_, err := c.exec(ctx, `INSERT OR REPLACE INTO request_search_pending (request_id, terms) VALUES (?, ?)`, d.id, d.text())
	return err
}

// flushSearchBatch moves up to n staged index rows into the FTS5 table
// (SQLite) and gives how many it moved.
func (c conn) flushSearchBatch(ctx context.Context, n int) (int, error) {
	rows, err := c.query(ctx, `SELECT request_id, terms FROM request_search_pending ORDER BY request_id LIMIT ?`, n)
	if err != nil {
		return 0, err
	}
	var ids []int64
	var texts []string
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return 0, err
		}
		ids, texts = append(ids, id), append(texts, text)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	docs := make([]searchDoc, len(ids))
	for i, id := range ids {
		// The scope term is last (searchDoc.text) and not a word.
		terms := strings.Fields(texts[i])
		docs[i] = searchDoc{id: id, terms: terms[:len(terms)-1], scope: terms[len(terms)-1]}
	}
	if err := c.writeSearchDocs(ctx, docs); err != nil {
		return 0, err
	}
	_, err = c.exec(ctx, `DELETE FROM request_search_pending WHERE request_id <= ?`, ids[len(ids)-1])
	return len(ids), err
}
