package desk

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	wfOrg      int64 = 10
	wfOtherOrg int64 = 20
)

// Actors used throughout.
var (
	wfAgent          = Actor{Role: "agent"}
	wfDeveloper      = Actor{Role: "developer"}
	wfTester         = Actor{Role: "tester"}
	wfReleaseManager = Actor{Role: "release_manager"}
	wfAdmin          = Actor{Role: "admin"}
	wfCustAdmin      = Actor{Role: "customer_admin", OrgID: wfOrg}
	wfRequester      = Actor{Role: "operator", OrgID: wfOrg, IsRequester: true}
	wfIntegrator     = Actor{Role: "integrator", OrgID: wfOrg, IsRequester: true}
	wfOtherOperator  = Actor{Role: "operator", OrgID: wfOrg} // same org, not the requester
	wfForeignAdmin   = Actor{Role: "customer_admin", OrgID: wfOtherOrg, IsRequester: true}
)

var wfStaffRoles = []string{"agent", "developer", "tester", "release_manager", "admin"}

// classes are every valid type/priority pair.
var wfClasses = []struct{ typ, prio string }{
	{"fault", "emergency"},
	{"fault", "normal"},
	{"consultation", "normal"},
	{"improvement", "normal"},
}

// testStates is the test's own statement of each workflow's states.
var wfStates = map[string][]State{
	"emergency": {"received", "clarifying", "deadline_agreed", "in_work", "deployed", "rolled_out", "resolved", "closed", "closed_unanswered", "cancelled"},
	"normal":    {"received", "clarifying", "scope_defined", "agreed", "in_work", "deployed", "rolled_out", "resolved", "closed", "closed_unanswered", "cancelled"},
}

// testAskable: where a question may be asked, hence where ReturnState points.
var wfAskable = []State{"received", "scope_defined", "deadline_agreed", "agreed", "in_work", "deployed", "rolled_out"}

// testTwin maps states without a twin when a request changes workflow.
var wfTwin = map[string]map[State]State{
	"emergency": {"agreed": "deadline_agreed", "scope_defined": "received"},
	"normal":    {"deadline_agreed": "agreed"},
}

// allSubjects lists every subject a workflow can hold, for org testOrg.
func wfSubjects() []Subject {
	var out []Subject
	for _, c := range wfClasses {
		flow := wfStates[c.prio]
		for _, st := range flow {
			returns := []State{""}
			if st == "clarifying" || st == "closed_unanswered" {
				returns = nil
				for _, r := range wfAskable {
					if slices.Contains(flow, r) {
						returns = append(returns, r)
					}
				}
			}
			for _, ret := range returns {
				for _, prop := range []bool{false, true} {
					out = append(out, Subject{Type: c.typ, Priority: c.prio, State: st, OrgID: wfOrg, ReturnState: ret, ProposalOpen: prop})
				}
			}
		}
	}
	return out
}

// allActors lists every kind of actor: each staff role, the system, each
// customer role as requester, as a colleague, from another organisation and
// without one, and actors with unknown roles.
func wfActors() []Actor {
	var out []Actor
	for _, r := range wfStaffRoles {
		out = append(out, Actor{Role: r})
	}
	out = append(out, Actor{Role: "system"})
	for _, r := range []string{"customer_admin", "operator", "integrator"} {
		out = append(out,
			Actor{Role: r, OrgID: wfOrg, IsRequester: true},
			Actor{Role: r, OrgID: wfOrg},
			Actor{Role: r, OrgID: wfOtherOrg, IsRequester: true},
			Actor{Role: r, OrgID: 0, IsRequester: true},
		)
	}
	return append(out, Actor{}, Actor{Role: "guest", OrgID: wfOrg, IsRequester: true})
}

func wfDescribe(s Subject, a Actor) string {
	return fmt.Sprintf("%s/%s in %s (return %q, proposal %v) by %s org %d requester %v",
		s.Type, s.Priority, s.State, s.ReturnState, s.ProposalOpen, a.Role, a.OrgID, a.IsRequester)
}

// actsForOrg is the test's statement of the organisation rule.
func wfActsForOrg(s Subject, a Actor) bool {
	switch a.Role {
	case "agent", "developer", "tester", "release_manager", "admin", "system":
		return true
	case "customer_admin":
		return a.OrgID != 0 && a.OrgID == s.OrgID
	case "operator", "integrator":
		return a.OrgID != 0 && a.OrgID == s.OrgID && a.IsRequester
	}
	return false
}

// ruleCovers reports whether one row of the table lets a take act on s.
func wfRuleCovers(r Rule, s Subject, a Actor, act Action) bool {
	if r.Action != act || !wfActsForOrg(s, a) || !slices.Contains(r.Who, a.Role) {
		return false
	}
	if r.Flow != "" && string(r.Flow) != s.Priority {
		return false
	}
	if r.Types != nil && !slices.Contains(r.Types, s.Type) {
		return false
	}
	if r.NeedsProposal && !s.ProposalOpen {
		return false
	}
	return slices.Contains(r.From, s.State) ||
		(r.WhileClarifying && s.State == "clarifying" && slices.Contains(r.From, s.ReturnState))
}

// covering returns the indexes of the rules that cover the attempt.
func wfCovering(s Subject, a Actor, act Action) []int {
	var idx []int
	for i, r := range Rules() {
		if wfRuleCovers(r, s, a, act) {
			idx = append(idx, i)
		}
	}
	return idx
}

// expectedTo resolves a rule's target for s and the needs given.
func wfExpectedTo(r Rule, s Subject, n Needs) State {
	switch r.To {
	case ToSame:
		return s.State
	case ToReturn:
		return s.ReturnState
	case ToMapped:
		prio := s.Priority
		if n.Priority != "" {
			prio = n.Priority
		}
		if to, ok := wfTwin[prio][s.State]; ok {
			return to
		}
		return s.State
	}
	return r.To
}

