package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
)

// RequestView is a request with everything its page shows.
type RequestView struct {
	desk.Request
	Comments    []desk.Comment  `json:"comments"`
	Proposals   []desk.Proposal `json:"proposals"`
	Attachments []Attachment    `json:"attachments"`
	// Allowed lists the workflow actions the caller may take now.
	Allowed []desk.Action `json:"allowed_actions"`
	// SLA is each clock with its due instant, time left and state, now.
	SLA []Clock `json:"sla"`
	// MailFailures are the notices about the request that could not be
	// sent (mail.go).
	MailFailures []NoticeRecord `json:"mail_failures,omitempty"`
}

// Attachment describes a stored file.
type Attachment struct {
	ID          int64     `json:"id"`
	RequestID   int64     `json:"request_id"`
	CommentID   int64     `json:"comment_id,omitempty"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Internal    bool      `json:"internal"`
	UploadedBy  int64     `json:"uploaded_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	BlobKey     string    `json:"-"`
}

// ActorOf is how the workflow sees the caller on a request.
func ActorOf(p auth.Principal, r desk.Request) desk.Actor {
	return desk.Actor{Role: string(p.Role), OrgID: p.CustomerID, IsRequester: p.AccountID != 0 && p.AccountID == r.RequesterID}
}

// GetRequest reads a request.
func (s *Store) GetRequest(ctx context.Context, p auth.Principal, id int64) (desk.Request, error) {
	r, err := s.read().requestFor(ctx, p, id)
	return r, s.failOrNil("get request", err)
}

// ViewRequest reads a request with its conversation, proposals, files and
// the actions the caller may take. Customers do not see internal notes.
func (s *Store) ViewRequest(ctx context.Context, p auth.Principal, id int64) (RequestView, error) {
	c := s.read()
	// The request and its page's parts are read together (on PostgreSQL
	// in one round trip, pipeline.go); the parts are used once the caller
	// may read the request.
	v := RequestView{Comments: []desk.Comment{}, Proposals: []desk.Proposal{}, Attachments: []Attachment{}}
	var rr readableRequest
	var clocks clockReads
	reads := []read{rr.read(id), commentsRead(id, p.IsCustomer(), &v.Comments), proposalsRead(id, &v.Proposals), attachmentsRead(id, p.IsCustomer(), &v.Attachments)}
	reads = append(reads, clocks.reads(id)...)
	if p.IsStaff() {
		// Failed notices name their recipients, staff among them.
		v.MailFailures = []NoticeRecord{}
		reads = append(reads, noticesRead(id, "failed", &v.MailFailures))
	}
	if err := c.readAll(ctx, reads...); err != nil {
		return RequestView{}, s.fail("view request", err)
	}
	if err := rr.check(p); err != nil {
		return RequestView{}, s.failOrNil("view request", err)
	}
	r := rr.r
	v.Request = r
	if p.Scope != auth.ScopeRead {
		v.Allowed = desk.Allowed(r.WorkflowSubject(), ActorOf(p, r))
	}
	if v.Allowed == nil {
		v.Allowed = []desk.Action{}
	}
	var err error
	if v.SLA, err = clocks.views(r, c.s.cal(), s.Now()); err != nil {
		return v, s.fail("view request", err)
	}
	return v, nil
}

func commentsRead(requestID int64, publicOnly bool, out *[]desk.Comment) read {
	q := `SELECT id, request_id, author_id, author_name, from_staff, internal, body, created_at FROM comments WHERE request_id = ?`
	if publicOnly {
		q += ` AND internal = FALSE`
	}
	return read{q: q + ` ORDER BY id`, args: []any{requestID}, each: func(row scanner) error {
		var cm desk.Comment
		var author nullInt
		if err := row.Scan(&cm.ID, &cm.RequestID, &author, &cm.AuthorName, &cm.FromStaff, &cm.Internal, &cm.Body, &cm.CreatedAt); err != nil {
			return err
		}
		cm.AuthorID = author.Int64
		*out = append(*out, cm)
		return nil
	}}
}

func (c conn) proposals(ctx context.Context, requestID int64) ([]desk.Proposal, error) {
	out := []desk.Proposal{}
	err := c.readAll(ctx, proposalsRead(requestID, &out))
	return out, err
}

