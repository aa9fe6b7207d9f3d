package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
)

type probLinked struct {
	ID         int64
	Number     string
	Subject    string
	State      string
	CustomerID int64 `json:"customer_id"`
}

type probView struct {
	ID             int64
	Title          string
	Analysis       string
	RootCause      string `json:"root_cause"`
	ResolutionKind string `json:"resolution_kind"`
	Resolution     string
	State          string
	ProductID      int64 `json:"product_id"`
	Requests       []probLinked
	Resolvable     []struct {
		ID     int64
		Number string
		Action string
	}
}

type probOutcome struct {
	ID       int64
	Number   string
	Action   string
	Resolved bool
	State    string
	Reason   string
}

type probRequest struct {
	ID         int64
	Number     string
	State      string
	Type       string
	ProblemID  int64 `json:"problem_id"`
	Resolution string
}

type probJournal struct {
	Items []struct {
		Action   string
		Note     string
		EntityID int64 `json:"entity_id"`
	}
}

// probFlow drives one engine's tend through the problem workflow.
type probFlow struct {
	t                *testing.T
	agent, dev, alfa *apptest.Client
	product          int64
}

func (f probFlow) register(typ, subject string) probRequest {
	f.t.Helper()
	var r probRequest
	f.alfa.Do("POST", "/api/v1/requests", map[string]any{"product_id": f.product, "type": typ, "subject": subject,
		"description": subject + ", in detail."}, 201, &r)
	return r
}

func (f probFlow) act(c *apptest.Client, id int64, body map[string]any) {
	f.t.Helper()
	c.Do("POST", fmt.Sprintf("/api/v1/requests/%d/actions", id), body, 200, nil)
}

func (f probFlow) request(id int64) probRequest {
	f.t.Helper()
	var r probRequest
	f.agent.Do("GET", fmt.Sprintf("/api/v1/requests/%d", id), nil, 200, &r)
	return r
}

func (f probFlow) problem(c *apptest.Client, id int64) probView {
	f.t.Helper()
	var v probView
	c.Do("GET", fmt.Sprintf("/api/v1/problems/%d", id), nil, 200, &v)
	return v
}

func (f probFlow) link(problem, request int64, want int) probView {
	f.t.Helper()
	var v probView
	resp := f.agent.Do("POST", fmt.Sprintf("/api/v1/problems/%d/requests", problem), map[string]any{"request_id": request}, want, nil)
	if want == 200 {
		if err := json.Unmarshal(resp.Body, &v); err != nil {
			f.t.Fatalf("decode %s: %v", resp.Body, err)
		}
	}
	return v
}

func (f probFlow) journal(c *apptest.Client, path string) (actions, notes []string) {
	f.t.Helper()
	var j probJournal
	c.Do("GET", path, nil, 200, &j)
	for _, e := range j.Items {
		actions = append(actions, e.Action)
		notes = append(notes, e.Note)
	}
	return actions, notes
}

