package calendar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tend/internal/apperr"
	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/calendar"
	"tend/internal/sla"
	"tend/internal/store"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func days(t *testing.T, c *sla.Calendar, year int) string {
	t.Helper()
	var b bytes.Buffer
	if err := sla.WriteDays(&b, c, year); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func kindIs(t *testing.T, c *sla.Calendar, date string, want sla.DayKind) {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KindOf(d); got != want {
		t.Errorf("%s is %s, want %s", date, got, want)
	}
}

func TestImportStoresReplacesAndReloads(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{})
			svc := app.Calendar
			var changed []*sla.Calendar
			svc.OnChange = func(c *sla.Calendar) { changed = append(changed, c) }

			if svc.Current() != sla.Default() || svc.Version() != 0 {
				t.Fatalf("a fresh database: calendar %p version %d, want the shipped one and 0", svc.Current(), svc.Version())
			}
			kindIs(t, svc.Current(), "2027-12-31", sla.Holiday)
			kindIs(t, svc.Current(), "2027-05-04", sla.Working)

			years, err := svc.Import(ctx, auth.System, readFile(t, "ru-2027-amended.xml"), "ru-2027-amended.xml", "")
			if err != nil {
				t.Fatalf("import XML: %v", err)
			}
			if !slices.Equal(years, []int{2027}) {
				t.Errorf("years = %v", years)
			}
			cal := svc.Current()
			kindIs(t, cal, "2027-12-31", sla.Working)
			kindIs(t, cal, "2027-05-04", sla.Holiday)
			kindIs(t, cal, "2026-12-31", sla.Holiday) // other years untouched
			if got := cal.Source(2027); got != "xmlcalendar file dated 2027.01.15" {
				t.Errorf("source = %q", got)
			}
			if svc.Version() != 1 || len(changed) != 1 || changed[0] != cal {
				t.Errorf("after the import: version %d, %d OnChange calls", svc.Version(), len(changed))
			}
			if sla.Default().KindOf(time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)) != sla.Holiday {
				t.Error("the import changed the shipped calendar")
			}

			// Another process reading the database gets the same calendar.
			restarted := calendar.New(app.Store, nil)
			if err := restarted.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if days(t, restarted.Current(), 2027) != days(t, cal, 2027) || restarted.Current().Source(2027) != cal.Source(2027) {
				t.Error("the calendar loaded from the database differs from the one imported")
			}

			// Importing the year again replaces it.
			const decree = "Government decree of 01.02.2027 No. 99 (test)"
			if _, err := svc.Import(ctx, auth.System, readFile(t, "ru-2027-amended.json"), "application/json", decree); err != nil {
				t.Fatalf("import JSON: %v", err)
			}
			cal = svc.Current()
			kindIs(t, cal, "2027-12-30", sla.Short)
			kindIs(t, cal, "2027-12-31", sla.Holiday)
			kindIs(t, cal, "2027-05-04", sla.Working)
			if cal.Source(2027) != decree {
				t.Errorf("source = %q, want the one given", cal.Source(2027))
			}
			stored, version, err := app.Store.CalendarYears(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || stored[0].Year != 2027 || version != 2 || svc.Version() != 2 {
				t.Errorf("stored %d years, version %d (service %d); want 2027 alone, 2", len(stored), version, svc.Version())
			}

			// Several years in one file.
			years, err = svc.Import(ctx, auth.System, readFile(t, "ru-2028-2029.json"), "", "")
			if err != nil {
				t.Fatalf("import two years: %v", err)
			}
			if !slices.Equal(years, []int{2028, 2029}) {
				t.Errorf("years = %v", years)
			}
			cal = svc.Current()
			if cal.Provisional(2028) || cal.Provisional(2029) || cal.Source(2028) != "imported calendar" {
				t.Errorf("2028 provisional %v, 2029 provisional %v, source %q", cal.Provisional(2028), cal.Provisional(2029), cal.Source(2028))
			}
			kindIs(t, cal, "2028-12-29", sla.Short)
			kindIs(t, cal, "2027-12-30", sla.Short) // 2027 kept

			entries, err := app.Store.ListJournal(ctx, auth.System, store.JournalFilter{Entity: "calendar", EntityID: 2027})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range entries.Items {
				actions = append(actions, e.Action)
			}
			if !slices.Equal(actions, []string{"imported", "replaced"}) {
				t.Errorf("journal of 2027: %v", actions)
			}
			if n := len(entries.Items); n == 2 && (entries.Items[1].Note != decree || len(entries.Items[1].Before) == 0 || !strings.Contains(string(entries.Items[1].After), "2027-12-30")) {
				t.Errorf("replacement entry: %+v", entries.Items[1])
			}
		})
	}
}

