package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/sla"
	"tend/internal/store"
)

// signIn returns a browser-like client signed in as login.
func signIn(t *testing.T, app *apptest.App, login string) *http.Client {
	t.Helper()
	c := client(t)
	_, _, token := get(t, c, app.HTTP.URL+"/signin", "")
	r := post(t, c, app.HTTP.URL+"/signin", url.Values{"csrf": {token}, "login": {login}, "password": {"demo"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", login, r.StatusCode)
	}
	return c
}

// signInLang signs in and switches the account's language, as the header
// button does.
func signInLang(t *testing.T, app *apptest.App, login, lang string) *http.Client {
	t.Helper()
	c := signIn(t, app, login)
	_, _, token := get(t, c, app.HTTP.URL+"/password", "")
	if r := post(t, c, app.HTTP.URL+"/lang", url.Values{"csrf": {token}, "lang": {lang}, "back": {"/"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch %s to %s: %d", login, lang, r.StatusCode)
	}
	return c
}

// answer is a response with its body read.
type answer struct {
	Status   int
	Location string
	Body     string
}

func send(t *testing.T, c *http.Client, method, u, contentType string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) answer {
	t.Helper()
	return send(t, c, "POST", u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// part is one part of a multipart form: a field, or a file when name is set.
type part struct{ field, value, file string }

func postMultipart(t *testing.T, c *http.Client, u string, parts ...part) answer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file != "" {
			w, err := mw.CreateFormFile(p.field, p.file)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(p.value))
			continue
		}
		mw.WriteField(p.field, p.value)
	}
	mw.Close()
	return send(t, c, "POST", u, mw.FormDataContentType(), &buf)
}

// pngBytes is a small real PNG image.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for x := range 40 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{uint8(x * 6), 90, uint8(y * 10), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func principal(t *testing.T, app *apptest.App, login string) auth.Principal {
	t.Helper()
	a, err := app.Store.AccountByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return a.Principal()
}

// requestBySubject finds a demo request's id.
func requestBySubject(t *testing.T, app *apptest.App, subject string) desk.Request {
	t.Helper()
	list, err := app.Store.ListRequests(context.Background(), principal(t, app, "agent@vendor.example"), store.RequestFilter{Query: subject, Limit: 10})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no request %q: %v", subject, err)
	}
	return list.Items[0]
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

var idFromLocation = regexp.MustCompile(`^/requests/(\d+)$`)

func TestPortalListIsScopedFilteredAndPaged(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	op := signIn(t, app, "operator@alfa.example")
	status, body, _ := get(t, op, base+"/requests", "")
	if status != 200 {
		t.Fatalf("list: %d", status)
	}
	for _, want := range []string{"Turnstiles at gate 3 do not open", "Как выгрузить табель", "Ждём вашего ответа"} {
		if !strings.Contains(body, want) {
			t.Errorf("the operator's list lacks %q", want)
		}
	}
	for _, not := range []string{"Show the badge photo", "Duplicate passage events", "Camera server offline"} {
		if strings.Contains(body, not) {
			t.Errorf("the operator sees %q, which is not his", not)
		}
	}
	admin := signIn(t, app, "admin@alfa.example")
	_, body, _ = get(t, admin, base+"/requests", "")
	if !strings.Contains(body, "Show the badge photo") || !strings.Contains(body, "Turnstiles at gate 3") || strings.Contains(body, "Duplicate passage events") {
		t.Error("the customer admin sees neither the whole organisation nor only it")
	}
	if !strings.Contains(body, "Ждём вашего решения по предложению") {
		t.Error("the customer admin is not told that a proposal waits for his decision")
	}
	// Closed requests and the type filter.
	_, body, _ = get(t, op, base+"/requests?status=closed", "")
	if !strings.Contains(body, "Where does the portal keep meter reading history?") || strings.Contains(body, "Turnstiles") {
		t.Error("status=closed does not show just the closed requests")
	}
	_, body, _ = get(t, op, base+"/requests?status=all&type=consultation", "")
	if strings.Contains(body, "Turnstiles") || !strings.Contains(body, "LDAP") {
		t.Error("type=consultation does not filter")
	}

	// Keyset paging: 30 more requests make two pages with no overlap.
	p := principal(t, app, "operator@alfa.example")
	platform := requestBySubject(t, app, "Turnstiles at gate 3").ProductID
	for i := range 30 {
		_, _, err := app.Store.RegisterRequest(context.Background(), p, desk.NewRequest{Channel: desk.ChannelPortal, ProductID: platform,
			Type: "consultation", Subject: "Paging question " + strconv.Itoa(i), Description: "?"}, "", sla.Default())
		if err != nil {
			t.Fatal(err)
		}
	}
	_, body, _ = get(t, op, base+"/requests?status=open", "")
	rows := regexp.MustCompile(`<a href="/requests/(\d+)">REQ-`).FindAllStringSubmatch(body, -1)
	next := regexp.MustCompile(`<a href="(/requests\?[^"]+)" rel="next">`).FindStringSubmatch(body)
	if len(rows) != 25 || next == nil {
		t.Fatalf("first page: %d rows, next %v", len(rows), next)
	}
	_, body2, _ := get(t, op, base+strings.ReplaceAll(next[1], "&amp;", "&"), "")
	rows2 := regexp.MustCompile(`<a href="/requests/(\d+)">REQ-`).FindAllStringSubmatch(body2, -1)
	if len(rows2) == 0 || !strings.Contains(body2, "First page") && !strings.Contains(body2, "Первая страница") {
		t.Fatalf("second page: %d rows", len(rows2))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r[1]] = true
	}
	for _, r := range rows2 {
		if seen[r[1]] {
			t.Errorf("request %s is on both pages", r[1])
		}
	}
	// Pages need sign-in.
	if r := send(t, client(t), "GET", base+"/requests", "", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("anonymous /requests: %d %s", r.Status, r.Location)
	}
}

func TestNewRequestFormStreamsFilesAndChecksCSRF(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	op := signIn(t, app, "operator@alfa.example")
	status, body, token := get(t, op, base+"/requests/new", "")
	if status != 200 || token == "" {
		t.Fatalf("form: %d", status)
	}
	for _, want := range []string{`<label for="subject">`, `<label for="description">`, `<label for="product_id">`, `<label for="steps">`,
		`name="files" multiple data-drop`, "Ошибка, которая останавливает нормальную работу", `enctype="multipart/form-data"`, "Security Platform"} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	platform := strconv.FormatInt(requestBySubject(t, app, "Turnstiles at gate 3").ProductID, 10)
	hq := strconv.FormatInt(requestBySubject(t, app, "Turnstiles at gate 3").InstanceID, 10)
	fields := func(csrf string, extra ...part) []part {
		ps := []part{{field: "csrf", value: csrf}, {field: "key", value: "k-" + csrf[:4]}, {field: "type", value: "fault"}, {field: "product_id", value: platform},
			{field: "instance_id", value: hq}, {field: "priority", value: "emergency"}, {field: "subject", value: "Readers at gate 5 are dark"},
			{field: "description", value: "All readers at gate 5 went dark at 09:50."}, {field: "steps", value: "Look at gate 5."},
			{field: "expected", value: "Readers lit."}, {field: "actual", value: "Readers dark."}, {field: "requester_phone", value: "+7 495 111-11-13"}}
		return append(ps, extra...)
	}
	before, _ := app.Store.ListRequests(context.Background(), principal(t, app, "agent@vendor.example"), store.RequestFilter{Limit: 1})
	filesBefore := countFiles(t, app.Files)

	// No token, a wrong token, and a token that is not the first part: 403,
	// and nothing is registered or stored.
	if r := postMultipart(t, op, base+"/requests/new", fields("wrong-token-xx", part{field: "files", file: "a.png", value: string(pngBytes(t))})...); r.Status != 403 {
		t.Errorf("wrong CSRF token: %d", r.Status)
	}
	noToken := fields("xxxx")[1:]
	if r := postMultipart(t, op, base+"/requests/new", noToken...); r.Status != 403 {
		t.Errorf("no CSRF part: %d", r.Status)
	}
	late := append(fields("xxxx")[1:], part{field: "csrf", value: token})
	if r := postMultipart(t, op, base+"/requests/new", late...); r.Status != 403 {
		t.Errorf("CSRF as the last part: %d", r.Status)
	}
	if r := postForm(t, op, base+"/requests/new", url.Values{"subject": {"x"}}); r.Status != 403 {
		t.Errorf("url-encoded without CSRF: %d", r.Status)
	}
	// Every other form refuses a missing token too.
	id := requestBySubject(t, app, "Turnstiles at gate 3").ID
	for _, path := range []string{"/requests/%d/act", "/requests/%d/rate", "/requests/%d/problem", "/requests/%d/comment"} {
		if r := postForm(t, op, base+strings.Replace(path, "%d", strconv.FormatInt(id, 10), 1), url.Values{"action": {"take"}, "body": {"hi"}}); r.Status != 403 {
			t.Errorf("%s without CSRF: %d", path, r.Status)
		}
	}

	// A file whose bytes are not what its name says: nothing registered,
	// nothing kept, the error beside the file field, the text kept.
	r := postMultipart(t, op, base+"/requests/new", fields(token, part{field: "files", file: "shot.png", value: "just some text\n"})...)
	if r.Status != 422 || !strings.Contains(r.Body, `id="err-files"`) || !strings.Contains(r.Body, `aria-describedby="err-files"`) ||
		!strings.Contains(r.Body, "shot.png") || !strings.Contains(r.Body, "Readers at gate 5 are dark") {
		t.Errorf("mismatched file: %d\n%s", r.Status, excerpt(r.Body, "err-files"))
	}
	after, _ := app.Store.ListRequests(context.Background(), principal(t, app, "agent@vendor.example"), store.RequestFilter{Limit: 1})
	if after.Total != before.Total || countFiles(t, app.Files) != filesBefore {
		t.Errorf("a refused form left %d requests (was %d) and %d files (was %d)", after.Total, before.Total, countFiles(t, app.Files), filesBefore)
	}
	// A missing subject is shown beside the subject.
	noSubject := fields(token)
	for i := range noSubject {
		if noSubject[i].field == "subject" {
			noSubject[i].value = " "
		}
	}
	r = postMultipart(t, op, base+"/requests/new", noSubject...)
	if r.Status != 422 || !regexp.MustCompile(`id="subject"[^>]*aria-invalid="true" aria-describedby="err-subject"`).MatchString(r.Body) {
		t.Errorf("missing subject: %d\n%s", r.Status, excerpt(r.Body, `id="subject"`))
	}

	// A good one, with a screenshot and a log.
	img := pngBytes(t)
	r = postMultipart(t, op, base+"/requests/new", fields(token,
		part{field: "files", file: "screen.png", value: string(img)},
		part{field: "files", file: "", value: ""}, // an empty file field
		part{field: "files", file: "C:\\logs\\gate.log", value: "09:50 reader offline\n"})...)
	m := idFromLocation.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("register: %d %s\n%s", r.Status, r.Location, excerpt(r.Body, "error"))
	}
	_, page, _ := get(t, op, base+r.Location, "")
	for _, want := range []string{"Readers at gate 5 are dark", "зарегистрирована", `<img src="/api/v1/attachments/`, "gate.log", "Look at gate 5.", "Аварийный"} {
		if !strings.Contains(page, want) {
			t.Errorf("the new request's page lacks %q", want)
		}
	}
	att := regexp.MustCompile(`<img src="/api/v1/attachments/(\d+)"`).FindStringSubmatch(page)
	if att == nil {
		t.Fatal("no inline image")
	}
	resp, err := op.Get(base + "/api/v1/attachments/" + att[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, img) {
		t.Errorf("the screenshot comes back as %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	// Sent twice (a double click): one request.
	r2 := postMultipart(t, op, base+"/requests/new", fields(token)...)
	if r2.Location != r.Location {
		t.Errorf("the same form sent again made %s, not %s", r2.Location, r.Location)
	}

	// An emergency outside the hours of a plan without 24/7 says when work
	// starts: Alfa's portal runs on Business 9–18; Saturday 11:00 is off.
	app.Clock.Set(time.Date(2026, 3, 7, 11, 0, 0, 0, sla.Moscow()))
	portal := ""
	lics, _ := app.Store.CustomerLicenses(context.Background(), principal(t, app, "operator@alfa.example"), principal(t, app, "operator@alfa.example").CustomerID)
	for _, l := range lics {
		if !l.Plan.Emergency24x7 {
			portal = strconv.FormatInt(l.ProductID, 10)
		}
	}
	_, body, _ = get(t, op, base+"/requests/new", "")
	if !strings.Contains(body, `class="notice starts-note" data-product="`+portal+`"`) || !strings.Contains(body, "10.03.2026 09:00") {
		t.Errorf("the form does not say when an emergency on the portal would start\n%s", excerpt(body, "starts-note"))
	}
	ps := fields(token)
	for i := range ps {
		switch ps[i].field {
		case "product_id":
			ps[i].value = portal
		case "instance_id":
			ps[i].value = ""
		case "key":
			ps[i].value = "weekend"
		}
	}
	r = postMultipart(t, op, base+"/requests/new", ps...)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("weekend emergency: %d\n%s", r.Status, excerpt(r.Body, "error"))
	}
	_, page, _ = get(t, op, base+r.Location, "")
	if !strings.Contains(page, "работа начнётся 10.03.2026 09:00") || !strings.Contains(page, "покрыта с рабочего времени") {
		t.Errorf("the result does not say when work starts\n%s", excerpt(page, "flash"))
	}
	if !strings.Contains(page, `<span class="coverage-note">Подана вне часов обработки аварий по тарифу: работа начнётся 10.03.2026 09:00`) {
		t.Errorf("the request page does not say when work starts\n%s", excerpt(page, "coverage-note"))
	}
	// Staff file requests on the desk, not here.
	agent := signIn(t, app, "agent@vendor.example")
	if r := send(t, agent, "GET", base+"/requests/new", "", nil); r.Status != http.StatusSeeOther || r.Location != "/desk/new" {
		t.Errorf("staff on /requests/new: %d %s", r.Status, r.Location)
	}
}

// excerpt shows the part of a page around a marker, for failure messages.
func excerpt(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		if len(body) > 600 {
			return body[:600]
		}
		return body
	}
	return body[max(0, i-300):min(len(body), i+500)]
}

func TestRequestPageShowsOnlyAllowedActions(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	req := requestBySubject(t, app, "Turnstiles at gate 3")
	u := base + "/requests/" + strconv.FormatInt(req.ID, 10)

	buttons := regexp.MustCompile(`name="action" value="([a-z_]+)"`)
	for _, login := range []string{"agent@vendor.example", "dev@vendor.example", "operator@alfa.example", "admin@alfa.example", "integrator@alfa.example"} {
		c := signInLang(t, app, login, "en")
		status, body, _ := get(t, c, u, "en")
		var want []string
		var v struct {
			Allowed []string `json:"allowed_actions"`
		}
		resp := app.Login(t, login, "demo").Call("GET", "/api/v1/requests/"+strconv.FormatInt(req.ID, 10), nil)
		if login == "integrator@alfa.example" {
			if status != 404 || resp.Status != 404 {
				t.Errorf("the integrator reads another's request: page %d, API %d", status, resp.Status)
			}
			continue
		}
		json.Unmarshal(resp.Body, &v)
		for _, a := range v.Allowed {
			if !(strings.HasPrefix(login, "operator") && a == "answer_clarification") && a != "auto_close" {
				want = append(want, a)
			}
		}
		var got []string
		for _, m := range buttons.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: the page offers %v, the workflow allows %v", login, got, want)
		}
		internal := strings.Contains(body, "Probably the controller firmware again")
		if internal != strings.HasSuffix(login, "@vendor.example") {
			t.Errorf("%s: internal note shown = %v", login, internal)
		}
	}

	agent := signInLang(t, app, "agent@vendor.example", "en")
	_, body, token := get(t, agent, u, "en")
	if !strings.Contains(body, `class="comment internal`) || !strings.Contains(body, `name="internal" value="true"`) {
		t.Error("staff do not see the internal note marked, or cannot write one")
	}
	// Propose without a deadline in the future: the error beside the field.
	r := postForm(t, agent, u+"/act", url.Values{"csrf": {token}, "action": {"propose"}, "version": {strconv.FormatInt(req.Version, 10)}, "deadline": {"2020-01-01T10:00"}})
	if r.Status != 422 || !regexp.MustCompile(`id="act-propose-deadline"[^>]*aria-invalid="true" aria-describedby="err-deadline"`).MatchString(r.Body) ||
		!strings.Contains(r.Body, `<details id="act-propose" open>`) {
		t.Errorf("past deadline: %d\n%s", r.Status, excerpt(r.Body, "act-propose-deadline"))
	}
	// A stale version: 409, a clear message, and the actions as they are.
	r = postForm(t, agent, u+"/act", url.Values{"csrf": {token}, "action": {"take"}, "version": {"1"}})
	if r.Status != 409 || !strings.Contains(r.Body, "changed since you opened it") || !strings.Contains(r.Body, `value="ask_clarification"`) {
		t.Errorf("stale version: %d\n%s", r.Status, excerpt(r.Body, "error"))
	}
	// An action the viewer may not take: 409 too.
	r = postForm(t, agent, u+"/act", url.Values{"csrf": {token}, "action": {"confirm"}, "version": {strconv.FormatInt(req.Version, 10)}})
	if r.Status != 409 {
		t.Errorf("confirm by the agent: %d", r.Status)
	}
	// Take it on, then an internal note with a file.
	if r := postForm(t, agent, u+"/act", url.Values{"csrf": {token}, "action": {"take"}, "version": {strconv.FormatInt(req.Version, 10)}}); r.Status != 303 {
		t.Fatalf("take: %d %s", r.Status, excerpt(r.Body, "error"))
	}
	r = postMultipart(t, agent, u+"/comment", part{field: "csrf", value: token}, part{field: "key", value: "n1"}, part{field: "body", value: "Checked the controller logs."},
		part{field: "internal", value: "true"}, part{field: "files", file: "controller.log", value: "panic: door state\n"})
	if r.Status != 303 {
		t.Fatalf("internal note: %d %s", r.Status, excerpt(r.Body, "error"))
	}
	_, body, _ = get(t, agent, u, "en")
	if !strings.Contains(body, "Checked the controller logs.") || !strings.Contains(body, "controller.log") || !strings.Contains(body, "Сергей Поддержкин") {
		t.Error("the note or its file or the assignee is missing")
	}
	op := signIn(t, app, "operator@alfa.example")
	_, body, _ = get(t, op, u, "en")
	if strings.Contains(body, "Checked the controller logs.") || strings.Contains(body, "controller.log") {
		t.Error("the customer sees an internal note or its file")
	}
	// Link to the demo problem (the demo already linked this one; use another).
	other := requestBySubject(t, app, "Fire panel events")
	ou := base + "/requests/" + strconv.FormatInt(other.ID, 10)
	_, body, _ = get(t, agent, ou, "en")
	pid := regexp.MustCompile(`<option value="(\d+)">#`).FindStringSubmatch(body)
	if pid == nil {
		t.Fatalf("no open problem offered\n%s", excerpt(body, "problem"))
	}
	if r := postForm(t, agent, ou+"/problem", url.Values{"csrf": {token}, "problem_id": {pid[1]}}); r.Status != 303 {
		t.Fatalf("link: %d", r.Status)
	}
	_, body, _ = get(t, agent, ou, "en")
	if !strings.Contains(body, "Linked to problem #"+pid[1]) {
		t.Error("the link is not shown")
	}
}

