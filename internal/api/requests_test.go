package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/store"
)

type reqView struct {
	ID             int64
	Number         string
	State          string
	Type           string
	Priority       string
	Version        int64
	Covered        bool
	CoverageReason string `json:"coverage_reason"`
	CoverageNote   string `json:"coverage_message"`
	Channel        string
	RequesterName  string `json:"requester_name"`
	RequesterPhone string `json:"requester_phone"`
	ReturnState    string `json:"return_state"`
	Rating         int
	Comments       []struct {
		Body     string
		Internal bool
	}
	Proposals []struct {
		Version int
		Status  string
	}
	Allowed []string `json:"allowed_actions"`
}

type journalPage struct {
	Items []struct {
		Action string
		Note   string
		Before map[string]any
		After  map[string]any
	}
}

func register(t *testing.T, c *apptest.Client, body map[string]any) reqView {
	t.Helper()
	var r reqView
	c.Do("POST", "/api/v1/requests", body, 201, &r)
	return r
}

func act(t *testing.T, c *apptest.Client, id int64, body map[string]any, want int) reqView {
	t.Helper()
	var r reqView
	c.Do("POST", fmt.Sprintf("/api/v1/requests/%d/actions", id), body, want, &r)
	return r
}

func view(t *testing.T, c *apptest.Client, id int64) reqView {
	t.Helper()
	var r reqView
	c.Do("GET", fmt.Sprintf("/api/v1/requests/%d", id), nil, 200, &r)
	return r
}

func journalActions(t *testing.T, c *apptest.Client, id int64) []string {
	t.Helper()
	var j journalPage
	c.Do("GET", fmt.Sprintf("/api/v1/requests/%d/journal?limit=200", id), nil, 200, &j)
	var out []string
	for _, e := range j.Items {
		out = append(out, e.Action)
	}
	return out
}

func TestEmergencyWorkflowThroughTheAPI(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@alfa.example", "demo")
			operator := app.Login(t, "operator@alfa.example", "demo")
			agent := app.Login(t, "agent@vendor.example", "demo")
			dev := app.Login(t, "dev@vendor.example", "demo")
			vendorAdmin := app.Login(t, "admin@vendor.example", "demo")
			hq := firstID(t, vendorAdmin, "/api/v1/instances?customer_id=1")
			betaInstance := firstID(t, vendorAdmin, "/api/v1/instances?customer_id=2")

			r := register(t, operator, map[string]any{"product_id": 1, "type": "fault", "priority": "emergency",
				"subject": "Doors do not open", "description": "All doors locked", "steps": "badge", "expected": "open", "actual": "locked"})
			if !strings.HasPrefix(r.Number, "REQ-2026-") || r.State != "received" || !r.Covered || r.RequesterName != "Ольга Операторова" || r.RequesterPhone == "" {
				t.Fatalf("registered: %+v", r)
			}
			id := r.ID
			act(t, agent, id, map[string]any{"action": "ask_clarification", "text": "Which building?"}, 200)
			// The customer's reply is the answer: back to received.
			operator.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", id), map[string]any{"body": "Building B"}, 201, nil)
			if v := view(t, agent, id); v.State != "received" || v.ReturnState != "" {
				t.Fatalf("after the answer: %s (return %q)", v.State, v.ReturnState)
			}
			deadline := app.Clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
			act(t, agent, id, map[string]any{"action": "propose", "deadline": deadline, "text": "Hotfix within a day"}, 200)
			// The operator is not the customer admin: the workflow refuses and lists what is allowed.
			resp := operator.Call("POST", fmt.Sprintf("/api/v1/requests/%d/actions", id), map[string]any{"action": "accept_proposal"})
			var e struct {
				Error struct {
					Code    string
					Allowed []string
				}
			}
			json.Unmarshal(resp.Body, &e)
			if resp.Status != 409 || e.Error.Code != "conflict" || slices.Contains(e.Error.Allowed, "accept_proposal") {
				t.Fatalf("operator accepts: %d %s", resp.Status, resp.Body)
			}
			act(t, admin, id, map[string]any{"action": "accept_proposal", "text": "OK"}, 200)
			v := act(t, dev, id, map[string]any{"action": "start_work"}, 200)
			if v.State != "in_work" {
				t.Fatalf("state %s", v.State)
			}
			// Deploying needs an instance, and it must be the customer's own.
			resp = dev.Call("POST", fmt.Sprintf("/api/v1/requests/%d/actions", id), map[string]any{"action": "deploy"})
			if _, field, _ := resp.Error(); resp.Status != 422 || field != "instance_id" {
				t.Errorf("deploy without instance: %d %s", resp.Status, resp.Body)
			}
			resp = dev.Call("POST", fmt.Sprintf("/api/v1/requests/%d/actions", id), map[string]any{"action": "deploy", "instance_id": betaInstance})
			if _, field, _ := resp.Error(); resp.Status != 422 || field != "instance_id" {
				t.Errorf("deploy to beta's instance: %d %s", resp.Status, resp.Body)
			}
			act(t, dev, id, map[string]any{"action": "deploy", "instance_id": hq, "text": "hotfix 1"}, 200)
			act(t, dev, id, map[string]any{"action": "resolve", "text": "Hotfix deployed; doors open."}, 200)
			operator.Do("POST", fmt.Sprintf("/api/v1/requests/%d/rating", id), map[string]any{"rating": 5, "comment": "fast"}, 200, nil)
			v = act(t, operator, id, map[string]any{"action": "confirm"}, 200)
			if v.State != "closed" || v.Rating != 5 {
				t.Fatalf("closed: %+v", v)
			}
			want := []string{"registered", "ask_clarification", "answer_clarification", "propose", "accept_proposal", "start_work", "deploy", "resolve", "rated", "confirm"}
			if got := journalActions(t, agent, id); !slices.Equal(got, want) {
				t.Errorf("journal = %v\nwant      %v", got, want)
			}
		})
	}
}

