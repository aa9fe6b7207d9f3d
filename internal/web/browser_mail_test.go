package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tend/internal/apptest"
)

// mailWords are what the e-mail pages say, per language.
var mailWords = map[string]map[string]string{
	"ru": {"linked": "привязана к заказчику «Alfa Energy»", "empty": "Разбирать нечего.", "added": "«Поддержка» добавлен", "saved": "«Поддержка» сохранён",
		"off": "больше не читается", "not_read": "Читать снова", "eml": "Исходное письмо (.eml", "box": "Поддержка", "port_error": "от 1 до 65535"},
	"en": {"linked": "is linked to Alfa Energy.", "empty": "Nothing to triage.", "added": "“Support” is added.", "saved": "“Support” is saved.",
		"off": "is no longer read", "not_read": "Read again", "eml": "Original (.eml", "box": "Support", "port_error": "from 1 to 65535"},
}

// mailSignInBrowser signs in with the keyboard in a browser context of its
// own and switches the pages to lang with the header's button.
func mailSignInBrowser(t *testing.T, root context.Context, base, login, lang string, width, height int) *deskUser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	u := &deskUser{t: t, ctx: ctx, base: base, login: login, width: width, height: height}
	u.do(chromedp.EmulateViewport(int64(width), int64(height)))
	u.open("/signin")
	u.do(chromedp.SendKeys(chromedp.CSS("#login"), login), chromedp.SendKeys(chromedp.CSS("#password"), "demo"))
	u.click(`main form[action="/signin"] button[type=submit]`)
	if u.eval(`document.documentElement.lang`) != lang {
		u.click(`form[action="/lang"] button`)
	}
	if got := u.eval(`document.documentElement.lang`); got != lang {
		t.Fatalf("%s reads %q, not %q", login, got, lang)
	}
	return u
}

// phone narrows the viewport to a 375 px phone.
func (u *deskUser) phone() {
	u.t.Helper()
	u.width, u.height = 375, 812
	u.do(chromedp.EmulateViewport(375, 812))
}

