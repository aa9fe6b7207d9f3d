package desk

// The request workflows (R3.5–R3.7, S: 5.1, M: 2.6, 3, 4) as pure state
// machines: no I/O, no clock. Every rule is one row of the table workflowRules
// below; Allowed and Apply only read that table.
//
// The two workflows, by priority:
//
//	emergency: received → deadline_agreed → in_work → deployed → [rolled_out] → resolved → closed
//	normal:    received → scope_defined → agreed → in_work → deployed → [rolled_out] → resolved → closed
//
// Beside the main line:
//
//   - clarifying: the vendor asked the customer a question and waits for the
//     answer (the vendor's clock stops, R3.5). Subject.ReturnState remembers
//     the state the question was asked in; the answer goes back there.
//     Questions may be asked from received, scope_defined, deadline_agreed,
//     agreed, in_work, deployed and rolled_out.
//   - agreements: the vendor proposes (emergency: a deadline; normal: scope,
//     effort and deadline). A proposal does not change the state; it sets
//     Subject.ProposalOpen. Only a customer admin of the request's
//     organisation accepts (emergency received → deadline_agreed, normal
//     scope_defined → agreed) or rejects (state kept, proposal withdrawn).
//     Both may also happen while a question is open: acceptance then settles
//     the question too and the request moves on; rejection leaves it waiting.
//   - consultations: "answer" ends a consultation at the answer, from
//     received, clarifying or in_work, straight to resolved (R3.7).
//   - resolved waits on the customer: confirm (requester or customer admin)
//     or the system's auto_close after the plan's N days close it; reopen
//     (customer, or a desk agent) sends it back to in_work. The reopen window
//     is therefore the time until auto_close: the machine itself keeps no
//     clock.
//   - closed is final for customers; a desk agent or admin may reopen it
//     (→ in_work, with a reason in the journal), because a wrong confirmation
//     must be mendable without a new registration number.
//   - a question left unanswered too long is closed by the system (or a desk
//     agent) as closed_unanswered. ReturnState is kept there, so a late answer
//     (reopen, by the customer or an agent) puts the request back where it
//     was.
//   - cancelled is final: a customer withdraws a request before it is
//     deployed, or the desk cancels one (duplicate, spam) before it is
//     resolved. A reason is required.
//   - reclassify (desk agent or admin, any open state) changes type and/or
//     priority. When the priority changes the request moves to the other
//     workflow at the same stage; the two states without a twin are mapped:
//     emergency deadline_agreed ↔ normal agreed (a normal agreement contains
//     a deadline; a deadline already promised stays the agreement when an
//     emergency is downgraded), normal scope_defined → emergency received
//     (the emergency then needs its deadline agreed). An open proposal is
//     withdrawn when the workflow changes. Emergency is for faults only
//     (R3.3).

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// State is where a request stands in its workflow. The strings are stored
// in the database.
type State string

const (
	StateReceived         State = "received"
	StateClarifying       State = "clarifying"
	StateScopeDefined     State = "scope_defined"   // normal only
	StateDeadlineAgreed   State = "deadline_agreed" // emergency only
	StateAgreed           State = "agreed"          // normal only: effort and deadline agreed
	StateInWork           State = "in_work"
	StateDeployed         State = "deployed"
	StateRolledOut        State = "rolled_out"
	StateResolved         State = "resolved"
	StateClosed           State = "closed"
	StateClosedUnanswered State = "closed_unanswered"
	StateCancelled        State = "cancelled"
)

// Pseudo-states that appear only as Rule.To; Apply and Next never return
// them.
const (
	ToSame   State = "(same)"   // the state does not change
	ToReturn State = "(return)" // back to Subject.ReturnState
	ToMapped State = "(mapped)" // the same stage in the workflow of the new priority
)

// Open reports whether work on the request is still going on or awaited:
// every state but closed, closed_unanswered and cancelled.
func (s State) Open() bool {
	switch s {
	case StateClosed, StateClosedUnanswered, StateCancelled:
		return false
	}
	return s.valid()
}

