// Package calendar keeps the production calendar in force: the calendar
// shipped in the binary (sla.Default) with the years an admin imported over
// it. It imports calendar files (validated in full before anything is
// stored), keeps the current calendar in an atomic pointer that every
// request reads without locking, and follows imports made by other replicas
// that share the database.
package calendar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/sla"
)

// Store is what the service needs from the database (store.Store has it).
type Store interface {
	// CalendarYears returns the imported years and the calendar version
	// they make up.
	CalendarYears(ctx context.Context) ([]sla.YearData, int64, error)
	// CalendarVersion is the current calendar version, cheap to poll.
	CalendarVersion(ctx context.Context) (int64, error)
	// ImportCalendar stores years, all or none, replacing years imported
	// before, and answers the new version. It checks access itself.
	ImportCalendar(ctx context.Context, p auth.Principal, years []sla.YearData) (int64, error)
}

// Service holds the calendar in force. Build it with New, set OnChange if
// needed, then Load before serving.
type Service struct {
	// OnChange, if set, is called with the new calendar each time the
	// calendar in force is replaced after the first Load: by Import on this
	// process, and by Watch or Load when another replica imported. It is
	// called in order, one call at a time, after the new calendar is
	// already in force; it should be quick or hand the work off. Set it
	// before Load and Watch start.
	OnChange func(*sla.Calendar)

	store Store
	log   *slog.Logger
	base  *sla.Calendar // shipped

	cur     atomic.Pointer[sla.Calendar]
	version atomic.Int64 // of cur; -1 before the first Load

	mu sync.Mutex // serialises replacing cur
}

// New makes a service over st. Until Load, Current is the shipped calendar.
func New(st Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: st, log: log, base: sla.Default()}
	s.cur.Store(s.base)
	s.version.Store(-1)
	return s
}

// Current is the calendar in force. It never returns nil, and the calendar
// it returns never changes: an import replaces it with a new one, so a
// computation that started on the old one finishes on it.
func (s *Service) Current() *sla.Calendar { return s.cur.Load() }

// Version is the calendar version in force (0: nothing imported yet; -1:
// not loaded).
func (s *Service) Version() int64 { return s.version.Load() }

// Load reads the imported years and puts the calendar they make in force.
// A stored year that no longer validates (the rules of a newer tend are
// stricter) is left out with an error in the log, so the shipped data for
// that year stays in force and the year can be imported again.
func (s *Service) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx)
}

func (s *Service) loadLocked(ctx context.Context) error {
	years, version, err := s.store.CalendarYears(ctx)
	if err != nil {
		return err
	}
	if len(years) == 0 {
		s.swapLocked(s.base, version) // shares the shipped calendar's caches
		return nil
	}
	cal, err := s.base.With(years...)
	if err != nil {
		cal = s.base
		for _, y := range years {
			next, err := cal.With(y)
			if err != nil {
				s.log.ErrorContext(ctx, "an imported calendar year does not validate; the shipped one stays in force", "year", y.Year, "err", err)
				continue
			}
			cal = next
		}
	}
	s.swapLocked(cal, version)
	return nil
}

// swapLocked puts cal in force and tells OnChange, except on the first load.
func (s *Service) swapLocked(cal *sla.Calendar, version int64) {
	first := s.version.Load() < 0
	s.cur.Store(cal)
	s.version.Store(version)
	if !first && s.OnChange != nil {
		s.OnChange(cal)
	}
}

