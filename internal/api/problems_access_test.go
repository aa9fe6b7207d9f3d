package api_test

func init() { accessCaseSets = append(accessCaseSets, problemAccessCases) }

// problemAccessCases: problems are the vendor's internal records, so every
// customer role is refused (403) by the access rules, whatever the record.
func problemAccessCases(ids) map[string]probe {
	return map[string]probe{
		"GET /api/v1/problems":                               {method: "GET", path: "/api/v1/problems", want: all(403)},
		"POST /api/v1/problems":                              {method: "POST", path: "/api/v1/problems", body: map[string]any{"title": "Planted by a customer"}, want: all(403)},
		"GET /api/v1/problems/{id}":                          {method: "GET", path: "/api/v1/problems/1", want: all(403)},
		"PATCH /api/v1/problems/{id}":                        {method: "PATCH", path: "/api/v1/problems/1", body: map[string]any{"title": "Pwned", "state": "known_error"}, want: all(403)},
		"POST /api/v1/problems/{id}/requests":                {method: "POST", path: "/api/v1/problems/1/requests", body: map[string]any{"request_id": 1}, want: all(403)},
		"DELETE /api/v1/problems/{id}/requests/{request_id}": {method: "DELETE", path: "/api/v1/problems/1/requests/1", want: all(403)},
		"POST /api/v1/problems/{id}/resolve":                 {method: "POST", path: "/api/v1/problems/1/resolve", body: map[string]any{"resolution_kind": "instructions", "resolution": "Nothing to see", "resolve_requests": true}, want: all(403)},
	}
}