func TestNormalWorkflowKeepsEveryProposal(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	admin := app.Login(t, "admin@alfa.example", "demo")
	agent := app.Login(t, "agent@vendor.example", "demo")
	r := register(t, admin, map[string]any{"product_id": 1, "type": "improvement", "subject": "Dark theme", "description": "Please"})
	act(t, agent, r.ID, map[string]any{"action": "define_scope", "scope": "Theme switch in settings"}, 200)
	soon := app.Clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	resp := agent.Call("POST", fmt.Sprintf("/api/v1/requests/%d/actions", r.ID), map[string]any{"action": "propose", "scope": "x", "deadline": soon})
	if _, field, _ := resp.Error(); resp.Status != 422 || field != "effort_hours" {
		t.Errorf("proposal without effort: %d %s", resp.Status, resp.Body)
	}
	act(t, agent, r.ID, map[string]any{"action": "propose", "scope": "Theme switch", "effort_hours": 40, "deadline": soon}, 200)
	act(t, admin, r.ID, map[string]any{"action": "reject_proposal", "text": "Too expensive"}, 200)
	act(t, agent, r.ID, map[string]any{"action": "propose", "scope": "Theme switch, no custom colours", "effort_hours": 16, "deadline": soon}, 200)
	v := act(t, admin, r.ID, map[string]any{"action": "accept_proposal"}, 200)
	if v.State != "agreed" || len(v.Proposals) != 2 || v.Proposals[0].Status != "rejected" || v.Proposals[1].Status != "accepted" {
		t.Fatalf("after the second proposal: %+v", v)
	}
}

func TestRegistrationNumbersStayUniqueUnderLoad(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@alfa.example", "demo")
			const workers, each = 16, 6
			var mu sync.Mutex
			got := map[int64]string{}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						var r reqView
						resp := admin.Call("POST", "/api/v1/requests", map[string]any{"product_id": 1, "type": "consultation",
							"subject": fmt.Sprintf("load %d/%d", w, i), "description": "concurrent registration"})
						if resp.Status != 201 {
							t.Errorf("status %d %s", resp.Status, resp.Body)
							return
						}
						json.Unmarshal(resp.Body, &r)
						mu.Lock()
						got[r.ID] = r.Number
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(got) != workers*each {
				t.Fatalf("%d requests, want %d", len(got), workers*each)
			}
			ids := make([]int64, 0, len(got))
			seen := map[string]bool{}
			for id, n := range got {
				if seen[n] {
					t.Errorf("number %s given twice", n)
				}
				seen[n] = true
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for i := 1; i < len(ids); i++ {
				if got[ids[i]] <= got[ids[i-1]] {
					t.Errorf("numbers do not increase with registration: %s then %s", got[ids[i-1]], got[ids[i]])
				}
			}
		})
	}
}

