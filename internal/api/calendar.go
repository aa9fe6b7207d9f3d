package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/licensing"
	"tend/internal/sla"
)

// CalendarImporter imports production calendar files and puts them in
// force; calendar.Service is one.
type CalendarImporter interface {
	Import(ctx context.Context, p auth.Principal, data []byte, hint, source string) ([]int, error)
}

// WithCalendarImport lets admins import calendar files through
// POST /api/v1/calendar/import; without it that endpoint answers 503.
func WithCalendarImport(imp CalendarImporter) Option {
	return func(s *Server) { s.calImp = imp }
}

// calendarRoutes: the production calendar and working-time answers.
func (s *Server) calendarRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/calendar/{year}", h: s.calendarYear},
		{method: "POST", path: "/api/v1/calendar/import", h: s.importCalendar},
		{method: "GET", path: "/api/v1/sla/due", h: s.slaDue},
		{method: "GET", path: "/api/v1/sla/between", h: s.slaBetween},
		{method: "GET", path: "/api/v1/plans/{id}/targets", h: s.planTargets},
	}
}

// The years the calendar answers for (those sla accepts in an import).
const (
	minCalendarYear = 1900
	maxCalendarYear = 2999
	// slaHorizon bounds a working-time question: a budget must run out, and
	// an interval must end, within this many years of its start.
	slaHorizon = 10
)

type calendarMonth struct {
	Month       int `json:"month"`
	WorkingDays int `json:"working_days"`
	ShortDays   int `json:"short_days"`
	DaysOff     int `json:"days_off"`
	Hours40     int `json:"hours_40"`
}

type calendarSummary struct {
	WorkingDays int             `json:"working_days"`
	ShortDays   int             `json:"short_days"`
	DaysOff     int             `json:"days_off"`
	Hours40     int             `json:"hours_40"`
	Months      []calendarMonth `json:"months"`
}

type calendarDay struct {
	Date string `json:"date"`
	Kind string `json:"kind"`
}

type calendarYear struct {
	Year        int             `json:"year"`
	Provisional bool            `json:"provisional"`
	Source      string          `json:"source"`
	Summary     calendarSummary `json:"summary"`
	Days        []calendarDay   `json:"days"`
}

func summaryOf(cal *sla.Calendar, year int) calendarSummary {
	sum := cal.Summary(year)
	out := calendarSummary{WorkingDays: sum.WorkingDays, ShortDays: sum.ShortDays, DaysOff: sum.DaysOff, Hours40: sum.Hours40,
		Months: make([]calendarMonth, 0, 12)}
	for i, m := range sum.Months {
		out.Months = append(out.Months, calendarMonth{Month: i + 1, WorkingDays: m.WorkingDays, ShortDays: m.ShortDays, DaysOff: m.DaysOff, Hours40: m.Hours40})
	}
	return out
}