func TestRatingAndConfirmation(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	base := app.HTTP.URL
	req := requestBySubject(t, app, "How do I set up LDAP") // answered: resolved
	u := base + "/requests/" + strconv.FormatInt(req.ID, 10)
	op := signInLang(t, app, "operator@alfa.example", "en")
	_, body, token := get(t, op, u, "en")
	if !strings.Contains(body, `value="confirm"`) || !strings.Contains(body, `value="reopen"`) || !strings.Contains(body, `name="rating"`) {
		t.Fatalf("a resolved request offers no confirm, reopen or rating\n%s", excerpt(body, "actions"))
	}
	r := postForm(t, op, u+"/rate", url.Values{"csrf": {token}, "rating": {"9"}})
	if r.Status != 422 || !strings.Contains(r.Body, `id="err-rating"`) {
		t.Errorf("rating 9: %d", r.Status)
	}
	if r := postForm(t, op, u+"/act", url.Values{"csrf": {token}, "action": {"confirm"}, "version": {strconv.FormatInt(req.Version, 10)}}); r.Status != 303 {
		t.Fatalf("confirm: %d %s", r.Status, excerpt(r.Body, "error"))
	}
	if r := postForm(t, op, u+"/rate", url.Values{"csrf": {token}, "rating": {"4"}, "comment": {"Helpful."}}); r.Status != 303 {
		t.Fatalf("rate: %d", r.Status)
	}
	_, body, _ = get(t, op, u, "en")
	if !strings.Contains(body, "4 of 5") || !strings.Contains(body, "Helpful.") || strings.Contains(body, `name="rating"`) || !strings.Contains(body, "Closed") {
		t.Errorf("after confirming and rating\n%s", excerpt(body, "rating"))
	}
	// A closed request takes no more replies from the customer.
	if strings.Contains(body, `id="comment-form"`) {
		t.Error("the customer may still reply on a closed request")
	}
}