func (s State) valid() bool {
	return slices.Contains(emergencyStates, s) || slices.Contains(normalStates, s)
}

// Workflow is the state machine a request follows; its priority picks it.
type Workflow string

const (
	WorkflowEmergency Workflow = "emergency" // R3.6
	WorkflowNormal    Workflow = "normal"    // R3.7
)

// flowAny marks a rule that holds in both workflows.
const flowAny Workflow = ""

var (
	emergencyStates = []State{StateReceived, StateClarifying, StateDeadlineAgreed, StateInWork, StateDeployed,
		StateRolledOut, StateResolved, StateClosed, StateClosedUnanswered, StateCancelled}
	normalStates = []State{StateReceived, StateClarifying, StateScopeDefined, StateAgreed, StateInWork, StateDeployed,
		StateRolledOut, StateResolved, StateClosed, StateClosedUnanswered, StateCancelled}
)

// WorkflowOf returns the workflow of a priority, and false for an unknown one.
func WorkflowOf(priority string) (Workflow, bool) {
	switch priority {
	case prioEmergency:
		return WorkflowEmergency, true
	case prioNormal:
		return WorkflowNormal, true
	}
	return "", false
}

// StatesOf lists the states of a workflow in their natural order.
func StatesOf(w Workflow) []State {
	switch w {
	case WorkflowEmergency:
		return slices.Clone(emergencyStates)
	case WorkflowNormal:
		return slices.Clone(normalStates)
	}
	return nil
}

// Action is something an actor does to a request.
type Action string

const (
	ActionTake                Action = "take"                 // staff takes the request on (assignment; state kept)
	ActionAskClarification    Action = "ask_clarification"    // vendor asks the customer a question
	ActionAnswerClarification Action = "answer_clarification" // the customer answers; back to where it was
	ActionDefineScope         Action = "define_scope"         // normal: scope of work defined
	ActionPropose             Action = "propose"              // vendor proposes the agreement
	ActionAcceptProposal      Action = "accept_proposal"      // customer admin accepts it
	ActionRejectProposal      Action = "reject_proposal"      // customer admin rejects it
	ActionStartWork           Action = "start_work"           // work starts (or restarts after a failed deploy)
	ActionDeploy              Action = "deploy"               // fix deployed to the customer's instance
	ActionRollOut             Action = "roll_out"             // rolled out to other instances
	ActionAnswer              Action = "answer"               // consultation answered: resolved at once
	ActionResolve             Action = "resolve"              // resolved (by an update or by instructions)
	ActionConfirm             Action = "confirm"              // the customer confirms the resolution
	ActionAutoClose           Action = "auto_close"           // the system closes a resolved request after N days
	ActionClose               Action = "close"                // the desk closes a resolved request without confirmation
	ActionCloseUnanswered     Action = "close_unanswered"     // a question went unanswered too long
	ActionReopen              Action = "reopen"               // resolved or closed request back to work
	ActionReclassify          Action = "reclassify"           // type and/or priority change
	ActionCancel              Action = "cancel"               // withdrawn by the customer or cancelled by the desk
)

// actionOrder is the stable order of Allowed and of Actions.
var actionOrder = []Action{
	ActionTake, ActionAskClarification, ActionAnswerClarification, ActionDefineScope,
	ActionPropose, ActionAcceptProposal, ActionRejectProposal, ActionStartWork,
	ActionDeploy, ActionRollOut, ActionAnswer, ActionResolve, ActionConfirm,
	ActionAutoClose, ActionClose, ActionCloseUnanswered, ActionReopen,
	ActionReclassify, ActionCancel,
}

// Actions lists every action in the order Allowed reports them.
func Actions() []Action { return slices.Clone(actionOrder) }

// Roles as Actor.Role carries them (the same strings as auth.Role), and the
// system actor that fires timers.
const (
	roleAgent          = "agent"
	roleDeveloper      = "developer"
	roleTester         = "tester"
	roleReleaseManager = "release_manager"
	roleAdmin          = "admin"
	roleCustomerAdmin  = "customer_admin"
	roleOperator       = "operator"
	roleIntegrator     = "integrator"

	// RoleSystem is the role of tend's own timers (auto_close,
	// close_unanswered).
	RoleSystem = "system"
)

