package desk

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
)

// Channel is how a request reached the vendor (R3.1).
type Channel string

const (
	ChannelPortal Channel = "portal"
	ChannelEmail  Channel = "email"
	ChannelPhone  Channel = "phone"
	ChannelAPI    Channel = "api"
)

// Types and Priorities list the request classes, in the order forms show them.
var (
	Types      = []string{typeFault, typeConsultation, typeImprovement}
	Priorities = []string{prioNormal, prioEmergency}
)

// PriorityDefinitions are shown wherever a priority is chosen (R3.3).
var PriorityDefinitions = map[string]string{
	prioEmergency: "A fault that stops normal operation and cannot be bypassed by settings or actions in the product.",
	prioNormal:    "Everything else, including consultations and improvement requests.",
}

// Request is a customer's request as the desk keeps it.
type Request struct {
	ID             int64      `json:"id"`
	Number         string     `json:"number"`                // REQ-2026-000123
	CustomerID     int64      `json:"customer_id,omitempty"` // 0: in triage, not yet linked to a customer
	ProductID      int64      `json:"product_id,omitempty"`
	InstanceID     int64      `json:"instance_id,omitempty"`
	RequesterID    int64      `json:"requester_id,omitempty"`
	RequesterName  string     `json:"requester_name"`
	RequesterPhone string     `json:"requester_phone"`
	Channel        Channel    `json:"channel"`
	Type           string     `json:"type"`
	Priority       string     `json:"priority"`
	State          State      `json:"state"`
	ReturnState    State      `json:"return_state,omitempty"`
	ProposalOpen   bool       `json:"proposal_open"`
	Subject        string     `json:"subject"`
	Description    string     `json:"description"`
	Steps          string     `json:"steps,omitempty"`    // fault: steps to reproduce
	Expected       string     `json:"expected,omitempty"` // fault: expected result
	Actual         string     `json:"actual,omitempty"`   // fault: actual result
	Covered        bool       `json:"covered"`
	CoverageReason string     `json:"coverage_reason,omitempty"`
	CoverageNote   string     `json:"coverage_message"`
	LicenseID      int64      `json:"license_id,omitempty"`
	AssigneeID     int64      `json:"assignee_id,omitempty"`
	ProblemID      int64      `json:"problem_id,omitempty"`
	Resolution     string     `json:"resolution,omitempty"`
	Rating         int        `json:"rating,omitempty"` // 1–5, the customer's feedback (R9.2)
	RatingComment  string     `json:"rating_comment,omitempty"`
	WaitingSince   *time.Time `json:"waiting_since,omitempty"` // waiting on the customer since
	RemindedAt     *time.Time `json:"reminded_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	SLADueAt       *time.Time `json:"sla_due_at,omitempty"` // the nearest due of its running SLA clocks
	CreatedBy      int64      `json:"created_by,omitempty"`
	Version        int64      `json:"version"` // optimistic concurrency: send it back with actions
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	LastActivityAt time.Time  `json:"last_activity_at"`
}

// Subject is what the workflow sees of the request.
func (r Request) WorkflowSubject() Subject {
	return Subject{Type: r.Type, Priority: r.Priority, State: r.State, OrgID: r.CustomerID, ReturnState: r.ReturnState, ProposalOpen: r.ProposalOpen}
}

// NewRequest is what registration takes.
type NewRequest struct {
	CustomerID     int64   `json:"customer_id"`  // staff registering on a customer's behalf
	RequesterID    int64   `json:"requester_id"` // staff: the contact who called
	RequesterName  string  `json:"requester_name"`
	RequesterPhone string  `json:"requester_phone"`
	ProductID      int64   `json:"product_id"`
	InstanceID     int64   `json:"instance_id"`
	Channel        Channel `json:"channel"`
	Type           string  `json:"type"`
	Priority       string  `json:"priority"`
	Subject        string  `json:"subject"`
	Description    string  `json:"description"`
	Steps          string  `json:"steps"`
	Expected       string  `json:"expected"`
	Actual         string  `json:"actual"`
}

// Limits on free text, generous for logs pasted into a description.
const (
	maxSubject = 300
	maxText    = 100_000
)

// Validate checks a registration. Channel and requester are settled by the
// store from who is registering; this checks the content.
func (n *NewRequest) Validate() error {
	n.Subject = strings.TrimSpace(n.Subject)
	n.Description = strings.TrimSpace(n.Description)
	n.RequesterName = strings.TrimSpace(n.RequesterName)
	n.RequesterPhone = strings.TrimSpace(n.RequesterPhone)
	if n.Priority == "" {
		n.Priority = prioNormal
	}
	if n.Type == "" {
		return apperr.Field("type", "choose the type: fault, consultation or improvement")
	}
	if err := CheckClass(n.Type, n.Priority); err != nil {
		field := "type"
		if n.Priority != prioNormal {
			field = "priority"
		}
		return apperr.Field(field, "%v", err)
	}
	switch n.Channel {
	case ChannelPortal, ChannelEmail, ChannelPhone, ChannelAPI:
	default:
		return apperr.Field("channel", "channel must be portal, email, phone or api")
	}
	if n.Subject == "" {
		return apperr.Field("subject", "subject is required: say in a line what happened or what you need")
	}
	if utf8.RuneCountInString(n.Subject) > maxSubject {
		return apperr.Field("subject", "subject is longer than %d characters", maxSubject)
	}
	if n.Description == "" {
		return apperr.Field("description", "description is required")
	}
	for field, v := range map[string]string{"description": n.Description, "steps": n.Steps, "expected": n.Expected, "actual": n.Actual} {
		if len(v) > maxText {
			return apperr.Field(field, "%s is longer than %d bytes; attach it as a file instead", field, maxText)
		}
	}
	if n.Type != typeFault && (n.Steps != "" || n.Expected != "" || n.Actual != "") {
		return apperr.Field("steps", "steps, expected and actual results belong to fault reports")
	}
	if n.RequesterName == "" {
		return apperr.Field("requester_name", "the requester's name is required")
	}
	if n.RequesterPhone == "" && n.Channel != ChannelEmail {
		return apperr.Field("requester_phone", "a contact phone is required")
	}
	// A message by e-mail may come from someone whose phone nobody knows yet.
	if n.RequesterPhone != "" && !plausiblePhone(n.RequesterPhone) {
		return apperr.Field("requester_phone", "%q does not look like a phone number", n.RequesterPhone)
	}
	return nil
}

// plausiblePhone accepts the ways people write phone numbers: digits with
// +, spaces, dashes, dots, brackets and an extension.
func plausiblePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .,#/доб.ext", r):
		default:
			return false
		}
	}
	return digits >= 5 && len(s) <= 50
}

// Comment is a message on a request: public (the customer sees it) or
// internal (staff only).
type Comment struct {
	ID         int64     `json:"id"`
	RequestID  int64     `json:"request_id"`
	AuthorID   int64     `json:"author_id,omitempty"`
	AuthorName string    `json:"author_name"`
	FromStaff  bool      `json:"from_staff"`
	Internal   bool      `json:"internal"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// ValidateComment checks a comment body.
func ValidateComment(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return "", apperr.Field("body", "the comment is empty")
	}
	if len(body) > maxText {
		return "", apperr.Field("body", "the comment is longer than %d bytes; attach it as a file instead", maxText)
	}
	return body, nil
}

