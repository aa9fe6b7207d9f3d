package licensing

import (
	"fmt"
	"time"

	"tend/internal/sla"
)

// Request types and priorities as the desk names them (R3.2, R3.3).
const (
	TypeFault        = "fault"
	TypeConsultation = "consultation"
	TypeImprovement  = "improvement"

	PriorityEmergency = "emergency"
	PriorityNormal    = "normal"
)

// Reason codes for a request that is not covered.
const (
	ReasonNoLicense     = "no_license"
	ReasonNotYetValid   = "license_not_yet_valid"
	ReasonLapsed        = "license_lapsed"
	ReasonNoEntitlement = "no_entitlement"
	ReasonOutsideHours  = "outside_working_hours"
)

// Coverage is the answer to "is this request covered, and why not".
type Coverage struct {
	Covered   bool      `json:"covered"`
	Reason    string    `json:"reason,omitempty"` // a code from the Reason… constants
	Message   string    `json:"message"`          // plain words for the customer
	LicenseID int64     `json:"license_id,omitempty"`
	StartsAt  time.Time `json:"starts_at,omitzero"` // for emergencies outside the window: when work starts
}

// entitlementFor is the entitlement a request type needs; faults are covered
// by any valid license (support is owed while it is valid, R2.1).
func entitlementFor(typ string) (Entitlement, bool) {
	switch typ {
	case TypeConsultation:
		return Consultation, true
	case TypeImprovement:
		return ImprovementsOnDemand, true
	}
	return "", false
}

// Cover decides coverage of a request of typ and priority for productID,
// registered at the moment at, given all the customer's licenses (each with
// its Plan filled). The best license wins: a covering one over a lapsed one.
func Cover(licenses []License, productID int64, typ, priority string, at time.Time, cal *sla.Calendar) Coverage {
	var best *Coverage
	for _, l := range licenses {
		if l.ProductID != productID || l.Plan == nil {
			continue
		}
		c := coverOne(l, typ, priority, at, cal)
		if best == nil || rank(c) > rank(*best) {
			best = &c
		}
	}
	if best == nil {
		return Coverage{Reason: ReasonNoLicense, Message: "Your organisation has no license for this product, so the request is registered but not covered by support. Please contact the vendor about a license."}
	}
	return *best
}

// rank orders outcomes so Cover can prefer the most useful license.
func rank(c Coverage) int {
	switch {
	case c.Covered:
		return 4
	case c.Reason == ReasonOutsideHours:
		return 3
	case c.Reason == ReasonNoEntitlement:
		return 2
	case c.Reason == ReasonNotYetValid:
		return 1
	}
	return 0
}

func coverOne(l License, typ, priority string, at time.Time, cal *sla.Calendar) Coverage {
	loc := l.Plan.Location()
	day := at.In(loc)
	c := Coverage{LicenseID: l.ID}
	switch {
	case day.Before(l.ValidFrom.Start(loc)):
		c.Reason = ReasonNotYetValid
		c.Message = fmt.Sprintf("Your license for this product starts on %s, so the request is registered but not yet covered by support.", l.ValidFrom)
		return c
	case !l.ValidAt(at, loc):
		c.Reason = ReasonLapsed
		c.Message = fmt.Sprintf("Your license for this product ended on %s, so the request is registered but not covered by support. Please contact the vendor to renew it.", l.ValidTo)
		return c
	}
	if e, needed := entitlementFor(typ); needed && !l.Has(e) {
		c.Reason = ReasonNoEntitlement
		c.Message = fmt.Sprintf("Your license does not include %s, so the request is registered but not covered by support.", entitlementWords[e])
		return c
	}
	if priority == PriorityEmergency && !l.Plan.Emergency24x7 {
		win, err := sla.ParseWindow(l.Plan.WindowStart+"-"+l.Plan.WindowEnd, loc)
		if err == nil {
			s := sla.Schedule{Cal: cal, Win: win, Mode: sla.WorkingHours}
			if !s.IsWorking(at) {
				c.Reason = ReasonOutsideHours
				c.StartsAt = s.NextWorking(at)
				c.Message = fmt.Sprintf("Your plan handles emergencies on working days %s–%s (%s). The request is registered; work on it starts %s.",
					l.Plan.WindowStart, l.Plan.WindowEnd, l.Plan.Zone, c.StartsAt.In(loc).Format("2006-01-02 15:04"))
				return c
			}
		}
	}
	c.Covered = true
	c.Message = "Covered by your license."
	return c
}

var entitlementWords = map[Entitlement]string{
	Consultation:         "consultations and configuration help",
	ImprovementsOnDemand: "improvements on request",
}