// SystemActor is the actor of timer-driven actions.
var SystemActor = Actor{Role: RoleSystem}

// Request types and priorities (R3.2, R3.3), as Subject carries them.
const (
	typeFault        = "fault"
	typeConsultation = "consultation"
	typeImprovement  = "improvement"
	prioEmergency    = "emergency"
	prioNormal       = "normal"
)

// CheckClass reports whether a type and a priority make a valid request
// class. Emergency is for faults only: "a fault that stops normal operation"
// (R3.3); consultations and improvements are always normal.
func CheckClass(typ, priority string) error {
	switch typ {
	case typeFault, typeConsultation, typeImprovement:
	default:
		return fmt.Errorf("unknown type %q (want fault, consultation or improvement)", typ)
	}
	switch priority {
	case prioEmergency:
		if typ != typeFault {
			return fmt.Errorf("only a fault can be an emergency, not a %s", typ)
		}
	case prioNormal:
	default:
		return fmt.Errorf("unknown priority %q (want emergency or normal)", priority)
	}
	return nil
}

// Actor is who acts: a role, the organisation of a customer contact (0 for
// staff and the system) and whether the actor registered this request.
type Actor struct {
	Role        string
	OrgID       int64
	IsRequester bool
}

// Subject is what the workflow needs to know about a request.
type Subject struct {
	Type     string // fault, consultation, improvement
	Priority string // emergency, normal
	State    State
	OrgID    int64 // the customer organisation the request belongs to
	// ReturnState is where an answer returns the request: set while it is
	// clarifying or closed_unanswered, empty otherwise.
	ReturnState State
	// ProposalOpen: the vendor's proposal awaits the customer admin's decision.
	ProposalOpen bool
}

// Workflow returns the workflow the subject's priority selects.
func (s Subject) Workflow() Workflow {
	w, _ := WorkflowOf(s.Priority)
	return w
}

// WaitingOnCustomer reports whether the next move is the customer's: a
// question or a proposal is open (R3.5: the vendor's clock stops).
func WaitingOnCustomer(s Subject) bool {
	return s.State == StateClarifying || (s.ProposalOpen && s.State.Open())
}

// Need names an input a transition requires; the strings are the JSON
// names of the matching Needs fields.
type Need string

const (
	NeedText      Need = "text"             // the question, answer or reason
	NeedScope     Need = "scope"            // the scope of work
	NeedEffort    Need = "effort_hours"     // the estimated effort
	NeedDeadline  Need = "deadline"         // the proposed deadline
	NeedInstance  Need = "instance_id"      // the customer's instance deployed to
	NeedRelease   Need = "release_id"       // the release rolled out
	NeedInstances Need = "instance_ids"     // the instances rolled out to
	NeedClass     Need = "type_or_priority" // the new type and/or priority
)

// Needs carries the inputs a transition may require. Each rule names the
// fields it needs; the others are ignored.
type Needs struct {
	Text        string    `json:"text,omitempty"`
	Scope       string    `json:"scope,omitempty"`
	EffortHours float64   `json:"effort_hours,omitempty"`
	Deadline    time.Time `json:"deadline,omitzero"`
	InstanceID  int64     `json:"instance_id,omitempty"`
	ReleaseID   int64     `json:"release_id,omitempty"`
	InstanceIDs []int64   `json:"instance_ids,omitempty"`
	Type        string    `json:"type,omitempty"`     // reclassify: new type, "" keeps it
	Priority    string    `json:"priority,omitempty"` // reclassify: new priority, "" keeps it
}