// fullNeeds supplies every input any rule may need, valid for s.
func wfFullNeeds(s Subject) Needs {
	n := Needs{
		Text:        "some words",
		Scope:       "change the export",
		EffortHours: 16,
		Deadline:    time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC),
		InstanceID:  7,
		ReleaseID:   3,
		InstanceIDs: []int64{7, 8},
	}
	switch {
	case s.Type == "fault" && s.Priority == "emergency":
		n.Priority = "normal"
	case s.Type == "fault":
		n.Priority = "emergency"
	case s.Type == "consultation":
		n.Type = "improvement"
	default:
		n.Type = "fault"
	}
	return n
}

// withoutNeed zeroes the input one need names.
func wfWithoutNeed(n Needs, need Need) Needs {
	switch need {
	case NeedText:
		n.Text = ""
	case NeedScope:
		n.Scope = "  "
	case NeedEffort:
		n.EffortHours = 0
	case NeedDeadline:
		n.Deadline = time.Time{}
	case NeedInstance:
		n.InstanceID = 0
	case NeedRelease:
		n.ReleaseID = 0
	case NeedInstances:
		n.InstanceIDs = nil
	case NeedClass:
		n.Type, n.Priority = "", ""
	default:
		panic("unknown need " + need)
	}
	return n
}

func TestRuleTableIsSound(t *testing.T) {
	known := append(slices.Clone(wfStaffRoles), "customer_admin", "operator", "integrator", "system")
	for i, r := range Rules() {
		name := fmt.Sprintf("rule %d (%s)", i, r.Action)
		if !slices.Contains(Actions(), r.Action) {
			t.Errorf("%s: action not in Actions()", name)
		}
		if len(r.From) == 0 || len(r.Who) == 0 {
			t.Errorf("%s: empty From or Who", name)
		}
		for _, who := range r.Who {
			if !slices.Contains(known, who) {
				t.Errorf("%s: unknown role %q", name, who)
			}
		}
		flows := []string{"emergency", "normal"}
		if r.Flow != "" {
			flows = []string{string(r.Flow)}
		}
		for _, st := range r.From {
			in := false
			for _, f := range flows {
				in = in || slices.Contains(wfStates[f], st)
			}
			if !in {
				t.Errorf("%s: from state %q is in none of its workflows", name, st)
			}
		}
		switch r.To {
		case ToSame, ToMapped:
		case ToReturn:
			for _, st := range r.From {
				if st != "clarifying" && st != "closed_unanswered" {
					t.Errorf("%s: returns from %q, which keeps no return state", name, st)
				}
			}
		default:
			for _, f := range flows {
				if !slices.Contains(wfStates[f], r.To) {
					t.Errorf("%s: target %q is not in the %s workflow", name, r.To, f)
				}
			}
		}
		if r.NeedsProposal && r.Action != ActionAcceptProposal && r.Action != ActionRejectProposal {
			t.Errorf("%s: only deciding on a proposal needs one", name)
		}
		if r.Action == ActionPropose && len(r.Needs) == 0 {
			t.Errorf("%s: a proposal must carry its terms", name)
		}
	}
	// Every action has a rule, and every rule is reachable by someone.
	for _, act := range Actions() {
		if !slices.ContainsFunc(Rules(), func(r Rule) bool { return r.Action == act }) {
			t.Errorf("action %s has no rule", act)
		}
	}
	used := make([]bool, len(Rules()))
	for _, s := range wfSubjects() {
		for _, a := range wfActors() {
			for _, act := range Actions() {
				idx := wfCovering(s, a, act)
				if len(idx) > 1 {
					t.Errorf("%s %s: rules %v overlap", wfDescribe(s, a), act, idx)
				}
				for _, i := range idx {
					used[i] = true
				}
			}
		}
	}
	for i, u := range used {
		if !u {
			t.Errorf("rule %d (%s) applies to no request", i, Rules()[i].Action)
		}
	}
}

// TestEveryAllowedTransition walks every (subject, actor, action) the table
// allows and checks that Apply takes it to the rule's target.
func TestEveryAllowedTransition(t *testing.T) {
	count := 0
	for _, s := range wfSubjects() {
		for _, a := range wfActors() {
			for _, act := range Actions() {
				idx := wfCovering(s, a, act)
				if len(idx) == 0 {
					continue
				}
				count++
				r := Rules()[idx[0]]
				n := wfFullNeeds(s)
				got, err := Apply(s, a, act, n)
				if err != nil {
					t.Errorf("%s %s: %v", wfDescribe(s, a), act, err)
					continue
				}
				if want := wfExpectedTo(r, s, n); got != want {
					t.Errorf("%s %s: got %s, want %s", wfDescribe(s, a), act, got, want)
				}
				if !slices.Contains(Allowed(s, a), act) {
					t.Errorf("%s: Allowed %v lacks %s", wfDescribe(s, a), Allowed(s, a), act)
				}
			}
		}
	}
	if count < 500 {
		t.Fatalf("only %d allowed transitions enumerated; the fixtures are broken", count)
	}
	t.Logf("%d allowed transitions checked", count)
}

