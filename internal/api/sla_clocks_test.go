package api_test

import (
	"fmt"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/sla"
)

type clockView struct {
	Kind     string
	Seq      int
	Due      time.Time
	Left     string
	LeftSec  int64 `json:"left_seconds"`
	State    string
	Mode     string
	Deadline *time.Time
}

func clocks(t *testing.T, c *apptest.Client, id int64) map[string]clockView {
	t.Helper()
	var v struct {
		SLA []clockView
	}
	c.Do("GET", fmt.Sprintf("/api/v1/requests/%d", id), nil, 200, &v)
	out := map[string]clockView{}
	for _, k := range v.SLA {
		out[fmt.Sprintf("%s#%d", k.Kind, k.Seq)] = k
	}
	return out
}

func msk(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, sla.Moscow())
}

func TestClocksPauseWhileWaitingOnTheCustomer(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true, Now: msk(2026, 3, 2, 10, 0)}) // a Monday
	beta := app.Login(t, "admin@beta.example", "demo")                                           // Standard 9–17: first response 4h, clarification 8h
	agent := app.Login(t, "agent@vendor.example", "demo")
	r := register(t, beta, map[string]any{"product_id": 1, "type": "fault", "subject": "Slow reports", "description": "x"})
	k := clocks(t, agent, r.ID)
	if fr := k["first_response#1"]; !fr.Due.Equal(msk(2026, 3, 2, 14, 0)) || fr.State != "running" || fr.Mode != "working" {
		t.Fatalf("first response: %+v", fr)
	}
	if _, ok := k["agreement#1"]; !ok {
		t.Error("a fault has no agreement clock")
	}

	app.Clock.Set(msk(2026, 3, 2, 11, 0))
	leftBefore := clocks(t, agent, r.ID)["resolution#1"].LeftSec
	act(t, agent, r.ID, map[string]any{"action": "ask_clarification", "text": "Which report?"}, 200)
	k = clocks(t, agent, r.ID)
	if k["first_response#1"].State != "met" {
		t.Errorf("the question is the first response: %+v", k["first_response#1"])
	}
	if k["resolution#1"].State != "paused" {
		t.Errorf("resolution while waiting: %+v", k["resolution#1"])
	}
	// A day later the customer answers: the clock resumes with the time it had.
	app.Clock.Set(msk(2026, 3, 3, 10, 0))
	beta.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", r.ID), map[string]any{"body": "The daily one"}, 201, nil)
	k = clocks(t, agent, r.ID)
	if res := k["resolution#1"]; res.LeftSec != leftBefore || res.State != "running" {
		t.Errorf("resolution after the pause: left %ds (was %ds), %s", res.LeftSec, leftBefore, res.State)
	}
	// The answer starts the clarification target: 8h of 9–17 from Tue 10:00.
	if cl := k["clarification#1"]; !cl.Due.Equal(msk(2026, 3, 4, 10, 0)) {
		t.Errorf("clarification: %+v", cl)
	}
}

func TestClocksOnTheCalendar(t *testing.T) {
	tests := []struct {
		name  string
		login string
		now   time.Time
		body  map[string]any
		kind  string
		due   time.Time
		mode  string
	}{
		{"registered on a holiday night waits for the first working day", "admin@alfa.example", msk(2026, 1, 3, 2, 0),
			map[string]any{"product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "first_response#1", msk(2026, 1, 12, 10, 0), "working"},
		{"an emergency with 24/7 handling runs on the wall clock", "admin@alfa.example", msk(2026, 1, 3, 2, 0),
			map[string]any{"product_id": 1, "type": "fault", "priority": "emergency", "subject": "s", "description": "d"}, "first_response#1", msk(2026, 1, 3, 2, 15), "24x7"},
		{"across a transfer: a short working Saturday counts", "admin@beta.example", msk(2025, 10, 31, 16, 0),
			map[string]any{"product_id": 1, "type": "fault", "subject": "s", "description": "d"}, "first_response#1", msk(2025, 11, 1, 12, 0), "working"},
		{"an emergency without 24/7 waits for working time", "admin@beta.example", msk(2025, 12, 31, 20, 0),
			map[string]any{"product_id": 1, "type": "fault", "priority": "emergency", "subject": "s", "description": "d"}, "first_response#1", msk(2026, 1, 12, 10, 0), "working"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true, Now: tt.now})
			c := app.Login(t, tt.login, "demo")
			r := register(t, c, tt.body)
			k := clocks(t, c, r.ID)[tt.kind]
			if !k.Due.Equal(tt.due) || k.Mode != tt.mode {
				t.Errorf("%s due %s (%s), want %s (%s)", tt.kind, k.Due.In(sla.Moscow()), k.Mode, tt.due, tt.mode)
			}
		})
	}
}

