// Package licensing holds customers, support plans and licenses, and
// decides whether a request is covered by what the customer bought (R2).
package licensing

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
	"tend/internal/civil"
	"tend/internal/sla"
)

// Customer is an organisation that licenses the vendor's products.
type Customer struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"` // short, unique, lower-case: "alfa"
	Name      string    `json:"name"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email"`
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c *Customer) Validate() error {
	c.Code = strings.ToLower(strings.TrimSpace(c.Code))
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return apperr.Field("name", "name is required")
	}
	if utf8.RuneCountInString(c.Name) > 200 {
		return apperr.Field("name", "name is longer than 200 characters")
	}
	if !validCode(c.Code) {
		return apperr.Field("code", "code must be 2–32 characters: latin letters, digits and hyphens, such as \"alfa\"")
	}
	return nil
}

func validCode(s string) bool {
	if len(s) < 2 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Entitlement is one kind of help a license includes (R2.2).
type Entitlement string

const (
	Consultation         Entitlement = "consultation"            // questions and configuration help
	ImprovementsPlanned  Entitlement = "improvements_planned"    // the vendor's own development plan
	ImprovementsOnDemand Entitlement = "improvements_on_request" // improvements the customer asks for
	AdministrationHelp   Entitlement = "administration_help"
	RemoteAccess         Entitlement = "remote_access" // work through remote access to the customer's systems
)

var Entitlements = []Entitlement{Consultation, ImprovementsPlanned, ImprovementsOnDemand, AdministrationHelp, RemoteAccess}

// Duration is a time.Duration that reads and writes as "4h30m" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	// A type error lets encoding/json name the field at fault.
	bad := &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bad
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return bad
	}
	*d = Duration(v)
	return nil
}

// Targets are a plan's SLA targets for one priority, in working time of the
// plan (or wall time where emergencies are handled around the clock).
type Targets struct {
	FirstResponse Duration `json:"first_response"`
	Clarification Duration `json:"clarification"` // answering a customer's reply
	Agreement     Duration `json:"agreement"`     // agreeing the deadline or the scope
	Resolution    Duration `json:"resolution"`
}

// Plan is a support plan: the working window, its zone, whether emergencies
// are handled outside working time, and targets per priority.
type Plan struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	WindowStart   string    `json:"window_start"` // "09:00"
	WindowEnd     string    `json:"window_end"`   // "18:00"
	Zone          string    `json:"zone"`         // IANA name, Europe/Moscow by default
	Emergency24x7 bool      `json:"emergency_24x7"`
	Emergency     Targets   `json:"emergency"`
	Normal        Targets   `json:"normal"`
	AtRiskPercent int       `json:"at_risk_percent"` // share of a target after which a request is at risk
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Location is the plan's zone (validated on save), one shared value per
// zone so the working-time tables cached per zone are found again.
func (p Plan) Location() *time.Location {
	loc, err := sla.Zone(p.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (p *Plan) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return apperr.Field("name", "name is required")
	}
	if p.Zone == "" {
		p.Zone = "Europe/Moscow"
	}
	if _, err := time.LoadLocation(p.Zone); err != nil {
		return apperr.Field("zone", "unknown time zone %q; use an IANA name such as Europe/Moscow", p.Zone)
	}
	start, err := clockMinutes(p.WindowStart)
	if err != nil {
		return apperr.Field("window_start", "%v", err)
	}
	end, err := clockMinutes(p.WindowEnd)
	if err != nil {
		return apperr.Field("window_end", "%v", err)
	}
	if end-start < 120 {
		return apperr.Field("window_end", "the working window must end at least two hours after it starts (short days end an hour early)")
	}
	if p.AtRiskPercent == 0 {
		p.AtRiskPercent = 80
	}
	if p.AtRiskPercent < 1 || p.AtRiskPercent > 99 {
		return apperr.Field("at_risk_percent", "at-risk share must be between 1 and 99 percent")
	}
	for _, t := range []struct {
		field string
		v     Targets
	}{{"emergency", p.Emergency}, {"normal", p.Normal}} {
		if t.v.Resolution != 0 && t.v.FirstResponse > t.v.Resolution {
			return apperr.Field(t.field+".first_response", "first response cannot come after resolution")
		}
	}
	return nil
}

// clockMinutes reads "HH:MM".
func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 09:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// License binds a customer to a product for a period under a plan.
type License struct {
	ID           int64         `json:"id"`
	CustomerID   int64         `json:"customer_id"`
	ProductID    int64         `json:"product_id"`
	PlanID       int64         `json:"plan_id"`
	ValidFrom    civil.Date    `json:"valid_from"`
	ValidTo      civil.Date    `json:"valid_to"` // inclusive; the whole day in the plan's zone
	Entitlements []Entitlement `json:"entitlements"`
	Notes        string        `json:"notes"`
	Plan         *Plan         `json:"plan,omitempty"` // filled on reads
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

func (l *License) Validate() error {
	if l.CustomerID == 0 {
		return apperr.Field("customer_id", "customer is required")
	}
	if l.ProductID == 0 {
		return apperr.Field("product_id", "product is required")
	}
	if l.PlanID == 0 {
		return apperr.Field("plan_id", "support plan is required")
	}
	if l.ValidFrom.IsZero() {
		return apperr.Field("valid_from", "start date is required")
	}
	if l.ValidTo.IsZero() {
		return apperr.Field("valid_to", "end date is required")
	}
	if l.ValidTo.Before(l.ValidFrom) {
		return apperr.Field("valid_to", "the license ends (%s) before it starts (%s)", l.ValidTo, l.ValidFrom)
	}
	seen := map[Entitlement]bool{}
	for i, e := range l.Entitlements {
		if !slices.Contains(Entitlements, e) {
			return apperr.Field(fmt.Sprintf("entitlements[%d]", i), "unknown entitlement %q; known: consultation, improvements_planned, improvements_on_request, administration_help, remote_access", e)
		}
		if seen[e] {
			return apperr.Field(fmt.Sprintf("entitlements[%d]", i), "entitlement %q is listed twice", e)
		}
		seen[e] = true
	}
	if l.Entitlements == nil {
		l.Entitlements = []Entitlement{}
	}
	return nil
}

// Has reports whether the license includes e.
func (l License) Has(e Entitlement) bool { return slices.Contains(l.Entitlements, e) }

// ValidAt reports whether the license is in force at t (dates in the plan's zone).
func (l License) ValidAt(t time.Time, loc *time.Location) bool {
	d := civil.Of(t.In(loc))
	return !d.Before(l.ValidFrom) && !d.After(l.ValidTo)
}