func TestProblemResolvesItsRequests(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			f := probFlow{t: t,
				agent: app.Login(t, "agent@vendor.example", "demo"),
				dev:   app.Login(t, "dev@vendor.example", "demo"),
				alfa:  app.Login(t, "admin@alfa.example", "demo"),
			}
			f.product = firstID(t, f.agent, "/api/v1/products")
			deadline := app.Clock.Now().Add(10 * 24 * time.Hour).Format(time.RFC3339)

			// Three of alfa's requests; one fault is taken into work.
			inWork := f.register("fault", "Reports time out")
			fresh := f.register("fault", "Report export is slow")
			consult := f.register("consultation", "Which index does the report use?")
			f.act(f.agent, inWork.ID, map[string]any{"action": "define_scope", "scope": "Find the slow query"})
			f.act(f.agent, inWork.ID, map[string]any{"action": "propose", "scope": "Find the slow query", "effort_hours": 8, "deadline": deadline})
			f.act(f.alfa, inWork.ID, map[string]any{"action": "accept_proposal"})
			f.act(f.agent, inWork.ID, map[string]any{"action": "start_work"})
			if st := f.request(inWork.ID).State; st != "in_work" {
				t.Fatalf("fault is %s, want in_work", st)
			}

			// A problem is registered and the three requests linked to it.
			var pr probView
			resp := f.agent.Do("POST", "/api/v1/problems", map[string]any{"title": "  Report queries miss an index ", "product_id": f.product}, 201, &pr)
			if pr.State != "open" || pr.Title != "Report queries miss an index" || resp.Header.Get("Location") != fmt.Sprintf("/api/v1/problems/%d", pr.ID) {
				t.Fatalf("created %+v, Location %q", pr, resp.Header.Get("Location"))
			}
			f.link(pr.ID, inWork.ID, 200)
			f.link(pr.ID, fresh.ID, 200)
			v := f.link(pr.ID, consult.ID, 200)
			if len(v.Requests) != 3 || v.Requests[0].ID != inWork.ID || v.Requests[0].Number != inWork.Number || v.Requests[2].State != "received" || v.Requests[0].CustomerID == 0 {
				t.Fatalf("linked requests = %+v", v.Requests)
			}
			var resolvable []string
			for _, r := range v.Resolvable {
				resolvable = append(resolvable, fmt.Sprintf("%d:%s", r.ID, r.Action))
			}
			if want := []string{fmt.Sprintf("%d:resolve", inWork.ID), fmt.Sprintf("%d:answer", consult.ID)}; !slices.Equal(resolvable, want) {
				t.Errorf("resolvable = %v, want %v", resolvable, want)
			}
			if got := f.request(fresh.ID).ProblemID; got != pr.ID {
				t.Errorf("request's problem_id = %d, want %d", got, pr.ID)
			}

			// A request belongs to one problem at most.
			var other probView
			f.agent.Do("POST", "/api/v1/problems", map[string]any{"title": "Another problem"}, 201, &other)
			resp = f.agent.Do("POST", fmt.Sprintf("/api/v1/problems/%d/requests", other.ID), map[string]any{"request_id": inWork.ID}, 409, nil)
			if _, field, msg := resp.Error(); field != "request_id" || !strings.Contains(msg, fmt.Sprintf("problem %d", pr.ID)) || !strings.Contains(msg, inWork.Number) {
				t.Errorf("link elsewhere: field %q message %q; want it to name problem %d", field, msg, pr.ID)
			}
			f.link(pr.ID, inWork.ID, 409)
			for body, field := range map[string]string{`{"request_id":0}`: "request_id", `{"request_id":999999}`: "request_id", `{"request":1}`: "request"} {
				resp := f.agent.Call("POST", fmt.Sprintf("/api/v1/problems/%d/requests", other.ID), body)
				if _, got, _ := resp.Error(); resp.Status != 422 || got != field {
					t.Errorf("link %s: %d %s", body, resp.Status, resp.Body)
				}
			}
			f.link(999999, inWork.ID, 404)

			// Unlink, and link back.
			f.agent.Do("DELETE", fmt.Sprintf("/api/v1/problems/%d/requests/%d", pr.ID, consult.ID), nil, 200, &v)
			if len(v.Requests) != 2 || f.request(consult.ID).ProblemID != 0 {
				t.Fatalf("after unlink: %+v", v.Requests)
			}
			f.agent.Do("DELETE", fmt.Sprintf("/api/v1/problems/%d/requests/%d", pr.ID, consult.ID), nil, 404, nil)
			f.agent.Do("DELETE", fmt.Sprintf("/api/v1/problems/%d/requests/%d", other.ID, inWork.ID), nil, 404, nil)
			f.link(pr.ID, consult.ID, 200)

			// The analysis and root cause are recorded; the cause is confirmed.
			f.dev.Do("PATCH", fmt.Sprintf("/api/v1/problems/%d", pr.ID), map[string]any{"analysis": "Every report does a full scan of events."}, 200, &v)
			f.dev.Do("PATCH", fmt.Sprintf("/api/v1/problems/%d", pr.ID), map[string]any{"root_cause": "events(at) has no index", "state": "known_error"}, 200, &v)
			if v.State != "known_error" || v.Analysis == "" || v.RootCause != "events(at) has no index" || len(v.Requests) != 3 {
				t.Fatalf("after patches: %+v", v)
			}
			for body, status := range map[string]int{`{"state":"open"}`: 409, `{"state":"resolved"}`: 409, `{"title":""}`: 422, `{"state":"fixed"}`: 422, `{"resolution":"x"}`: 422, `{"product_id":999999}`: 422} {
				resp := f.agent.Call("PATCH", fmt.Sprintf("/api/v1/problems/%d", pr.ID), body)
				if code, field, msg := resp.Error(); resp.Status != status || msg == "" || code == "internal" {
					t.Errorf("PATCH %s: %d %s %s %s; want %d", body, resp.Status, code, field, msg, status)
				}
			}

			// Lists filter by state, product and text.
			var list struct {
				Items []probView
				Total int
			}
			f.agent.Do("GET", "/api/v1/problems?state=known_error", nil, 200, &list)
			if list.Total != 1 || list.Items[0].ID != pr.ID {
				t.Errorf("known errors = %+v", list)
			}
			f.agent.Do("GET", fmt.Sprintf("/api/v1/problems?q=INDEX&product_id=%d", f.product), nil, 200, &list)
			if list.Total != 1 || list.Items[0].ID != pr.ID {
				t.Errorf("search = %+v", list)
			}
			f.agent.Do("GET", "/api/v1/problems?limit=1", nil, 200, &list)
			if list.Total < 2 || len(list.Items) != 1 {
				t.Errorf("page = %+v", list)
			}
			f.agent.Do("GET", "/api/v1/problems?state=fixed", nil, 422, nil)

			// Customers do not see problems at all.
			f.alfa.Do("GET", fmt.Sprintf("/api/v1/problems/%d", pr.ID), nil, 403, nil)
			f.alfa.Do("GET", "/api/v1/problems", nil, 403, nil)
			f.alfa.Do("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", pr.ID), map[string]any{"resolution_kind": "update", "resolution": "x", "resolve_requests": true}, 403, nil)

			// A read-only token sees the problem but is offered nothing to resolve.
			var tok struct{ Secret string }
			f.agent.Do("POST", "/api/v1/tokens", map[string]string{"name": "report", "scope": "read"}, 201, &tok)
			reader := app.WithToken(t, tok.Secret)
			if rv := f.problem(reader, pr.ID); len(rv.Requests) != 3 || len(rv.Resolvable) != 0 {
				t.Errorf("read-only view: %d requests, resolvable %v", len(rv.Requests), rv.Resolvable)
			}
			reader.Do("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", pr.ID), map[string]any{"resolution_kind": "update", "resolution": "x"}, 403, nil)

			// Resolving needs a kind and a text.
			for body, field := range map[string]string{
				`{"resolution_kind":"patch","resolution":"x"}`:  "resolution_kind",
				`{"resolution":"Install 4.2.2"}`:                "resolution_kind",
				`{"resolution_kind":"update","resolution":" "}`: "resolution",
			} {
				resp := f.agent.Call("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", pr.ID), body)
				if _, got, _ := resp.Error(); resp.Status != 422 || got != field {
					t.Errorf("resolve %s: %d %s", body, resp.Status, resp.Body)
				}
			}

			// Resolved by an update, with the requests the workflow allows.
			var res struct {
				Problem  probView
				Requests []probOutcome
			}
			f.agent.Do("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", pr.ID), map[string]any{
				"resolution_kind": "update", "resolution": "Install 4.2.2: it adds the index on events(at).", "resolve_requests": true}, 200, &res)
			if res.Problem.State != "resolved" || res.Problem.ResolutionKind != "update" || len(res.Problem.Requests) != 3 || len(res.Problem.Resolvable) != 0 {
				t.Fatalf("resolved problem = %+v", res.Problem)
			}
			outcomes := map[int64]probOutcome{}
			for _, o := range res.Requests {
				outcomes[o.ID] = o
			}
			if o := outcomes[inWork.ID]; !o.Resolved || o.Action != "resolve" || o.State != "resolved" || o.Reason != "" || o.Number != inWork.Number {
				t.Errorf("fault in work: %+v", o)
			}
			if o := outcomes[consult.ID]; !o.Resolved || o.Action != "answer" || o.State != "resolved" {
				t.Errorf("consultation: %+v", o)
			}
			if o := outcomes[fresh.ID]; o.Resolved || o.Action != "" || o.State != "received" || !strings.Contains(o.Reason, "scope of work") {
				t.Errorf("fresh fault: %+v", o)
			}
			if r := f.request(inWork.ID); r.State != "resolved" || r.Resolution != "Install 4.2.2: it adds the index on events(at)." {
				t.Errorf("fault in work is now %+v", r)
			}
			if r := f.request(consult.ID); r.State != "resolved" {
				t.Errorf("consultation is now %s", r.State)
			}
			if r := f.request(fresh.ID); r.State != "received" {
				t.Errorf("fresh fault is now %s", r.State)
			}
			f.agent.Do("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", pr.ID), map[string]any{"resolution_kind": "update", "resolution": "again"}, 409, nil)
			f.agent.Do("PATCH", fmt.Sprintf("/api/v1/problems/%d", pr.ID), map[string]any{"state": "known_error"}, 409, nil)

			// A closed request can still be linked, for the record; resolving
			// without resolve_requests leaves the requests alone.
			f.act(f.alfa, inWork.ID, map[string]any{"action": "confirm"})
			f.agent.Do("DELETE", fmt.Sprintf("/api/v1/problems/%d/requests/%d", pr.ID, inWork.ID), nil, 200, nil)
			f.link(other.ID, inWork.ID, 200)
			f.link(other.ID, fresh.ID, 409)
			f.agent.Do("POST", fmt.Sprintf("/api/v1/problems/%d/resolve", other.ID), map[string]any{"resolution_kind": "instructions", "resolution": "Nothing more to do."}, 200, &res)
			if len(res.Requests) != 0 || res.Problem.State != "resolved" || f.request(inWork.ID).State != "closed" {
				t.Errorf("resolve without requests: %+v", res)
			}

			// Both journals tell the story.
			actions, _ := f.journal(f.agent, fmt.Sprintf("/api/v1/journal?entity=problem&entity_id=%d&limit=200", pr.ID))
			for _, want := range []string{"created", "request_linked", "request_unlinked", "updated", "known_error", "resolved"} {
				if !slices.Contains(actions, want) {
					t.Errorf("problem journal %v lacks %s", actions, want)
				}
			}
			actions, notes := f.journal(f.alfa, fmt.Sprintf("/api/v1/requests/%d/journal?limit=200", consult.ID))
			if !slices.Contains(notes, fmt.Sprintf("linked to problem %d", pr.ID)) || !slices.Contains(actions, "unlinked_from_problem") || !slices.Contains(actions, "answer") {
				t.Errorf("consultation journal %v %q", actions, notes)
			}
			actions, notes = f.journal(f.agent, fmt.Sprintf("/api/v1/requests/%d/journal?limit=200", inWork.ID))
			if !slices.Contains(notes, fmt.Sprintf("linked to problem %d", other.ID)) || !slices.Contains(notes, fmt.Sprintf("unlinked from problem %d", pr.ID)) || !slices.Contains(actions, "resolve") {
				t.Errorf("fault journal %v %q", actions, notes)
			}
			// The customer's journal does not carry the vendor's problem entries.
			var all probJournal
			f.alfa.Do("GET", "/api/v1/journal?entity=problem&limit=200", nil, 200, &all)
			if len(all.Items) != 0 {
				t.Errorf("alfa sees %d problem journal entries", len(all.Items))
			}
		})
	}
}