func TestAgreedDeadlineReopenAndPlanChange(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true, Now: msk(2026, 3, 2, 10, 0)})
	beta := app.Login(t, "admin@beta.example", "demo")
	agent := app.Login(t, "agent@vendor.example", "demo")
	admin := app.Login(t, "admin@vendor.example", "demo")

	// An agreed deadline replaces the resolution target.
	r := register(t, beta, map[string]any{"product_id": 1, "type": "fault", "subject": "Deadline", "description": "x"})
	act(t, agent, r.ID, map[string]any{"action": "define_scope", "scope": "fix"}, 200)
	deadline := msk(2026, 3, 20, 17, 0)
	act(t, agent, r.ID, map[string]any{"action": "propose", "scope": "fix", "effort_hours": 8, "deadline": deadline.Format(time.RFC3339)}, 200)
	act(t, beta, r.ID, map[string]any{"action": "accept_proposal"}, 200)
	k := clocks(t, agent, r.ID)
	if res := k["resolution#1"]; res.Deadline == nil || !res.Due.Equal(deadline) {
		t.Errorf("resolution after the agreement: %+v", res)
	}
	if k["agreement#1"].State != "met" {
		t.Errorf("agreement: %+v", k["agreement#1"])
	}

	// Reopening a consultation resumes its resolution clock where it stopped.
	q := register(t, beta, map[string]any{"product_id": 1, "type": "consultation", "subject": "Q", "description": "x"})
	app.Clock.Set(msk(2026, 3, 2, 12, 0))
	act(t, agent, q.ID, map[string]any{"action": "answer", "text": "Like this"}, 200)
	stoppedLeft := clocks(t, agent, q.ID)["resolution#1"].LeftSec
	app.Clock.Set(msk(2026, 3, 4, 15, 0))
	act(t, beta, q.ID, map[string]any{"action": "reopen", "text": "Does not work"}, 200)
	if res := clocks(t, agent, q.ID)["resolution#1"]; res.State != "running" || res.LeftSec != stoppedLeft {
		t.Errorf("after reopening: %+v, left when answered %ds", res, stoppedLeft)
	}

	// Changing the plan's target recomputes the open request's clock.
	fresh := register(t, beta, map[string]any{"product_id": 1, "type": "fault", "subject": "Fresh", "description": "x"})
	var planID int64
	var lic struct {
		Items []struct {
			PlanID int64 `json:"plan_id"`
		}
	}
	admin.Do("GET", "/api/v1/licenses?customer_id=2", nil, 200, &lic)
	planID = lic.Items[0].PlanID
	before := clocks(t, agent, fresh.ID)["first_response#1"].Due
	admin.Do("PATCH", fmt.Sprintf("/api/v1/plans/%d", planID), map[string]any{"normal": map[string]any{"first_response": "30m", "clarification": "8h", "agreement": "16h", "resolution": "80h"}}, 200, nil)
	after := clocks(t, agent, fresh.ID)["first_response#1"].Due
	if !after.Equal(msk(2026, 3, 4, 15, 30)) || after.Equal(before) {
		t.Errorf("first response due %s after the plan change (was %s)", after.In(sla.Moscow()), before.In(sla.Moscow()))
	}
	var list struct {
		Items []struct {
			ID       int64
			SLADueAt *time.Time `json:"sla_due_at"`
		}
	}
	agent.Do("GET", "/api/v1/requests?customer_id=2&sort=due&limit=200", nil, 200, &list)
	for i := 1; i < len(list.Items); i++ {
		if list.Items[i].SLADueAt.Before(*list.Items[i-1].SLADueAt) {
			t.Fatalf("queue not sorted by nearest due at %d", i)
		}
	}
	found := false
	for _, it := range list.Items {
		if it.ID == fresh.ID {
			found = it.SLADueAt.Equal(after)
		}
	}
	if !found {
		t.Errorf("the queue's due for the fresh request is not the recomputed one")
	}
}