func proposalsRead(requestID int64, out *[]desk.Proposal) read {
	return read{q: `SELECT id, request_id, version, scope, effort_hours, deadline, status, proposed_by, proposed_at, decided_by, decided_at, comment
		FROM proposals WHERE request_id = ? ORDER BY version`, args: []any{requestID}, each: func(row scanner) error {
		var pr desk.Proposal
		var decided nullTime
		if err := row.Scan(&pr.ID, &pr.RequestID, &pr.Version, &pr.Scope, &pr.EffortHours, &pr.Deadline, &pr.Status, &pr.ProposedBy, &pr.ProposedAt, &pr.DecidedBy, &decided, &pr.Comment); err != nil {
			return err
		}
		pr.DecidedAt = timePtr(decided)
		*out = append(*out, pr)
		return nil
	}}
}

const attachmentCols = `id, request_id, comment_id, name, content_type, size, sha256, internal, uploaded_by, created_at, blob_key`

func scanAttachment(row scanner) (Attachment, error) {
	var a Attachment
	var comment, by nullInt
	err := row.Scan(&a.ID, &a.RequestID, &comment, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.Internal, &by, &a.CreatedAt, &a.BlobKey)
	a.CommentID, a.UploadedBy = comment.Int64, by.Int64
	return a, err
}

func attachmentsRead(requestID int64, publicOnly bool, out *[]Attachment) read {
	q := `SELECT ` + attachmentCols + ` FROM attachments WHERE request_id = ?`
	if publicOnly {
		q += ` AND internal = FALSE`
	}
	return read{q: q + ` ORDER BY id`, args: []any{requestID}, each: func(row scanner) error {
		a, err := scanAttachment(row)
		if err != nil {
			return err
		}
		*out = append(*out, a)
		return nil
	}}
}

// RequestFilter narrows and orders a queue.
type RequestFilter struct {
	States     []desk.State
	Type       string
	Priority   string
	ProductID  int64
	CustomerID int64
	AssigneeID int64
	Covered    *bool
	Open       *bool  // only open (or only finished) requests
	Query      string // a registration number, or words of the text (search.go)
	Sort       string // "created" (newest first, the default), "activity" (most recent activity first) or "due" (nearest SLA due first; only requests with a running clock)
	Cursor     string // the Next of the previous page
	Limit      int
}

// RequestList is a page of a queue.
type RequestList struct {
	Items []desk.Request `json:"items"`
	// Total counts the matching requests up to MaxCount; TotalCapped says
	// there are more than that.
	Total       int    `json:"total"`
	TotalCapped bool   `json:"total_capped,omitempty"`
	Next        string `json:"next,omitempty"`
}

// listCols are requestCols of the alias r.
var listCols = prefixed("r.", requestCols)

// MaxCount caps the count of a request list. Counting every match of a
// broad filter reads every row it matches: at a million requests that
// took longer than the page itself, on every page (issue 7). Up to the
// cap the count is exact; past it the list says "more than 10 000".
const MaxCount = 10_000

// countCapped counts the rows of a filtered query up to MaxCount.
func (c conn) countCapped(ctx context.Context, table string, w where) (n int, capped bool, err error) {
	err = c.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+table+w.sql()+` LIMIT ?) capped`, append(w.args[:len(w.args):len(w.args)], MaxCount+1)...).Scan(&n)
	if n > MaxCount {
		return MaxCount, true, err
	}
	return n, false, err
}

var openStates = []desk.State{desk.StateReceived, desk.StateClarifying, desk.StateScopeDefined, desk.StateDeadlineAgreed,
	desk.StateAgreed, desk.StateInWork, desk.StateDeployed, desk.StateRolledOut, desk.StateResolved}