// calendarYear answers one year of the calendar in force, day by day.
func (s *Server) calendarYear(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := auth.Authorize(p, auth.Read, auth.Resource{Kind: auth.KindCalendar}); err != nil {
		return err
	}
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || year < minCalendarYear || year > maxCalendarYear {
		return errorf("year", "year must be a year from %d to %d, such as 2026", minCalendarYear, maxCalendarYear)
	}
	cal := s.cal()
	out := calendarYear{Year: year, Provisional: cal.Provisional(year), Source: cal.Source(year), Summary: summaryOf(cal, year)}
	day := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	for day.Year() == year {
		out.Days = append(out.Days, calendarDay{Date: day.Format(time.DateOnly), Kind: cal.KindOf(day).String()})
		day = day.AddDate(0, 0, 1)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type importedYear struct {
	Year        int    `json:"year"`
	Source      string `json:"source"`
	WorkingDays int    `json:"working_days"`
	ShortDays   int    `json:"short_days"`
	Hours40     int    `json:"hours_40"`
}

// importCalendar takes a calendar file as the body and puts it in force.
func (s *Server) importCalendar(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	// Access first: a refused caller learns nothing about the file.
	if err := auth.Authorize(p, auth.Update, auth.Resource{Kind: auth.KindCalendar}); err != nil {
		return err
	}
	if s.calImp == nil {
		return apperr.New(apperr.Unavailable, "calendar import is not available on this server")
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/xml", "text/xml", "application/json":
	case "", "application/x-www-form-urlencoded", "application/octet-stream":
		// curl --data-binary sends a form type; the content decides.
	default:
		return apperr.New(apperr.Unsupported, "send the calendar file as application/xml (or text/xml) or application/json, not %s", mt)
	}
	source := strings.TrimSpace(r.URL.Query().Get("source"))
	if utf8.RuneCountInString(source) > 500 {
		return errorf("source", "source is longer than 500 characters")
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.New(apperr.TooLarge, "the body is larger than %d bytes", s.cfg.MaxBody)
	}
	if err != nil {
		return apperr.New(apperr.Invalid, "could not read the body: %v", err)
	}
	years, err := s.calImp.Import(r.Context(), p, b, mt, source)
	if err != nil {
		return err
	}
	cal := s.cal()
	out := struct {
		Years []importedYear `json:"years"`
	}{Years: make([]importedYear, 0, len(years))}
	for _, y := range years {
		sum := cal.Summary(y)
		out.Years = append(out.Years, importedYear{Year: y, Source: cal.Source(y), WorkingDays: sum.WorkingDays, ShortDays: sum.ShortDays, Hours40: sum.Hours40})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// zones caches time zones by name: the working-time tables are cached per
// *time.Location, so one Location per name keeps that cache small. Only
// names that load are kept, and there are a few hundred of them.
var zones sync.Map // string -> *time.Location

func loadZone(name string) (*time.Location, error) {
	if name == "Europe/Moscow" {
		return sla.Moscow(), nil
	}
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, errors.New("no zone")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	v, _ := zones.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}

// slaQuery is the schedule part of /sla/due and /sla/between.
type slaQuery struct {
	sched sla.Schedule
	loc   *time.Location
	// echoed in the answer
	Window string `json:"window"`
	Zone   string `json:"zone"`
	Mode   string `json:"mode"`
}

func (s *Server) slaSchedule(r *http.Request) (slaQuery, error) {
	q := r.URL.Query()
	out := slaQuery{Window: q.Get("window"), Zone: q.Get("zone"), Mode: q.Get("mode")}
	if out.Zone == "" {
		out.Zone = "Europe/Moscow"
	}
	if out.Window == "" {
		out.Window = "09:00-18:00"
	}
	if out.Mode == "" {
		out.Mode = sla.WorkingHours.String()
	}
	loc, err := loadZone(out.Zone)
	if err != nil {
		return out, errorf("zone", "unknown time zone %q; use an IANA name such as Europe/Moscow", out.Zone)
	}
	win, err := sla.ParseWindow(out.Window, loc)
	if err != nil {
		return out, errorf("window", "%v", err)
	}
	mode, err := sla.ParseMode(out.Mode)
	if err != nil {
		return out, errorf("mode", "%v", err)
	}
	out.Window, out.Mode = strings.TrimSuffix(win.String(), " "+loc.String()), mode.String()
	out.loc = loc
	out.sched = sla.Schedule{Cal: s.cal(), Win: win, Mode: mode}
	return out, nil
}

// slaInstant reads a required or defaulted instant within the calendar's years.
func slaInstant(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if def.IsZero() {
			return time.Time{}, errorf(name, "%s is required: an instant such as 2025-12-30T16:00:00+03:00", name)
		}
		return def, nil
	}
	t, err := parseInstant(name, v)
	if err != nil {
		return t, err
	}
	if y := t.UTC().Year(); y < minCalendarYear || y > maxCalendarYear-slaHorizon {
		return t, errorf(name, "%s must lie in the years %d–%d", name, minCalendarYear, maxCalendarYear-slaHorizon)
	}
	return t, nil
}

// provisional reports whether working time from from to to is counted on
// a year that has no decree loaded (so it may still change).
func provisional(sc sla.Schedule, loc *time.Location, from, to time.Time) bool {
	if sc.Mode == sla.Always {
		return false
	}
	for y := from.In(loc).Year(); y <= to.In(loc).Year(); y++ {
		if sc.Cal.Provisional(y) {
			return true
		}
	}
	return false
}

// horizon is the most working time the schedule holds in slaHorizon years
// after from: longer budgets are refused rather than walked for ages.
func horizon(sc sla.Schedule, from time.Time) time.Duration {
	return sc.Between(from, from.AddDate(slaHorizon, 0, 0))
}

type slaDueAnswer struct {
	Due         time.Time `json:"due"`
	From        time.Time `json:"from"`
	Working     string    `json:"working"`
	Provisional bool      `json:"provisional"`
	slaQuery
}

// slaDue answers when an amount of working time has passed after from.
func (s *Server) slaDue(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := auth.Authorize(p, auth.Read, auth.Resource{Kind: auth.KindSLATool}); err != nil {
		return err
	}
	from, err := slaInstant(r, "from", time.Time{})
	if err != nil {
		return err
	}
	ws := r.URL.Query().Get("working")
	if ws == "" {
		return errorf("working", "working is required: the working time to pass, such as 8h or 90m")
	}
	working, err := time.ParseDuration(ws)
	if err != nil || working < 0 {
		return errorf("working", "%q is not a duration such as 8h or 90m", ws)
	}
	sq, err := s.slaSchedule(r)
	if err != nil {
		return err
	}
	if working > horizon(sq.sched, from) {
		return errorf("working", "%s of working time does not run out within %d years of from", working, slaHorizon)
	}
	due := sq.sched.Due(from, working).In(sq.loc)
	writeJSON(w, http.StatusOK, slaDueAnswer{Due: due, From: from.In(sq.loc), Working: working.String(),
		Provisional: provisional(sq.sched, sq.loc, from, due), slaQuery: sq})
	return nil
}

type slaBetweenAnswer struct {
	Working     string    `json:"working"`
	Seconds     int64     `json:"seconds"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Provisional bool      `json:"provisional"`
	slaQuery
}

// slaBetween answers the working time between two instants.
func (s *Server) slaBetween(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := auth.Authorize(p, auth.Read, auth.Resource{Kind: auth.KindSLATool}); err != nil {
		return err
	}
	from, err := slaInstant(r, "from", time.Time{})
	if err != nil {
		return err
	}
	to, err := slaInstant(r, "to", time.Time{})
	if err != nil {
		return err
	}
	if to.Before(from) {
		return errorf("to", "to must not be before from")
	}
	if to.After(from.AddDate(slaHorizon, 0, 0)) {
		return errorf("to", "to must lie within %d years of from", slaHorizon)
	}
	sq, err := s.slaSchedule(r)
	if err != nil {
		return err
	}
	d := sq.sched.Between(from, to)
	writeJSON(w, http.StatusOK, slaBetweenAnswer{Working: d.String(), Seconds: int64(d / time.Second), From: from.In(sq.loc), To: to.In(sq.loc),
		Provisional: provisional(sq.sched, sq.loc, from, to), slaQuery: sq})
	return nil
}

type targetDue struct {
	Target licensing.Duration `json:"target"`
	Due    *time.Time         `json:"due,omitempty"`
}

type targetsDue struct {
	FirstResponse targetDue `json:"first_response"`
	Clarification targetDue `json:"clarification"`
	Agreement     targetDue `json:"agreement"`
	Resolution    targetDue `json:"resolution"`
}

type priorityDue struct {
	Mode     string     `json:"mode"`
	StartsAt time.Time  `json:"starts_at"`
	Targets  targetsDue `json:"targets"`
}

type planTargetsAnswer struct {
	PlanID      int64       `json:"plan_id"`
	PlanName    string      `json:"plan_name"`
	From        time.Time   `json:"from"`
	Window      string      `json:"window"`
	Zone        string      `json:"zone"`
	Provisional bool        `json:"provisional"`
	Emergency   priorityDue `json:"emergency"`
	Normal      priorityDue `json:"normal"`
}

// planTargets shows what a plan's targets mean on the calendar: the due
// instant of each target for a request registered at from.
func (s *Server) planTargets(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	plan, err := s.store.GetPlan(r.Context(), p, id)
	if err != nil {
		return err
	}
	from, err := slaInstant(r, "from", s.now())
	if err != nil {
		return err
	}
	loc, err := loadZone(plan.Zone)
	if err != nil {
		loc = plan.Location()
	}
	win, err := sla.ParseWindow(plan.WindowStart+"-"+plan.WindowEnd, loc)
	if err != nil {
		return apperr.As(err) // plans are validated on save; this is a bug
	}
	cal := s.cal()
	emergencyMode := sla.WorkingHours
	if plan.Emergency24x7 {
		emergencyMode = sla.Always // the license pays for work outside hours
	}
	out := planTargetsAnswer{PlanID: plan.ID, PlanName: plan.Name, From: from.In(loc),
		Window: plan.WindowStart + "-" + plan.WindowEnd, Zone: plan.Zone}
	for _, pr := range []struct {
		out     *priorityDue
		targets licensing.Targets
		mode    sla.Mode
	}{
		{&out.Emergency, plan.Emergency, emergencyMode},
		{&out.Normal, plan.Normal, sla.WorkingHours},
	} {
		sc := sla.Schedule{Cal: cal, Win: win, Mode: pr.mode}
		limit := horizon(sc, from)
		pr.out.Mode = pr.mode.String()
		pr.out.StartsAt = sc.NextWorking(from).In(loc)
		for _, t := range []struct {
			out *targetDue
			d   licensing.Duration
		}{
			{&pr.out.Targets.FirstResponse, pr.targets.FirstResponse},
			{&pr.out.Targets.Clarification, pr.targets.Clarification},
			{&pr.out.Targets.Agreement, pr.targets.Agreement},
			{&pr.out.Targets.Resolution, pr.targets.Resolution},
		} {
			t.out.Target = t.d
			d := time.Duration(t.d)
			if d <= 0 || d > limit {
				continue // no target, or beyond any sensible horizon
			}
			due := sc.Due(from, d).In(loc)
			t.out.Due = &due
			if provisional(sc, loc, from, due) {
				out.Provisional = true
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