// TestEveryForbiddenTransition takes the complement of the table: every
// other (subject, actor, action), plus an unknown action, must fail with a
// TransitionError that lists exactly what the actor may do.
func TestEveryForbiddenTransition(t *testing.T) {
	count := 0
	actions := append(Actions(), "fly", "")
	for _, s := range wfSubjects() {
		for _, a := range wfActors() {
			var want []Action
			for _, act := range Actions() {
				if len(wfCovering(s, a, act)) > 0 {
					want = append(want, act)
				}
			}
			if got := Allowed(s, a); !slices.Equal(got, want) {
				t.Errorf("%s: Allowed = %v, want %v", wfDescribe(s, a), got, want)
			}
			for _, act := range actions {
				if slices.Contains(want, act) {
					continue
				}
				count++
				got, err := Apply(s, a, act, wfFullNeeds(s))
				var te *TransitionError
				if !errors.As(err, &te) {
					t.Errorf("%s %s: got %q, %v; want a TransitionError", wfDescribe(s, a), act, got, err)
					continue
				}
				if got != "" || te.State != s.State || te.Action != act || te.Role != a.Role || !slices.Equal(te.Allowed, want) {
					t.Errorf("%s %s: got %q, %+v; want allowed %v", wfDescribe(s, a), act, got, te, want)
				}
			}
		}
	}
	t.Logf("%d forbidden transitions checked", count)
}

