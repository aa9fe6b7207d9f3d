package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
)

// ActInput is one workflow action on a request.
type ActInput struct {
	Action desk.Action
	Needs  desk.Needs
	// Version is the request version the caller saw; 0 skips the check.
	Version int64
}

// Act takes a workflow action on a request (R3.5–R3.7). The workflow
// decides what is allowed; everything the action changes (state, proposal,
// comment, journal) is written in one transaction, and a request changed
// since the caller read it (Version) is refused, so two agents acting at
// once cannot both win.
func (s *Store) Act(ctx context.Context, p auth.Principal, id int64, in ActInput, idemKey string) (desk.Request, error) {
	if p.Scope == auth.ScopeRead {
		return desk.Request{}, apperr.New(apperr.Forbidden, "this API token may only read")
	}
	var out desk.Request
	_, replay, err := s.withKey(ctx, p, "act on request", idemKey, fingerprint(struct {
		ID int64
		In ActInput
	}{id, in}), func(c conn) (int64, error) {
		r, err := c.requestFor(ctx, p, id)
		if err != nil {
			return 0, err
		}
		out, err = c.act(ctx, p, ActorOf(p, r), r, in)
		return id, err
	})
	if err == nil && replay {
		out, err = s.GetRequest(ctx, p, id)
	}
	return out, err
}

// SystemAct is Act for tend's own timers: reminders, closing unanswered
// and resolved requests. The version check makes a timer fire once even
// when two replicas run it.
func (s *Store) SystemAct(ctx context.Context, id int64, in ActInput) (desk.Request, error) {
	var out desk.Request
	err := s.tx(ctx, "system action", func(c conn) error {
		r, err := c.loadRequest(ctx, id)
		if err != nil {
			return err
		}
		out, err = c.act(ctx, auth.System, desk.SystemActor, r, in)
		return err
	})
	return out, err
}

// workflowError turns the workflow's refusals into our error codes.
func workflowError(err error) error {
	var te *desk.TransitionError
	var ne *desk.NeedError
	switch {
	case errors.As(err, &te):
		allowed := make([]string, len(te.Allowed))
		for i, a := range te.Allowed {
			allowed[i] = string(a)
		}
		return &apperr.Error{Code: apperr.Conflict, Field: "action", Message: te.Error(), Allowed: allowed}
	case errors.As(err, &ne):
		return &apperr.Error{Code: apperr.Invalid, Field: string(ne.Need), Message: ne.Error()}
	}
	return err
}