// ProposalStatus is where a proposal stands.
type ProposalStatus string

const (
	ProposalOpen      ProposalStatus = "open"
	ProposalAccepted  ProposalStatus = "accepted"
	ProposalRejected  ProposalStatus = "rejected"
	ProposalWithdrawn ProposalStatus = "withdrawn" // superseded by a newer one or by reclassification
)

// Proposal is one version of the vendor's offer: a fix deadline
// (emergency) or scope, effort and deadline (normal). All versions are kept.
type Proposal struct {
	ID          int64          `json:"id"`
	RequestID   int64          `json:"request_id"`
	Version     int            `json:"version"`
	Scope       string         `json:"scope,omitempty"`
	EffortHours float64        `json:"effort_hours,omitempty"`
	Deadline    time.Time      `json:"deadline"`
	Status      ProposalStatus `json:"status"`
	ProposedBy  string         `json:"proposed_by"`
	ProposedAt  time.Time      `json:"proposed_at"`
	DecidedBy   string         `json:"decided_by,omitempty"`
	DecidedAt   *time.Time     `json:"decided_at,omitempty"`
	Comment     string         `json:"comment,omitempty"` // the customer's reason
}

// ErrStale is returned when a request changed since the caller read it.
var ErrStale = errors.New("the request changed since you loaded it")