func TestAllowedByRole(t *testing.T) {
	emergency := Subject{Type: "fault", Priority: "emergency", State: StateReceived, OrgID: wfOrg}
	proposed := emergency
	proposed.ProposalOpen = true
	consultation := Subject{Type: "consultation", Priority: "normal", State: StateReceived, OrgID: wfOrg}
	inWork := Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}
	deployed := Subject{Type: "fault", Priority: "normal", State: StateDeployed, OrgID: wfOrg}
	resolved := Subject{Type: "fault", Priority: "normal", State: StateResolved, OrgID: wfOrg}
	asking := Subject{Type: "fault", Priority: "emergency", State: StateClarifying, ReturnState: StateReceived, OrgID: wfOrg, ProposalOpen: true}
	closed := Subject{Type: "fault", Priority: "normal", State: StateClosed, OrgID: wfOrg}
	unanswered := Subject{Type: "fault", Priority: "normal", State: StateClosedUnanswered, ReturnState: StateInWork, OrgID: wfOrg}
	cancelled := Subject{Type: "fault", Priority: "normal", State: StateCancelled, OrgID: wfOrg}

	tests := []struct {
		name string
		s    Subject
		a    Actor
		want string
	}{
		{"emergency agent", emergency, wfAgent, "take ask_clarification propose reclassify cancel"},
		{"emergency developer", emergency, wfDeveloper, "take ask_clarification"},
		{"emergency release manager", emergency, wfReleaseManager, "take"},
		{"emergency customer admin", emergency, wfCustAdmin, "cancel"},
		{"emergency requester", emergency, wfRequester, "cancel"},
		{"emergency colleague", emergency, wfOtherOperator, ""},
		{"emergency system", emergency, SystemActor, ""},
		{"proposal customer admin", proposed, wfCustAdmin, "accept_proposal reject_proposal cancel"},
		{"proposal requester operator", proposed, wfRequester, "cancel"},
		{"proposal foreign admin", proposed, wfForeignAdmin, ""},
		{"consultation agent", consultation, wfAgent, "take ask_clarification define_scope answer reclassify cancel"},
		{"consultation developer", consultation, wfDeveloper, "take ask_clarification define_scope answer"},
		{"consultation tester", consultation, wfTester, "take ask_clarification answer"},
		{"in work developer", inWork, wfDeveloper, "take ask_clarification deploy resolve"},
		{"in work tester", inWork, wfTester, "take ask_clarification deploy resolve"},
		{"in work release manager", inWork, wfReleaseManager, "take"},
		{"in work agent", inWork, wfAgent, "take ask_clarification resolve reclassify cancel"},
		{"in work admin", inWork, wfAdmin, "take ask_clarification deploy resolve reclassify cancel"},
		{"in work customer admin", inWork, wfCustAdmin, "cancel"},
		{"deployed release manager", deployed, wfReleaseManager, "take roll_out"},
		{"deployed developer", deployed, wfDeveloper, "take ask_clarification start_work resolve"},
		{"deployed requester", deployed, wfIntegrator, ""},
		{"resolved requester", resolved, wfRequester, "confirm reopen"},
		{"resolved integrator", resolved, wfIntegrator, "confirm reopen"},
		{"resolved colleague", resolved, wfOtherOperator, ""},
		{"resolved system", resolved, SystemActor, "auto_close"},
		{"resolved agent", resolved, wfAgent, "close reopen reclassify"},
		{"resolved developer", resolved, wfDeveloper, ""},
		{"asking customer admin", asking, wfCustAdmin, "answer_clarification accept_proposal reject_proposal cancel"},
		{"asking system", asking, SystemActor, "close_unanswered"},
		{"asking agent", asking, wfAgent, "take answer_clarification propose close_unanswered reclassify cancel"},
		{"closed agent", closed, wfAgent, "reopen"},
		{"closed customer admin", closed, wfCustAdmin, ""},
		{"unanswered requester", unanswered, wfRequester, "reopen"},
		{"unanswered agent", unanswered, wfAgent, "reopen"},
		{"cancelled admin", cancelled, wfAdmin, ""},
		{"cancelled customer admin", cancelled, wfCustAdmin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range Allowed(tt.s, tt.a) {
				got = append(got, string(a))
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("Allowed = %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestAdminCanDoAnythingStaffCan(t *testing.T) {
	for _, s := range wfSubjects() {
		adminActs := Allowed(s, wfAdmin)
		for _, r := range wfStaffRoles {
			for _, act := range Allowed(s, Actor{Role: r}) {
				if !slices.Contains(adminActs, act) {
					t.Errorf("%s: %s may %s, admin may not", wfDescribe(s, wfAdmin), r, act)
				}
			}
		}
	}
}

func TestCustomersActOnlyOnTheirOwn(t *testing.T) {
	outsiders := []Actor{
		{Role: "customer_admin", OrgID: wfOtherOrg, IsRequester: true},
		{Role: "operator", OrgID: wfOtherOrg, IsRequester: true},
		{Role: "integrator", OrgID: wfOtherOrg, IsRequester: true},
		{Role: "customer_admin"}, // no organisation
		{Role: "operator", OrgID: wfOrg},
		{Role: "integrator", OrgID: wfOrg},
		{Role: "guest", OrgID: wfOrg, IsRequester: true},
		{},
	}
	for _, s := range wfSubjects() {
		for _, a := range outsiders {
			if got := Allowed(s, a); len(got) != 0 {
				t.Errorf("%s: Allowed = %v, want none", wfDescribe(s, a), got)
			}
			for _, act := range Actions() {
				_, err := Apply(s, a, act, wfFullNeeds(s))
				var te *TransitionError
				if !errors.As(err, &te) || len(te.Allowed) != 0 {
					t.Errorf("%s %s: err %v, want a TransitionError allowing nothing", wfDescribe(s, a), act, err)
				}
			}
		}
	}
	// A request of org 0 (none) is no customer's: customers without an
	// organisation do not match it.
	orphan := Subject{Type: "fault", Priority: "normal", State: StateResolved}
	if got := Allowed(orphan, Actor{Role: "customer_admin", IsRequester: true}); len(got) != 0 {
		t.Errorf("customer without organisation on an orphan request: %v", got)
	}
}

func TestMissingNeedsAreRejected(t *testing.T) {
	checked := map[string]bool{}
	for _, s := range wfSubjects() {
		for _, a := range wfActors() {
			for _, act := range Actions() {
				idx := wfCovering(s, a, act)
				if len(idx) == 0 {
					continue
				}
				for _, need := range Rules()[idx[0]].Needs {
					_, err := Apply(s, a, act, wfWithoutNeed(wfFullNeeds(s), need))
					var ne *NeedError
					if !errors.As(err, &ne) || ne.Action != act || ne.Need != need || ne.Problem != "missing" {
						t.Errorf("%s %s without %s: err %v", wfDescribe(s, a), act, need, err)
					}
					checked[string(act)+" "+string(need)] = true
				}
			}
		}
	}
	for _, want := range []string{
		"ask_clarification text", "answer_clarification text", "define_scope scope", "propose deadline",
		"propose scope", "propose effort_hours", "reject_proposal text", "deploy instance_id",
		"roll_out release_id", "roll_out instance_ids", "answer text", "resolve text", "close text",
		"reopen text", "reclassify type_or_priority", "cancel text",
	} {
		if !checked[want] {
			t.Errorf("need %q was never checked", want)
		}
	}
}

func TestInvalidNeeds(t *testing.T) {
	inWork := Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}
	deployed := inWork
	deployed.State = StateDeployed
	scoped := Subject{Type: "improvement", Priority: "normal", State: StateScopeDefined, OrgID: wfOrg}
	tests := []struct {
		name string
		s    Subject
		a    Actor
		act  Action
		n    Needs
		need Need
	}{
		{"negative instance", inWork, wfDeveloper, ActionDeploy, Needs{InstanceID: -1}, NeedInstance},
		{"negative release", deployed, wfReleaseManager, ActionRollOut, Needs{ReleaseID: -3, InstanceIDs: []int64{1}}, NeedRelease},
		{"zero instance in list", deployed, wfReleaseManager, ActionRollOut, Needs{ReleaseID: 3, InstanceIDs: []int64{1, 0}}, NeedInstances},
		{"negative effort", scoped, wfAgent, ActionPropose, Needs{Scope: "x", EffortHours: -2, Deadline: time.Unix(1e9, 0)}, NeedEffort},
		{"NaN effort", scoped, wfAgent, ActionPropose, Needs{Scope: "x", EffortHours: math.NaN(), Deadline: time.Unix(1e9, 0)}, NeedEffort},
		{"unknown type", inWork, wfAgent, ActionReclassify, Needs{Type: "bug"}, NeedClass},
		{"unknown priority", inWork, wfAgent, ActionReclassify, Needs{Priority: "urgent"}, NeedClass},
		{"unchanged", inWork, wfAgent, ActionReclassify, Needs{Type: "fault", Priority: "normal"}, NeedClass},
		{"emergency consultation", inWork, wfAgent, ActionReclassify, Needs{Type: "consultation", Priority: "emergency"}, NeedClass},
		{"emergency improvement", scoped, wfAgent, ActionReclassify, Needs{Priority: "emergency"}, NeedClass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(tt.s, tt.a, tt.act, tt.n)
			var ne *NeedError
			if !errors.As(err, &ne) || ne.Need != tt.need || ne.Problem == "" || ne.Problem == "missing" {
				t.Fatalf("got %q, %v; want a NeedError about %s", got, err, tt.need)
			}
			if !strings.Contains(err.Error(), string(tt.need)) {
				t.Errorf("message %q does not name %s", err, tt.need)
			}
		})
	}
	// Blank text is no text.
	_, err := Apply(inWork, wfDeveloper, ActionResolve, Needs{Text: " \n\t"})
	var ne *NeedError
	if !errors.As(err, &ne) || ne.Need != NeedText || ne.Problem != "missing" {
		t.Errorf("blank text: %v", err)
	}
}

// walk applies steps in order and checks each resulting subject.
type wfStep struct {
	a    Actor
	act  Action
	n    Needs
	want State
	ret  State // wanted ReturnState
	prop bool  // wanted ProposalOpen
}

func wfWalk(t *testing.T, s Subject, steps []wfStep) Subject {
	t.Helper()
	for i, st := range steps {
		next, err := Next(s, st.a, st.act, st.n)
		if err != nil {
			t.Fatalf("step %d: %s by %s in %s: %v", i, st.act, st.a.Role, s.State, err)
		}
		if next.State != st.want || next.ReturnState != st.ret || next.ProposalOpen != st.prop {
			t.Fatalf("step %d: %s by %s: got %s (return %q, proposal %v), want %s (return %q, proposal %v)",
				i, st.act, st.a.Role, next.State, next.ReturnState, next.ProposalOpen, st.want, st.ret, st.prop)
		}
		s = next
	}
	return s
}

var (
	wfDeadline = time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)
	wfText     = Needs{Text: "words"}
)

