package desk

import (
	"slices"
	"strings"
	"testing"

	"tend/internal/apperr"
)

func TestProblemValidate(t *testing.T) {
	ok := Problem{Title: "Reports time out after the 3.2 update", State: ProblemOpen}
	with := func(change func(*Problem)) Problem {
		p := ok
		change(&p)
		return p
	}
	tests := []struct {
		name  string
		p     Problem
		field string // "" when valid
	}{
		{"open with a title", ok, ""},
		{"title trimmed", with(func(p *Problem) { p.Title = "  Slow reports \n" }), ""},
		{"no title", with(func(p *Problem) { p.Title = "" }), "title"},
		{"blank title", with(func(p *Problem) { p.Title = " \t " }), "title"},
		{"title of 300 characters", with(func(p *Problem) { p.Title = strings.Repeat("ж", 300) }), ""},
		{"title of 301 characters", with(func(p *Problem) { p.Title = strings.Repeat("ж", 301) }), "title"},
		{"analysis too long", with(func(p *Problem) { p.Analysis = strings.Repeat("x", maxText+1) }), "analysis"},
		{"root cause too long", with(func(p *Problem) { p.RootCause = strings.Repeat("x", maxText+1) }), "root_cause"},
		{"no state", with(func(p *Problem) { p.State = "" }), "state"},
		{"unknown state", with(func(p *Problem) { p.State = "solved" }), "state"},
		{"known error", with(func(p *Problem) { p.State = ProblemKnownError; p.RootCause = "index missing" }), ""},
		{"negative product", with(func(p *Problem) { p.ProductID = -1 }), "product_id"},
		{"unknown kind while open", with(func(p *Problem) { p.ResolutionKind = "patch" }), "resolution_kind"},
		{"resolved by an update", with(func(p *Problem) {
			p.State, p.ResolutionKind, p.Resolution = ProblemResolved, ResolutionUpdate, "Install 3.2.1"
		}), ""},
		{"resolved by instructions", with(func(p *Problem) {
			p.State, p.ResolutionKind, p.Resolution = ProblemResolved, ResolutionInstructions, "Rebuild the index"
		}), ""},
		{"resolved without a kind", with(func(p *Problem) { p.State, p.Resolution = ProblemResolved, "Install 3.2.1" }), "resolution_kind"},
		{"resolved with an unknown kind", with(func(p *Problem) {
			p.State, p.ResolutionKind, p.Resolution = ProblemResolved, "magic", "Install 3.2.1"
		}), "resolution_kind"},
		{"resolved without text", with(func(p *Problem) { p.State, p.ResolutionKind = ProblemResolved, ResolutionUpdate }), "resolution"},
		{"resolved with blank text", with(func(p *Problem) {
			p.State, p.ResolutionKind, p.Resolution = ProblemResolved, ResolutionUpdate, "  \n "
		}), "resolution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e := apperr.As(err)
			if err == nil || e.Code != apperr.Invalid || e.Field != tt.field {
				t.Fatalf("Validate = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestProblemMoves(t *testing.T) {
	allowed := map[[2]ProblemState]bool{
		{ProblemOpen, ProblemKnownError}:     true,
		{ProblemOpen, ProblemResolved}:       true,
		{ProblemKnownError, ProblemResolved}: true,
	}
	for _, from := range ProblemStates {
		for _, to := range ProblemStates {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				err := CheckProblemMove(from, to)
				want := from == to || allowed[[2]ProblemState{from, to}]
				if want && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !want {
					e := apperr.As(err)
					if err == nil || e.Code != apperr.Conflict || e.Field != "state" {
						t.Fatalf("CheckProblemMove = %v, want a conflict on state", err)
					}
					if !strings.Contains(e.Message, string(from)) || !strings.Contains(e.Message, string(to)) {
						t.Errorf("message %q does not name the states", e.Message)
					}
				}
			})
		}
	}
	if err := CheckProblemMove(ProblemOpen, "gone"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("unknown target: %v", err)
	}
	e := apperr.As(CheckProblemMove(ProblemKnownError, ProblemOpen))
	if !slices.Equal(e.Allowed, []string{"resolved"}) {
		t.Errorf("allowed from known_error = %v", e.Allowed)
	}
}

func TestProblemResolve(t *testing.T) {
	open := Problem{Title: "Slow reports", State: ProblemOpen}
	tests := []struct {
		name string
		p    Problem
		kind ResolutionKind
		text string
		code apperr.Code // "" when it resolves
	}{
		{"open by update", open, ResolutionUpdate, "Install 3.2.1", ""},
		{"known error by instructions", Problem{Title: "x", State: ProblemKnownError}, ResolutionInstructions, "Rebuild the index", ""},
		{"no kind", open, "", "Install 3.2.1", apperr.Invalid},
		{"bad kind", open, "reboot", "Install 3.2.1", apperr.Invalid},
		{"no text", open, ResolutionUpdate, " ", apperr.Invalid},
		{"already resolved", Problem{Title: "x", State: ProblemResolved, ResolutionKind: ResolutionUpdate, Resolution: "y"}, ResolutionUpdate, "again", apperr.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Resolve(tt.kind, tt.text)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if got.State != ProblemResolved || got.ResolutionKind != tt.kind || got.Resolution != strings.TrimSpace(tt.text) {
					t.Fatalf("Resolve = %+v", got)
				}
				return
			}
			if apperr.CodeOf(err) != tt.code {
				t.Fatalf("Resolve = %v, want %s", err, tt.code)
			}
		})
	}
}

