package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/sla"
)

// calendarFile reads a test calendar shared with internal/calendar.
func calendarFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../calendar/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type calendarYearView struct {
	Year        int
	Provisional bool
	Source      string
	Summary     struct {
		WorkingDays int `json:"working_days"`
		ShortDays   int `json:"short_days"`
		DaysOff     int `json:"days_off"`
		Hours40     int `json:"hours_40"`
		Months      []struct {
			Month       int
			WorkingDays int `json:"working_days"`
		}
	}
	Days []struct{ Date, Kind string }
}

func (v calendarYearView) kind(date string) string {
	for _, d := range v.Days {
		if d.Date == date {
			return d.Kind
		}
	}
	return "(missing)"
}

func TestCalendarReadAndImport(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@vendor.example", "demo")
			agent := app.Login(t, "agent@vendor.example", "demo")
			operator := app.Login(t, "operator@alfa.example", "demo")

			t.Run("every signed-in person reads a year", func(t *testing.T) {
				var y calendarYearView
				operator.Do("GET", "/api/v1/calendar/2025", nil, 200, &y)
				if y.Year != 2025 || y.Provisional || !strings.Contains(y.Source, "Government decree") {
					t.Errorf("2025: year %d provisional %v source %q", y.Year, y.Provisional, y.Source)
				}
				if y.Summary.WorkingDays != 247 || y.Summary.Hours40 != 1972 || y.Summary.DaysOff != 118 || len(y.Summary.Months) != 12 || y.Summary.Months[0].WorkingDays != 17 {
					t.Errorf("2025 summary: %+v", y.Summary)
				}
				if len(y.Days) != 365 || y.Days[0].Date != "2025-01-01" || y.Days[0].Kind != "holiday" || y.kind("2025-11-01") != "short" || y.kind("2025-03-07") != "short" {
					t.Errorf("2025 days: %d, first %+v, Nov 1 %s, Mar 7 %s", len(y.Days), y.Days[0], y.kind("2025-11-01"), y.kind("2025-03-07"))
				}
				operator.Do("GET", "/api/v1/calendar/2031", nil, 200, &y)
				if !y.Provisional || y.Source != "" || y.kind("2031-01-07") != "holiday" {
					t.Errorf("2031: provisional %v source %q", y.Provisional, y.Source)
				}
				for _, bad := range []string{"abc", "1800", "3000"} {
					resp := operator.Call("GET", "/api/v1/calendar/"+bad, nil)
					if _, field, _ := resp.Error(); resp.Status != 422 || field != "year" {
						t.Errorf("year %s: %d %s", bad, resp.Status, resp.Body)
					}
				}
			})

			get2027 := func() (calendarYearView, []byte) {
				var y calendarYearView
				resp := operator.Do("GET", "/api/v1/calendar/2027", nil, 200, &y)
				return y, resp.Body
			}

			t.Run("an admin imports XML, then JSON over it", func(t *testing.T) {
				resp := admin.Raw("POST", "/api/v1/calendar/import", "application/xml", bytes.NewReader(calendarFile(t, "ru-2027-amended.xml")))
				if resp.Status != 200 {
					t.Fatalf("import XML: %d %s", resp.Status, resp.Body)
				}
				var out struct {
					Years []struct {
						Year        int
						Source      string
						WorkingDays int `json:"working_days"`
						Hours40     int `json:"hours_40"`
					}
				}
				json.Unmarshal(resp.Body, &out)
				if len(out.Years) != 1 || out.Years[0].Year != 2027 || out.Years[0].Source != "xmlcalendar file dated 2027.01.15" || out.Years[0].WorkingDays != sla.Default().Summary(2027).WorkingDays {
					t.Errorf("import answered %s", resp.Body)
				}
				y, _ := get2027()
				if y.kind("2027-12-31") != "working" || y.kind("2027-05-04") != "holiday" || y.Source != "xmlcalendar file dated 2027.01.15" {
					t.Errorf("after the XML import: Dec 31 %s, May 4 %s, source %q", y.kind("2027-12-31"), y.kind("2027-05-04"), y.Source)
				}

				decree := "Government decree of 01.02.2027 No. 99 (test)"
				resp = admin.Raw("POST", "/api/v1/calendar/import?source="+url.QueryEscape(decree), "application/json; charset=utf-8", bytes.NewReader(calendarFile(t, "ru-2027-amended.json")))
				if resp.Status != 200 {
					t.Fatalf("import JSON: %d %s", resp.Status, resp.Body)
				}
				y, _ = get2027()
				if y.kind("2027-12-31") != "holiday" || y.kind("2027-12-30") != "short" || y.Source != decree {
					t.Errorf("after the JSON import: Dec 30 %s, Dec 31 %s, source %q", y.kind("2027-12-30"), y.kind("2027-12-31"), y.Source)
				}

				// curl --data-binary labels the file as a form; the content decides.
				resp = admin.Raw("POST", "/api/v1/calendar/import", "application/x-www-form-urlencoded", bytes.NewReader(calendarFile(t, "ru-2028-2029.json")))
				if resp.Status != 200 || !strings.Contains(string(resp.Body), `"year":2029`) {
					t.Errorf("two years as a form: %d %s", resp.Status, resp.Body)
				}

				var journal struct {
					Items []struct{ Action, Note string }
				}
				admin.Do("GET", "/api/v1/journal?entity=calendar&entity_id=2027", nil, 200, &journal)
				if len(journal.Items) != 2 || journal.Items[0].Action != "imported" || journal.Items[1].Action != "replaced" || journal.Items[1].Note != decree {
					t.Errorf("journal: %+v", journal.Items)
				}
			})

			t.Run("a bad file answers 422 and changes nothing", func(t *testing.T) {
				_, before := get2027()
				for _, tc := range []struct {
					file, contentType, says string
				}{
					{"bad-date.xml", "text/xml", `d="02.30"`},
					{"duplicate-day.json", "application/json", "day listed twice"},
					{"too-many-working-days.json", "application/json", "implausible number of working days"},
				} {
					resp := admin.Raw("POST", "/api/v1/calendar/import", tc.contentType, bytes.NewReader(calendarFile(t, tc.file)))
					code, field, msg := resp.Error()
					if resp.Status != 422 || code != "invalid" || field != "file" || !strings.Contains(msg, tc.says) {
						t.Errorf("%s: %d %s", tc.file, resp.Status, resp.Body)
					}
				}
				if _, after := get2027(); !bytes.Equal(before, after) {
					t.Error("a refused file changed the calendar in force")
				}
			})

			t.Run("wrong type, too large, not an admin", func(t *testing.T) {
				_, before := get2027()
				xml := calendarFile(t, "ru-2027-amended.xml")
				if resp := admin.Raw("POST", "/api/v1/calendar/import", "text/plain", bytes.NewReader(xml)); resp.Status != 415 {
					t.Errorf("text/plain: %d %s", resp.Status, resp.Body)
				}
				huge := append(bytes.Repeat([]byte(" "), 1<<20), xml...)
				if resp := admin.Raw("POST", "/api/v1/calendar/import", "application/xml", bytes.NewReader(huge)); resp.Status != 413 {
					t.Errorf("huge: %d %s", resp.Status, resp.Body)
				}
				for who, c := range map[string]*apptest.Client{"agent": agent, "operator": operator} {
					resp := c.Raw("POST", "/api/v1/calendar/import", "application/xml", bytes.NewReader(xml))
					if code, _, _ := resp.Error(); resp.Status != 403 || code != "forbidden" {
						t.Errorf("%s imports: %d %s", who, resp.Status, resp.Body)
					}
					// Access is decided before the file is looked at.
					if resp := c.Raw("POST", "/api/v1/calendar/import", "application/xml", strings.NewReader("junk")); resp.Status != 403 {
						t.Errorf("%s imports junk: %d %s", who, resp.Status, resp.Body)
					}
				}
				if _, after := get2027(); !bytes.Equal(before, after) {
					t.Error("a refused import changed the calendar in force")
				}
			})
		})
	}
}

