package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tend/internal/apptest"
)

// deskUser is one signed-in person in a browser context of their own.
type deskUser struct {
	t      *testing.T
	ctx    context.Context
	base   string
	login  string
	width  int
	height int
}

func (u *deskUser) do(actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	if err := chromedp.Do(u.ctx, actions...); err != nil {
		u.t.Fatalf("%s at %d px: %v", u.login, u.width, err)
	}
}

func (u *deskUser) eval(js string) string {
	u.t.Helper()
	s, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		u.t.Fatalf("%s: %s: %v", u.login, js, err)
	}
	return s
}

func (u *deskUser) open(path string) {
	u.t.Helper()
	u.do(chromedp.Navigate(u.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// click follows a link or sends a form and waits for the next page.
func (u *deskUser) click(sel string) {
	u.t.Helper()
	u.eval(`window.__deskStale = true; ""`)
	u.do(chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, err := chromedp.Run(u.ctx, chromedp.Evaluate[bool](`!window.__deskStale && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s: after clicking %s no new page came (%v)", u.login, sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deskJS(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "<", `\u003c`)
}

// choose picks the option of a select whose text contains label.
func (u *deskUser) choose(sel, label string) {
	u.t.Helper()
	ok := u.eval(`(function(){var s=document.querySelector(` + deskJS(sel) + `); if (!s) return "no select";
		for (var o of s.options) { if (o.textContent.indexOf(` + deskJS(label) + `) >= 0) { s.value = o.value;
			s.dispatchEvent(new Event("change", {bubbles: true})); return "ok"; } } return "no option";})()`)
	if ok != "ok" {
		u.t.Fatalf("%s: %s: %s %q", u.login, sel, ok, label)
	}
}

// set gives an input a value as typed (time and date inputs take it this way
// in any locale).
func (u *deskUser) set(sel, value string) {
	u.t.Helper()
	if got := u.eval(`(function(){var e=document.querySelector(` + deskJS(sel) + `); if (!e) return "missing"; e.value=` + deskJS(value) + `;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return "";})()`); got != "" {
		u.t.Fatalf("%s: %s is %s", u.login, sel, got)
	}
}

func (u *deskUser) text(sel string) string {
	u.t.Helper()
	return text(u.t, u.ctx, sel)
}

func (u *deskUser) path() string { return u.eval(`location.pathname + location.search`) }

// noOverflow checks that the page does not scroll sideways.
func (u *deskUser) noOverflow(what string) {
	u.t.Helper()
	fits, err := chromedp.Run(u.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil {
		u.t.Fatal(err)
	}
	if !fits {
		wide := u.eval(`(function(){var out=[]; document.querySelectorAll("main *").forEach(function(e){var r=e.getBoundingClientRect();
			if (r.right > window.innerWidth + 1) out.push(e.tagName + "." + e.className + " " + Math.round(r.right));}); return out.slice(0, 8).join("; ");})()`)
		u.t.Errorf("%s at %d px scrolls sideways (%s wide): %s", what, u.width, u.eval(`String(document.documentElement.scrollWidth)`), wide)
	}
}

func (u *deskUser) shot(name string) {
	u.t.Helper()
	u.do(shot(u.t, fmt.Sprintf("%s-%d", name, u.width)))
}

// deskDocShots are the screenshots README shows: name at a width → file.
var deskDocShots = map[string]string{"desk-queue-1920": "desk-queue", "desk-queue-375": "desk-queue-phone", "admin-plan-1920": "admin-plan"}

// docShot saves a lossless PNG of a page README shows into the folder
// TEND_DOC_SHOTS names, when it is set (see README's Screenshots); the
// phone's is its first screen, the desktop's the whole page.
func (u *deskUser) docShot(name string) {
	u.t.Helper()
	dir, file := os.Getenv("TEND_DOC_SHOTS"), deskDocShots[fmt.Sprintf("%s-%d", name, u.width)]
	if dir == "" || file == "" {
		return
	}
	shoot := chromedp.FullScreenshot(100)
	if u.width < 600 {
		shoot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(u.ctx, shoot)
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// deskSignInBrowser signs in with the keyboard in a browser context of its
// own and reads the pages in English.
func deskSignInBrowser(t *testing.T, root context.Context, base, login string, width, height int) *deskUser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	u := &deskUser{t: t, ctx: ctx, base: base, login: login, width: width, height: height}
	u.do(chromedp.EmulateViewport(int64(width), int64(height)))
	u.open("/signin")
	u.do(chromedp.SendKeys(chromedp.CSS("#login"), login), chromedp.SendKeys(chromedp.CSS("#password"), "demo"))
	u.click(`main form[action="/signin"] button[type=submit]`)
	if u.eval(`document.documentElement.lang`) != "en" {
		u.click(`form[action="/lang"] button`)
	}
	return u
}

// calendarXML writes the 2028 year of the JSON test calendar in the public
// XML format (t=1 day off, 2 short day, 3 working day).
func calendarXML(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../calendar/testdata/ru-2028-2029.json")
	if err != nil {
		t.Fatal(err)
	}
	var years [][]struct{ Date, Kind string }
	if err := json.Unmarshal(raw, &years); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<calendar year="2028" lang="ru" date="2027.10.01" country="ru"><days>` + "\n")
	for _, d := range years[0] {
		kind := map[string]string{"holiday": "1", "short": "2", "working": "3"}[d.Kind]
		if kind == "" || !strings.HasPrefix(d.Date, "2028-") {
			continue
		}
		fmt.Fprintf(&b, `<day d="%s.%s" t="%s"/>`+"\n", d.Date[5:7], d.Date[8:10], kind)
	}
	b.WriteString("</days></calendar>\n")
	path := filepath.Join(t.TempDir(), "ru-2028.xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The desk and the admin pages in a real browser, on a desktop and on a
// phone: the agent filters the queue to emergencies by nearest due and
// opens one, logs a phone call for beta's operator; the admin creates a
// plan and a license through the forms and imports a decree for 2028.
func TestBrowserDeskAndAdmin(t *testing.T) {
	for _, size := range [][2]int{{1920, 1080}, {375, 812}} {
		t.Run(fmt.Sprint(size[0]), func(t *testing.T) {
			app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
			root := browser(t, size[0], size[1])
			app.Clock.Advance(40 * time.Minute) // an emergency's first response is late by now
			agent := deskSignInBrowser(t, root, app.HTTP.URL, "agent@vendor.example", size[0], size[1])

			// The queue.
			agent.open("/desk")
			agent.do(chromedp.WaitVisible(chromedp.CSS("#queue table")))
			if n := agent.eval(`String(document.querySelectorAll("tr.desk-row").length)`); n == "0" {
				t.Fatal("the queue is empty")
			}
			agent.noOverflow("the queue")
			agent.shot("desk-queue")
			agent.docShot("desk-queue")

			// htmx swaps the live part in from /desk/rows (as every minute), under the CSP.
			agent.eval(`document.querySelector("#queue").dataset.old = "1"; htmx.ajax("GET", document.querySelector("#queue").getAttribute("hx-get"), {target: "#queue", swap: "outerHTML"}); ""`)
			for deadline := time.Now().Add(10 * time.Second); ; {
				if agent.eval(`(function(){var q = document.querySelector("#queue"); return q && !q.dataset.old && q.querySelectorAll("tr.desk-row").length > 0 ? "new" : "";})()`) == "new" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("htmx did not swap the queue in from /desk/rows")
				}
				time.Sleep(50 * time.Millisecond)
			}

			// Filter to emergencies, nearest due first, with the keyboard-usable form.
			agent.do(chromedp.Click(chromedp.CSS("details.desk-filters > summary")))
			agent.choose("#f-priority", "Emergency")
			agent.choose("#f-sort", "Nearest due")
			agent.click(`.desk-filter-form button[type=submit]`)
			if p := agent.path(); !strings.Contains(p, "priority=emergency") {
				t.Fatalf("after filtering the address is %s", p)
			}
			rows := agent.eval(`String(document.querySelectorAll("tr.desk-row").length)`)
			if rows == "0" || agent.eval(`String(document.querySelectorAll("tr.desk-row:not(.emergency)").length)`) != "0" {
				t.Fatalf("emergencies: %s rows, some not emergencies", rows)
			}
			dues := strings.Fields(agent.eval(`Array.from(document.querySelectorAll(".desk-sla .due time")).map(function(e){return e.getAttribute("datetime")}).join(" ")`))
			if len(dues) == 0 || !slices.IsSorted(dues) {
				t.Errorf("the emergencies are not by nearest due: %v", dues)
			}
			if !strings.Contains(agent.text("#queue"), "overdue") {
				t.Error("no overdue countdown on a breached emergency")
			}
			agent.noOverflow("the filtered queue")
			agent.shot("desk-emergencies")

			// Open the first one: the request page, shared with customers.
			number := strings.TrimSpace(agent.text("tr.desk-row a.number"))
			agent.click("tr.desk-row a.number")
			if p := agent.path(); !regexp.MustCompile(`^/requests/\d+$`).MatchString(p) {
				t.Fatalf("the number led to %s", p)
			}
			if body := agent.eval(`document.querySelector("main").innerText`); !strings.Contains(body, number) {
				t.Errorf("the request page does not show %s", number)
			}

			// Log a phone call for beta's operator.
			agent.open("/desk/new")
			agent.choose("#customer", "Beta Logistics")
			agent.click(`form.desk-customer button[type=submit]`)
			agent.do(chromedp.WaitVisible(chromedp.CSS("#call")))
			agent.choose("#call-requester-id", "Bella Operator")
			agent.choose("#call-product-id", "Security Platform")
			agent.choose("#call-type", "Fault")
			agent.do(
				chromedp.Click(chromedp.CSS(`#call-priority-0`)),
				chromedp.SendKeys(chromedp.CSS("#call-subject"), "Phone: gate 2 reader rejects every badge"),
				chromedp.SendKeys(chromedp.CSS("#call-description"), "Bella called at 10:40: since the morning the reader at gate 2 rejects all badges."),
			)
			agent.noOverflow("the call form")
			agent.shot("desk-call-form")
			agent.click(`#call button[type=submit]`)
			agent.do(chromedp.WaitVisible(chromedp.CSS("#registered-number")))
			reg := strings.TrimSpace(agent.text("#registered-number"))
			if !regexp.MustCompile(`^REQ-\d{4}-\d{6}$`).MatchString(reg) {
				t.Fatalf("registered as %q", reg)
			}
			if cov := agent.text(".desk-registered"); !strings.Contains(cov, "Covered") {
				t.Errorf("the coverage is not shown: %s", cov)
			}
			agent.shot("desk-call-registered")

			// The admin: a plan, a license, a decree.
			admin := deskSignInBrowser(t, root, app.HTTP.URL, "admin@vendor.example", size[0], size[1])
			admin.open("/admin/plans")
			admin.do(chromedp.SendKeys(chromedp.CSS("#new-plan-name"), "Extended 8–20"))
			admin.set("#new-plan-window-start", "08:00")
			admin.set("#new-plan-window-end", "20:00")
			admin.do(chromedp.Click(chromedp.CSS("#new-plan-emergency-24x7")))
			for field, value := range map[string]string{"emergency-first-response": "15m", "emergency-agreement": "1h", "emergency-resolution": "4h",
				"normal-first-response": "2h", "normal-clarification": "4h", "normal-agreement": "12h", "normal-resolution": "40h"} {
				admin.do(chromedp.SendKeys(chromedp.CSS("#new-plan-"+field), value))
			}
			admin.click(`#new-plan button[type=submit]`)
			if p := admin.path(); !regexp.MustCompile(`^/admin/plans/\d+$`).MatchString(p) {
				t.Fatalf("after creating the plan: %s (%s)", p, admin.eval(`document.querySelector("main").innerText.slice(0, 400)`))
			}
			if h := admin.text("main h1"); h != "Extended 8–20" {
				t.Errorf("the plan page says %q", h)
			}
			if tg := admin.text("#targets"); !strings.Contains(tg, "40h →") || !strings.Contains(tg, "15m →") {
				t.Errorf("what the targets mean: %s", tg)
			}
			admin.noOverflow("the plan page")
			admin.shot("admin-plan")
			admin.docShot("admin-plan")

			admin.open("/admin/licenses")
			admin.choose("#new-license-customer-id", "Gamma Retail")
			admin.choose("#new-license-product-id", "Customer Portal")
			admin.choose("#new-license-plan-id", "Extended 8–20")
			admin.set("#new-license-valid-from", "2026-03-01")
			admin.set("#new-license-valid-to", "2027-02-28")
			admin.do(chromedp.Click(chromedp.CSS("#new-license-entitlements-4"))) // remote access
			admin.click(`#new-license button[type=submit]`)
			if p := admin.path(); !regexp.MustCompile(`^/admin/licenses/\d+$`).MatchString(p) {
				t.Fatalf("after creating the license: %s (%s)", p, admin.eval(`document.querySelector("main").innerText.slice(0, 400)`))
			}
			if sum := admin.text("#license-summary"); !strings.Contains(sum, "Extended 8–20") || !strings.Contains(sum, "Remote access") || !strings.Contains(sum, "Gamma Retail") {
				t.Errorf("the new license: %s", sum)
			}
			admin.noOverflow("the license page")

			admin.open("/admin/calendar?year=2028")
			if st := admin.text("#year dl"); !strings.Contains(st, "Provisional") {
				t.Fatalf("2028 before the import: %s", st)
			}
			admin.do(
				chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{calendarXML(t)}),
				chromedp.SendKeys(chromedp.CSS("#import-source"), "Government decree No. 1 of 01.10.2027"),
			)
			admin.click(`#import button[type=submit]`)
			if p := admin.path(); p != "/admin/calendar?year=2028" {
				t.Fatalf("after the import: %s (%s)", p, admin.eval(`document.querySelector("main").innerText.slice(0, 600)`))
			}
			st := admin.text("#year dl")
			if strings.Contains(st, "Provisional") || !strings.Contains(st, "Government decree No. 1 of 01.10.2027") {
				t.Errorf("2028 after the import: %s", st)
			}
			admin.noOverflow("the calendar")
			admin.shot("admin-calendar")

			// The other admin pages fit too.
			for _, p := range []string{"/admin", "/admin/customers", "/admin/customers/1", "/admin/licenses", "/admin/staff", "/admin/tokens"} {
				admin.open(p)
				admin.noOverflow(p)
				admin.shot(strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
			}
		})
	}
}