// Rule is one row of the workflow table: in workflow Flow (both when
// empty), for request Types (all when nil), from any of From, Action leads
// to To when taken by one of Who with the Needs supplied.
type Rule struct {
	Flow  Workflow
	Types []string
	From  []State
	// WhileClarifying: the rule also holds while a question is open
	// (clarifying) when ReturnState is one of From.
	WhileClarifying bool
	// NeedsProposal: an open proposal is required.
	NeedsProposal bool
	Action        Action
	To            State
	// Who lists the roles that may act. Customer roles act only on their
	// own organisation's requests; an operator or integrator only on a
	// request he registered; a customer admin for the whole organisation.
	Who   []string
	Needs []Need
}

// Role groups used by the table. Admin is in every staff group: an admin
// can do anything staff can.
var (
	whoAllStaff  = []string{roleAgent, roleDeveloper, roleTester, roleReleaseManager, roleAdmin}
	whoDesk      = []string{roleAgent, roleAdmin}                            // the support desk
	whoWorkers   = []string{roleAgent, roleDeveloper, roleTester, roleAdmin} // do and resolve the work
	whoAnalysts  = []string{roleAgent, roleDeveloper, roleAdmin}             // define the scope
	whoDeployers = []string{roleDeveloper, roleTester, roleAdmin}            // deploy to the instance
	whoReleasers = []string{roleReleaseManager, roleAdmin}                   // roll out
	whoCustomer  = []string{roleCustomerAdmin, roleOperator, roleIntegrator} // requester or customer admin
	whoCustAdmin = []string{roleCustomerAdmin}
	whoSystem    = []string{RoleSystem}
)

// State groups used by the table.
var (
	// fromWorking: open and not yet resolved.
	fromWorking = []State{StateReceived, StateClarifying, StateScopeDefined, StateDeadlineAgreed, StateAgreed,
		StateInWork, StateDeployed, StateRolledOut}
	// fromAskable: where a question may be asked (and so where ReturnState may point).
	fromAskable = []State{StateReceived, StateScopeDefined, StateDeadlineAgreed, StateAgreed,
		StateInWork, StateDeployed, StateRolledOut}
	// fromBeforeWork: a customer may still withdraw the request.
	fromBeforeWork = []State{StateReceived, StateClarifying, StateScopeDefined, StateDeadlineAgreed, StateAgreed, StateInWork}
	// fromOpen: every state that is not closed, closed_unanswered or cancelled.
	fromOpen = append(slices.Clone(fromWorking), StateResolved)
)