type dueView struct {
	Due, From, Working, Window, Zone, Mode string
	Provisional                            bool
}

type betweenView struct {
	Working, From, To, Window, Zone, Mode string
	Seconds                               int64
	Provisional                           bool
}

func TestSLAAnswers(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			agent := app.Login(t, "agent@vendor.example", "demo")
			q := url.QueryEscape

			var due dueView
			agent.Do("GET", "/api/v1/sla/due?from="+q("2025-12-30T16:00:00+03:00")+"&working=8h&window=09:00-18:00", nil, 200, &due)
			want := dueView{Due: "2026-01-12T15:00:00+03:00", From: "2025-12-30T16:00:00+03:00", Working: "8h0m0s", Window: "09:00-18:00", Zone: "Europe/Moscow", Mode: "working"}
			if due != want {
				t.Errorf("due = %+v, want %+v", due, want)
			}
			agent.Do("GET", "/api/v1/sla/due?from="+q("2025-12-30T13:00:00Z")+"&working=8h&mode=24x7&zone=Europe/Moscow", nil, 200, &due)
			if due.Due != "2025-12-31T00:00:00+03:00" || due.Mode != "24x7" || due.Window != "09:00-18:00" {
				t.Errorf("24x7 due = %+v", due)
			}
			agent.Do("GET", "/api/v1/sla/due?from="+q("2026-03-02T10:00:00+10:00")+"&working=8h&window=9:00-17:00&zone=Asia/Vladivostok", nil, 200, &due)
			if due.Due != "2026-03-03T10:00:00+10:00" || due.Zone != "Asia/Vladivostok" || due.Window != "09:00-17:00" {
				t.Errorf("Vladivostok due = %+v", due)
			}
			agent.Do("GET", "/api/v1/sla/due?from="+q("2031-03-03T10:00:00+03:00")+"&working=10h", nil, 200, &due)
			if !due.Provisional || due.Due != "2031-03-04T11:00:00+03:00" {
				t.Errorf("due in an undecreed year = %+v", due)
			}

			var btw betweenView
			agent.Do("GET", "/api/v1/sla/between?from="+q("2025-12-29T09:00:00+03:00")+"&to="+q("2026-01-13T12:30:00+03:00")+"&window=09:00-18:00", nil, 200, &btw)
			if btw.Working != "30h30m0s" || btw.Seconds != 109800 || btw.Provisional || btw.From != "2025-12-29T09:00:00+03:00" {
				t.Errorf("between = %+v", btw)
			}
			agent.Do("GET", "/api/v1/sla/between?from="+q("2025-12-29T09:00:00+03:00")+"&to="+q("2025-12-29T09:00:00+03:00"), nil, 200, &btw)
			if btw.Working != "0s" || btw.Seconds != 0 {
				t.Errorf("empty interval = %+v", btw)
			}

			// The answers follow the calendar in force.
			late := "/api/v1/sla/due?from=" + q("2027-12-30T17:00:00+03:00") + "&working=2h"
			agent.Do("GET", late, nil, 200, &due)
			if due.Due != "2028-01-10T10:00:00+03:00" || !due.Provisional {
				t.Errorf("before the import: %+v", due)
			}
			admin := app.Login(t, "admin@vendor.example", "demo")
			if resp := admin.Raw("POST", "/api/v1/calendar/import", "application/xml", bytes.NewReader(calendarFile(t, "ru-2027-amended.xml"))); resp.Status != 200 {
				t.Fatalf("import: %d %s", resp.Status, resp.Body)
			}
			agent.Do("GET", late, nil, 200, &due)
			if due.Due != "2027-12-31T10:00:00+03:00" || due.Provisional {
				t.Errorf("after the import: %+v", due)
			}

			from := "from=" + q("2025-12-30T16:00:00+03:00")
			for _, tc := range []struct{ path, field string }{
				{"/api/v1/sla/due?working=8h", "from"},
				{"/api/v1/sla/due?from=yesterday&working=8h", "from"},
				{"/api/v1/sla/due?from=" + q("1700-01-01T00:00:00Z") + "&working=8h", "from"},
				{"/api/v1/sla/due?" + from, "working"},
				{"/api/v1/sla/due?" + from + "&working=-1h", "working"},
				{"/api/v1/sla/due?" + from + "&working=eight", "working"},
				{"/api/v1/sla/due?" + from + "&working=100000h", "working"},
				{"/api/v1/sla/due?" + from + "&working=8h&window=18:00-09:00", "window"},
				{"/api/v1/sla/due?" + from + "&working=8h&window=nine", "window"},
				{"/api/v1/sla/due?" + from + "&working=8h&zone=Mars/Olympus", "zone"},
				{"/api/v1/sla/due?" + from + "&working=8h&zone=Local", "zone"},
				{"/api/v1/sla/due?" + from + "&working=8h&mode=sometimes", "mode"},
				{"/api/v1/sla/between?" + from, "to"},
				{"/api/v1/sla/between?" + from + "&to=" + q("2025-12-29T16:00:00+03:00"), "to"},
				{"/api/v1/sla/between?" + from + "&to=" + q("2045-12-29T16:00:00+03:00"), "to"},
				{"/api/v1/sla/between?to=" + q("2025-12-29T16:00:00+03:00"), "from"},
			} {
				resp := agent.Call("GET", tc.path, nil)
				if code, field, _ := resp.Error(); resp.Status != 422 || code != "invalid" || field != tc.field {
					t.Errorf("%s: %d %s, want 422 on %s", tc.path, resp.Status, resp.Body, tc.field)
				}
			}
		})
	}
}