func (c conn) act(ctx context.Context, p auth.Principal, actor desk.Actor, r desk.Request, in ActInput) (desk.Request, error) {
	if in.Version != 0 && in.Version != r.Version {
		return r, &apperr.Error{Code: apperr.Conflict, Field: "version",
			Message: fmt.Sprintf("the request changed since you loaded it (version %d, now %d); reload and try again", in.Version, r.Version)}
	}
	if err := auth.Authorize(p, auth.Update, requestResource(r)); err != nil {
		return r, err
	}
	n := in.Needs
	n.Text = strings.TrimSpace(n.Text)
	if err := c.checkNeeds(ctx, r, in.Action, n); err != nil {
		return r, err
	}
	next, err := desk.Next(r.WorkflowSubject(), actor, in.Action, n)
	if err != nil {
		return r, workflowError(err)
	}
	now := c.s.Now()
	before := r
	r.Type, r.Priority, r.State, r.ReturnState, r.ProposalOpen = next.Type, next.Priority, next.State, next.ReturnState, next.ProposalOpen

	// The conversation: questions, answers and reasons are public comments.
	commentText := ""
	switch in.Action {
	case desk.ActionAskClarification, desk.ActionAnswerClarification, desk.ActionAnswer, desk.ActionReopen, desk.ActionCancel,
		desk.ActionRejectProposal, desk.ActionAcceptProposal:
		commentText = n.Text
	case desk.ActionDefineScope:
		commentText = "Scope of work: " + n.Scope
		if n.Text != "" {
			commentText += "\n\n" + n.Text
		}
	case desk.ActionResolve:
		commentText = "Resolved: " + n.Text
	}
	if commentText != "" {
		if _, err := c.addComment(ctx, p, r.ID, commentText, false, now); err != nil {
			return r, err
		}
	}

	switch in.Action {
	case desk.ActionTake, desk.ActionStartWork:
		if p.IsStaff() && (in.Action == desk.ActionTake || r.AssigneeID == 0) {
			r.AssigneeID = p.AccountID
		}
	case desk.ActionPropose:
		if err := c.propose(ctx, p, r, n, now); err != nil {
			return r, err
		}
	case desk.ActionAcceptProposal, desk.ActionRejectProposal:
		status := desk.ProposalAccepted
		if in.Action == desk.ActionRejectProposal {
			status = desk.ProposalRejected
		}
		if err := c.decideProposal(ctx, p, r.ID, status, n.Text, now); err != nil {
			return r, err
		}
	case desk.ActionDeploy:
		r.InstanceID = n.InstanceID
	case desk.ActionAnswer, desk.ActionResolve:
		r.Resolution, r.ResolvedAt = n.Text, &now
	case desk.ActionReopen:
		r.ResolvedAt, r.ClosedAt = nil, nil
	}
	if before.ProposalOpen && !r.ProposalOpen && in.Action != desk.ActionAcceptProposal && in.Action != desk.ActionRejectProposal {
		// Reclassification into the other workflow withdraws the offer.
		if err := c.decideProposal(ctx, p, r.ID, desk.ProposalWithdrawn, "withdrawn: "+n.Text, now); err != nil {
			return r, err
		}
	}
	if !r.State.Open() && r.ClosedAt == nil {
		r.ClosedAt = &now
	}
	// The clock of waiting on the customer (R3.5) starts when a question or
	// an offer goes out and stops when the customer moves.
	if desk.WaitingOnCustomer(next) {
		if !desk.WaitingOnCustomer(before.WorkflowSubject()) || in.Action == desk.ActionAskClarification || in.Action == desk.ActionPropose {
			r.WaitingSince, r.RemindedAt = &now, nil
		}
	} else {
		r.WaitingSince, r.RemindedAt = nil, nil
	}
	r.Version++
	r.UpdatedAt, r.LastActivityAt = now, now
	if err := c.saveRequest(ctx, r, before.Version); err != nil {
		return r, err
	}
	if err := c.setWaiting(ctx, r.ID, desk.WaitingOnCustomer(next), now); err != nil {
		return r, err
	}
	// Every action recomputes the clocks: a reclassification changes the
	// targets and the mode, a pause moves the due instants.
	if err := c.applyClocks(ctx, r, desk.ClocksOnAction(in.Action, p.IsStaff()), now); err != nil {
		return r, err
	}
	type change struct {
		State    desk.State `json:"state"`
		Type     string     `json:"type"`
		Priority string     `json:"priority"`
	}
	note := n.Text
	if in.Action == desk.ActionDeploy {
		note = strings.TrimSpace(fmt.Sprintf("instance %d. %s", n.InstanceID, n.Text))
	}
	if in.Action == desk.ActionRollOut {
		note = strings.TrimSpace(fmt.Sprintf("release %d to instances %v. %s", n.ReleaseID, n.InstanceIDs, n.Text))
	}
	return r, c.journal(ctx, p, "request", r.ID, r.CustomerID, string(in.Action),
		change{before.State, before.Type, before.Priority}, change{r.State, r.Type, r.Priority}, note)
}

// checkNeeds checks the inputs that refer to records: they must exist and
// belong where the action says.
func (c conn) checkNeeds(ctx context.Context, r desk.Request, act desk.Action, n desk.Needs) error {
	switch act {
	case desk.ActionDeploy:
		if n.InstanceID == 0 {
			return nil // the workflow names the missing need
		}
		var cust int64
		err := c.queryRow(ctx, `SELECT customer_id FROM instances WHERE id = ?`, n.InstanceID).Scan(&cust)
		if err != nil || cust != r.CustomerID {
			return apperr.Field("instance_id", "deploy to an instance of the request's customer")
		}
	case desk.ActionRollOut:
		for i, id := range n.InstanceIDs {
			if err := c.mustExist(ctx, "instances", id, fmt.Sprintf("instance_ids[%d]", i), "instance"); err != nil {
				return err
			}
		}
	case desk.ActionPropose:
		if !n.Deadline.IsZero() && !n.Deadline.After(c.s.Now()) {
			return apperr.Field("deadline", "the proposed deadline is already past")
		}
		if n.EffortHours < 0 || n.EffortHours > 100_000 {
			return apperr.Field("effort_hours", "effort must be a positive number of hours")
		}
	}
	return nil
}