// The e-mail channel in a real browser, in Russian and in English: an
// unknown sender's request waits in triage, counted on the desk; the agent
// links it to a customer, it leaves triage and is in the customer's queue,
// with the original message downloadable from its page. An admin adds a
// support mailbox (a bad port is refused by its field, the password never
// comes back), changes it without retyping the password, and stops
// reading it. Every page fits a 375 px phone.
func TestBrowserTriageAndMailboxes(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			words := mailWords[lang]
			app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
			res, _ := mailIn(t, app, "ivan@unknown.example", "Ivan Petrov", "Printer at the depot rejects jobs",
				"Since Monday every print job at the depot fails with error 0x7f.\r\n\r\n--\r\nIvan Petrov\r\nDepot 4")
			root := browser(t, 1280, 900)

			// The agent: the desk counts the triage queue.
			agent := mailSignInBrowser(t, root, app.HTTP.URL, "agent@vendor.example", lang, 1280, 900)
			agent.open("/desk")
			if n := strings.TrimSpace(agent.text("#triage-link .n")); n != "1" {
				t.Fatalf("the desk counts %q in triage", n)
			}
			agent.click("#triage-link")
			if p := agent.path(); p != "/desk/triage" {
				t.Fatalf("the triage link led to %s", p)
			}
			if list := agent.text("#triage"); !strings.Contains(list, res.Number) || !strings.Contains(list, "ivan@unknown.example") || !strings.Contains(list, "Printer at the depot") {
				t.Fatalf("the triage list: %s", list)
			}
			agent.shot("triage-list-" + lang)
			agent.do(docShot(t, "triage-"+lang))

			// Link it: the customer, then the product and the contact.
			agent.click(fmt.Sprintf(`#triage a[href="/desk/triage/%d"]`, res.RequestID))
			agent.choose("#customer", "Alfa Energy")
			agent.click(`#triage-customer button[type=submit]`)
			agent.do(chromedp.WaitVisible(chromedp.CSS("#triage")))
			if v := agent.eval(`document.querySelector("#triage-product-id").value`); v == "" {
				t.Error("no product is preselected from the customer's licenses")
			}
			agent.choose("#triage-product-id", "Security Platform")
			agent.choose("#triage-requester-id", "operator@alfa.example")
			agent.shot("triage-link-" + lang)
			agent.do(docShot(t, "triage-link-"+lang))
			agent.click(`#triage button[type=submit]`)
			if p := agent.path(); p != "/desk/triage" {
				t.Fatalf("after linking: %s (%s)", p, agent.eval(`document.querySelector("main").innerText.slice(0, 500)`))
			}
			if flash := agent.text(".flash"); !strings.Contains(flash, res.Number) || !strings.Contains(flash, words["linked"]) {
				t.Errorf("the flash after linking: %q", flash)
			}
			if list := agent.text("#triage"); !strings.Contains(list, words["empty"]) {
				t.Errorf("the request is still in triage: %s", list)
			}
			agent.open("/desk?customer=1")
			if n := agent.eval(fmt.Sprintf(`String(document.querySelectorAll('tr.desk-row[data-id="%d"]').length)`, res.RequestID)); n != "1" {
				t.Errorf("the request is not in Alfa's queue")
			}

			// Its page: the mail, and the original downloaded with the page's session.
			agent.open(fmt.Sprintf("/requests/%d", res.RequestID))
			if m := agent.text("#mail"); !strings.Contains(m, words["eml"]) || !strings.Contains(m, "ivan@unknown.example") {
				t.Errorf("the request's mail: %s", m)
			}
			got, err := chromedp.Run(agent.ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#mail a.mail-eml").href).then(function (r) {
				return r.text().then(function (b) { return r.status + " " + r.headers.get("Content-Type") + " " + (b.indexOf("error 0x7f") >= 0); }); })`, chromedp.EvalAwaitPromise))
			if err != nil || got != "200 message/rfc822 true" {
				t.Errorf("downloading the original: %q %v", got, err)
			}
			agent.shot("request-mail-" + lang)
			agent.do(docShot(t, "request-mail-"+lang))

			// The admin: a mailbox, refused, added, changed, stopped.
			admin := mailSignInBrowser(t, root, app.HTTP.URL, "admin@vendor.example", lang, 1280, 900)
			admin.open("/admin/mailboxes")
			admin.do(
				chromedp.SendKeys(chromedp.CSS("#new-mailbox-name"), words["box"]),
				chromedp.SendKeys(chromedp.CSS("#new-mailbox-host"), "imap.example.net"),
				chromedp.SendKeys(chromedp.CSS("#new-mailbox-port"), "99999"),
				chromedp.Click(chromedp.CSS("#new-mailbox-security-1")), // STARTTLS
				chromedp.SendKeys(chromedp.CSS("#new-mailbox-username"), "support@vendor.example"),
				chromedp.SendKeys(chromedp.CSS("#new-mailbox-password"), "s3cret-imap"),
			)
			admin.set("#new-mailbox-poll-seconds", "90")
			// The browser would refuse 99999 itself (max=65535); the server must too.
			admin.eval(`document.querySelector("#new-mailbox").noValidate = true; ""`)
			admin.click(`#new-mailbox button[type=submit]`)
			if e := admin.text("#new-mailbox-port-error"); !strings.Contains(e, words["port_error"]) {
				t.Errorf("the port's error: %q", e)
			}
			if v := admin.eval(`document.querySelector("#new-mailbox-port").getAttribute("aria-invalid") + " " + document.querySelector("#new-mailbox-password").value`); v != "true " {
				t.Errorf("the port is not marked invalid, or the password came back: %q", v)
			}
			if admin.eval(`document.querySelector("#new-mailbox-security-1").checked ? "yes" : "no"`) != "yes" || admin.eval(`document.querySelector("#new-mailbox-poll-seconds").value`) != "90" {
				t.Error("the other fields were lost")
			}
			admin.shot("mailbox-refused-" + lang)
			admin.set("#new-mailbox-port", "")
			admin.do(chromedp.SendKeys(chromedp.CSS("#new-mailbox-password"), "s3cret-imap"))
			admin.click(`#new-mailbox button[type=submit]`)
			if flash := admin.text(".flash"); !strings.Contains(flash, words["added"]) {
				t.Fatalf("after adding: %q (%s)", flash, admin.eval(`document.querySelector("main").innerText.slice(0, 600)`))
			}
			if row := admin.text("#mailboxes tbody"); !strings.Contains(row, "imap.example.net:143") || !strings.Contains(row, "STARTTLS") || strings.Contains(row, "s3cret") {
				t.Errorf("the mailbox row: %s", row)
			}
			admin.click(`#mailboxes tbody a[href^="/admin/mailboxes/"]`)
			if v := admin.eval(`document.querySelector("#mailbox-password").value`); v != "" {
				t.Errorf("the edit form shows the password: %q", v)
			}
			admin.set("#mailbox-poll-seconds", "120")
			admin.click(`#mailbox button[type=submit]`)
			if flash := admin.text(".flash"); !strings.Contains(flash, words["saved"]) {
				t.Errorf("after saving: %q", flash)
			}
			boxes, err := app.Store.MailboxesToRead(context.Background())
			if err != nil || len(boxes) != 1 || boxes[0].Password != "s3cret-imap" || boxes[0].PollSeconds != 120 || boxes[0].Security != "starttls" {
				t.Fatalf("the stored mailbox: %+v %v", boxes, err)
			}
			mailboxPage := admin.path()
			admin.open("/admin/mailboxes")
			admin.click(`#mailboxes form[action$="/enabled"] button`)
			if flash := admin.text(".flash"); !strings.Contains(flash, words["off"]) {
				t.Errorf("after stopping: %q", flash)
			}
			if row := admin.text("#mailboxes tbody"); !strings.Contains(row, words["not_read"]) {
				t.Errorf("the stopped mailbox's row: %s", row)
			}
			admin.shot("mailboxes-" + lang)
			admin.do(docShot(t, "mailboxes-"+lang))

			// Everything fits a phone.
			agent.phone()
			for _, p := range []string{"/desk", "/desk/triage", fmt.Sprintf("/desk/triage/%d", res.RequestID), fmt.Sprintf("/requests/%d", res.RequestID), "/admin/mail", "/password"} {
				agent.open(p)
				agent.noOverflow(p)
			}
			agent.shot("request-mail-phone-" + lang)
			admin.phone()
			for _, p := range []string{"/admin/mailboxes", mailboxPage, "/admin/products", "/admin/products/1", "/admin/mail?outcome=triage"} {
				admin.open(p)
				admin.noOverflow(p)
			}
			admin.open("/admin/mailboxes")
			admin.shot("mailboxes-phone-" + lang)
		})
	}
}

