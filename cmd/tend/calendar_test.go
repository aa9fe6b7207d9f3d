package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"tend/internal/apptest"
	"tend/internal/store"
)

const calendarTestdata = "../../internal/calendar/testdata/"

// tendCmd runs one command line against a database and answers what it
// printed, what it logged and its error.
func tendCmd(db []string, args ...string) (string, string, error) {
	var out, logs syncBuffer
	err := run(context.Background(), append(append([]string{}, db...), args...), nil, &out, &logs)
	return out.String(), logs.String(), err
}

func TestCalendarImportCommand(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			db := []string{"--data", t.TempDir()}
			if engine == "postgres" {
				db = []string{"--db", apptest.PostgresDSN(t)}
			}

			out, logs, err := tendCmd(db, "calendar", "import", calendarTestdata+"ru-2027-amended.xml")
			if err != nil {
				t.Fatalf("import XML: %v\n%s", err, logs)
			}
			if !strings.Contains(out, "imported 2027: 247 working days") || !strings.Contains(out, "xmlcalendar file dated 2027.01.15") {
				t.Errorf("import XML said %q", out)
			}
			out, _, err = tendCmd(db, "calendar", "days", "--year", "2027")
			if err != nil || !strings.Contains(out, "2027-12-31\tworking\n") || !strings.Contains(out, "2027-05-04\tholiday\n") {
				t.Errorf("days after the XML import: %v\n%s", err, out)
			}
			out, _, err = tendCmd(db, "sla", "due", "--from", "2027-12-30T17:00:00+03:00", "--working", "2h")
			if err != nil || out != "2027-12-31T10:00:00+03:00\n" {
				t.Errorf("sla due on the imported calendar: %q %v", out, err)
			}

			// Importing the year again replaces it; --source notes the decree.
			out, _, err = tendCmd(db, "calendar", "import", calendarTestdata+"ru-2027-amended.json", "--source", "Government decree of 01.02.2027 No. 99")
			if err != nil || !strings.Contains(out, "imported 2027") || !strings.Contains(out, "source: Government decree of 01.02.2027 No. 99") {
				t.Errorf("import JSON: %v %q", err, out)
			}
			out, _, _ = tendCmd(db, "calendar", "days", "--year", "2027")
			if !strings.Contains(out, "2027-12-30\tshort\n") || !strings.Contains(out, "2027-12-31\tholiday\n") {
				t.Errorf("days after the JSON import:\n%s", out)
			}
			out, _, err = tendCmd(db, "calendar", "summary", "--year", "2027")
			if err != nil || !strings.Contains(out, "source\tGovernment decree of 01.02.2027 No. 99\n") {
				t.Errorf("summary 2027: %v\n%s", err, out)
			}

			out, _, err = tendCmd(db, "calendar", "import", calendarTestdata+"ru-2028-2029.json")
			if err != nil || !strings.Contains(out, "imported 2028") || !strings.Contains(out, "imported 2029") {
				t.Errorf("two years: %v %q", err, out)
			}
			out, _, _ = tendCmd(db, "calendar", "summary", "--year", "2028")
			if strings.Contains(out, "provisional") || !strings.Contains(out, "source\timported calendar") {
				t.Errorf("summary 2028 after its import:\n%s", out)
			}
			out, _, _ = tendCmd(db, "calendar", "summary", "--year", "2031")
			if !strings.Contains(out, "status\tprovisional") {
				t.Errorf("summary 2031:\n%s", out)
			}

			// Bad files name what is wrong and change nothing.
			for file, says := range map[string]string{
				"bad-date.xml":               `d="02.30": no such date`,
				"duplicate-day.json":         `"2027-01-01": day listed twice`,
				"too-many-working-days.json": "implausible number of working days",
			} {
				_, _, err := tendCmd(db, "calendar", "import", calendarTestdata+file)
				if err == nil || !strings.Contains(err.Error(), file+" was not imported") || !strings.Contains(err.Error(), says) {
					t.Errorf("%s: %v, want it to say %q", file, err, says)
				}
			}
			if _, _, err := tendCmd(db, "calendar", "import", calendarTestdata+"no-such-file.xml"); err == nil || !strings.Contains(err.Error(), "no such file") {
				t.Errorf("missing file: %v", err)
			}
			out, _, _ = tendCmd(db, "calendar", "days", "--year", "2027")
			if !strings.Contains(out, "2027-12-30\tshort\n") {
				t.Error("a refused file changed the calendar")
			}
		})
	}
}

func TestCalendarCommandsWithoutADatabase(t *testing.T) {
	data := t.TempDir()
	out, _, err := tendCmd([]string{"--data", data}, "calendar", "days", "--year", "2027")
	if err != nil || !strings.Contains(out, "2027-12-31\tholiday\n") {
		t.Errorf("days from the shipped calendar: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(data, "*")); len(files) != 0 {
		t.Errorf("reading the calendar created %v", files)
	}
}

// While tend serve holds an SQLite database, the read commands still answer,
// from the shipped calendar, and say so; an import refuses with the reason.
func TestCalendarCommandsBesideARunningServer(t *testing.T) {
	data := t.TempDir()
	db := []string{"--data", data}
	if _, logs, err := tendCmd(db, "calendar", "import", calendarTestdata+"ru-2027-amended.xml"); err != nil {
		t.Fatalf("import: %v\n%s", err, logs)
	}
	st, err := store.Open(context.Background(), store.Options{DataDir: data, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out, logs, err := tendCmd(db, "calendar", "days", "--year", "2027")
	if err != nil || !strings.Contains(out, "2027-12-31\tholiday\n") {
		t.Errorf("days beside a server: %v", err)
	}
	if !strings.Contains(logs, "shipped calendar") || !strings.Contains(logs, "in use by another tend") {
		t.Errorf("no note about the fallback: %q", logs)
	}
	_, _, err = tendCmd(db, "calendar", "import", calendarTestdata+"ru-2027-amended.json")
	if err == nil || !strings.Contains(err.Error(), "in use by another tend") || !strings.Contains(err.Error(), "POST /api/v1/calendar/import") {
		t.Errorf("import beside a server: %v", err)
	}
}