// saveRequest writes the request if nobody changed it meanwhile.
func (c conn) saveRequest(ctx context.Context, r desk.Request, seen int64) error {
	res, err := c.exec(ctx, `UPDATE requests SET type = ?, priority = ?, state = ?, return_state = ?, proposal_open = ?, instance_id = ?,
		assignee_id = ?, problem_id = ?, resolution = ?, rating = ?, rating_comment = ?, waiting_since = ?, reminded_at = ?, resolved_at = ?, closed_at = ?,
		customer_id = ?, covered = ?, coverage_reason = ?, coverage_message = ?, license_id = ?,
		version = ?, updated_at = ?, last_activity_at = ? WHERE id = ? AND version = ?`,
		r.Type, r.Priority, r.State, r.ReturnState, r.ProposalOpen, nullID(r.InstanceID),
		nullID(r.AssigneeID), nullID(r.ProblemID), r.Resolution, r.Rating, r.RatingComment, r.WaitingSince, r.RemindedAt, r.ResolvedAt, r.ClosedAt,
		nullID(r.CustomerID), r.Covered, r.CoverageReason, r.CoverageNote, nullID(r.LicenseID),
		r.Version, r.UpdatedAt, r.LastActivityAt, r.ID, seen)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &apperr.Error{Code: apperr.Conflict, Field: "version", Message: "the request changed meanwhile; reload and try again"}
	}
	return nil
}

func (c conn) propose(ctx context.Context, p auth.Principal, r desk.Request, n desk.Needs, now time.Time) error {
	if err := c.decideProposal(ctx, p, r.ID, desk.ProposalWithdrawn, "superseded", now); err != nil {
		return err
	}
	var version int
	if err := c.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM proposals WHERE request_id = ?`, r.ID).Scan(&version); err != nil {
		return err
	}
	_, err := c.exec(ctx, `INSERT INTO proposals (request_id, version, scope, effort_hours, deadline, status, proposed_by, proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, version, n.Scope, n.EffortHours, n.Deadline, desk.ProposalOpen, p.Name, now)
	return err
}

// decideProposal closes the open proposal, if any, with status.
func (c conn) decideProposal(ctx context.Context, p auth.Principal, requestID int64, status desk.ProposalStatus, comment string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, comment = ? WHERE request_id = ? AND status = ?`,
		status, p.Name, now, comment, requestID, desk.ProposalOpen)
	return err
}

func (c conn) addComment(ctx context.Context, p auth.Principal, requestID int64, body string, internal bool, now time.Time) (desk.Comment, error) {
	cm := desk.Comment{RequestID: requestID, AuthorID: p.AccountID, AuthorName: p.Name, FromStaff: !p.IsCustomer(), Internal: internal, Body: body, CreatedAt: now}
	id, err := c.insert(ctx, `INSERT INTO comments (request_id, author_id, author_name, from_staff, internal, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		requestID, nullID(p.AccountID), p.Name, cm.FromStaff, internal, body, now)
	cm.ID = id
	return cm, err
}