func TestProblemPatch(t *testing.T) {
	str := func(s string) *string { return &s }
	st := func(s ProblemState) *ProblemState { return &s }
	id := func(v int64) *int64 { return &v }
	base := Problem{ID: 7, Title: "Slow reports", Analysis: "a", State: ProblemOpen, ProductID: 1}
	tests := []struct {
		name  string
		from  Problem
		patch ProblemPatch
		want  func(Problem) bool
		code  apperr.Code
	}{
		{"nothing", base, ProblemPatch{}, func(p Problem) bool { return p == base }, ""},
		{"analysis and root cause", base, ProblemPatch{Analysis: str("logs show a full scan"), RootCause: str("index missing")},
			func(p Problem) bool {
				return p.Analysis == "logs show a full scan" && p.RootCause == "index missing" && p.Title == base.Title
			}, ""},
		{"clear product", base, ProblemPatch{ProductID: id(0)}, func(p Problem) bool { return p.ProductID == 0 }, ""},
		{"confirm known error", base, ProblemPatch{State: st(ProblemKnownError)}, func(p Problem) bool { return p.State == ProblemKnownError }, ""},
		{"same state", base, ProblemPatch{State: st(ProblemOpen)}, func(p Problem) bool { return p.State == ProblemOpen }, ""},
		{"empty title", base, ProblemPatch{Title: str("")}, nil, apperr.Invalid},
		{"resolve by patch", base, ProblemPatch{State: st(ProblemResolved)}, nil, apperr.Conflict},
		{"back to open", Problem{Title: "x", State: ProblemKnownError}, ProblemPatch{State: st(ProblemOpen)}, nil, apperr.Conflict},
		{"unknown state", base, ProblemPatch{State: st("fixed")}, nil, apperr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.patch.Apply(tt.from)
			if tt.code != "" {
				if apperr.CodeOf(err) != tt.code {
					t.Fatalf("Apply = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil || !tt.want(got) {
				t.Fatalf("Apply = %+v, %v", got, err)
			}
		})
	}
}

func TestResolveAction(t *testing.T) {
	tests := []struct {
		name   string
		s      Subject
		a      Actor
		action Action
		reason string // a part of the reason when action is ""
	}{
		{"fault in work", Subject{Type: "fault", Priority: "normal", State: StateInWork}, wfAgent, ActionResolve, ""},
		{"fault deployed, developer", Subject{Type: "fault", Priority: "emergency", State: StateDeployed}, wfDeveloper, ActionResolve, ""},
		{"consultation received", Subject{Type: "consultation", Priority: "normal", State: StateReceived}, wfAgent, ActionAnswer, ""},
		{"consultation clarifying", Subject{Type: "consultation", Priority: "normal", State: StateClarifying, ReturnState: StateReceived}, wfTester, ActionAnswer, ""},
		{"consultation in work", Subject{Type: "consultation", Priority: "normal", State: StateInWork}, wfAdmin, ActionAnswer, ""},
		{"improvement in work", Subject{Type: "improvement", Priority: "normal", State: StateInWork}, wfAgent, ActionResolve, ""},
		{"emergency received", Subject{Type: "fault", Priority: "emergency", State: StateReceived}, wfAgent, "", "deadline agreement"},
		{"emergency with a proposal", Subject{Type: "fault", Priority: "emergency", State: StateReceived, ProposalOpen: true}, wfAgent, "", "acceptance"},
		{"normal received", Subject{Type: "fault", Priority: "normal", State: StateReceived}, wfAgent, "", "scope of work"},
		{"scope defined", Subject{Type: "fault", Priority: "normal", State: StateScopeDefined}, wfAgent, "", "not agreed"},
		{"agreed", Subject{Type: "fault", Priority: "normal", State: StateAgreed}, wfAgent, "", "start the work"},
		{"deadline agreed", Subject{Type: "fault", Priority: "emergency", State: StateDeadlineAgreed}, wfAgent, "", "start the work"},
		{"fault clarifying", Subject{Type: "fault", Priority: "normal", State: StateClarifying, ReturnState: StateInWork}, wfAgent, "", "question"},
		{"already resolved", Subject{Type: "fault", Priority: "normal", State: StateResolved}, wfAgent, "", "already resolved"},
		{"closed", Subject{Type: "consultation", Priority: "normal", State: StateClosed}, wfAgent, "", "closed"},
		{"cancelled", Subject{Type: "fault", Priority: "normal", State: StateCancelled}, wfAgent, "", "cancelled"},
		{"release manager", Subject{Type: "fault", Priority: "normal", State: StateInWork}, wfReleaseManager, "", "release_manager"},
		{"customer", Subject{Type: "fault", Priority: "normal", State: StateInWork, OrgID: wfOrg}, wfCustAdmin, "", "customer_admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, reason := ResolveAction(tt.s, tt.a)
			if action != tt.action {
				t.Fatalf("action = %q (%s), want %q", action, reason, tt.action)
			}
			if tt.action != "" && reason != "" {
				t.Errorf("reason %q with an action", reason)
			}
			if tt.action == "" && !strings.Contains(reason, tt.reason) {
				t.Errorf("reason = %q, want it to mention %q", reason, tt.reason)
			}
		})
	}
}
