package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tend/internal/apptest"
)

// words the journey expects to read, per language.
var journeyWords = map[string]map[string]string{
	"ru": {
		"received": "Получена", "clarifying": "Ждёт ответа заказчика", "deadline_agreed": "Срок согласован", "in_work": "В работе",
		"deployed": "Исправление установлено", "resolved": "Решена, ждёт подтверждения", "closed": "Закрыта",
		"wait_answer": "Ждём вашего ответа", "wait_decision": "Ждём вашего решения по предложению", "wait_decision_staff": "Ждём решения заказчика по предложению",
		"registered": "зарегистрирована", "rating": "5 из 5",
	},
	"en": {
		"received": "Received", "clarifying": "Waiting for the customer's answer", "deadline_agreed": "Deadline agreed", "in_work": "In work",
		"deployed": "Fix deployed to the installation", "resolved": "Resolved, awaiting confirmation", "closed": "Closed",
		"wait_answer": "Waiting for your answer", "wait_decision": "Waiting for your decision on the proposal", "wait_decision_staff": "Waiting for the customer's decision on the proposal",
		"registered": "is registered", "rating": "5 of 5",
	},
}

// A person in the journey: one tab in a browser context of its own, so
// each keeps its own session cookie.
type person struct {
	t     *testing.T
	ctx   context.Context
	base  string
	login string
}

func (p *person) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.login, err)
	}
}

// submit clicks a button that sends a form and waits for the next page.
func (p *person) submit(sel string) {
	p.t.Helper()
	p.eval(`window.__stale = true; ""`)
	p.do(chromedp.Click(chromedp.CSS(sel)))
	// The old page may vanish in the middle of a check: retry until the
	// new one has loaded.
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`!window.__stale && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: after clicking %s no new page came (%v)", p.login, sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *person) open(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (p *person) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.login, js, err)
	}
	return s
}

func (p *person) text(sel string) string {
	p.t.Helper()
	return text(p.t, p.ctx, sel)
}

// choose picks the option of a select whose text contains label, as a
// person would (the change event fires).
func (p *person) choose(sel, label string) {
	p.t.Helper()
	ok := p.eval(`(function(){var s=document.querySelector(` + jsString(sel) + `);
		for (var o of s.options) { if (o.textContent.indexOf(` + jsString(label) + `) >= 0) { s.value = o.value;
			s.dispatchEvent(new Event("change", {bubbles: true})); return "ok"; } } return "no option";})()`)
	if ok != "ok" {
		p.t.Fatalf("%s: %s has no option %q", p.login, sel, label)
	}
}

func (p *person) setValue(sel, value string) {
	p.t.Helper()
	p.eval(`(function(){var e=document.querySelector(` + jsString(sel) + `); e.value=` + jsString(value) + `;
		e.dispatchEvent(new Event("change", {bubbles: true})); return "";})()`)
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\u003c`)
	return `"` + r.Replace(s) + `"`
}

// state is the request's state as its page says it.
func (p *person) state() string {
	p.t.Helper()
	return strings.TrimSpace(p.text(".request-status .state"))
}

func (p *person) expectState(want string) {
	p.t.Helper()
	if got := p.state(); got != want {
		p.t.Fatalf("%s: the request is %q, want %q (page says: %s)", p.login, got, want, p.eval(`document.querySelector("main").innerText.slice(0, 600)`))
	}
}

// signIn opens a new tab in a browser context of its own, signs in, and
// switches the language with the header button if the account uses the
// other one.
func signInBrowser(t *testing.T, root context.Context, base, login, lang string) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &person{t: t, ctx: ctx, base: base, login: login}
	p.do(chromedp.EmulateViewport(1280, 900))
	p.open("/signin")
	p.do(chromedp.SendKeys(chromedp.CSS("#login"), login), chromedp.SendKeys(chromedp.CSS("#password"), "demo"))
	p.submit(`main form[action="/signin"] button[type=submit]`)
	if p.eval(`document.documentElement.lang`) != lang {
		p.submit(`form[action="/lang"] button`)
		if got := p.eval(`document.documentElement.lang`); got != lang {
			t.Fatalf("%s: the language switch left the page in %q", login, got)
		}
	}
	return p
}

