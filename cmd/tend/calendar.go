package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/calendar"
	"tend/internal/sla"
	"tend/internal/store"
)

// CalendarCmd shows and imports the production calendar in force.
type CalendarCmd struct {
	Import  CalendarImportCmd  `cmd:"" help:"Import a production calendar file (XML or JSON) over the shipped calendar."`
	Days    CalendarDaysCmd    `cmd:"" help:"Print every day of a year with its kind: working, short, weekend, holiday."`
	Summary CalendarSummaryCmd `cmd:"" help:"Print a year's working days and hours for a 40-hour week."`
}

// CalendarImportCmd stores a calendar file in the database, where every
// tend serve on it finds it (a running one within half a minute).
type CalendarImportCmd struct {
	File   string `arg:"" type:"path" help:"The calendar: the public XML format (<calendar year=…><days><day d=\"MM.DD\" t=\"1|2|3\"/>) or a JSON list of {\"date\",\"kind\"} (a list of such lists for several years)."`
	Source string `help:"The decree behind the calendar, noted with the imported years (default: what the file says)."`
}

func (c *CalendarImportCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return fmt.Errorf("read the calendar file: %w", err)
	}
	st, err := openStore(ctx, g, log)
	if err != nil {
		return fmt.Errorf("%w (a running tend takes calendar files through its API: POST /api/v1/calendar/import)", err)
	}
	defer st.Close()
	svc := calendar.New(st, log)
	if err := svc.Load(ctx); err != nil {
		return humanError(err)
	}
	years, err := svc.Import(ctx, auth.System, data, c.File, c.Source)
	if err != nil {
		if e := apperr.As(err); e.Field == "file" {
			return fmt.Errorf("%s was not imported: %s", c.File, e.Message)
		}
		return humanError(err)
	}
	cal := svc.Current()
	for _, y := range years {
		s := cal.Summary(y)
		fmt.Fprintf(out, "imported %d: %d working days (%d short), %d hours for a 40-hour week; source: %s\n",
			y, s.WorkingDays, s.ShortDays, s.Hours40, cal.Source(y))
	}
	return nil
}

// calendarInForce is the calendar tend serve would use: the shipped one
// with the years imported into the database. It neither creates nor
// migrates a database: with none yet, the shipped calendar is the one in
// force. When the database cannot be read (an SQLite database held by a
// running tend serve, an unreachable PostgreSQL) it says so on standard
// error and answers from the shipped calendar.
func calendarInForce(ctx context.Context, g *Globals, log *slog.Logger) *sla.Calendar {
	if !databaseExists(g) {
		return sla.Default()
	}
	fallback := func(err error) *sla.Calendar {
		log.Warn("answering from the shipped calendar, without imported years: the database cannot be read", "err", err)
		return sla.Default()
	}
	st, err := store.Open(ctx, store.Options{DSN: g.DB, DataDir: g.Data, Log: log})
	if err != nil {
		return fallback(err)
	}
	defer st.Close()
	svc := calendar.New(st, log)
	if err := svc.Load(ctx); err != nil {
		return fallback(err)
	}
	return svc.Current()
}

// databaseExists says whether the globals name a database that may hold
// imports: any PostgreSQL URL, or an SQLite file that is there.
func databaseExists(g *Globals) bool {
	if strings.HasPrefix(g.DB, "postgres://") || strings.HasPrefix(g.DB, "postgresql://") {
		return true
	}
	path := strings.TrimPrefix(g.DB, "sqlite:")
	if path == "" {
		path = filepath.Join(g.Data, "tend.db")
	}
	_, err := os.Stat(path)
	return err == nil
}

type CalendarDaysCmd struct {
	Year int `required:"" help:"Year, such as 2025."`
}

func (c *CalendarDaysCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	if err := checkYear(c.Year); err != nil {
		return err
	}
	return sla.WriteDays(out, calendarInForce(ctx, g, log), c.Year)
}

type CalendarSummaryCmd struct {
	Year int `required:"" help:"Year, such as 2025."`
}

func (c *CalendarSummaryCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	if err := checkYear(c.Year); err != nil {
		return err
	}
	cal := calendarInForce(ctx, g, log)
	s := cal.Summary(c.Year)
	fmt.Fprintf(out, "year\t%d\nworking days\t%d\nshort days\t%d\ndays off\t%d\nworking hours (40-hour week)\t%d\n",
		s.Year, s.WorkingDays, s.ShortDays, s.DaysOff, s.Hours40)
	if s.Provisional {
		fmt.Fprintf(out, "status\tprovisional: no decree for %d is loaded; weekends and the fixed public holidays only\n", c.Year)
	} else {
		fmt.Fprintf(out, "source\t%s\n", cal.Source(c.Year))
	}
	return nil
}

func checkYear(y int) error {
	if y < 1990 || y > 2100 {
		return fmt.Errorf("--year %d is out of range (1990–2100)", y)
	}
	return nil
}

// SLACmd answers working-time questions from the shell.
type SLACmd struct {
	Due     SLADueCmd     `cmd:"" help:"Print the instant when an amount of working time has passed after --from."`
	Between SLABetweenCmd `cmd:"" help:"Print the working time between --from and --to."`
}

type scheduleFlags struct {
	Window string `default:"09:00-18:00" help:"Working window, such as 09:00-17:00."`
	Zone   string `default:"Europe/Moscow" help:"IANA time zone of the window."`
	Mode   string `default:"working" enum:"working,24x7" help:"working: on the production calendar; 24x7: around the clock."`
}

func (f scheduleFlags) schedule(cal *sla.Calendar) (sla.Schedule, error) {
	loc, err := time.LoadLocation(f.Zone)
	if err != nil {
		return sla.Schedule{}, fmt.Errorf("--zone: unknown time zone %q", f.Zone)
	}
	win, err := sla.ParseWindow(f.Window, loc)
	if err != nil {
		return sla.Schedule{}, fmt.Errorf("--window: %w", err)
	}
	mode, err := sla.ParseMode(f.Mode)
	if err != nil {
		return sla.Schedule{}, fmt.Errorf("--mode: %w", err)
	}
	return sla.Schedule{Cal: cal, Win: win, Mode: mode}, nil
}

type SLADueCmd struct {
	From    string        `required:"" help:"Start, RFC 3339 (2025-12-30T16:00:00+03:00)."`
	Working time.Duration `required:"" help:"Working time to pass, such as 8h or 90m."`
	scheduleFlags
}

func (c *SLADueCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	from, err := time.Parse(time.RFC3339, c.From)
	if err != nil {
		return fmt.Errorf("--from: %q is not an RFC 3339 instant such as 2025-12-30T16:00:00+03:00", c.From)
	}
	if c.Working < 0 {
		return fmt.Errorf("--working must not be negative")
	}
	s, err := c.schedule(calendarInForce(ctx, g, log))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, s.Due(from, c.Working).In(s.Win.Zone).Format(time.RFC3339))
	return err
}

type SLABetweenCmd struct {
	From string `required:"" help:"Start, RFC 3339."`
	To   string `required:"" help:"End, RFC 3339."`
	scheduleFlags
}

func (c *SLABetweenCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	from, err := time.Parse(time.RFC3339, c.From)
	if err != nil {
		return fmt.Errorf("--from: %q is not an RFC 3339 instant", c.From)
	}
	to, err := time.Parse(time.RFC3339, c.To)
	if err != nil {
		return fmt.Errorf("--to: %q is not an RFC 3339 instant", c.To)
	}
	s, err := c.schedule(calendarInForce(ctx, g, log))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, s.Between(from, to))
	return err
}