// Import reads a calendar file, checks it, stores it and puts it in force,
// and answers the years it held. data is either the public XML format
// (<calendar year="2027"><days><day d="MM.DD" t="1|2|3"/>…) or JSON: a list
// of {"date","kind"} for one year, or a list of such lists for several.
// The format is recognised from the content; hint (a file name or a
// content type) only helps to word the error for a file that is neither.
// source, if not empty, notes the decree behind the years and replaces the
// note the file carries.
//
// The file is parsed and the new calendar is built (which validates every
// year) before anything is stored, and stored in one transaction before it
// is put in force: a bad file changes nothing. Errors about the file are
// apperr Invalid with field "file" and a message naming the entry, the date
// and what is wrong.
func (s *Service) Import(ctx context.Context, p auth.Principal, data []byte, hint, source string) ([]int, error) {
	// Access first, so a refused caller learns nothing from validation.
	if err := auth.Authorize(p, auth.Update, auth.Resource{Kind: auth.KindCalendar}); err != nil {
		return nil, err
	}
	years, err := Parse(data, hint)
	if err != nil {
		return nil, err
	}
	if source = strings.TrimSpace(source); source != "" {
		for i := range years {
			years[i].Source = source
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.Current().With(years...)
	if err != nil {
		return nil, fileError(err)
	}
	version, err := s.store.ImportCalendar(ctx, p, years)
	if err != nil {
		return nil, err
	}
	if version == s.version.Load()+1 {
		s.swapLocked(next, version)
	} else if err := s.loadLocked(ctx); err != nil {
		// Another replica imported meanwhile, so the database holds more
		// than next; until it can be read, next is the best there is.
		s.log.WarnContext(ctx, "calendar imported, but reading it back failed; Watch will retry", "err", err)
		s.swapLocked(next, version-1)
	}
	out := make([]int, len(years))
	for i, y := range years {
		out[i] = y.Year
	}
	return out, nil
}

// Watch polls the calendar version every interval and loads the calendar
// again when another replica has imported. It returns when ctx is done.
func (s *Service) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := s.store.CalendarVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "calendar version check failed", "err", err)
			}
			continue
		}
		if v == s.version.Load() {
			continue
		}
		s.mu.Lock()
		if v != s.version.Load() {
			if err := s.loadLocked(ctx); err != nil {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "loading the changed calendar failed; will retry", "err", err)
				}
			} else {
				s.log.InfoContext(ctx, "production calendar reloaded", "version", s.version.Load())
			}
		}
		s.mu.Unlock()
	}
}

// Parse reads a calendar file in any format Import takes, validating each
// year on its own. Errors are as Import's.
func Parse(data []byte, hint string) ([]sla.YearData, error) {
	body := bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf")) // a BOM some editors add
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, apperr.Field("file", "the calendar file is empty")
	}
	switch {
	case body[0] == '<':
		y, err := sla.ParseXML(bytes.NewReader(body))
		if err != nil {
			return nil, fileError(err)
		}
		return []sla.YearData{y}, nil
	case body[0] == '[' && bytes.HasPrefix(bytes.TrimSpace(body[1:]), []byte("[")):
		return parseJSONYears(body)
	case body[0] == '[':
		y, err := sla.ParseJSON(bytes.NewReader(body))
		if err != nil {
			return nil, fileError(err)
		}
		return []sla.YearData{y}, nil
	}
	h := strings.ToLower(hint)
	switch {
	case strings.Contains(h, "xml"):
		return nil, apperr.Field("file", "the file is not calendar XML: it should start with <?xml …?> or <calendar year=\"…\">")
	case strings.Contains(h, "json"):
		return nil, apperr.Field("file", "the file is not a calendar JSON list: it should look like [{\"date\":\"2027-01-01\",\"kind\":\"holiday\"}, …]")
	}
	return nil, apperr.Field("file", "the file is neither calendar XML (<calendar year=\"…\"><days>…) nor a JSON list of {\"date\",\"kind\"}")
}

// parseJSONYears reads [[…year…], […year…]].
func parseJSONYears(body []byte) ([]sla.YearData, error) {
	var lists []json.RawMessage
	if err := json.Unmarshal(body, &lists); err != nil {
		return nil, apperr.Field("file", "malformed calendar JSON: %v (want a list of days, or a list of such lists for several years)", err)
	}
	if len(lists) == 0 {
		return nil, apperr.Field("file", "the calendar file holds no year")
	}
	years := make([]sla.YearData, 0, len(lists))
	for i, raw := range lists {
		y, err := sla.ParseJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fileError(fmt.Errorf("year %d of %d in the file: %w", i+1, len(lists), err))
		}
		years = append(years, y)
	}
	return years, nil
}

// fileError makes a parse or validation error an Invalid error on "file",
// on one line (sla joins several problems with newlines).
func fileError(err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, sla.ErrTooLarge) {
		return &apperr.Error{Code: apperr.TooLarge, Field: "file", Message: strings.ReplaceAll(err.Error(), "\n", "; "), Err: err}
	}
	return &apperr.Error{Code: apperr.Invalid, Field: "file", Message: strings.ReplaceAll(err.Error(), "\n", "; "), Err: err}
}