func TestBadFilesChangeNothing(t *testing.T) {
	var two []json.RawMessage
	if err := json.Unmarshal(readFile(t, "ru-2028-2029.json"), &two); err != nil {
		t.Fatal(err)
	}
	valid2028 := string(two[0])
	cases := []struct {
		name string
		data []byte
		is   error  // the sla error inside, if any
		says string // part of the message
	}{
		{"impossible date", readFile(t, "bad-date.xml"), sla.ErrBadDate, `d="02.30"`},
		{"duplicate day", readFile(t, "duplicate-day.json"), sla.ErrDuplicateDay, `"2027-01-01"`},
		{"impossible number of working days", readFile(t, "too-many-working-days.json"), sla.ErrWorkingDays, "calendar for 2027"},
		{"public holiday made working", []byte(`[{"date":"2027-01-07","kind":"working"}]`), sla.ErrHolidayWorking, "01.07"},
		{"unknown kind", []byte(`[{"date":"2027-01-01","kind":"vacation"}]`), sla.ErrBadKind, "vacation"},
		{"misspelt field", []byte(`[{"date":"2027-01-01","knd":"holiday"}]`), sla.ErrSyntax, "knd"},
		{"malformed XML", []byte(`<calendar year="2027"><days><day d="01.01" t="1">`), sla.ErrSyntax, "XML"},
		{"empty", []byte(" \n"), nil, "empty"},
		{"neither format", []byte("year;date;kind\n2027;01.01;holiday\n"), nil, "not a calendar JSON list"},
		{"second year of two is bad", []byte("[" + valid2028 + `,[{"date":"2029-02-30","kind":"holiday"}]]`), sla.ErrBadDate, "year 2 of 2"},
		{"the same year twice", []byte("[" + valid2028 + "," + valid2028 + "]"), sla.ErrDuplicateYear, "2028"},
	}
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{})
			svc := app.Calendar
			if _, err := svc.Import(ctx, auth.System, readFile(t, "ru-2027-amended.xml"), "", ""); err != nil {
				t.Fatal(err)
			}
			before, version := svc.Current(), svc.Version()
			for _, tc := range cases {
				_, err := svc.Import(ctx, auth.System, tc.data, "upload.json", "")
				e := apperr.As(err)
				switch {
				case err == nil:
					t.Errorf("%s: imported", tc.name)
				case e.Code != apperr.Invalid || e.Field != "file":
					t.Errorf("%s: %v, want invalid on field file", tc.name, err)
				case tc.is != nil && !errors.Is(err, tc.is):
					t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
				case !strings.Contains(e.Message, tc.says) || strings.Contains(e.Message, "\n"):
					t.Errorf("%s: message %q, want one line with %q", tc.name, e.Message, tc.says)
				}
			}
			if svc.Current() != before || svc.Version() != version {
				t.Error("a bad file changed the calendar in force")
			}
			stored, v, err := app.Store.CalendarYears(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || v != version {
				t.Errorf("after bad files the database holds %d years at version %d, want 1 at %d", len(stored), v, version)
			}
			if !svc.Current().Provisional(2028) {
				t.Error("2028 was imported from a file whose other year was bad")
			}
		})
	}
}

func TestImportNeedsAnAdmin(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{})
			file := readFile(t, "ru-2027-amended.xml")
			for _, tc := range []struct {
				p    auth.Principal
				want apperr.Code
			}{
				{auth.Principal{AccountID: 7, Name: "Agent", Role: auth.RoleAgent, Scope: auth.ScopeWrite}, apperr.Forbidden},
				{auth.Principal{AccountID: 8, Name: "Customer", Role: auth.RoleCustomerAdmin, CustomerID: 1, Scope: auth.ScopeWrite}, apperr.Forbidden},
				{auth.Principal{AccountID: 9, Name: "Admin's read token", Role: auth.RoleAdmin, Scope: auth.ScopeRead}, apperr.Forbidden},
				{auth.Principal{}, apperr.Unauthenticated},
			} {
				if _, err := app.Calendar.Import(ctx, tc.p, file, "", ""); apperr.CodeOf(err) != tc.want {
					t.Errorf("%s imports: %v, want %s", tc.p.Name, err, tc.want)
				}
				// Even invalid files are refused for access first.
				if _, err := app.Calendar.Import(ctx, tc.p, []byte("junk"), "", ""); apperr.CodeOf(err) != tc.want {
					t.Errorf("%s imports junk: %v, want %s", tc.p.Name, err, tc.want)
				}
				// The store checks access too.
				y, _ := sla.Default().Data(2027)
				if _, err := app.Store.ImportCalendar(ctx, tc.p, []sla.YearData{y}); apperr.CodeOf(err) != tc.want {
					t.Errorf("%s stores a year: %v, want %s", tc.p.Name, err, tc.want)
				}
			}
			if stored, v, err := app.Store.CalendarYears(ctx); err != nil || len(stored) != 0 || v != 0 {
				t.Errorf("refused imports stored something: %d years, version %d, %v", len(stored), v, err)
			}
		})
	}
}