// AddComment adds a public reply or an internal note (staff only). A
// customer's reply to an open question is the answer: it returns the
// request to the vendor (R3.5).
func (s *Store) AddComment(ctx context.Context, p auth.Principal, requestID int64, body string, internal bool, idemKey string) (desk.Comment, error) {
	body, err := desk.ValidateComment(body)
	if err != nil {
		return desk.Comment{}, err
	}
	if internal && !p.IsStaff() {
		return desk.Comment{}, apperr.Field("internal", "only staff write internal notes")
	}
	var out desk.Comment
	id, replay, err := s.withKey(ctx, p, "add comment", idemKey, fingerprint([]any{requestID, body, internal}), func(c conn) (int64, error) {
		r, err := c.requestFor(ctx, p, requestID)
		if err != nil {
			return 0, err
		}
		if err := auth.Authorize(p, auth.Update, requestResource(r)); err != nil {
			return 0, err
		}
		actor := ActorOf(p, r)
		if !internal && r.State == desk.StateClarifying && p.IsCustomer() {
			if _, err := desk.Apply(r.WorkflowSubject(), actor, desk.ActionAnswerClarification, desk.Needs{Text: body}); err == nil {
				if _, err := c.act(ctx, p, actor, r, ActInput{Action: desk.ActionAnswerClarification, Needs: desk.Needs{Text: body}}); err != nil {
					return 0, err
				}
				return c.lastCommentID(ctx, requestID)
			}
		}
		if !r.State.Open() && p.IsCustomer() {
			return 0, apperr.New(apperr.Conflict, "the request is %s; reopen it or register a new one", r.State)
		}
		now := s.Now()
		out, err = c.addComment(ctx, p, requestID, body, internal, now)
		if err != nil {
			return 0, err
		}
		if _, err := c.exec(ctx, `UPDATE requests SET last_activity_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`, now, now, requestID); err != nil {
			return 0, err
		}
		if !internal && p.IsStaff() {
			if err := c.applyClocks(ctx, r, desk.ClocksOnStaffReply(), now); err != nil {
				return 0, err
			}
		}
		action := "comment"
		if internal {
			action = "internal_note"
		}
		return out.ID, c.journal(ctx, p, "request", requestID, r.CustomerID, action, nil, nil, firstLine(body))
	})
	if err != nil {
		return out, err
	}
	if out.ID == 0 || replay {
		out, err = s.comment(ctx, id)
	}
	return out, err
}

func (c conn) lastCommentID(ctx context.Context, requestID int64) (int64, error) {
	var id int64
	err := c.queryRow(ctx, `SELECT MAX(id) FROM comments WHERE request_id = ?`, requestID).Scan(&id)
	return id, err
}

func (s *Store) comment(ctx context.Context, id int64) (desk.Comment, error) {
	var cm desk.Comment
	var author nullInt
	err := s.read().queryRow(ctx, `SELECT id, request_id, author_id, author_name, from_staff, internal, body, created_at FROM comments WHERE id = ?`, id).
		Scan(&cm.ID, &cm.RequestID, &author, &cm.AuthorName, &cm.FromStaff, &cm.Internal, &cm.Body, &cm.CreatedAt)
	cm.AuthorID = author.Int64
	return cm, s.failOrNil("read comment", err)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Rate records the customer's feedback on a resolved request (R9.2).
func (s *Store) Rate(ctx context.Context, p auth.Principal, requestID int64, rating int, comment string) (desk.Request, error) {
	if rating < 1 || rating > 5 {
		return desk.Request{}, apperr.Field("rating", "rate from 1 (poor) to 5 (excellent)")
	}
	comment = strings.TrimSpace(comment)
	if len(comment) > 10_000 {
		return desk.Request{}, apperr.Field("comment", "the comment is longer than 10000 bytes")
	}
	var out desk.Request
	err := s.tx(ctx, "rate request", func(c conn) error {
		r, err := c.requestFor(ctx, p, requestID)
		if err != nil {
			return err
		}
		if !p.IsCustomer() || !(r.RequesterID == p.AccountID || p.Role == auth.RoleCustomerAdmin) {
			return apperr.New(apperr.Forbidden, "the customer who asked rates the outcome")
		}
		if r.State != desk.StateResolved && r.State != desk.StateClosed {
			return apperr.New(apperr.Conflict, "a request can be rated once it is resolved")
		}
		before := r.Rating
		r.Rating, r.RatingComment = rating, comment
		r.Version++
		r.UpdatedAt = s.Now()
		r.LastActivityAt = r.UpdatedAt
		if err := c.saveRequest(ctx, r, r.Version-1); err != nil {
			return err
		}
		out = r
		return c.journal(ctx, p, "request", r.ID, r.CustomerID, "rated", map[string]int{"rating": before}, map[string]int{"rating": rating}, comment)
	})
	return out, err
}