func TestEmergencyWorkflowEndToEnd(t *testing.T) {
	s := Subject{Type: "fault", Priority: "emergency", State: StateReceived, OrgID: wfOrg}
	wfWalk(t, s, []wfStep{
		{wfAgent, ActionTake, Needs{}, StateReceived, "", false},
		{wfDeveloper, ActionAskClarification, Needs{Text: "send the logs"}, StateClarifying, StateReceived, false},
		{wfRequester, ActionAnswerClarification, Needs{Text: "attached"}, StateReceived, "", false},
		{wfAgent, ActionPropose, Needs{Deadline: wfDeadline}, StateReceived, "", true},
		{wfCustAdmin, ActionRejectProposal, Needs{Text: "too late"}, StateReceived, "", false},
		{wfAgent, ActionPropose, Needs{Deadline: wfDeadline.Add(-24 * time.Hour)}, StateReceived, "", true},
		{wfCustAdmin, ActionAcceptProposal, Needs{}, StateDeadlineAgreed, "", false},
		{wfDeveloper, ActionStartWork, Needs{}, StateInWork, "", false},
		{wfTester, ActionDeploy, Needs{InstanceID: 7}, StateDeployed, "", false},
		{wfReleaseManager, ActionRollOut, Needs{ReleaseID: 3, InstanceIDs: []int64{8, 9}}, StateRolledOut, "", false},
		{wfTester, ActionResolve, Needs{Text: "fixed in 2.4.1"}, StateResolved, "", false},
		{wfRequester, ActionConfirm, Needs{}, StateClosed, "", false},
	})
}

func TestNormalWorkflowEndToEnd(t *testing.T) {
	s := Subject{Type: "improvement", Priority: "normal", State: StateReceived, OrgID: wfOrg}
	s = wfWalk(t, s, []wfStep{
		{wfAgent, ActionAskClarification, Needs{Text: "which report?"}, StateClarifying, StateReceived, false},
		{wfIntegrator, ActionAnswerClarification, Needs{Text: "the monthly one"}, StateReceived, "", false},
		{wfDeveloper, ActionDefineScope, Needs{Scope: "add a column"}, StateScopeDefined, "", false},
		{wfDeveloper, ActionAskClarification, Needs{Text: "CSV or XLSX?"}, StateClarifying, StateScopeDefined, false},
		{wfAgent, ActionPropose, Needs{Scope: "add a column", EffortHours: 12, Deadline: wfDeadline}, StateClarifying, StateScopeDefined, true},
		{wfCustAdmin, ActionRejectProposal, Needs{Text: "too expensive"}, StateClarifying, StateScopeDefined, false},
		{wfCustAdmin, ActionAnswerClarification, Needs{Text: "CSV"}, StateScopeDefined, "", false},
		{wfAgent, ActionPropose, Needs{Scope: "add a CSV column", EffortHours: 6, Deadline: wfDeadline}, StateScopeDefined, "", true},
		{wfCustAdmin, ActionAcceptProposal, Needs{}, StateAgreed, "", false},
		{wfDeveloper, ActionStartWork, Needs{}, StateInWork, "", false},
		{wfDeveloper, ActionDeploy, Needs{InstanceID: 7}, StateDeployed, "", false},
		{wfDeveloper, ActionResolve, Needs{Text: "done"}, StateResolved, "", false},
		{wfIntegrator, ActionReopen, Needs{Text: "the column is empty"}, StateInWork, "", false},
		{wfDeveloper, ActionDeploy, Needs{InstanceID: 7}, StateDeployed, "", false},
		{wfReleaseManager, ActionRollOut, Needs{ReleaseID: 4, InstanceIDs: []int64{7}}, StateRolledOut, "", false},
		{wfReleaseManager, ActionRollOut, Needs{ReleaseID: 4, InstanceIDs: []int64{8, 9, 10}}, StateRolledOut, "", false},
		{wfAgent, ActionResolve, Needs{Text: "in release 4"}, StateResolved, "", false},
		{SystemActor, ActionAutoClose, Needs{}, StateClosed, "", false},
	})
	// After the window the customer cannot reopen; the desk can.
	if _, err := Apply(s, wfIntegrator, ActionReopen, wfText); !wfIsTransition(err) {
		t.Fatalf("customer reopened a closed request: %v", err)
	}
	wfWalk(t, s, []wfStep{{wfAgent, ActionReopen, wfText, StateInWork, "", false}})
}

func wfIsTransition(err error) bool {
	var te *TransitionError
	return errors.As(err, &te)
}

