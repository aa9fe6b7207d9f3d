package store

// Problems (R3.8): the common cause behind several requests. Problems are
// vendor-internal: access is decided for the kind as a whole, before any
// record is read, so a customer learns nothing about which problems exist.

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
)

var problemResource = auth.Resource{Kind: auth.KindProblem}

var problems = entity[desk.Problem]{
	name: "problem", table: "problems",
	cols: `id, title, analysis, root_cause, resolution_kind, resolution, state, product_id, created_by, created_at, updated_at`,
	scan: func(r scanner) (desk.Problem, error) {
		var p desk.Problem
		var prod, by sql.NullInt64
		err := r.Scan(&p.ID, &p.Title, &p.Analysis, &p.RootCause, &p.ResolutionKind, &p.Resolution, &p.State, &prod, &by, &p.CreatedAt, &p.UpdatedAt)
		p.ProductID, p.CreatedBy = prod.Int64, by.Int64
		return p, err
	},
	resource: func(desk.Problem) auth.Resource { return problemResource },
	id:       func(p *desk.Problem) *int64 { return &p.ID },
	stamp: func(p *desk.Problem, now time.Time, created bool) {
		if created {
			p.CreatedAt = now
		}
		p.UpdatedAt = now
	},
	check: func(ctx context.Context, c conn, p *desk.Problem) error {
		if err := p.Validate(); err != nil {
			return err
		}
		if p.ProductID != 0 {
			return c.mustExist(ctx, "products", p.ProductID, "product_id", "product")
		}
		return nil
	},
	keep: func(b desk.Problem, p *desk.Problem) { p.CreatedAt, p.CreatedBy = b.CreatedAt, b.CreatedBy },
	insert: func(ctx context.Context, c conn, v *desk.Problem) (int64, error) {
		return c.insert(ctx, `INSERT INTO problems (title, analysis, root_cause, resolution_kind, resolution, state, product_id, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.Title, v.Analysis, v.RootCause, v.ResolutionKind, v.Resolution, v.State, nullID(v.ProductID), nullID(v.CreatedBy), v.CreatedAt, v.UpdatedAt)
	},
}

// saveProblem writes a problem that is still in state seen, so two people
// moving one problem at once cannot both win.
func (c conn) saveProblem(ctx context.Context, v desk.Problem, seen desk.ProblemState) error {
	res, err := c.exec(ctx, `UPDATE problems SET title = ?, analysis = ?, root_cause = ?, resolution_kind = ?, resolution = ?, state = ?,
		product_id = ?, updated_at = ? WHERE id = ? AND state = ?`,
		v.Title, v.Analysis, v.RootCause, v.ResolutionKind, v.Resolution, v.State, nullID(v.ProductID), v.UpdatedAt, v.ID, seen)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &apperr.Error{Code: apperr.Conflict, Field: "state", Message: "the problem changed meanwhile; reload and try again"}
	}
	return nil
}

func (c conn) loadProblem(ctx context.Context, id int64) (desk.Problem, error) {
	v, err := problems.scan(c.queryRow(ctx, `SELECT `+problems.cols+` FROM problems WHERE id = ?`, id))
	return v, notFound(err, "problem")
}

// LinkedRequest is what a problem shows of each request linked to it.
type LinkedRequest struct {
	ID         int64      `json:"id"`
	Number     string     `json:"number"`
	Subject    string     `json:"subject"`
	Type       string     `json:"type"`
	Priority   string     `json:"priority"`
	State      desk.State `json:"state"`
	CustomerID int64      `json:"customer_id,omitempty"`
}

// ResolvableRequest is a linked request the caller could resolve now with
// the problem's resolution, and the workflow action that would do it.
type ResolvableRequest struct {
	ID     int64       `json:"id"`
	Number string      `json:"number"`
	Action desk.Action `json:"action"`
}

// ProblemView is a problem with its linked requests.
type ProblemView struct {
	desk.Problem
	Requests []LinkedRequest `json:"requests"`
	// Resolvable lists the linked requests the caller may resolve now, so a
	// page can offer to resolve them with the problem.
	Resolvable []ResolvableRequest `json:"resolvable"`
}

// RequestOutcome says what resolving a problem did to one linked request.
type RequestOutcome struct {
	ID       int64       `json:"id"`
	Number   string      `json:"number"`
	Action   desk.Action `json:"action,omitempty"` // resolve or answer, when taken
	Resolved bool        `json:"resolved"`
	State    desk.State  `json:"state"`            // the request's state afterwards
	Reason   string      `json:"reason,omitempty"` // why it was left as it was
}

// ProblemResolution is the answer of ResolveProblem.
type ProblemResolution struct {
	Problem  ProblemView      `json:"problem"`
	Requests []RequestOutcome `json:"requests"`
}

// ResolveInput says how a problem is resolved.
type ResolveInput struct {
	Kind       desk.ResolutionKind `json:"resolution_kind"`
	Resolution string              `json:"resolution"`
	// ResolveRequests applies the resolution to every linked request the
	// workflow lets the caller resolve now.
	ResolveRequests bool `json:"resolve_requests"`
}

// ProblemFilter narrows ListProblems.
type ProblemFilter struct {
	State     desk.ProblemState
	ProductID int64
	Query     string // text in the title or the root cause
	Page
}

func (c conn) linkedRequests(ctx context.Context, problemID int64) ([]desk.Request, error) {
	rows, err := c.query(ctx, `SELECT `+requestCols+` FROM requests WHERE problem_id = ? ORDER BY id`, problemID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []desk.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// problemView reads the requests linked to v and what the caller could
// resolve of them now.
func (c conn) problemView(ctx context.Context, p auth.Principal, v desk.Problem) (ProblemView, error) {
	view := ProblemView{Problem: v, Requests: []LinkedRequest{}, Resolvable: []ResolvableRequest{}}
	linked, err := c.linkedRequests(ctx, v.ID)
	if err != nil {
		return view, err
	}
	for _, r := range linked {
		view.Requests = append(view.Requests, LinkedRequest{ID: r.ID, Number: r.Number, Subject: r.Subject, Type: r.Type,
			Priority: r.Priority, State: r.State, CustomerID: r.CustomerID})
		if p.Scope == auth.ScopeRead || !auth.Can(p, auth.Update, requestResource(r)) {
			continue
		}
		if action, _ := desk.ResolveAction(r.WorkflowSubject(), ActorOf(p, r)); action != "" {
			view.Resolvable = append(view.Resolvable, ResolvableRequest{ID: r.ID, Number: r.Number, Action: action})
		}
	}
	return view, nil
}

// CreateProblem registers an open problem. A retried call with the same
// Idempotency-Key answers the first problem (replay true).
func (s *Store) CreateProblem(ctx context.Context, p auth.Principal, in desk.NewProblem, idemKey string) (desk.Problem, bool, error) {
	var out desk.Problem
	id, replay, err := s.withKey(ctx, p, "create problem", idemKey, fingerprint(in), func(c conn) (int64, error) {
		if err := auth.Authorize(p, auth.Create, problemResource); err != nil {
			return 0, err
		}
		v := in.Problem()
		v.CreatedBy = p.AccountID
		if err := problems.check(ctx, c, &v); err != nil {
			return 0, err
		}
		problems.stamp(&v, s.Now(), true)
		id, err := problems.insert(ctx, c, &v)
		if err != nil {
			return 0, err
		}
		v.ID = id
		out = v
		return id, c.journal(ctx, p, "problem", id, 0, "created", nil, v, "")
	})
	if err != nil {
		return desk.Problem{}, false, err
	}
	if replay {
		out, err = s.read().loadProblem(ctx, id)
		err = s.failOrNil("create problem", err)
	}
	return out, replay, err
}

// GetProblem reads a problem with its linked requests.
func (s *Store) GetProblem(ctx context.Context, p auth.Principal, id int64) (ProblemView, error) {
	if err := auth.Authorize(p, auth.Read, problemResource); err != nil {
		return ProblemView{}, err
	}
	var view ProblemView
	err := s.readTx(ctx, "get problem", func(c conn) error {
		v, err := c.loadProblem(ctx, id)
		if err != nil {
			return err
		}
		view, err = c.problemView(ctx, p, v)
		return err
	})
	return view, err
}

// readTx runs fn in one transaction on the read pool, so what it reads in
// several queries is one consistent picture.
func (s *Store) readTx(ctx context.Context, op string, fn func(conn) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	defer tx.Rollback()
	return s.failOrNil(op, fn(conn{q: tx, s: s}))
}

// ListProblems lists problems by id, filtered by state, product and text.
func (s *Store) ListProblems(ctx context.Context, p auth.Principal, f ProblemFilter) (List[desk.Problem], error) {
	scope, err := auth.ListScope(p, auth.KindProblem)
	if err != nil {
		return List[desk.Problem]{}, err
	}
	var w where
	w.scope(scope, "0", "0")
	if f.State != "" {
		if _, ok := validProblemState(f.State); !ok {
			return List[desk.Problem]{}, apperr.Field("state", "state must be open, known_error or resolved")
		}
		w.add("state = ?", f.State)
	}
	if f.ProductID != 0 {
		w.add("product_id = ?", f.ProductID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add("(LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(root_cause) LIKE ? ESCAPE '\\')", likeArg(q), likeArg(q))
	}
	return listPage(ctx, s, "list problems", problems.table, problems.cols, w, f.Page, problems.scan, func(v desk.Problem) int64 { return v.ID })
}

func validProblemState(st desk.ProblemState) (desk.ProblemState, bool) {
	for _, s := range desk.ProblemStates {
		if s == st {
			return s, true
		}
	}
	return "", false
}

// UpdateProblem changes a problem's title, analysis, root cause or product,
// or confirms it as a known error.
func (s *Store) UpdateProblem(ctx context.Context, p auth.Principal, id int64, patch desk.ProblemPatch) (desk.Problem, error) {
	var out desk.Problem
	err := s.tx(ctx, "update problem", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, problemResource); err != nil {
			return err
		}
		before, err := c.loadProblem(ctx, id)
		if err != nil {
			return err
		}
		v, err := patch.Apply(before)
		if err != nil {
			return err
		}
		if v == before {
			out = v
			return nil // nothing changes, nothing to record
		}
		if err := problems.check(ctx, c, &v); err != nil {
			return err
		}
		problems.stamp(&v, s.Now(), false)
		if err := c.saveProblem(ctx, v, before.State); err != nil {
			return err
		}
		out = v
		action, note := "updated", ""
		if v.State == desk.ProblemKnownError && before.State != v.State {
			action, note = "known_error", "root cause confirmed: a known error"
		}
		return c.journal(ctx, p, "problem", id, 0, action, before, v, note)
	})
	return out, err
}

// link is what the journal records of a request joining or leaving a problem.
type link struct {
	ProblemID int64  `json:"problem_id,omitempty"`
	RequestID int64  `json:"request_id,omitempty"`
	Number    string `json:"number,omitempty"`
}

// LinkRequest links a request to a problem. A request belongs to at most
// one problem; a closed or cancelled one can still be linked, for the record.
func (s *Store) LinkRequest(ctx context.Context, p auth.Principal, problemID, requestID int64) (desk.Request, error) {
	var out desk.Request
	err := s.tx(ctx, "link request", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, problemResource); err != nil {
			return err
		}
		if requestID <= 0 {
			return apperr.Field("request_id", "say which request to link: request_id is required")
		}
		pr, err := c.loadProblem(ctx, problemID)
		if err != nil {
			return err
		}
		r, err := c.requestFor(ctx, p, requestID)
		if apperr.Is(err, apperr.NotFound) {
			return apperr.Field("request_id", "there is no request with id %d", requestID)
		}
		if err != nil {
			return err
		}
		if err := auth.Authorize(p, auth.Update, requestResource(r)); err != nil {
			return err
		}
		switch r.ProblemID {
		case 0:
		case pr.ID:
			return apperr.New(apperr.Conflict, "request %s is already linked to this problem (%d)", r.Number, pr.ID)
		default:
			other, err := c.loadProblem(ctx, r.ProblemID)
			if err != nil {
				return err
			}
			return &apperr.Error{Code: apperr.Conflict, Field: "request_id",
				Message: "request " + r.Number + " is already linked to problem " + itoa(other.ID) + " (" + other.Title + "); unlink it there first"}
		}
		now := s.Now()
		r.ProblemID = pr.ID
		r.Version++
		r.UpdatedAt = now
		if err := c.saveRequest(ctx, r, r.Version-1); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE problems SET updated_at = ? WHERE id = ?`, now, pr.ID); err != nil {
			return err
		}
		out = r
		if err := c.journal(ctx, p, "problem", pr.ID, 0, "request_linked", nil, link{RequestID: r.ID, Number: r.Number}, r.Number+" linked"); err != nil {
			return err
		}
		return c.journal(ctx, p, "request", r.ID, r.CustomerID, "linked_to_problem", nil, link{ProblemID: pr.ID}, "linked to problem "+itoa(pr.ID))
	})
	return out, err
}