// docShot saves a lossless full-page PNG into the folder TEND_DOC_SHOTS
// names, when it is set: how the screenshots in docs/screenshots are made
// (see README). Without it, nothing is written.
func docShot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		dir := os.Getenv("TEND_DOC_SHOTS")
		if dir == "" {
			return nil
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}

// writePNG writes a small screenshot-like PNG to a temp file.
func writePNG(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "screen.png")
	if err := os.WriteFile(path, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The journey of the issue, through the pages, in both languages: an
// operator files an emergency fault with a screenshot; the agent asks for
// clarification; the operator answers; the agent proposes a deadline; the
// customer admin accepts; a developer starts the work, deploys the fix to
// the customer's installation and resolves the request; the operator
// confirms and rates.
func TestBrowserJourney(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) { journey(t, lang) })
	}
}

func journey(t *testing.T, lang string) {
	w := journeyWords[lang]
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	root := browser(t, 1280, 900)
	base := app.HTTP.URL

	// 1. The operator files an emergency fault with a screenshot.
	op := signInBrowser(t, root, base, "operator@alfa.example", lang)
	op.open("/requests/new")
	op.do(chromedp.Click(chromedp.CSS("#type-fault")))
	op.choose("#product_id", "Security Platform")
	op.choose("#instance_id", "Alfa HQ production")
	op.do(
		chromedp.Click(chromedp.CSS("#priority-emergency")),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Gate 7 turnstiles are stuck"),
		chromedp.SendKeys(chromedp.CSS("#description"), "Since 09:30 no turnstile at gate 7 opens. People queue outside."),
		chromedp.SendKeys(chromedp.CSS("#steps"), "1. Present a badge at gate 7.\n2. Wait."),
		chromedp.SendKeys(chromedp.CSS("#expected"), "The turnstile opens."),
		chromedp.SendKeys(chromedp.CSS("#actual"), "Nothing happens."),
		chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{writePNG(t)}),
	)
	if list := op.text("[data-file-list]"); !strings.Contains(list, "screen.png") {
		t.Errorf("the chosen file is not listed: %q", list)
	}
	op.do(shot(t, "new-request-form"), docShot(t, "new-request-"+lang))
	op.submit("#submit-request")
	if flash := op.text(".flash"); !strings.Contains(flash, "REQ-") || !strings.Contains(flash, w["registered"]) {
		t.Fatalf("after filing, the page says %q", flash)
	}
	op.expectState(w["received"])
	requestPath := op.eval(`location.pathname`)
	if !strings.HasPrefix(requestPath, "/requests/") {
		t.Fatalf("after filing the operator is at %s", requestPath)
	}
	// The thumbnail loads lazily: scroll to it as a reader would, then
	// give the browser a moment to fetch it.
	op.eval(`(function(){var i=document.querySelector(".attachments img"); if (i) i.scrollIntoView(); return "";})()`)
	width := "none"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		width = op.eval(`(function(){var i=document.querySelector(".attachments img"); return i && i.complete && i.naturalWidth ? String(i.naturalWidth) : "none";})()`)
		if width != "none" {
			break
		}
	}
	if width != "40" {
		t.Errorf("the screenshot is not shown inline (natural width %s)", width)
	}
	op.eval(`window.scrollTo(0, 0); ""`)
	op.do(shot(t, "request-customer"))

	// 2. The agent asks for clarification.
	agent := signInBrowser(t, root, base, "agent@vendor.example", lang)
	agent.open(requestPath)
	agent.do(shot(t, "request-agent"))
	agent.do(chromedp.Click(chromedp.CSS("#act-ask_clarification > summary")),
		chromedp.SendKeys(chromedp.CSS("#act-ask_clarification-text"), "Which controller firmware runs at gate 7?"))
	agent.submit("#act-ask_clarification button[type=submit]")
	agent.expectState(w["clarifying"])

	// 3. The operator sees that an answer is awaited, and answers.
	op.open("/requests")
	if row := op.eval(`document.querySelector("tbody").innerText`); !strings.Contains(row, w["wait_answer"]) {
		t.Errorf("the operator's list does not say an answer is awaited: %q", row)
	}
	op.do(shot(t, "requests-customer"), chromedp.EmulateViewport(375, 800), docShot(t, "requests-phone-"+lang), chromedp.EmulateViewport(1280, 900))
	op.submit(`a[href="` + requestPath + `"]`)
	if q := op.text("#question-h + .comment-meta + .body"); !strings.Contains(q, "firmware") {
		t.Errorf("the question is not shown: %q", q)
	}
	op.do(chromedp.SendKeys(chromedp.CSS("#body"), "Firmware 2.1 on all controllers of gate 7."))
	op.submit("#comment-form button[type=submit]")
	op.expectState(w["received"])

	// 4. The agent proposes a deadline.
	agent.open(requestPath)
	// The action's form opens from the keyboard.
	agent.do(chromedp.Focus(chromedp.CSS("#act-propose > summary")), chromedp.KeyEvent("\r"))
	if open := agent.eval(`String(document.getElementById("act-propose").open)`); open != "true" {
		t.Errorf("Enter on the action's summary leaves its form closed")
	}
	agent.setValue("#act-propose-deadline", "2026-03-03T18:00")
	agent.do(chromedp.SendKeys(chromedp.CSS("#act-propose-text"), "A hotfix by tomorrow evening."), docShot(t, "request-agent-"+lang))
	agent.submit("#act-propose button[type=submit]")
	if wait := agent.text("#waiting"); wait != w["wait_decision_staff"] {
		t.Errorf("after proposing the agent reads %q", wait)
	}

	// 5. The customer admin accepts.
	admin := signInBrowser(t, root, base, "admin@alfa.example", lang)
	admin.open("/requests")
	if list := admin.eval(`document.querySelector("tbody").innerText`); !strings.Contains(list, w["wait_decision"]) {
		t.Errorf("the admin's list does not say a decision is awaited")
	}
	admin.open(requestPath)
	if dl := admin.text("#proposal-h + dl"); !strings.Contains(dl, "03.03.2026 18:00") {
		t.Errorf("the proposal shows %q", dl)
	}
	admin.do(chromedp.Click(chromedp.CSS("#act-accept_proposal > summary")),
		chromedp.SendKeys(chromedp.CSS("#act-accept_proposal-text"), "Agreed, thank you."))
	admin.submit("#act-accept_proposal button[type=submit]")
	admin.expectState(w["deadline_agreed"])

	// 6. A developer starts the work, deploys to the customer's
	// installation and resolves the request with the update.
	dev := signInBrowser(t, root, base, "dev@vendor.example", lang)
	dev.open(requestPath)
	dev.submit(`form.act-button:has(input[value="start_work"]) button`)
	dev.expectState(w["in_work"])
	dev.do(chromedp.Click(chromedp.CSS("#act-deploy > summary")))
	dev.choose("#act-deploy-instance", "Alfa HQ production")
	dev.do(chromedp.SendKeys(chromedp.CSS("#act-deploy-text"), "Hotfix 4.2.1-hf2 installed."))
	dev.submit("#act-deploy button[type=submit]")
	dev.expectState(w["deployed"])
	dev.do(chromedp.Click(chromedp.CSS("#act-resolve > summary")),
		chromedp.SendKeys(chromedp.CSS("#act-resolve-text"), "Fixed by hotfix 4.2.1-hf2 on Alfa HQ production."))
	dev.submit("#act-resolve button[type=submit]")
	dev.expectState(w["resolved"])

	// 7. The operator confirms and rates.
	op.open(requestPath)
	op.submit(`form.act-button:has(input[value="confirm"]) button`)
	op.expectState(w["closed"])
	op.do(chromedp.Click(chromedp.CSS(`input[name=rating][value="5"]`)),
		chromedp.SendKeys(chromedp.CSS("#rating_comment"), "Fast and clear."))
	op.submit(`#rate button[type=submit]`)
	if got := op.text(".rating-shown"); !strings.Contains(got, w["rating"]) || !strings.Contains(got, "Fast and clear.") {
		t.Errorf("the rating shows %q", got)
	}
	// registered, file, question, answer, proposal, acceptance, start,
	// deployment, resolution, confirmation, rating: all in the history.
	if n, _ := strconv.Atoi(op.eval(`String(document.querySelectorAll(".timeline li").length)`)); n < 11 {
		t.Errorf("the history has %d entries", n)
	}
	op.do(shot(t, "request-closed-customer"), docShot(t, "request-customer-"+lang))
	op.open("/licenses")
	op.do(shot(t, "licenses"), docShot(t, "licenses-"+lang))
	if !strings.Contains(op.text(".legend"), map[string]string{"ru": "Праздник", "en": "Holiday"}[lang]) {
		t.Error("the calendar legend is missing")
	}
}