func TestNormalFaultCannotSkipTheAgreement(t *testing.T) {
	s := Subject{Type: "fault", Priority: "normal", State: StateReceived, OrgID: wfOrg}
	for _, act := range []Action{ActionStartWork, ActionDeploy, ActionResolve, ActionAnswer, ActionPropose, ActionAcceptProposal} {
		if _, err := Apply(s, wfAdmin, act, wfFullNeeds(s)); !wfIsTransition(err) {
			t.Errorf("%s from received: %v, want a TransitionError", act, err)
		}
	}
	// Without a proposal there is nothing to accept.
	scoped := Subject{Type: "fault", Priority: "normal", State: StateScopeDefined, OrgID: wfOrg}
	if _, err := Apply(scoped, wfCustAdmin, ActionAcceptProposal, Needs{}); !wfIsTransition(err) {
		t.Errorf("accepted without a proposal: %v", err)
	}
	// Only the customer admin accepts, even for the requester's own request.
	scoped.ProposalOpen = true
	for _, a := range []Actor{wfRequester, wfIntegrator, wfAgent, wfAdmin, wfForeignAdmin} {
		if _, err := Apply(scoped, a, ActionAcceptProposal, Needs{}); !wfIsTransition(err) {
			t.Errorf("%s accepted a proposal: %v", a.Role, err)
		}
	}
	adminRequester := wfCustAdmin
	adminRequester.IsRequester = true
	if got, err := Apply(scoped, adminRequester, ActionAcceptProposal, Needs{}); err != nil || got != StateAgreed {
		t.Errorf("customer admin who registered the request: %q, %v", got, err)
	}
}

func TestConsultationShortcut(t *testing.T) {
	c := Subject{Type: "consultation", Priority: "normal", State: StateReceived, OrgID: wfOrg}
	t.Run("from received", func(t *testing.T) {
		wfWalk(t, c, []wfStep{
			{wfAgent, ActionAnswer, Needs{Text: "set option X"}, StateResolved, "", false},
			{wfCustAdmin, ActionConfirm, Needs{}, StateClosed, "", false},
		})
	})
	t.Run("from clarifying", func(t *testing.T) {
		wfWalk(t, c, []wfStep{
			{wfAgent, ActionAskClarification, Needs{Text: "which version?"}, StateClarifying, StateReceived, false},
			{wfDeveloper, ActionAnswer, Needs{Text: "any version: set option X"}, StateResolved, "", false},
		})
	})
	t.Run("from in_work after a reopen", func(t *testing.T) {
		wfWalk(t, c, []wfStep{
			{wfAgent, ActionAnswer, Needs{Text: "set option X"}, StateResolved, "", false},
			{wfRequester, ActionReopen, Needs{Text: "option X is missing"}, StateInWork, "", false},
			{wfAgent, ActionAnswer, Needs{Text: "enable module Y first"}, StateResolved, "", false},
		})
	})
	t.Run("not for faults or improvements", func(t *testing.T) {
		for _, typ := range []string{"fault", "improvement"} {
			s := c
			s.Type = typ
			if _, err := Apply(s, wfAgent, ActionAnswer, wfText); !wfIsTransition(err) {
				t.Errorf("%s answered: %v", typ, err)
			}
		}
	})
}

func TestClarificationRoundTrip(t *testing.T) {
	for _, c := range wfClasses {
		for _, st := range wfAskable {
			if !slices.Contains(wfStates[c.prio], st) {
				continue
			}
			for _, prop := range []bool{false, true} {
				s := Subject{Type: c.typ, Priority: c.prio, State: st, OrgID: wfOrg, ProposalOpen: prop}
				t.Run(fmt.Sprintf("%s %s %s proposal %v", c.typ, c.prio, st, prop), func(t *testing.T) {
					asked := wfWalk(t, s, []wfStep{{wfAgent, ActionAskClarification, Needs{Text: "?"}, StateClarifying, st, prop}})
					if !WaitingOnCustomer(asked) {
						t.Error("clarifying does not wait on the customer")
					}
					for _, answerer := range []Actor{wfCustAdmin, wfRequester, wfAgent} {
						wfWalk(t, asked, []wfStep{{answerer, ActionAnswerClarification, Needs{Text: "!"}, st, "", prop}})
					}
					// Given up on, then answered late.
					gone := wfWalk(t, asked, []wfStep{{SystemActor, ActionCloseUnanswered, Needs{}, StateClosedUnanswered, st, false}})
					wfWalk(t, gone, []wfStep{{wfRequester, ActionReopen, Needs{Text: "sorry, here it is"}, st, "", false}})
					for _, a := range []Actor{wfOtherOperator, wfForeignAdmin, wfDeveloper} {
						if _, err := Apply(gone, a, ActionReopen, wfText); !wfIsTransition(err) {
							t.Errorf("%s reopened an unanswered request: %v", a.Role, err)
						}
					}
				})
			}
		}
	}
}

func TestAcceptWhileClarifying(t *testing.T) {
	s := Subject{Type: "fault", Priority: "emergency", State: StateReceived, OrgID: wfOrg}
	wfWalk(t, s, []wfStep{
		{wfAgent, ActionPropose, Needs{Deadline: wfDeadline}, StateReceived, "", true},
		{wfAgent, ActionAskClarification, Needs{Text: "which server?"}, StateClarifying, StateReceived, true},
		{wfCustAdmin, ActionAcceptProposal, Needs{}, StateDeadlineAgreed, "", false},
	})
	// A question asked later in the work is not a place to agree.
	late := Subject{Type: "fault", Priority: "emergency", State: StateClarifying, ReturnState: StateInWork, OrgID: wfOrg, ProposalOpen: true}
	if _, err := Apply(late, wfCustAdmin, ActionAcceptProposal, Needs{}); !wfIsTransition(err) {
		t.Errorf("accepted while clarifying from in_work: %v", err)
	}
}

