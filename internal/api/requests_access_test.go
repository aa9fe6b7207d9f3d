package api_test

import "fmt"

func init() { accessCaseSets = append(accessCaseSets, requestAccessCases) }

// requestAccessCases: alfa's people aim at a request of beta's.
func requestAccessCases(d ids) map[string]probe {
	req := func(suffix string) string { return fmt.Sprintf("/api/v1/requests/%d%s", d.betaRequest, suffix) }
	return map[string]probe{
		"GET /api/v1/desk/options": {method: "GET", path: "/api/v1/desk/options", want: all(200)},
		// Registering for beta: as if beta did not exist.
		"POST /api/v1/requests":               {method: "POST", path: "/api/v1/requests", body: map[string]any{"customer_id": d.beta, "product_id": d.product, "type": "fault", "subject": "x", "description": "y"}, want: all(404)},
		"GET /api/v1/requests":                {method: "GET", path: fmt.Sprintf("/api/v1/requests?customer_id=%d", d.beta), list: true},
		"GET /api/v1/requests/{id}":           {method: "GET", path: req(""), want: all(404)},
		"GET /api/v1/requests/{id}/journal":   {method: "GET", path: req("/journal"), want: all(404)},
		"POST /api/v1/requests/{id}/actions":  {method: "POST", path: req("/actions"), body: map[string]any{"action": "cancel", "text": "gone"}, want: all(404)},
		"POST /api/v1/requests/{id}/comments": {method: "POST", path: req("/comments"), body: map[string]any{"body": "hello from alfa"}, want: all(404)},
		"POST /api/v1/requests/{id}/rating":   {method: "POST", path: req("/rating"), body: map[string]any{"rating": 1}, want: all(404)},
	}
}
