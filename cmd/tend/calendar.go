package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"tend/internal/sla"
)

// CalendarCmd shows the production calendar in force.
type CalendarCmd struct {
	Days    CalendarDaysCmd    `cmd:"" help:"Print every day of a year with its kind: working, short, weekend, holiday."`
	Summary CalendarSummaryCmd `cmd:"" help:"Print a year's working days and hours for a 40-hour week."`
}

type CalendarDaysCmd struct {
	Year int `required:"" help:"Year, such as 2025."`
}

func (c *CalendarDaysCmd) Run(ctx context.Context, out io.Writer) error {
	if err := checkYear(c.Year); err != nil {
		return err
	}
	return sla.WriteDays(out, sla.Default(), c.Year)
}

type CalendarSummaryCmd struct {
	Year int `required:"" help:"Year, such as 2025."`
}

func (c *CalendarSummaryCmd) Run(ctx context.Context, out io.Writer) error {
	if err := checkYear(c.Year); err != nil {
		return err
	}
	cal := sla.Default()
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

func (f scheduleFlags) schedule() (sla.Schedule, error) {
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
	return sla.Schedule{Cal: sla.Default(), Win: win, Mode: mode}, nil
}

type SLADueCmd struct {
	From    string        `required:"" help:"Start, RFC 3339 (2025-12-30T16:00:00+03:00)."`
	Working time.Duration `required:"" help:"Working time to pass, such as 8h or 90m."`
	scheduleFlags
}

func (c *SLADueCmd) Run(out io.Writer) error {
	from, err := time.Parse(time.RFC3339, c.From)
	if err != nil {
		return fmt.Errorf("--from: %q is not an RFC 3339 instant such as 2025-12-30T16:00:00+03:00", c.From)
	}
	if c.Working < 0 {
		return fmt.Errorf("--working must not be negative")
	}
	s, err := c.schedule()
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

func (c *SLABetweenCmd) Run(out io.Writer) error {
	from, err := time.Parse(time.RFC3339, c.From)
	if err != nil {
		return fmt.Errorf("--from: %q is not an RFC 3339 instant", c.From)
	}
	to, err := time.Parse(time.RFC3339, c.To)
	if err != nil {
		return fmt.Errorf("--to: %q is not an RFC 3339 instant", c.To)
	}
	s, err := c.schedule()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, s.Between(from, to))
	return err
}