type planTargetsView struct {
	PlanID      int64 `json:"plan_id"`
	PlanName    string
	From        string
	Window      string
	Zone        string
	Provisional bool
	Emergency   priorityView
	Normal      priorityView
}

type priorityView struct {
	Mode     string
	StartsAt string `json:"starts_at"`
	Targets  map[string]struct {
		Target string
		Due    string
	}
}

func planNamed(t *testing.T, c *apptest.Client, prefix string) int64 {
	t.Helper()
	var list struct {
		Items []struct {
			ID   int64
			Name string
		}
	}
	c.Do("GET", "/api/v1/plans", nil, 200, &list)
	for _, p := range list.Items {
		if strings.HasPrefix(p.Name, prefix) {
			return p.ID
		}
	}
	t.Fatalf("no plan named %s…", prefix)
	return 0
}

func TestPlanTargetsOnTheCalendar(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			agent := app.Login(t, "agent@vendor.example", "demo")
			business, premium := planNamed(t, agent, "Business"), planNamed(t, agent, "Premium")
			from := "?from=" + url.QueryEscape("2025-12-30T16:00:00+03:00")

			var v planTargetsView
			agent.Do("GET", fmt.Sprintf("/api/v1/plans/%d/targets%s", business, from), nil, 200, &v)
			if v.PlanID != business || v.Window != "09:00-18:00" || v.Zone != "Europe/Moscow" || v.From != "2025-12-30T16:00:00+03:00" || v.Provisional {
				t.Errorf("business: %+v", v)
			}
			for _, tc := range []struct {
				p              priorityView
				target, d, due string
			}{
				{v.Normal, "first_response", "2h0m0s", "2025-12-30T18:00:00+03:00"}, // runs out at the close
				{v.Normal, "clarification", "4h0m0s", "2026-01-12T11:00:00+03:00"},  // across the New Year holidays
				{v.Normal, "resolution", "45h0m0s", "2026-01-16T16:00:00+03:00"},
				{v.Emergency, "first_response", "30m0s", "2025-12-30T16:30:00+03:00"},
				{v.Emergency, "resolution", "9h0m0s", "2026-01-12T16:00:00+03:00"},
			} {
				if got := tc.p.Targets[tc.target]; got.Target != tc.d || got.Due != tc.due {
					t.Errorf("business %s: %+v, want %s due %s", tc.target, got, tc.d, tc.due)
				}
			}
			if v.Emergency.Mode != "working" || v.Normal.Mode != "working" || v.Normal.StartsAt != v.From {
				t.Errorf("business modes: %+v / %+v", v.Emergency, v.Normal)
			}

			agent.Do("GET", fmt.Sprintf("/api/v1/plans/%d/targets%s", premium, from), nil, 200, &v)
			if v.Emergency.Mode != "24x7" || v.Normal.Mode != "working" {
				t.Errorf("premium modes: %s %s", v.Emergency.Mode, v.Normal.Mode)
			}
			for _, tc := range []struct {
				p           priorityView
				target, due string
			}{
				{v.Emergency, "first_response", "2025-12-30T16:15:00+03:00"},
				{v.Emergency, "resolution", "2025-12-30T20:00:00+03:00"}, // around the clock
				{v.Normal, "first_response", "2025-12-30T17:00:00+03:00"},
			} {
				if got := tc.p.Targets[tc.target]; got.Due != tc.due {
					t.Errorf("premium %s: %+v, want due %s", tc.target, got, tc.due)
				}
			}

			// Registered on a holiday night: the clock starts on the next working morning.
			agent.Do("GET", fmt.Sprintf("/api/v1/plans/%d/targets?from=%s", business, url.QueryEscape("2026-01-03T02:00:00+03:00")), nil, 200, &v)
			if v.Normal.StartsAt != "2026-01-12T09:00:00+03:00" || v.Normal.Targets["first_response"].Due != "2026-01-12T11:00:00+03:00" {
				t.Errorf("holiday night: %+v", v.Normal)
			}

			// Without from: now (the app's clock, Monday 2026-03-02 10:00 Moscow).
			agent.Do("GET", fmt.Sprintf("/api/v1/plans/%d/targets", business), nil, 200, &v)
			now := app.Clock.Now().In(sla.Moscow()).Format(time.RFC3339)
			if v.From != now || v.Normal.Targets["first_response"].Due != "2026-03-02T12:00:00+03:00" {
				t.Errorf("from now (%s): %+v", now, v)
			}

			if resp := agent.Call("GET", fmt.Sprintf("/api/v1/plans/%d/targets?from=soon", business), nil); resp.Status != 422 {
				t.Errorf("bad from: %d %s", resp.Status, resp.Body)
			}
			if resp := agent.Call("GET", "/api/v1/plans/999999/targets", nil); resp.Status != 404 {
				t.Errorf("no such plan: %d %s", resp.Status, resp.Body)
			}
		})
	}
}