func TestLicensesPageShowsPlansAndTheCalendar(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	op := signInLang(t, app, "operator@alfa.example", "en")
	status, body, _ := get(t, op, app.HTTP.URL+"/licenses", "en")
	if status != 200 {
		t.Fatalf("licenses: %d", status)
	}
	_ = licensing.Consultation
	for _, want := range []string{"Licenses and support plans", "Security Platform", "Customer Portal", "Premium 24/7", "Business 9–18",
		"around the clock, 24/7", "09:00–18:00 on working days", "Europe/Moscow", "March 2026", "April 2026", `class="holiday"`, `class="weekend"`,
		`class="short"`, `class="working today"`, "Short day (an hour shorter)", "First response", "Work through remote access"} {
		if !strings.Contains(body, want) {
			t.Errorf("the licenses page lacks %q", want)
		}
	}
	// 8 March 2026 is a Sunday holiday, and 9 March a transferred day off.
	if !strings.Contains(body, `title="8 March: Holiday"`) {
		t.Errorf("8 March is not marked a holiday\n%s", excerpt(body, "March: "))
	}
	// Gamma's lapsed license says so.
	gamma := signInLang(t, app, "admin@gamma.example", "en")
	_, body, _ = get(t, gamma, app.HTTP.URL+"/licenses", "en")
	if !strings.Contains(body, "lapsed") {
		t.Error("a lapsed license is not marked")
	}
}