func TestReclassify(t *testing.T) {
	s := func(typ, prio string, st, ret State, prop bool) Subject {
		return Subject{Type: typ, Priority: prio, State: st, ReturnState: ret, OrgID: wfOrg, ProposalOpen: prop}
	}
	tests := []struct {
		name     string
		from     Subject
		n        Needs
		want     Subject
		wantFlow Workflow
	}{
		{"emergency deadline_agreed to normal agreed",
			s("fault", "emergency", StateDeadlineAgreed, "", false), Needs{Priority: "normal"},
			s("fault", "normal", StateAgreed, "", false), WorkflowNormal},
		{"normal agreed to emergency deadline_agreed",
			s("fault", "normal", StateAgreed, "", false), Needs{Priority: "emergency"},
			s("fault", "emergency", StateDeadlineAgreed, "", false), WorkflowEmergency},
		{"normal scope_defined to emergency received drops the proposal",
			s("fault", "normal", StateScopeDefined, "", true), Needs{Priority: "emergency"},
			s("fault", "emergency", StateReceived, "", false), WorkflowEmergency},
		{"emergency received to normal received drops the proposal",
			s("fault", "emergency", StateReceived, "", true), Needs{Priority: "normal"},
			s("fault", "normal", StateReceived, "", false), WorkflowNormal},
		{"clarifying keeps waiting, return state mapped to emergency",
			s("fault", "normal", StateClarifying, StateScopeDefined, false), Needs{Priority: "emergency"},
			s("fault", "emergency", StateClarifying, StateReceived, false), WorkflowEmergency},
		{"clarifying keeps waiting, return state mapped to normal",
			s("fault", "emergency", StateClarifying, StateDeadlineAgreed, false), Needs{Priority: "normal"},
			s("fault", "normal", StateClarifying, StateAgreed, false), WorkflowNormal},
		{"emergency fault downgraded to a normal consultation",
			s("fault", "emergency", StateInWork, "", false), Needs{Type: "consultation", Priority: "normal"},
			s("consultation", "normal", StateInWork, "", false), WorkflowNormal},
		{"type change keeps the workflow and the proposal",
			s("fault", "normal", StateScopeDefined, "", true), Needs{Type: "improvement"},
			s("improvement", "normal", StateScopeDefined, "", true), WorkflowNormal},
		{"resolved stays resolved",
			s("consultation", "normal", StateResolved, "", false), Needs{Type: "fault", Priority: "emergency"},
			s("fault", "emergency", StateResolved, "", false), WorkflowEmergency},
		{"rolled out stays rolled out",
			s("fault", "emergency", StateRolledOut, "", false), Needs{Priority: "normal"},
			s("fault", "normal", StateRolledOut, "", false), WorkflowNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Next(tt.from, wfAgent, ActionReclassify, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.Workflow() != tt.wantFlow {
				t.Errorf("got %+v (%s), want %+v (%s)", got, got.Workflow(), tt.want, tt.wantFlow)
			}
			if len(Allowed(got, wfAdmin)) == 0 {
				t.Errorf("the reclassified request is stuck: %+v", got)
			}
		})
	}
	// Only the desk reclassifies, and only open requests.
	open := s("fault", "normal", StateInWork, "", false)
	for _, a := range []Actor{wfDeveloper, wfTester, wfReleaseManager, wfCustAdmin, wfRequester, SystemActor} {
		if _, err := Apply(open, a, ActionReclassify, Needs{Priority: "emergency"}); !wfIsTransition(err) {
			t.Errorf("%s reclassified: %v", a.Role, err)
		}
	}
	for _, st := range []State{StateClosed, StateCancelled} {
		if _, err := Apply(s("fault", "normal", st, "", false), wfAdmin, ActionReclassify, Needs{Priority: "emergency"}); !wfIsTransition(err) {
			t.Errorf("reclassified a %s request: %v", st, err)
		}
	}
}

func TestReopen(t *testing.T) {
	resolved := Subject{Type: "fault", Priority: "emergency", State: StateResolved, OrgID: wfOrg}
	t.Run("within the window by the customer", func(t *testing.T) {
		for _, a := range []Actor{wfRequester, wfIntegrator, wfCustAdmin, wfAgent, wfAdmin} {
			if got, err := Apply(resolved, a, ActionReopen, Needs{Text: "still broken"}); err != nil || got != StateInWork {
				t.Errorf("%s: %q, %v", a.Role, got, err)
			}
		}
		for _, a := range []Actor{wfOtherOperator, wfForeignAdmin, wfDeveloper, wfReleaseManager, SystemActor} {
			if _, err := Apply(resolved, a, ActionReopen, Needs{Text: "still broken"}); !wfIsTransition(err) {
				t.Errorf("%s reopened: %v", a.Role, err)
			}
		}
	})
	for _, closer := range []struct {
		a   Actor
		act Action
		n   Needs
	}{
		{wfRequester, ActionConfirm, Needs{}},
		{SystemActor, ActionAutoClose, Needs{}},
		{wfAgent, ActionClose, Needs{Text: "confirmed by phone"}},
	} {
		t.Run("after "+string(closer.act), func(t *testing.T) {
			closed := wfWalk(t, resolved, []wfStep{{closer.a, closer.act, closer.n, StateClosed, "", false}})
			for _, a := range []Actor{wfRequester, wfCustAdmin, wfIntegrator, wfDeveloper, SystemActor} {
				_, err := Apply(closed, a, ActionReopen, wfText)
				var te *TransitionError
				if !errors.As(err, &te) {
					t.Errorf("%s reopened a closed request: %v", a.Role, err)
				}
			}
			wfWalk(t, closed, []wfStep{{wfAdmin, ActionReopen, Needs{Text: "regression"}, StateInWork, "", false}})
		})
	}
}