// The queue refreshes itself every minute; an agent reading it with the
// keyboard keeps their place: the focused request keeps the focus, Tab
// goes on from there, and when the focused request has left the queue the
// focus stays in the queue rather than jumping to the top of the page.
func TestBrowserQueueRefreshKeepsFocus(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true})
	root := browser(t, 1280, 900)
	agent := deskSignInBrowser(t, root, app.HTTP.URL, "agent@vendor.example", 1280, 900)
	agent.open("/desk")
	agent.do(chromedp.WaitVisible(chromedp.CSS("#queue table")))
	// Which request link has the focus, by its place in the table ("" when none has).
	focused := func() string {
		return agent.eval(`String(Array.from(document.querySelectorAll("tr.desk-row a.number")).indexOf(document.activeElement))`)
	}
	if n, _ := strconv.Atoi(agent.eval(`String(document.querySelectorAll("tr.desk-row a.number").length)`)); n < 3 {
		t.Fatalf("the queue has %d rows", n)
	}
	// Tab from the first row's link to the second, as a person would.
	agent.eval(`document.querySelectorAll("tr.desk-row a.number")[0].focus(); ""`)
	agent.do(chromedp.KeyEvent("\t"))
	if f := focused(); f != "1" {
		t.Fatalf("Tab from the first request went to link %s", f)
	}
	// refresh swaps the queue in from hx-get as the minute's trigger does,
	// and waits until the new one is in.
	refresh := func(path string) {
		t.Helper()
		agent.eval(`(function () { var q = document.querySelector("#queue"); q.dataset.old = "1";
			htmx.ajax("GET", ` + deskJS(path) + ` || q.getAttribute("hx-get"), {source: "#queue"}); return ""; })()`)
		for deadline := time.Now().Add(10 * time.Second); ; {
			if agent.eval(`(function () { var q = document.querySelector("#queue"); return q && !q.dataset.old ? "new" : ""; })()`) == "new" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("htmx did not swap the queue in")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	refresh("")
	if f := focused(); f != "1" {
		t.Fatalf("after the refresh the focus is on %q (link %s), not the second request", agent.eval(`document.activeElement.tagName + "#" + document.activeElement.id`), f)
	}
	agent.do(chromedp.KeyEvent("\t"))
	if f := focused(); f != "2" {
		t.Errorf("Tab after the refresh went to %q", agent.eval(`document.activeElement.tagName + "#" + document.activeElement.id`))
	}
	// A chip keeps the focus too.
	agent.do(chromedp.Focus(chromedp.CSS(".desk-chips a.chip")))
	refresh("")
	if a := agent.eval(`document.activeElement.matches(".desk-chips a.chip.current") ? "chip" : document.activeElement.tagName`); a != "chip" {
		t.Errorf("after the refresh a focused chip lost the focus to %q", a)
	}
	// The focused request is gone from the new queue: the focus stays in the queue.
	agent.eval(`document.querySelectorAll("tr.desk-row a.number")[2].focus(); ""`)
	refresh("/desk/rows?q=zz-no-such-request")
	if a := agent.eval(`document.activeElement.id`); a != "queue" {
		t.Errorf("when the focused row left, the focus went to %q", a)
	}
}
