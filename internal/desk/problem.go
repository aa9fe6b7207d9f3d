package desk

// Problems (R3.8, M: 2.6): several requests with one cause are linked to a
// problem; the problem records the analysis and the root cause, becomes a
// known error once the cause is confirmed (to be published to the knowledge
// base, R7), and is resolved either by an update or by instructions to the
// customer. Resolving a problem offers to resolve its linked requests through
// their own workflow.

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
)

// ProblemState is where a problem stands. The strings are stored.
type ProblemState string

const (
	ProblemOpen       ProblemState = "open"        // being analysed
	ProblemKnownError ProblemState = "known_error" // root cause confirmed, a workaround or fix is known
	ProblemResolved   ProblemState = "resolved"    // resolved by an update or by instructions
)

// ProblemStates lists the states in their natural order.
var ProblemStates = []ProblemState{ProblemOpen, ProblemKnownError, ProblemResolved}

// ResolutionKind is how a problem is resolved.
type ResolutionKind string

const (
	ResolutionUpdate       ResolutionKind = "update"       // an update of the product (R6)
	ResolutionInstructions ResolutionKind = "instructions" // instructions to the customer
)

// problemMoves are the state transitions of a problem: open → known_error
// → resolved, and open → resolved when the cause is fixed at once.
var problemMoves = map[ProblemState][]ProblemState{
	ProblemOpen:       {ProblemKnownError, ProblemResolved},
	ProblemKnownError: {ProblemResolved},
	ProblemResolved:   nil,
}