func TestStoreRefusesWhatCannotBeLoaded(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{})
			bad := sla.YearData{Year: 2027, Days: map[sla.MonthDay]sla.DayKind{{Month: 2, Day: 30}: sla.Holiday}}
			good, _ := sla.Default().Data(2026)
			for name, years := range map[string][]sla.YearData{
				"an invalid year":     {good, bad},
				"no year":             nil,
				"the same year twice": {good, good},
			} {
				if _, err := app.Store.ImportCalendar(ctx, auth.System, years); !apperr.Is(err, apperr.Invalid) {
					t.Errorf("%s: %v, want invalid", name, err)
				}
			}
			if stored, v, _ := app.Store.CalendarYears(ctx); len(stored) != 0 || v != 0 {
				t.Errorf("stored %d years, version %d", len(stored), v)
			}
		})
	}
}

// A second Service on the same database stands for a second replica: it
// notices the first one's import and switches to the new calendar.
func TestWatchFollowsAnotherReplica(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{})
			replica := calendar.New(app.Store, nil)
			if err := replica.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			changes := make(chan *sla.Calendar, 4)
			replica.OnChange = func(c *sla.Calendar) { changes <- c }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				replica.Watch(ctx, 5*time.Millisecond)
			}()
			defer func() {
				cancel()
				<-done
			}()

			if _, err := app.Calendar.Import(context.Background(), auth.System, readFile(t, "ru-2027-amended.xml"), "", ""); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-changes:
				kindIs(t, c, "2027-12-31", sla.Working)
				if replica.Current() != c || replica.Version() != 1 {
					t.Errorf("replica: current %p (told %p), version %d", replica.Current(), c, replica.Version())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the replica did not notice the import")
			}
			select {
			case c := <-changes:
				t.Errorf("a second change was reported without an import: %p", c)
			case <-time.After(50 * time.Millisecond):
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Watch did not return when its context ended")
			}
		})
	}
}

func TestParseRecognisesTheFormat(t *testing.T) {
	xml := readFile(t, "ru-2027-amended.xml")
	withBOM := append([]byte("\xef\xbb\xbf\n"), xml...)
	for name, data := range map[string][]byte{"XML": xml, "XML with a BOM": withBOM, "JSON": readFile(t, "ru-2027-amended.json")} {
		years, err := calendar.Parse(data, "")
		if err != nil || len(years) != 1 || years[0].Year != 2027 {
			t.Errorf("%s: %d years, %v", name, len(years), err)
		}
	}
	for hint, says := range map[string]string{"application/xml": "not calendar XML", "cal.json": "not a calendar JSON list", "": "neither"} {
		_, err := calendar.Parse([]byte("hello"), hint)
		if e := apperr.As(err); e.Field != "file" || !strings.Contains(e.Message, says) {
			t.Errorf("hint %q: %v, want %q", hint, err, says)
		}
	}
}

// fakeStore lets a test say what the database holds.
type fakeStore struct {
	years   []sla.YearData
	version int64
	jump    int64 // added to the version by an import: other replicas' imports
}

func (f *fakeStore) CalendarYears(context.Context) ([]sla.YearData, int64, error) {
	return f.years, f.version, nil
}

func (f *fakeStore) CalendarVersion(context.Context) (int64, error) { return f.version, nil }

func (f *fakeStore) ImportCalendar(_ context.Context, _ auth.Principal, years []sla.YearData) (int64, error) {
	f.years = append(f.years, years...)
	f.version += 1 + f.jump
	return f.version, nil
}

func TestLoadSkipsAStoredYearThatNoLongerValidates(t *testing.T) {
	good, _ := sla.Default().Data(2027)
	good.Days[sla.MonthDay{Month: 12, Day: 31}] = sla.Working
	good.Source = "amended"
	bad := sla.YearData{Year: 2026, Days: map[sla.MonthDay]sla.DayKind{{Month: 1, Day: 7}: sla.Working}}
	svc := calendar.New(&fakeStore{years: []sla.YearData{bad, good}, version: 3}, nil)
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	cal := svc.Current()
	kindIs(t, cal, "2027-12-31", sla.Working)
	kindIs(t, cal, "2026-01-07", sla.Holiday) // the shipped 2026 stays
	if cal.Source(2026) != sla.Default().Source(2026) || svc.Version() != 3 {
		t.Errorf("2026 source %q, version %d", cal.Source(2026), svc.Version())
	}
}

func TestImportReadsBackWhenAnotherReplicaImportedMeanwhile(t *testing.T) {
	two, err := calendar.Parse(readFile(t, "ru-2028-2029.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	other := two[0]
	other.Source = "other replica"
	st := &fakeStore{}
	svc := calendar.New(st, nil)
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Meanwhile another replica stored 2028.
	st.years, st.jump = []sla.YearData{other}, 1
	var told *sla.Calendar
	svc.OnChange = func(c *sla.Calendar) { told = c }
	if _, err := svc.Import(context.Background(), auth.System, readFile(t, "ru-2027-amended.xml"), "", ""); err != nil {
		t.Fatal(err)
	}
	cal := svc.Current()
	if cal.Source(2028) != "other replica" || cal.Source(2027) != "xmlcalendar file dated 2027.01.15" || svc.Version() != 2 || told != cal {
		t.Errorf("after import: 2028 %q, 2027 %q, version %d", cal.Source(2028), cal.Source(2027), svc.Version())
	}
}
