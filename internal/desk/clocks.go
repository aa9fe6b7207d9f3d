package desk

// SLA clocks on a request (R4.4): which targets run, and which events
// start, stop and resume them. Pure rules; the store keeps the clocks and
// the sla package does the arithmetic.

// ClockKind names a plan target.
type ClockKind string

const (
	ClockFirstResponse ClockKind = "first_response" // registration → the vendor's first public move
	ClockClarification ClockKind = "clarification"  // the customer's answer → the vendor's next public move
	ClockAgreement     ClockKind = "agreement"      // registration → the customer accepts the proposal
	ClockResolution    ClockKind = "resolution"     // registration → resolved; an agreed deadline replaces its target
)

// ClockKinds in display order.
var ClockKinds = []ClockKind{ClockFirstResponse, ClockClarification, ClockAgreement, ClockResolution}

// ClockOp is one change to a request's clocks.
type ClockOp struct {
	Kind ClockKind
	Op   ClockVerb
}

// ClockVerb says what happens to a clock.
type ClockVerb string

const (
	ClockStart    ClockVerb = "start"    // a new clock of the kind starts now
	ClockStop     ClockVerb = "stop"     // the running clock of the kind is met (or late) now
	ClockResume   ClockVerb = "resume"   // a stopped clock runs again; the stop until now counts as a pause
	ClockDeadline ClockVerb = "deadline" // the agreed deadline replaces the target
	ClockStopAll  ClockVerb = "stop_all" // the request is finished: every clock stops
)

// ClocksAtRegistration lists the clocks a new request starts. A
// consultation needs no agreement; it ends at the answer.
func ClocksAtRegistration(typ string) []ClockOp {
	ops := []ClockOp{{ClockFirstResponse, ClockStart}, {ClockResolution, ClockStart}}
	if typ != typeConsultation {
		ops = append(ops, ClockOp{ClockAgreement, ClockStart})
	}
	return ops
}

// vendorMoves are the actions the customer sees as the vendor's response.
var vendorMoves = map[Action]bool{
	ActionAskClarification: true, ActionDefineScope: true, ActionPropose: true, ActionStartWork: true,
	ActionDeploy: true, ActionRollOut: true, ActionAnswer: true, ActionResolve: true,
}

// ClocksOnAction lists the clock changes an action causes. byStaff is
// whether staff took it (a phone answer logged by an agent is still the
// customer's answer).
func ClocksOnAction(act Action, byStaff bool) []ClockOp {
	var ops []ClockOp
	if byStaff && vendorMoves[act] {
		ops = append(ops, ClockOp{ClockFirstResponse, ClockStop}, ClockOp{ClockClarification, ClockStop})
	}
	switch act {
	case ActionAnswerClarification:
		ops = append(ops, ClockOp{ClockClarification, ClockStart})
	case ActionAcceptProposal:
		ops = append(ops, ClockOp{ClockAgreement, ClockStop}, ClockOp{ClockResolution, ClockDeadline})
	case ActionAnswer, ActionResolve:
		ops = append(ops, ClockOp{ClockResolution, ClockStop})
	case ActionReopen:
		ops = append(ops, ClockOp{ClockResolution, ClockResume})
	case ActionConfirm, ActionAutoClose, ActionClose, ActionCloseUnanswered, ActionCancel:
		ops = append(ops, ClockOp{"", ClockStopAll})
	}
	return ops
}

// ClocksOnStaffReply: a public reply from staff is a response too.
func ClocksOnStaffReply() []ClockOp {
	return []ClockOp{{ClockFirstResponse, ClockStop}, {ClockClarification, ClockStop}}
}
