package licensing

import (
	"strings"
	"testing"
	"time"

	"tend/internal/civil"
	"tend/internal/sla"
)

func TestCover(t *testing.T) {
	msk := sla.Moscow()
	standard := &Plan{ID: 1, Name: "Standard", WindowStart: "09:00", WindowEnd: "17:00", Zone: "Europe/Moscow"}
	premium := &Plan{ID: 2, Name: "Premium", WindowStart: "09:00", WindowEnd: "18:00", Zone: "Europe/Moscow", Emergency24x7: true}
	d := func(s string) civil.Date { v, _ := civil.Parse(s); return v }
	basic := License{ID: 1, ProductID: 7, Plan: standard, ValidFrom: d("2026-01-01"), ValidTo: d("2026-12-31"), Entitlements: []Entitlement{Consultation}}
	full := License{ID: 2, ProductID: 7, Plan: premium, ValidFrom: d("2026-01-01"), ValidTo: d("2026-12-31"), Entitlements: Entitlements}
	lapsed := License{ID: 3, ProductID: 7, Plan: standard, ValidFrom: d("2025-01-01"), ValidTo: d("2025-12-31"), Entitlements: Entitlements}
	future := License{ID: 4, ProductID: 7, Plan: standard, ValidFrom: d("2027-01-01"), ValidTo: d("2027-12-31"), Entitlements: Entitlements}

	monday11 := time.Date(2026, 3, 2, 11, 0, 0, 0, msk)
	mondayNight := time.Date(2026, 3, 2, 23, 30, 0, 0, msk)
	holidayNoon := time.Date(2026, 1, 5, 12, 0, 0, 0, msk) // New Year holidays
	lastDayLate := time.Date(2026, 12, 31, 23, 59, 0, 0, msk)

	tests := []struct {
		name     string
		lics     []License
		product  int64
		typ, pri string
		at       time.Time
		covered  bool
		reason   string
		startsAt time.Time
	}{
		{"fault under a valid license", []License{basic}, 7, TypeFault, PriorityNormal, monday11, true, "", time.Time{}},
		{"consultation entitled", []License{basic}, 7, TypeConsultation, PriorityNormal, monday11, true, "", time.Time{}},
		{"improvement not entitled", []License{basic}, 7, TypeImprovement, PriorityNormal, monday11, false, ReasonNoEntitlement, time.Time{}},
		{"no license for the product", []License{basic}, 8, TypeFault, PriorityNormal, monday11, false, ReasonNoLicense, time.Time{}},
		{"lapsed", []License{lapsed}, 7, TypeFault, PriorityNormal, monday11, false, ReasonLapsed, time.Time{}},
		{"not yet valid", []License{future}, 7, TypeFault, PriorityNormal, monday11, false, ReasonNotYetValid, time.Time{}},
		{"valid through the last day in Moscow", []License{basic}, 7, TypeFault, PriorityNormal, lastDayLate, true, "", time.Time{}},
		{"emergency at night without 24/7", []License{basic}, 7, TypeFault, PriorityEmergency, mondayNight, false, ReasonOutsideHours, time.Date(2026, 3, 3, 9, 0, 0, 0, msk)},
		{"emergency on a holiday without 24/7", []License{basic}, 7, TypeFault, PriorityEmergency, holidayNoon, false, ReasonOutsideHours, time.Date(2026, 1, 12, 9, 0, 0, 0, msk)},
		{"emergency at night with 24/7", []License{full}, 7, TypeFault, PriorityEmergency, mondayNight, true, "", time.Time{}},
		{"emergency in working time", []License{basic}, 7, TypeFault, PriorityEmergency, monday11, true, "", time.Time{}},
		{"normal request at night is covered", []License{basic}, 7, TypeFault, PriorityNormal, mondayNight, true, "", time.Time{}},
		{"the covering license wins over a lapsed one", []License{lapsed, full}, 7, TypeImprovement, PriorityNormal, monday11, true, "", time.Time{}},
		{"the entitlement gap beats lapse", []License{lapsed, basic}, 7, TypeImprovement, PriorityNormal, monday11, false, ReasonNoEntitlement, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Cover(tt.lics, tt.product, tt.typ, tt.pri, tt.at, sla.Default())
			if c.Covered != tt.covered || c.Reason != tt.reason || !c.StartsAt.Equal(tt.startsAt) {
				t.Errorf("Cover = %+v; want covered=%v reason=%q starts=%v", c, tt.covered, tt.reason, tt.startsAt)
			}
			if c.Message == "" || strings.Contains(c.Message, "%!") {
				t.Errorf("message %q is not plain words", c.Message)
			}
		})
	}
}

func TestLicenseValidate(t *testing.T) {
	d := func(s string) civil.Date { v, _ := civil.Parse(s); return v }
	l := License{CustomerID: 1, ProductID: 1, PlanID: 1, ValidFrom: d("2026-05-01"), ValidTo: d("2026-04-30")}
	if err := l.Validate(); err == nil || !strings.Contains(err.Error(), "valid_to") {
		t.Errorf("a license ending before it starts: %v", err)
	}
	l.ValidTo = d("2026-05-01")
	if err := l.Validate(); err != nil {
		t.Errorf("a one-day license: %v", err)
	}
	l.Entitlements = []Entitlement{Consultation, Consultation}
	if err := l.Validate(); err == nil {
		t.Error("a duplicate entitlement was accepted")
	}
}
