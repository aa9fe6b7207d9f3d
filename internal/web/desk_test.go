package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// signedIn is a browser-like client signed in through the sign-in form.
func deskSignIn(t *testing.T, app *apptest.App, login string) *http.Client {
	t.Helper()
	c := client(t)
	_, _, token := get(t, c, app.HTTP.URL+"/signin", "en")
	if r := post(t, c, app.HTTP.URL+"/signin", url.Values{"csrf": {token}, "login": {login}, "password": {"demo"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", login, r.StatusCode)
	}
	// The demo people mostly read Russian; these tests read English.
	if r := post(t, c, app.HTTP.URL+"/lang", url.Values{"csrf": {token}, "lang": {"en"}, "back": {"/"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch %s to English: %d", login, r.StatusCode)
	}
	return c
}

// page fetches a page in English and checks its status.
func deskPage(t *testing.T, c *http.Client, u string, want int) (string, string) {
	t.Helper()
	status, body, token := get(t, c, u, "en")
	if status != want {
		t.Fatalf("GET %s: %d, want %d; %s", u, status, want, deskSnippet(body))
	}
	return body, token
}

func deskSnippet(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	return body[:min(len(body), 600)]
}

// postForm posts a form and returns the status, the redirect and the body.
func deskPost(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), b.String()
}

var deskRowRE = regexp.MustCompile(`<tr class="desk-row( emergency)?" data-id="(\d+)">`)

// rows lists the queue rows on a page: request ids, and whether each is an emergency.
func deskRows(body string) (ids []string, emergency []bool) {
	for _, m := range deskRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[2])
		emergency = append(emergency, m[1] != "")
	}
	return ids, emergency
}

// The queue as an agent: every open request, counts per chip, filters,
// the SLA order and countdowns, the htmx partial, keyset pages; and
// customers are refused.
func TestDeskQueue(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	ctx := context.Background()
	agent := deskSignIn(t, app, "agent@vendor.example")
	agentAcc, _ := app.Store.AccountByLogin(ctx, "agent@vendor.example")
	open := true
	all, err := app.Store.ListRequests(ctx, agentAcc.Principal(), store.RequestFilter{Open: &open, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}

	// Newest first shows every open request.
	body, _ := deskPage(t, agent, base+"/desk?sort=created", 200)
	ids, _ := deskRows(body)
	if len(ids) != all.Total || all.Total == 0 {
		t.Fatalf("queue shows %d rows, %d requests are open", len(ids), all.Total)
	}
	for _, want := range []string{`hx-get="/desk/rows?sort=created"`, `hx-trigger="every 60s"`, "All open", "Breached", "Not covered", `<label for="f-priority">Priority</label>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the queue lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`All open <span class="n">(\d+)</span>`).FindStringSubmatch(body); m == nil || m[1] != fmt.Sprint(all.Total) {
		t.Errorf("the All open chip says %v, want %d", m, all.Total)
	}

	// Emergencies only.
	body, _ = deskPage(t, agent, base+"/desk?sort=created&priority=emergency", 200)
	ids, em := deskRows(body)
	if len(ids) == 0 {
		t.Fatal("no emergencies in the demo queue")
	}
	for i := range ids {
		if !em[i] {
			t.Errorf("request %s is listed among emergencies but is not one", ids[i])
		}
	}

	// By the nearest due (the default): rows with a clock, earliest first,
	// with a countdown; the clockless ones are pointed to.
	app.Clock.Advance(30 * time.Minute)
	body, _ = deskPage(t, agent, base+"/desk", 200)
	dues := regexp.MustCompile(`<time datetime="([^"]+)">[^<]*</time> · `).FindAllStringSubmatch(body, -1)
	if len(dues) == 0 {
		t.Fatal("no SLA countdowns in the queue")
	}
	for i := 1; i < len(dues); i++ {
		if dues[i][1] < dues[i-1][1] {
			t.Errorf("not in due order: %s after %s", dues[i][1], dues[i-1][1])
		}
	}
	if !strings.Contains(body, "overdue") || !strings.Contains(body, "left") || !strings.Contains(body, "without a running SLA clock") {
		t.Errorf("the due order lacks countdowns or the note on clockless requests: %s", deskSnippet(body))
	}
	body, _ = deskPage(t, agent, base+"/desk?sla=breached", 200)
	if ids, _ := deskRows(body); len(ids) == 0 || strings.Count(body, `class="badge breached"`) != len(ids) {
		t.Errorf("breached filter: %d rows, %d breached badges", len(ids), strings.Count(body, `class="badge breached"`))
	}

	// The partial is the live part alone, with the same filters.
	body, _ = deskPage(t, agent, base+"/desk/rows?sla=breached", 200)
	if !strings.HasPrefix(strings.TrimSpace(body), `<div id="queue"`) || strings.Contains(body, "<html") || !strings.Contains(body, `hx-get="/desk/rows?sla=breached"`) {
		t.Errorf("the partial: %s", deskSnippet(body))
	}

	// Text search finds a number.
	first := all.Items[0]
	body, _ = deskPage(t, agent, base+"/desk?sort=created&q="+url.QueryEscape(strings.ToLower(first.Number)), 200)
	if ids, _ := deskRows(body); len(ids) != 1 || ids[0] != fmt.Sprint(first.ID) {
		t.Errorf("search by number %s: %v", first.Number, ids)
	}

	// Keyset pages: 60 more requests make two pages, each row once.
	betaOp, _ := app.Store.AccountByLogin(ctx, "operator@beta.example")
	for i := range 60 {
		_, _, err := app.Store.RegisterRequest(ctx, betaOp.Principal(), desk.NewRequest{ProductID: first.ProductID, Type: "consultation",
			Subject: fmt.Sprintf("Question %d", i), Description: "How?"}, "", sla.Default())
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	next := base + "/desk?sort=created"
	pages := 0
	for next != "" && pages < 5 {
		body, _ = deskPage(t, agent, next, 200)
		ids, _ := deskRows(body)
		for _, id := range ids {
			if seen[id] {
				t.Errorf("request %s on two pages", id)
			}
			seen[id] = true
		}
		pages++
		next = ""
		if m := regexp.MustCompile(`<a (?:id="queue-next" )?href="([^"]+)" rel="next">`).FindStringSubmatch(body); m != nil {
			next = base + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if pages != 2 || len(seen) != all.Total+60 {
		t.Errorf("%d pages with %d requests, want 2 with %d", pages, len(seen), all.Total+60)
	}

	// Customers, even their administrators, are not let in.
	for _, login := range []string{"operator@alfa.example", "admin@beta.example"} {
		c := deskSignIn(t, app, login)
		for _, p := range []string{"/desk", "/desk/rows", "/desk/new", "/desk/new?customer=1"} {
			deskPage(t, c, base+p, http.StatusForbidden)
		}
	}
	// Without signing in, the desk asks for it.
	resp, err := client(t).Get(base + "/desk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("anonymous /desk: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// An agent logs a phone call for beta's operator: the form keeps what
// was typed when something is missing, the request is registered once
// even if the form is sent twice, and the number and coverage are shown.
func TestDeskLogCall(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	ctx := context.Background()
	agent := deskSignIn(t, app, "agent@vendor.example")
	beta, err := app.Store.CustomerIDByCode(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	betaOp, _ := app.Store.AccountByLogin(ctx, "operator@beta.example")

	body, _ := deskPage(t, agent, base+"/desk/new", 200)
	if !strings.Contains(body, "Beta Logistics (beta)") || strings.Contains(body, `id="call"`) {
		t.Fatalf("first step: %s", deskSnippet(body))
	}
	body, token := deskPage(t, agent, fmt.Sprintf("%s/desk/new?customer=%d", base, beta), 200)
	for _, want := range []string{`id="call"`, "Bella Operator", "Security Platform — licensed", "A fault that stops normal operation", `name="key"`, "Standard 9–17"} {
		if !strings.Contains(body, want) {
			t.Errorf("the call form lacks %q", want)
		}
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(body)[1]
	form := url.Values{"csrf": {token}, "customer_id": {fmt.Sprint(beta)}, "key": {key}, "channel": {"phone"}, "requester_id": {fmt.Sprint(betaOp.ID)},
		"product_id": {"1"}, "type": {"fault"}, "priority": {"emergency"}, "subject": {""}, "description": {"The dock 2 gate <b>does not</b> open."}}

	// No subject: the form comes back with the error by the field and the input kept.
	status, _, body := deskPost(t, agent, base+"/desk/new", form)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("no subject: %d %s", status, deskSnippet(body))
	}
	if !regexp.MustCompile(`id="call-subject" name="subject" value=""[^>]* aria-describedby="call-subject-error" aria-invalid="true"`).MatchString(body) ||
		!strings.Contains(body, `id="call-subject-error"`) || !strings.Contains(body, "The dock 2 gate &lt;b&gt;does not&lt;/b&gt; open.") {
		t.Errorf("the error is not by the subject, or the description was lost: %s", body[strings.Index(body, `id="call"`):][:2000])
	}

	form.Set("subject", "Dock 2 gate does not open")
	status, loc, _ := deskPost(t, agent, base+"/desk/new", form)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/desk/new?registered=") {
		t.Fatalf("register: %d %s", status, loc)
	}
	// Sent twice (a double click, a reload): the same request.
	if _, again, _ := deskPost(t, agent, base+"/desk/new", form); again != loc {
		t.Errorf("the second submit went to %s, the first to %s", again, loc)
	}
	body, _ = deskPage(t, agent, base+loc, 200)
	num := regexp.MustCompile(`<strong id="registered-number">(REQ-\d{4}-\d{6})</strong>`).FindStringSubmatch(body)
	if num == nil || !strings.Contains(body, "Covered by the customer&#39;s license.") || !strings.Contains(body, `href="/requests/`) {
		t.Fatalf("after registering: %s", deskSnippet(body))
	}
	var got []desk.Request
	agentAcc, _ := app.Store.AccountByLogin(ctx, "agent@vendor.example")
	list, err := app.Store.ListRequests(ctx, agentAcc.Principal(), store.RequestFilter{Query: "Dock 2 gate", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got = list.Items
	if len(got) != 1 || got[0].Number != num[1] || got[0].Channel != desk.ChannelPhone || got[0].RequesterID != betaOp.ID ||
		got[0].RequesterPhone != betaOp.Phone || got[0].Priority != "emergency" || got[0].CreatedBy != agentAcc.ID {
		t.Errorf("registered: %+v", got)
	}

	// Gamma's license lapsed: the call is registered, not covered, and says why.
	gamma, _ := app.Store.CustomerIDByCode(ctx, "gamma")
	body, token = deskPage(t, agent, fmt.Sprintf("%s/desk/new?customer=%d", base, gamma), 200)
	key = regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(body)[1]
	status, loc, _ = deskPost(t, agent, base+"/desk/new", url.Values{"csrf": {token}, "customer_id": {fmt.Sprint(gamma)}, "key": {key}, "channel": {"email"},
		"requester_name": {"Guest caller"}, "requester_phone": {"+7 343 000-00-00"}, "product_id": {"1"}, "type": {"consultation"}, "priority": {"normal"},
		"subject": {"Renewal"}, "description": {"Asks about renewal."}})
	if status != http.StatusSeeOther {
		t.Fatalf("gamma: %d", status)
	}
	body, _ = deskPage(t, agent, base+loc, 200)
	if !strings.Contains(body, "badge not-covered") || !strings.Contains(body, "lapsed") {
		t.Errorf("a lapsed license's call: %s", deskSnippet(body))
	}

	// A customer cannot log calls here.
	op := deskSignIn(t, app, "operator@beta.example")
	_, token = deskPage(t, op, base+"/password", 200)
	form.Set("csrf", token)
	if status, _, _ := deskPost(t, op, base+"/desk/new", form); status != http.StatusForbidden {
		t.Errorf("a customer posting a call: %d", status)
	}
	// Without the CSRF token nothing is registered.
	form.Del("csrf")
	if status, _, _ := deskPost(t, agent, base+"/desk/new", form); status != http.StatusForbidden {
		t.Errorf("a call without the CSRF token: %d", status)
	}
}