func TestCancel(t *testing.T) {
	received := Subject{Type: "improvement", Priority: "normal", State: StateReceived, OrgID: wfOrg, ProposalOpen: true}
	wfWalk(t, received, []wfStep{{wfRequester, ActionCancel, Needs{Text: "not needed"}, StateCancelled, "", false}})
	deployed := Subject{Type: "fault", Priority: "normal", State: StateDeployed, OrgID: wfOrg}
	if _, err := Apply(deployed, wfCustAdmin, ActionCancel, wfText); !wfIsTransition(err) {
		t.Errorf("customer cancelled deployed work: %v", err)
	}
	wfWalk(t, deployed, []wfStep{{wfAgent, ActionCancel, Needs{Text: "duplicate of 42"}, StateCancelled, "", false}})
	cancelled := Subject{Type: "fault", Priority: "normal", State: StateCancelled, OrgID: wfOrg}
	for _, a := range wfActors() {
		if got := Allowed(cancelled, a); len(got) != 0 {
			t.Errorf("%s may %v on a cancelled request", a.Role, got)
		}
	}
}

func TestInvalidSubjects(t *testing.T) {
	for _, s := range []Subject{
		{Type: "bug", Priority: "normal", State: StateReceived},
		{Type: "fault", Priority: "urgent", State: StateReceived},
		{Type: "consultation", Priority: "emergency", State: StateReceived},
		{Type: "fault", Priority: "emergency", State: StateScopeDefined},
		{Type: "fault", Priority: "emergency", State: StateAgreed},
		{Type: "fault", Priority: "normal", State: StateDeadlineAgreed},
		{Type: "fault", Priority: "normal", State: "lost"},
		{Type: "fault", Priority: "normal", State: ToSame},
		{Type: "fault", Priority: "normal", State: StateClarifying},
		{Type: "fault", Priority: "normal", State: StateClarifying, ReturnState: StateResolved},
		{Type: "fault", Priority: "normal", State: StateClarifying, ReturnState: StateDeadlineAgreed},
		{Type: "fault", Priority: "normal", State: StateClosedUnanswered},
	} {
		if got := Allowed(s, wfAdmin); got != nil {
			t.Errorf("%+v: Allowed = %v, want nil", s, got)
		}
		if _, err := Apply(s, wfAdmin, ActionTake, Needs{}); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("%+v: err = %v, want ErrInvalidSubject", s, err)
		}
	}
}

func TestNextNeverReturnsPseudoStates(t *testing.T) {
	for _, s := range wfSubjects() {
		for _, a := range wfActors() {
			for _, act := range Allowed(s, a) {
				next, err := Next(s, a, act, wfFullNeeds(s))
				if err != nil {
					t.Fatalf("%s %s: %v", wfDescribe(s, a), act, err)
				}
				// Whatever comes out is a subject the machine can hold again.
				if err := checkWorkflowSubject(next); err != nil {
					t.Errorf("%s %s: produced %+v: %v", wfDescribe(s, a), act, next, err)
				}
				if next.State != StateClarifying && next.State != StateClosedUnanswered && next.ReturnState != "" {
					t.Errorf("%s %s: stray return state in %+v", wfDescribe(s, a), act, next)
				}
				if next.ProposalOpen && act != ActionPropose && !s.ProposalOpen {
					t.Errorf("%s %s: proposal opened by %s", wfDescribe(s, a), act, act)
				}
			}
		}
	}
}

func TestHelpers(t *testing.T) {
	if !slices.Equal(StatesOf(WorkflowEmergency), wfStates["emergency"]) ||
		!slices.Equal(StatesOf(WorkflowNormal), wfStates["normal"]) || StatesOf("x") != nil {
		t.Error("StatesOf disagrees with the workflows")
	}
	for prio, want := range map[string]Workflow{"emergency": WorkflowEmergency, "normal": WorkflowNormal} {
		if got, ok := WorkflowOf(prio); !ok || got != want {
			t.Errorf("WorkflowOf(%q) = %q, %v", prio, got, ok)
		}
	}
	if _, ok := WorkflowOf("urgent"); ok {
		t.Error("WorkflowOf accepted an unknown priority")
	}
	for st, want := range map[State]bool{StateReceived: true, StateResolved: true, StateClarifying: true,
		StateClosed: false, StateClosedUnanswered: false, StateCancelled: false, "lost": false, ToReturn: false} {
		if st.Open() != want {
			t.Errorf("%s.Open() = %v", st, !want)
		}
	}
	if err := CheckClass("improvement", "emergency"); err == nil {
		t.Error("an emergency improvement passed")
	}
	if err := CheckClass("fault", "emergency"); err != nil {
		t.Error(err)
	}
	if WaitingOnCustomer(Subject{State: StateInWork}) || !WaitingOnCustomer(Subject{State: StateScopeDefined, ProposalOpen: true}) {
		t.Error("WaitingOnCustomer is wrong")
	}

	// Rules returns a copy.
	r := Rules()
	r[0].Who[0] = "intruder"
	r[0].From = nil
	if Rules()[0].Who[0] == "intruder" || Rules()[0].From == nil {
		t.Error("Rules exposes the table")
	}

	// Error messages say what to do.
	_, err := Apply(Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}, wfReleaseManager, ActionDeploy, Needs{InstanceID: 1})
	if want := "role release_manager cannot deploy a request in state in_work; allowed: take"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	_, err = Apply(Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}, wfForeignAdmin, ActionCancel, wfText)
	if err == nil || !strings.HasSuffix(err.Error(), "allowed: none") {
		t.Errorf("message %q", err)
	}
	_, err = Apply(Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}, wfDeveloper, ActionDeploy, Needs{})
	if want := "deploy needs instance_id: missing"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