func whoOf(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func fromStates(s ...State) []State { return s }
func needsOf(n ...Need) []Need      { return n }

// workflowRules is the whole workflow. Allowed and Apply read nothing else.
var workflowRules = []Rule{
	// Assignment.
	{From: fromWorking, Action: ActionTake, To: ToSame, Who: whoAllStaff},

	// Clarification (R3.5): ask, answer, or give up waiting.
	{From: fromAskable, Action: ActionAskClarification, To: StateClarifying, Who: whoWorkers, Needs: needsOf(NeedText)},
	{From: fromStates(StateClarifying), Action: ActionAnswerClarification, To: ToReturn, Who: whoOf(whoCustomer, whoDesk), Needs: needsOf(NeedText)},
	{From: fromStates(StateClarifying), Action: ActionCloseUnanswered, To: StateClosedUnanswered, Who: whoOf(whoSystem, whoDesk)},
	{From: fromStates(StateClosedUnanswered), Action: ActionReopen, To: ToReturn, Who: whoOf(whoCustomer, whoDesk), Needs: needsOf(NeedText)},

	// Emergency: the fix deadline is agreed with the customer (R3.6 step 3).
	{Flow: WorkflowEmergency, From: fromStates(StateReceived), WhileClarifying: true, Action: ActionPropose, To: ToSame, Who: whoDesk, Needs: needsOf(NeedDeadline)},
	{Flow: WorkflowEmergency, From: fromStates(StateReceived), WhileClarifying: true, NeedsProposal: true, Action: ActionAcceptProposal, To: StateDeadlineAgreed, Who: whoCustAdmin},
	{Flow: WorkflowEmergency, From: fromStates(StateReceived), WhileClarifying: true, NeedsProposal: true, Action: ActionRejectProposal, To: ToSame, Who: whoCustAdmin, Needs: needsOf(NeedText)},
	{Flow: WorkflowEmergency, From: fromStates(StateDeadlineAgreed), Action: ActionStartWork, To: StateInWork, Who: whoWorkers},

	// Normal: scope defined, then effort and deadline agreed (R3.7 steps 3–4).
	{Flow: WorkflowNormal, From: fromStates(StateReceived), Action: ActionDefineScope, To: StateScopeDefined, Who: whoAnalysts, Needs: needsOf(NeedScope)},
	{Flow: WorkflowNormal, From: fromStates(StateScopeDefined), WhileClarifying: true, Action: ActionPropose, To: ToSame, Who: whoDesk, Needs: needsOf(NeedScope, NeedEffort, NeedDeadline)},
	{Flow: WorkflowNormal, From: fromStates(StateScopeDefined), WhileClarifying: true, NeedsProposal: true, Action: ActionAcceptProposal, To: StateAgreed, Who: whoCustAdmin},
	{Flow: WorkflowNormal, From: fromStates(StateScopeDefined), WhileClarifying: true, NeedsProposal: true, Action: ActionRejectProposal, To: ToSame, Who: whoCustAdmin, Needs: needsOf(NeedText)},
	{Flow: WorkflowNormal, From: fromStates(StateAgreed), Action: ActionStartWork, To: StateInWork, Who: whoWorkers},

	// The work: deploy to the instance, roll out (in waves) to others, resolve.
	{From: fromStates(StateDeployed, StateRolledOut), Action: ActionStartWork, To: StateInWork, Who: whoWorkers},
	{From: fromStates(StateInWork), Action: ActionDeploy, To: StateDeployed, Who: whoDeployers, Needs: needsOf(NeedInstance)},
	{From: fromStates(StateDeployed, StateRolledOut), Action: ActionRollOut, To: StateRolledOut, Who: whoReleasers, Needs: needsOf(NeedRelease, NeedInstances)},
	{From: fromStates(StateInWork, StateDeployed, StateRolledOut), Action: ActionResolve, To: StateResolved, Who: whoWorkers, Needs: needsOf(NeedText)},

	// A consultation may end at the answer (R3.7).
	{Types: []string{typeConsultation}, From: fromStates(StateReceived, StateClarifying, StateInWork), Action: ActionAnswer, To: StateResolved, Who: whoWorkers, Needs: needsOf(NeedText)},

	// Resolution: the customer confirms or reopens; the system closes after N days.
	{From: fromStates(StateResolved), Action: ActionConfirm, To: StateClosed, Who: whoCustomer},
	{From: fromStates(StateResolved), Action: ActionAutoClose, To: StateClosed, Who: whoSystem},
	{From: fromStates(StateResolved), Action: ActionClose, To: StateClosed, Who: whoDesk, Needs: needsOf(NeedText)},
	{From: fromStates(StateResolved), Action: ActionReopen, To: StateInWork, Who: whoOf(whoCustomer, whoDesk), Needs: needsOf(NeedText)},
	{From: fromStates(StateClosed), Action: ActionReopen, To: StateInWork, Who: whoDesk, Needs: needsOf(NeedText)},

	// Reclassification and cancellation.
	{From: fromOpen, Action: ActionReclassify, To: ToMapped, Who: whoDesk, Needs: needsOf(NeedClass)},
	{From: fromBeforeWork, Action: ActionCancel, To: StateCancelled, Who: whoCustomer, Needs: needsOf(NeedText)},
	{From: fromWorking, Action: ActionCancel, To: StateCancelled, Who: whoDesk, Needs: needsOf(NeedText)},
}

// Rules returns a copy of the workflow table, for documentation and tests.
func Rules() []Rule {
	out := make([]Rule, len(workflowRules))
	for i, r := range workflowRules {
		r.Types = slices.Clone(r.Types)
		r.From = slices.Clone(r.From)
		r.Who = slices.Clone(r.Who)
		r.Needs = slices.Clone(r.Needs)
		out[i] = r
	}
	return out
}

// ErrInvalidSubject is wrapped by errors about a Subject that no workflow
// can hold: an unknown class or state, or clarifying without ReturnState.
var ErrInvalidSubject = errors.New("invalid request for the workflow")

// TransitionError says that an action is not possible now for this actor;
// Allowed lists what the actor may do instead (HTTP 409).
type TransitionError struct {
	State   State
	Action  Action
	Role    string
	Allowed []Action
}

func (e *TransitionError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		parts := make([]string, len(e.Allowed))
		for i, a := range e.Allowed {
			parts[i] = string(a)
		}
		allowed = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s cannot %s a request in state %s; allowed: %s", roleName(e.Role), e.Action, e.State, allowed)
}

func roleName(r string) string {
	if r == "" {
		return "an actor without a role"
	}
	return "role " + r
}

// NeedError says that an input the action requires is missing or wrong.
type NeedError struct {
	Action  Action
	Need    Need
	Problem string // "missing", or what is wrong with the value
}

func (e *NeedError) Error() string {
	return fmt.Sprintf("%s needs %s: %s", e.Action, e.Need, e.Problem)
}

// Allowed lists the actions the actor may take on the request now, in the
// stable order of Actions. It is empty for a subject no workflow can hold.
func Allowed(s Subject, a Actor) []Action {
	if checkWorkflowSubject(s) != nil {
		return nil
	}
	var out []Action
	for _, act := range actionOrder {
		if findRule(s, a, act) != nil {
			out = append(out, act)
		}
	}
	return out
}

// Apply returns the state the action leads to. Use Next to get the whole
// updated Subject (ReturnState, ProposalOpen, class) to store.
func Apply(s Subject, a Actor, act Action, n Needs) (State, error) {
	next, err := Next(s, a, act, n)
	if err != nil {
		return "", err
	}
	return next.State, nil
}

// Next applies the action and returns the updated subject. Errors: a
// subject no workflow holds (ErrInvalidSubject), an action the actor may
// not take now (*TransitionError), an input missing or wrong (*NeedError).
func Next(s Subject, a Actor, act Action, n Needs) (Subject, error) {
	if err := checkWorkflowSubject(s); err != nil {
		return s, err
	}
	r := findRule(s, a, act)
	if r == nil {
		return s, &TransitionError{State: s.State, Action: act, Role: a.Role, Allowed: Allowed(s, a)}
	}
	for _, need := range r.Needs {
		if problem := checkNeed(s, need, n); problem != "" {
			return s, &NeedError{Action: act, Need: need, Problem: problem}
		}
	}

	next := s
	switch r.To {
	case ToSame:
	case ToReturn:
		next.State = s.ReturnState
	case ToMapped:
		next.Type, next.Priority = reclassified(s, n)
		next.State = mapState(s.State, next.Workflow())
		next.ReturnState = mapState(s.ReturnState, next.Workflow())
	default:
		next.State = r.To
	}

	// ReturnState lives only while an answer is awaited.
	switch {
	case act == ActionAskClarification:
		next.ReturnState = s.State
	case next.State != StateClarifying && next.State != StateClosedUnanswered:
		next.ReturnState = ""
	}

	// A proposal belongs to one stage of one workflow.
	switch {
	case act == ActionPropose:
		next.ProposalOpen = true
	case act == ActionAcceptProposal || act == ActionRejectProposal,
		next.Workflow() != s.Workflow(),
		workflowStage(next) != workflowStage(s):
		next.ProposalOpen = false
	}
	return next, nil
}

// workflowStage is the state the request is at, looking through an open
// question. Closing a request unanswered withdraws an open proposal.
func workflowStage(s Subject) State {
	if s.State == StateClarifying {
		return s.ReturnState
	}
	return s.State
}

// findRule returns the rule that lets the actor take the action now.
func findRule(s Subject, a Actor, act Action) *Rule {
	if !mayActOn(s, a) {
		return nil
	}
	flow := s.Workflow()
	for i := range workflowRules {
		r := &workflowRules[i]
		if r.Action != act || (r.Flow != flowAny && r.Flow != flow) {
			continue
		}
		if r.Types != nil && !slices.Contains(r.Types, s.Type) {
			continue
		}
		if r.NeedsProposal && !s.ProposalOpen {
			continue
		}
		if !slices.Contains(r.Who, a.Role) {
			continue
		}
		if slices.Contains(r.From, s.State) ||
			(r.WhileClarifying && s.State == StateClarifying && slices.Contains(r.From, s.ReturnState)) {
			return r
		}
	}
	return nil
}

// mayActOn applies the organisation rule: customers act only on their own
// organisation's requests, operators and integrators only on those they
// registered. Unknown roles act on nothing.
func mayActOn(s Subject, a Actor) bool {
	switch a.Role {
	case roleAgent, roleDeveloper, roleTester, roleReleaseManager, roleAdmin, RoleSystem:
		return true
	case roleCustomerAdmin:
		return a.OrgID != 0 && a.OrgID == s.OrgID
	case roleOperator, roleIntegrator:
		return a.OrgID != 0 && a.OrgID == s.OrgID && a.IsRequester
	}
	return false
}

func checkWorkflowSubject(s Subject) error {
	if err := CheckClass(s.Type, s.Priority); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSubject, err)
	}
	flowStates := StatesOf(s.Workflow())
	if !slices.Contains(flowStates, s.State) {
		return fmt.Errorf("%w: state %q is not in the %s workflow", ErrInvalidSubject, s.State, s.Workflow())
	}
	if s.State == StateClarifying || s.State == StateClosedUnanswered {
		if !slices.Contains(fromAskable, s.ReturnState) || !slices.Contains(flowStates, s.ReturnState) {
			return fmt.Errorf("%w: %s request with return state %q", ErrInvalidSubject, s.State, s.ReturnState)
		}
	}
	return nil
}