// ListRequests lists a queue with keyset pagination: a page is found by
// the sort key of the last row seen, never by OFFSET, so deep pages stay
// as fast as the first and rows added meanwhile do not shift them.
func (s *Store) ListRequests(ctx context.Context, p auth.Principal, f RequestFilter) (RequestList, error) {
	scope, err := auth.ListScope(p, auth.KindRequest)
	if err != nil {
		return RequestList{}, err
	}
	var w where
	w.scope(scope, "customer_id", "requester_id")
	if len(f.States) > 0 {
		w.add("state IN ("+placeholders(len(f.States))+")", anySlice(f.States)...)
	}
	if f.Open != nil {
		op := "IN"
		if !*f.Open {
			op = "NOT IN"
		}
		w.add("state "+op+" ("+placeholders(len(openStates))+")", anySlice(openStates)...)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.Priority != "" {
		w.add("priority = ?", f.Priority)
	}
	if f.ProductID != 0 {
		w.add("product_id = ?", f.ProductID)
	}
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.AssigneeID != 0 {
		w.add("assignee_id = ?", f.AssigneeID)
	}
	if f.Covered != nil {
		w.add("covered = ?", *f.Covered)
	}
	order := "id DESC"
	switch f.Sort {
	case "", "created":
	case "activity":
		order = "last_activity_at DESC, id DESC"
	case "due":
		order = "sla_due_at, id"
		w.add("sla_due_at IS NOT NULL")
	default:
		return RequestList{}, apperr.Field("sort", "sort must be created, activity or due")
	}
	c := s.read()
	out := RequestList{Items: []desk.Request{}}
	// Where the page's ids come from: requests, or the search index
	// (search.go).
	src := listSource{table: "requests", idCol: "id", order: order}
	if f.Query != "" {
		var none bool
		if src, none, err = c.searchList(ctx, p, scope, f, &w, order); err != nil || none {
			return out, s.failOrNil("list requests", err)
		}
	}
	table, idCol, order := src.table, src.idCol, src.order
	if out.Total, out.TotalCapped, err = c.countCapped(ctx, table, w); err != nil {
		return out, s.fail("count requests", err)
	}
	if out.Total += len(src.staged); out.Total > MaxCount {
		out.Total, out.TotalCapped = MaxCount, true
	}
	var before int64 // the cursor's id
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return out, err
		}
		// Row values, so that both engines continue the index range
		// where the last page ended instead of filtering from its start.
		switch f.Sort {
		case "activity":
			w.add("(last_activity_at, id) < (?, ?)", at, id)
		case "due":
			w.add("(sla_due_at, id) > (?, ?)", at, id)
		default:
			w.add(idCol+" < ?", id)
		}
		before = id
	}
	limit := Page{Limit: f.Limit}.limit()
	// The page's ids first, from an index where one covers the filters,
	// then their rows: PostgreSQL otherwise fetched every matching row of
	// a large customer's queue to sort them (its estimate of how many
	// open requests have a due is a hundred times too low), and read
	// ten times the rows of the page (issue 7).
	outer := prefixed("r.", order)
	if table != "requests" {
		outer = "r.id DESC"
	}
	q, args := `SELECT `+listCols+` FROM requests r JOIN (SELECT `+idCol+` AS id FROM `+table+w.sql()+` ORDER BY `+order+` LIMIT ?) page ON page.id = r.id
		ORDER BY `+outer, append(w.args, limit+1)
	if len(src.staged) > 0 {
		ids, err := src.pageIDs(ctx, c, w, limit+1, before)
		if err != nil {
			return out, s.fail("list requests", err)
		}
		q, args = `SELECT `+listCols+` FROM requests r WHERE r.id IN (SELECT value FROM json_each(?)) ORDER BY r.id DESC`, []any{mustJSON(ids)}
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return out, s.fail("list requests", err)
	}
	if err := readPage(rows, &out, limit, f.Sort, encodeCursor); err != nil {
		return out, s.fail("list requests", err)
	}
	return out, nil
}

// readPage scans requests fetched with one row more than limit into out:
// the extra row says there is a next page, whose cursor encode makes from
// the last row's sort key (the due instant when sorted by due, else the
// last activity; an id-sorted cursor ignores it).
func readPage(rows *sql.Rows, out *RequestList, limit int, sort string, encode func(time.Time, int64) string) error {
	defer rows.Close()
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		last := out.Items[limit-1]
		at := last.LastActivityAt
		if sort == "due" && last.SLADueAt != nil {
			at = *last.SLADueAt
		}
		out.Next = encode(at, last.ID)
	}
	return nil
}

func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (time.Time, int64, error) {
	bad := apperr.Field("cursor", "the cursor is not one this server gave out")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ns, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return time.Time{}, 0, bad
	}
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.Unix(0, n).UTC(), i, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anySlice[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// RequestJournal lists a request's journal, oldest first.
func (s *Store) RequestJournal(ctx context.Context, p auth.Principal, id int64, pg Page) (List[Entry], error) {
	var w where
	w.add("entity = ?", "request")
	w.add("entity_id = ?", id)
	if p.IsCustomer() {
		// Internal notes stay internal in the journal too.
		w.add("action NOT IN (?, ?)", "internal_note", "internal_attachment")
		// A notice that failed is the customer's business only when it
		// went to one of their contacts: only then does its entry carry
		// the customer.
		w.add("(action <> ? OR customer_id = ?)", "mail_failed", p.CustomerID)
	}
	// The request is read with the page, one round trip on PostgreSQL.
	var rr readableRequest
	return guardedListPage(ctx, s, "request journal", "journal",
		`id, at, actor_id, actor_name, entity, entity_id, customer_id, action, before_json, after_json, note`,
		w, pg, scanEntry, func(e Entry) int64 { return e.ID },
		guard{reads: []read{rr.read(id)}, check: func() error { return rr.check(p) }})
}
