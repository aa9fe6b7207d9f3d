package api_test

import "fmt"

func init() { accessCaseSets = append(accessCaseSets, calendarAccessCases) }

// calendarAccessCases: every customer may read the calendar; importing one,
// the working-time tool and a plan's targets are for the vendor's staff.
func calendarAccessCases(d ids) map[string]probe {
	return map[string]probe{
		"GET /api/v1/calendar/{year}": {method: "GET", path: "/api/v1/calendar/2026", want: all(200)},
		"POST /api/v1/calendar/import": {method: "POST", path: "/api/v1/calendar/import",
			body: `[{"date":"2027-12-31","kind":"working"}]`, want: all(403)},
		"GET /api/v1/sla/due":            {method: "GET", path: "/api/v1/sla/due?from=2025-12-30T16:00:00%2B03:00&working=8h&window=09:00-18:00", want: all(403)},
		"GET /api/v1/sla/between":        {method: "GET", path: "/api/v1/sla/between?from=2025-12-29T09:00:00%2B03:00&to=2026-01-13T12:30:00%2B03:00&window=09:00-18:00", want: all(403)},
		"GET /api/v1/plans/{id}/targets": {method: "GET", path: fmt.Sprintf("/api/v1/plans/%d/targets", d.plan), want: all(403)},
	}
}