func TestCoverageAndRegistrationRules(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	gamma := app.Login(t, "admin@gamma.example", "demo")
	beta := app.Login(t, "admin@beta.example", "demo")
	agent := app.Login(t, "agent@vendor.example", "demo")

	r := register(t, gamma, map[string]any{"product_id": 1, "type": "fault", "subject": "Down", "description": "x"})
	if r.Covered || r.CoverageReason != "license_lapsed" || !strings.Contains(r.CoverageNote, "ended on") {
		t.Errorf("gamma's request: %+v", r)
	}
	r = register(t, beta, map[string]any{"product_id": 1, "type": "improvement", "subject": "SAP", "description": "x"})
	if r.Covered || r.CoverageReason != "no_entitlement" {
		t.Errorf("beta's improvement: %+v", r)
	}
	// Beta's plan has no 24/7: an emergency at night is registered, not covered, and says when work starts.
	app.Clock.Set(time.Date(2026, 3, 2, 23, 0, 0, 0, time.FixedZone("MSK", 3*3600)))
	r = register(t, beta, map[string]any{"product_id": 1, "type": "fault", "priority": "emergency", "subject": "Night", "description": "x"})
	if r.Covered || r.CoverageReason != "outside_working_hours" || !strings.Contains(r.CoverageNote, "2026-03-03 09:00") {
		t.Errorf("night emergency: %+v", r)
	}

	tests := []struct {
		name  string
		c     *apptest.Client
		body  map[string]any
		field string
	}{
		{"no type", beta, map[string]any{"product_id": 1, "subject": "s", "description": "d"}, "type"},
		{"emergency consultation", beta, map[string]any{"product_id": 1, "type": "consultation", "priority": "emergency", "subject": "s", "description": "d"}, "priority"},
		{"no subject", beta, map[string]any{"product_id": 1, "type": "fault", "description": "d"}, "subject"},
		{"no product", beta, map[string]any{"type": "fault", "subject": "s", "description": "d"}, "product_id"},
		{"steps on a consultation", beta, map[string]any{"product_id": 1, "type": "consultation", "subject": "s", "description": "d", "steps": "1"}, "steps"},
		{"agent without customer", agent, map[string]any{"product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "customer_id"},
		{"agent without requester name", agent, map[string]any{"customer_id": 2, "product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "requester_name"},
		{"agent with a bad phone", agent, map[string]any{"customer_id": 2, "product_id": 1, "type": "fault", "subject": "s", "description": "d", "requester_name": "Ivan", "requester_phone": "call me"}, "requester_phone"},
		{"requester of another customer", agent, map[string]any{"customer_id": 2, "requester_id": 6, "product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "requester_id"},
		{"no such customer", agent, map[string]any{"customer_id": 99999, "product_id": 1, "type": "fault", "subject": "s", "description": "d", "requester_name": "Ivan"}, "customer_id"},
		{"no such requester", agent, map[string]any{"customer_id": 2, "requester_id": 99999, "product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "requester_id"},
		{"no such product", beta, map[string]any{"product_id": 99999, "type": "fault", "subject": "s", "description": "d"}, "product_id"},
		{"no such instance", beta, map[string]any{"product_id": 1, "instance_id": 99999, "type": "fault", "subject": "s", "description": "d"}, "instance_id"},
	}
	for _, tt := range tests {
		resp := tt.c.Call("POST", "/api/v1/requests", tt.body)
		if _, field, _ := resp.Error(); resp.Status != 422 || field != tt.field {
			t.Errorf("%s: %d %s, want 422 field %s", tt.name, resp.Status, resp.Body, tt.field)
		}
	}
	// A phone call logged by an agent for someone not in the contacts.
	r = register(t, agent, map[string]any{"customer_id": 2, "product_id": 1, "type": "consultation", "subject": "Phone", "description": "d",
		"requester_name": "Пётр Складской", "requester_phone": "+7 812 000-11-22"})
	if r.Channel != "phone" || r.RequesterName != "Пётр Складской" {
		t.Errorf("phone registration: %+v", r)
	}
}

func TestIdempotencyKeyMakesRetriesSafe(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@alfa.example", "demo")
			body := `{"product_id":1,"type":"consultation","subject":"Retry me","description":"once"}`
			post := func(key, body string) apptest.Response {
				return admin.RawWithHeaders("POST", "/api/v1/requests", "application/json", strings.NewReader(body), map[string]string{"Idempotency-Key": key})
			}
			// Concurrent retries of one key create one request.
			var wg sync.WaitGroup
			results := make([]apptest.Response, 6)
			for i := range results {
				wg.Go(func() { results[i] = post("key-1", body) })
			}
			wg.Wait()
			ids := map[int64]bool{}
			for _, resp := range results {
				if resp.Status != 201 {
					t.Fatalf("retry: %d %s", resp.Status, resp.Body)
				}
				var r reqView
				json.Unmarshal(resp.Body, &r)
				ids[r.ID] = true
			}
			if len(ids) != 1 {
				t.Errorf("one key made %d requests", len(ids))
			}
			if resp := post("key-1", strings.Replace(body, "once", "twice", 1)); resp.Status != 409 {
				t.Errorf("same key, other body: %d %s", resp.Status, resp.Body)
			}
			var list struct{ Total int }
			admin.Do("GET", "/api/v1/requests?q=retry+me", nil, 200, &list)
			if list.Total != 1 {
				t.Errorf("%d requests registered, want 1", list.Total)
			}
		})
	}
}

func TestTwoAgentsCannotBothWin(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@alfa.example", "demo")
			a1 := app.Login(t, "agent@vendor.example", "demo")
			a2 := app.Login(t, "admin@vendor.example", "demo")
			r := register(t, admin, map[string]any{"product_id": 1, "type": "consultation", "subject": "Race", "description": "x"})
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i, c := range []*apptest.Client{a1, a2} {
				wg.Go(func() {
					statuses[i] = c.Call("POST", fmt.Sprintf("/api/v1/requests/%d/actions", r.ID),
						map[string]any{"action": "answer", "text": fmt.Sprintf("answer %d", i), "version": r.Version}).Status
				})
			}
			wg.Wait()
			slices.Sort(statuses)
			if statuses[0] != 200 || statuses[1] != 409 {
				t.Errorf("statuses %v, want one 200 and one 409", statuses)
			}
			if v := view(t, a1, r.ID); v.State != "resolved" || len(v.Comments) != 1 {
				t.Errorf("after the race: %s with %d comments", v.State, len(v.Comments))
			}
		})
	}
}

func TestInternalNotesStayInternal(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	op := app.Login(t, "operator@alfa.example", "demo")
	agent := app.Login(t, "agent@vendor.example", "demo")
	r := register(t, op, map[string]any{"product_id": 1, "type": "consultation", "subject": "Q", "description": "x"})
	agent.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", r.ID), map[string]any{"body": "customer is grumpy", "internal": true}, 201, nil)
	agent.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", r.ID), map[string]any{"body": "We are on it"}, 201, nil)
	op.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", r.ID), map[string]any{"body": "secret", "internal": true}, 422, nil)
	resp := op.Do("GET", fmt.Sprintf("/api/v1/requests/%d", r.ID), nil, 200, nil)
	if strings.Contains(string(resp.Body), "grumpy") || !strings.Contains(string(resp.Body), "We are on it") {
		t.Errorf("customer view: %s", resp.Body)
	}
	if slices.Contains(journalActions(t, op, r.ID), "internal_note") {
		t.Error("the customer's journal shows the internal note")
	}
	if !slices.Contains(journalActions(t, agent, r.ID), "internal_note") {
		t.Error("the staff journal misses the internal note")
	}
}

func TestReclassifyKeepsBothValuesAndTheReason(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	admin := app.Login(t, "admin@alfa.example", "demo")
	agent := app.Login(t, "agent@vendor.example", "demo")
	r := register(t, admin, map[string]any{"product_id": 1, "type": "fault", "priority": "emergency", "subject": "Slow report", "description": "x"})
	act(t, agent, r.ID, map[string]any{"action": "reclassify", "priority": "normal", "text": "A workaround exists: not an emergency"}, 200)
	var j journalPage
	agent.Do("GET", fmt.Sprintf("/api/v1/requests/%d/journal", r.ID), nil, 200, &j)
	last := j.Items[len(j.Items)-1]
	if last.Action != "reclassify" || last.Before["priority"] != "emergency" || last.After["priority"] != "normal" || !strings.Contains(last.Note, "workaround") {
		t.Errorf("journal entry: %+v", last)
	}
}

func TestOperatorsSeeTheirOwnRequestsAdminsTheirOrganisation(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	admin := app.Login(t, "admin@alfa.example", "demo")
	op := app.Login(t, "operator@alfa.example", "demo")
	integrator := app.Login(t, "integrator@alfa.example", "demo")
	r := register(t, integrator, map[string]any{"product_id": 1, "type": "consultation", "subject": "API limits?", "description": "x"})
	if r.Channel != "api" {
		t.Errorf("a bearer-token registration's channel: %s", r.Channel)
	}
	op.Do("GET", fmt.Sprintf("/api/v1/requests/%d", r.ID), nil, 404, nil)
	admin.Do("GET", fmt.Sprintf("/api/v1/requests/%d", r.ID), nil, 200, nil)
	var mine struct {
		Total int
		Items []struct {
			RequesterName string `json:"requester_name"`
		}
	}
	op.Do("GET", "/api/v1/requests", nil, 200, &mine)
	for _, it := range mine.Items {
		if it.RequesterName != "Ольга Операторова" {
			t.Errorf("operator sees %s's request", it.RequesterName)
		}
	}
}

func TestTimersRemindAndClose(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@alfa.example", "demo")
			agent := app.Login(t, "agent@vendor.example", "demo")
			q := register(t, admin, map[string]any{"product_id": 1, "type": "consultation", "subject": "Waiting", "description": "x"})
			act(t, agent, q.ID, map[string]any{"action": "ask_clarification", "text": "Which version?"}, 200)
			done := register(t, admin, map[string]any{"product_id": 1, "type": "consultation", "subject": "Answered", "description": "x"})
			act(t, agent, done.ID, map[string]any{"action": "answer", "text": "Like this."}, 200)

			cfg := store.TimerConfig{RemindAfter: 48 * time.Hour, CloseUnansweredAfter: 10 * 24 * time.Hour, AutoCloseAfter: 5 * 24 * time.Hour}
			sweep := func() store.TimerReport {
				rep, err := app.Store.SweepRequestTimers(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := sweep(); rep != (store.TimerReport{}) {
				t.Fatalf("nothing is due yet, but: %+v", rep)
			}
			// The demo's own waiting and resolved requests are swept too, so
			// counts are checked as "something fired, and only once".
			app.Clock.Advance(49 * time.Hour)
			if rep := sweep(); rep.Reminded == 0 || rep.AutoClosed+rep.ClosedUnanswered != 0 {
				t.Errorf("after 49h: %+v", rep)
			}
			if rep := sweep(); rep != (store.TimerReport{}) {
				t.Errorf("a second sweep fired again: %+v", rep)
			}
			if v := view(t, admin, q.ID); v.State != "clarifying" {
				t.Errorf("reminded request: %s", v.State)
			}
			app.Clock.Advance(5 * 24 * time.Hour)
			if rep := sweep(); rep.AutoClosed == 0 || rep.ClosedUnanswered != 0 {
				t.Errorf("after 7 days: %+v", rep)
			}
			if v := view(t, admin, q.ID); v.State != "clarifying" {
				t.Errorf("closed too early: %s", v.State)
			}
			app.Clock.Advance(4 * 24 * time.Hour)
			if rep := sweep(); rep.ClosedUnanswered == 0 {
				t.Errorf("after 11 days: %+v", rep)
			}
			if rep := sweep(); rep != (store.TimerReport{}) {
				t.Errorf("a second sweep fired again: %+v", rep)
			}
			if v := view(t, admin, q.ID); v.State != "closed_unanswered" {
				t.Errorf("unanswered request: %s", v.State)
			}
			if v := view(t, admin, done.ID); v.State != "closed" {
				t.Errorf("resolved request: %s", v.State)
			}
			if got := journalActions(t, agent, q.ID); !slices.Contains(got, "reminder") || got[len(got)-1] != "close_unanswered" {
				t.Errorf("journal: %v", got)
			}
			// A late answer reopens it where it was.
			act(t, admin, q.ID, map[string]any{"action": "reopen", "text": "Version 4.2, sorry for the delay"}, 200)
			if v := view(t, admin, q.ID); v.State != "received" {
				t.Errorf("reopened to %s, want received", v.State)
			}
		})
	}
}