// UnlinkRequest takes a request off a problem.
func (s *Store) UnlinkRequest(ctx context.Context, p auth.Principal, problemID, requestID int64) (desk.Request, error) {
	var out desk.Request
	err := s.tx(ctx, "unlink request", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, problemResource); err != nil {
			return err
		}
		pr, err := c.loadProblem(ctx, problemID)
		if err != nil {
			return err
		}
		r, err := c.requestFor(ctx, p, requestID)
		if err != nil {
			return err
		}
		if err := auth.Authorize(p, auth.Update, requestResource(r)); err != nil {
			return err
		}
		if r.ProblemID != pr.ID {
			return apperr.New(apperr.NotFound, "request %s is not linked to problem %d", r.Number, pr.ID)
		}
		now := s.Now()
		r.ProblemID = 0
		r.Version++
		r.UpdatedAt = now
		if err := c.saveRequest(ctx, r, r.Version-1); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE problems SET updated_at = ? WHERE id = ?`, now, pr.ID); err != nil {
			return err
		}
		out = r
		if err := c.journal(ctx, p, "problem", pr.ID, 0, "request_unlinked", link{RequestID: r.ID, Number: r.Number}, nil, r.Number+" unlinked"); err != nil {
			return err
		}
		return c.journal(ctx, p, "request", r.ID, r.CustomerID, "unlinked_from_problem", link{ProblemID: pr.ID}, nil, "unlinked from problem "+itoa(pr.ID))
	})
	return out, err
}

// ResolveProblem resolves a problem by an update or by instructions and,
// when asked, applies the resolution to every linked request through its
// workflow: "resolve", or "answer" for a consultation. A request the
// workflow does not let the caller resolve now is left as it is, and the
// outcome says why. Everything happens in one transaction.
func (s *Store) ResolveProblem(ctx context.Context, p auth.Principal, problemID int64, in ResolveInput) (ProblemResolution, error) {
	out := ProblemResolution{Requests: []RequestOutcome{}}
	err := s.tx(ctx, "resolve problem", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, problemResource); err != nil {
			return err
		}
		before, err := c.loadProblem(ctx, problemID)
		if err != nil {
			return err
		}
		v, err := before.Resolve(in.Kind, in.Resolution)
		if err != nil {
			return err
		}
		v.UpdatedAt = s.Now()
		if err := c.saveProblem(ctx, v, before.State); err != nil {
			return err
		}
		if in.ResolveRequests {
			linked, err := c.linkedRequests(ctx, problemID)
			if err != nil {
				return err
			}
			for _, r := range linked {
				o, err := c.resolveLinked(ctx, p, r, v.Resolution)
				if err != nil {
					return err
				}
				out.Requests = append(out.Requests, o)
			}
		}
		type resolution struct {
			State    desk.ProblemState   `json:"state"`
			Kind     desk.ResolutionKind `json:"resolution_kind,omitempty"`
			Text     string              `json:"resolution,omitempty"`
			Requests []RequestOutcome    `json:"requests,omitempty"`
		}
		if err := c.journal(ctx, p, "problem", problemID, 0, "resolved",
			resolution{State: before.State}, resolution{v.State, v.ResolutionKind, v.Resolution, out.Requests}, firstLine(v.Resolution)); err != nil {
			return err
		}
		out.Problem, err = c.problemView(ctx, p, v)
		return err
	})
	if err != nil {
		return ProblemResolution{}, err
	}
	return out, nil
}

// resolveLinked resolves one linked request if its workflow allows.
func (c conn) resolveLinked(ctx context.Context, p auth.Principal, r desk.Request, text string) (RequestOutcome, error) {
	o := RequestOutcome{ID: r.ID, Number: r.Number, State: r.State}
	if !auth.Can(p, auth.Update, requestResource(r)) {
		o.Reason = "you may not change this request"
		return o, nil
	}
	actor := ActorOf(p, r)
	action, reason := desk.ResolveAction(r.WorkflowSubject(), actor)
	if action == "" {
		o.Reason = reason
		return o, nil
	}
	done, err := c.act(ctx, p, actor, r, ActInput{Action: action, Needs: desk.Needs{Text: text}})
	if err != nil {
		return o, err
	}
	o.Action, o.Resolved, o.State = action, true, done.State
	return o, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