func TestProblemCreateIsIdempotent(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	var login struct{ Token string }
	app.Anonymous(t).Do("POST", "/api/v1/auth/login", map[string]string{"login": "agent@vendor.example", "password": "demo"}, 200, &login)
	send := func(body string) (int, http.Header, probView) {
		t.Helper()
		req, _ := http.NewRequest("POST", app.HTTP.URL+"/api/v1/problems", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+login.Token)
		req.Header.Set("Idempotency-Key", "retry-1")
		resp, err := app.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v probView
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, resp.Header, v
	}
	s1, _, a := send(`{"title":"Retried"}`)
	s2, h2, b := send(`{"title":"Retried"}`)
	if s1 != 201 || s2 != 201 || h2.Get("Idempotent-Replayed") != "true" || a.ID == 0 || a.ID != b.ID || b.Title != "Retried" {
		t.Fatalf("retry: %d %d %q, first %+v, replay %+v", s1, s2, h2.Get("Idempotent-Replayed"), a, b)
	}
	if s3, _, _ := send(`{"title":"Different"}`); s3 != 409 {
		t.Errorf("same key, another body: %d, want 409", s3)
	}
	var list struct{ Total int }
	app.WithToken(t, login.Token).Do("GET", "/api/v1/problems?q=retried", nil, 200, &list)
	if list.Total != 1 {
		t.Errorf("%d problems registered by two calls with one key", list.Total)
	}
}