// checkNeed returns what is wrong with one need, or "".
func checkNeed(s Subject, need Need, n Needs) string {
	const missing = "missing"
	switch need {
	case NeedText:
		if strings.TrimSpace(n.Text) == "" {
			return missing
		}
	case NeedScope:
		if strings.TrimSpace(n.Scope) == "" {
			return missing
		}
	case NeedEffort:
		if n.EffortHours == 0 {
			return missing
		}
		if n.EffortHours < 0 || math.IsNaN(n.EffortHours) || math.IsInf(n.EffortHours, 0) {
			return "must be a positive number of hours"
		}
	case NeedDeadline:
		if n.Deadline.IsZero() {
			return missing
		}
	case NeedInstance:
		if n.InstanceID == 0 {
			return missing
		}
		if n.InstanceID < 0 {
			return "must be a positive id"
		}
	case NeedRelease:
		if n.ReleaseID == 0 {
			return missing
		}
		if n.ReleaseID < 0 {
			return "must be a positive id"
		}
	case NeedInstances:
		if len(n.InstanceIDs) == 0 {
			return missing
		}
		for _, id := range n.InstanceIDs {
			if id <= 0 {
				return "must be positive ids"
			}
		}
	case NeedClass:
		if n.Type == "" && n.Priority == "" {
			return missing
		}
		typ, prio := reclassified(s, n)
		if err := CheckClass(typ, prio); err != nil {
			return err.Error()
		}
		if typ == s.Type && prio == s.Priority {
			return "type and priority are unchanged"
		}
	default:
		return "unknown need"
	}
	return ""
}

// reclassified is the class after reclassify: empty fields keep the old one.
func reclassified(s Subject, n Needs) (typ, priority string) {
	typ, priority = s.Type, s.Priority
	if n.Type != "" {
		typ = n.Type
	}
	if n.Priority != "" {
		priority = n.Priority
	}
	return typ, priority
}

// mapState returns the state in workflow w at the same stage as st.
func mapState(st State, w Workflow) State {
	switch {
	case w == WorkflowEmergency && st == StateAgreed:
		return StateDeadlineAgreed
	case w == WorkflowEmergency && st == StateScopeDefined:
		return StateReceived
	case w == WorkflowNormal && st == StateDeadlineAgreed:
		return StateAgreed
	}
	return st
}