// The pages fit a 375 px phone and a 1920 px desktop, and what people
// write never runs as script: a payload in a request's subject and
// description, filed through the form, stays text for the customer and
// for the agent.
func TestBrowserPortalFitsAndEscapes(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	root := browser(t, 1280, 900)
	base := app.HTTP.URL

	op := signInBrowser(t, root, base, "operator@alfa.example", "en")
	op.open("/requests/new")
	op.do(chromedp.Click(chromedp.CSS("#type-fault")))
	op.choose("#product_id", "Security Platform")
	op.do(
		chromedp.SendKeys(chromedp.CSS("#subject"), xssPayload),
		chromedp.SendKeys(chromedp.CSS("#description"), xssPayload),
	)
	op.submit("#submit-request")
	requestPath := op.eval(`location.pathname`)
	if !strings.HasPrefix(requestPath, "/requests/") || op.eval(`location.pathname`) == "/requests/new" {
		t.Fatalf("the payload request was not filed: %s", op.eval(`document.querySelector("main").innerText.slice(0, 400)`))
	}
	agent := signInBrowser(t, root, base, "agent@vendor.example", "en")
	for _, p := range []*person{op, agent} {
		for _, path := range []string{requestPath, "/requests", "/desk"} {
			p.open(path)
			if got := p.eval(`typeof window.__xss`); got != "undefined" {
				t.Errorf("%s on %s: the payload ran (window.__xss is %s)", p.login, path, got)
			}
		}
		p.open(requestPath)
		if title := p.text("#request-title"); title != xssPayload {
			t.Errorf("%s: the subject shows as %q, not as the text written", p.login, title)
		}
	}

	for _, width := range []int{375, 1920} {
		for _, c := range []struct {
			p    *person
			path string
			name string
		}{
			{op, "/requests", "requests-customer"},
			{op, "/requests/new", "new-request"},
			{op, requestPath, "request-customer"},
			{op, "/licenses", "licenses"},
			{agent, requestPath, "request-agent"},
			{agent, "/requests", "requests-agent"},
		} {
			c.p.do(chromedp.EmulateViewport(int64(width), 900))
			c.p.open(c.path)
			over := strings.Fields(c.p.eval(`String(document.documentElement.scrollWidth) + " " + String(window.innerWidth)`))
			sw, _ := strconv.Atoi(over[0])
			iw, _ := strconv.Atoi(over[1])
			if sw > iw || iw != width {
				t.Errorf("%s at %d px: the page is %d px wide (overflows by %d px)", c.path, width, sw, sw-iw)
			}
			c.p.do(shot(t, c.name+"-"+strconv.Itoa(width)))
		}
	}
}