// Output is escaped: a payload in the subject and the description arrives
// as text on every page that shows it.
func TestPagesEscapeWhatPeopleWrite(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	p := principal(t, app, "operator@alfa.example")
	platform := requestBySubject(t, app, "Turnstiles at gate 3").ProductID
	r, _, err := app.Store.RegisterRequest(context.Background(), p, desk.NewRequest{Channel: desk.ChannelPortal, ProductID: platform,
		Type: "fault", Subject: xssPayload, Description: xssPayload, RequesterPhone: "+7 495 000-00-00"}, "", sla.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, login := range []string{"operator@alfa.example", "agent@vendor.example"} {
		c := signIn(t, app, login)
		for _, path := range []string{"/requests", "/requests/" + strconv.FormatInt(r.ID, 10)} {
			_, body, _ := get(t, c, app.HTTP.URL+path, "")
			if strings.Contains(body, "<script>window.__xss") || strings.Contains(body, `<img src=x`) {
				t.Errorf("%s %s: the payload is not escaped", login, path)
			}
			if !strings.Contains(body, "&lt;script&gt;window.__xss=1&lt;/script&gt;") {
				t.Errorf("%s %s: the payload is not shown as text", login, path)
			}
		}
	}
}

const xssPayload = `<script>window.__xss=1</script><img src=x onerror="window.__xss=1">`

// Every code the pages turn into words has them in both languages.
func TestEveryCodeHasWords(t *testing.T) {
	keys := map[string]map[string]bool{}
	for _, lang := range []string{"en", "ru"} {
		keys[lang] = map[string]bool{}
		for _, f := range []string{"portal", "request"} {
			b, err := os.ReadFile("locales/" + f + "." + lang + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for k := range m {
				keys[lang][k] = true
			}
		}
	}
	var need []string
	for _, s := range append(desk.StatesOf(desk.WorkflowNormal), desk.StateDeadlineAgreed) {
		need = append(need, "request.state."+string(s))
	}
	for _, a := range desk.Actions() {
		need = append(need, "request.action."+string(a), "request.action_hint."+string(a), "request.journal."+string(a))
	}
	for _, r := range desk.Rules() {
		for _, n := range r.Needs {
			if n == desk.NeedText {
				need = append(need, "request.action_text."+string(r.Action))
			}
		}
	}
	for _, typ := range desk.Types {
		need = append(need, "request.type."+typ, "request.type_hint."+typ)
	}
	for _, p := range desk.Priorities {
		need = append(need, "request.priority."+p, "request.priority_def."+p)
	}
	for _, k := range desk.ClockKinds {
		need = append(need, "request.clock."+string(k))
	}
	for _, s := range []string{"running", "paused", "met", "at_risk", "breached"} {
		need = append(need, "request.clock_state."+s)
	}
	for _, c := range []desk.Channel{desk.ChannelPortal, desk.ChannelEmail, desk.ChannelPhone, desk.ChannelAPI} {
		need = append(need, "request.channel."+string(c))
	}
	for _, s := range []desk.ProposalStatus{desk.ProposalOpen, desk.ProposalAccepted, desk.ProposalRejected, desk.ProposalWithdrawn} {
		need = append(need, "request.proposal_status."+string(s))
	}
	for _, e := range licensing.Entitlements {
		need = append(need, "portal.entitlement."+string(e))
	}
	for _, reason := range []string{licensing.ReasonNoLicense, licensing.ReasonNotYetValid, licensing.ReasonLapsed, licensing.ReasonNoEntitlement, licensing.ReasonOutsideHours} {
		need = append(need, "request.coverage."+reason)
	}
	for _, k := range []string{"working", "short", "weekend", "holiday"} {
		need = append(need, "portal.day."+k)
	}
	for i := 1; i <= 12; i++ {
		need = append(need, "portal.month."+strconv.Itoa(i), "portal.month_of."+strconv.Itoa(i))
	}
	for _, lang := range []string{"en", "ru"} {
		for _, k := range need {
			if !keys[lang][k] {
				t.Errorf("%s: no words for %q", lang, k)
			}
		}
	}
}