// Problem is the common cause behind several requests.
type Problem struct {
	ID             int64          `json:"id"`
	Title          string         `json:"title"`
	Analysis       string         `json:"analysis"`
	RootCause      string         `json:"root_cause"`
	ResolutionKind ResolutionKind `json:"resolution_kind,omitempty"`
	Resolution     string         `json:"resolution,omitempty"`
	State          ProblemState   `json:"state"`
	ProductID      int64          `json:"product_id,omitempty"`
	CreatedBy      int64          `json:"created_by,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// maxTitle is the longest problem title, in characters.
const maxTitle = 300

// Validate trims and checks a problem as it is to be stored: a title, a
// known state, and for a resolved problem its kind and resolution text.
func (p *Problem) Validate() error {
	p.Title = strings.TrimSpace(p.Title)
	p.Analysis = strings.TrimSpace(p.Analysis)
	p.RootCause = strings.TrimSpace(p.RootCause)
	p.Resolution = strings.TrimSpace(p.Resolution)
	if p.Title == "" {
		return apperr.Field("title", "title is required: say in a line what goes wrong")
	}
	if utf8.RuneCountInString(p.Title) > maxTitle {
		return apperr.Field("title", "title is longer than %d characters", maxTitle)
	}
	for field, v := range map[string]string{"analysis": p.Analysis, "root_cause": p.RootCause, "resolution": p.Resolution} {
		if len(v) > maxText {
			return apperr.Field(field, "%s is longer than %d bytes; attach it as a file instead", field, maxText)
		}
	}
	if _, ok := problemMoves[p.State]; !ok {
		return apperr.Field("state", "state must be open, known_error or resolved")
	}
	if p.ProductID < 0 {
		return apperr.Field("product_id", "product_id must be a positive id")
	}
	if p.ResolutionKind != "" && p.ResolutionKind != ResolutionUpdate && p.ResolutionKind != ResolutionInstructions {
		return apperr.Field("resolution_kind", "resolution_kind must be update or instructions")
	}
	if p.State == ProblemResolved {
		if p.ResolutionKind == "" {
			return apperr.Field("resolution_kind", "say how the problem is resolved: update or instructions")
		}
		if p.Resolution == "" {
			return apperr.Field("resolution", "describe the resolution: the update to install or the instructions to follow")
		}
	}
	return nil
}

// CheckProblemMove reports whether a problem may go from one state to
// another; staying in the same state is always allowed. A refusal is a
// conflict that lists the states the problem may move to.
func CheckProblemMove(from, to ProblemState) error {
	if from == to {
		return nil
	}
	next, ok := problemMoves[from]
	if !ok {
		return apperr.Field("state", "unknown problem state %q", from)
	}
	if _, ok := problemMoves[to]; !ok {
		return apperr.Field("state", "state must be open, known_error or resolved")
	}
	if slices.Contains(next, to) {
		return nil
	}
	allowed := make([]string, len(next))
	for i, s := range next {
		allowed[i] = string(s)
	}
	msg := fmt.Sprintf("a %s problem cannot become %s", from, to)
	if len(allowed) == 0 {
		msg += "; it is final"
	} else {
		msg += "; it may become " + strings.Join(allowed, " or ")
	}
	return &apperr.Error{Code: apperr.Conflict, Field: "state", Message: msg, Allowed: allowed}
}

// Resolve returns the problem resolved with kind and text, or why it
// cannot be.
func (p Problem) Resolve(kind ResolutionKind, text string) (Problem, error) {
	if err := CheckProblemMove(p.State, ProblemResolved); err != nil {
		return p, err
	}
	if p.State == ProblemResolved {
		return p, &apperr.Error{Code: apperr.Conflict, Field: "state", Message: "the problem is already resolved"}
	}
	p.State, p.ResolutionKind, p.Resolution = ProblemResolved, kind, text
	return p, p.Validate()
}

// NewProblem is what registering a problem takes.
type NewProblem struct {
	Title     string `json:"title"`
	Analysis  string `json:"analysis"`
	RootCause string `json:"root_cause"`
	ProductID int64  `json:"product_id"`
}

// Problem is the problem NewProblem registers, open.
func (n NewProblem) Problem() Problem {
	return Problem{Title: n.Title, Analysis: n.Analysis, RootCause: n.RootCause, ProductID: n.ProductID, State: ProblemOpen}
}

// ProblemPatch changes a problem; nil fields keep their values. The state
// may only become known_error here: resolving has its own operation, since
// it also offers to resolve the linked requests.
type ProblemPatch struct {
	Title     *string       `json:"title"`
	Analysis  *string       `json:"analysis"`
	RootCause *string       `json:"root_cause"`
	ProductID *int64        `json:"product_id"` // 0 clears it
	State     *ProblemState `json:"state"`
}

// Apply returns the problem with the patch applied and checked.
func (pt ProblemPatch) Apply(p Problem) (Problem, error) {
	if pt.Title != nil {
		p.Title = *pt.Title
	}
	if pt.Analysis != nil {
		p.Analysis = *pt.Analysis
	}
	if pt.RootCause != nil {
		p.RootCause = *pt.RootCause
	}
	if pt.ProductID != nil {
		p.ProductID = *pt.ProductID
	}
	if pt.State != nil && *pt.State != p.State {
		if *pt.State == ProblemResolved {
			return p, &apperr.Error{Code: apperr.Conflict, Field: "state",
				Message: "resolve a problem with POST /api/v1/problems/{id}/resolve: it records the resolution and offers to resolve the linked requests"}
		}
		if err := CheckProblemMove(p.State, *pt.State); err != nil {
			return p, err
		}
		p.State = *pt.State
	}
	return p, p.Validate()
}

// ResolveAction says how a request linked to a problem is resolved with
// the problem's resolution by actor now: "answer" for a consultation that
// may end at the answer, otherwise "resolve". When the workflow does not
// allow either, action is empty and reason says why in plain words.
func ResolveAction(s Subject, a Actor) (action Action, reason string) {
	probe := Needs{Text: "resolution"}
	if s.Type == typeConsultation {
		if _, err := Next(s, a, ActionAnswer, probe); err == nil {
			return ActionAnswer, ""
		}
	}
	if _, err := Next(s, a, ActionResolve, probe); err == nil {
		return ActionResolve, ""
	}
	return "", unresolvableReason(s, a)
}

// unresolvableReason explains, in words a support agent would use, why a
// request cannot be resolved now.
func unresolvableReason(s Subject, a Actor) string {
	if checkWorkflowSubject(s) != nil {
		return "the request is not in a state its workflow knows"
	}
	// The state first: it is the usual reason, whoever asks.
	switch s.State {
	case StateResolved:
		return "already resolved; it waits for the customer's confirmation"
	case StateClosed:
		return "already closed"
	case StateClosedUnanswered:
		return "closed after the customer left a question unanswered; reopen it first"
	case StateCancelled:
		return "cancelled"
	case StateClarifying:
		return "waiting for the customer's answer to a question"
	case StateReceived:
		if s.Workflow() == WorkflowEmergency {
			if s.ProposalOpen {
				return "an emergency whose fix deadline awaits the customer's acceptance"
			}
			return "an emergency still awaiting its deadline agreement with the customer"
		}
		return "the scope of work is not defined yet, nor effort and deadline agreed with the customer"
	case StateScopeDefined:
		if s.ProposalOpen {
			return "the proposed effort and deadline await the customer's acceptance"
		}
		return "effort and deadline are not agreed with the customer yet"
	case StateDeadlineAgreed, StateAgreed:
		return "the deadline is agreed but work has not started; start the work first"
	}
	// In work, deployed or rolled out: then it is the actor's role.
	return fmt.Sprintf("%s may not resolve requests", roleName(a.Role))
}
