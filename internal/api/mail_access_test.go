package api_test

import "fmt"

func init() { accessCaseSets = append(accessCaseSets, mailAccessCases) }

// mailAccessCases: alfa's people aim at the mail surface: mailboxes and the
// mail log are vendor data, beta's request mail is beta's.
func mailAccessCases(d ids) map[string]probe {
	req := func(suffix string) string { return fmt.Sprintf("/api/v1/requests/%d%s", d.betaRequest, suffix) }
	return map[string]probe{
		"GET /api/v1/mail/mailboxes":              {method: "GET", path: "/api/v1/mail/mailboxes", want: all(403)},
		"POST /api/v1/mail/mailboxes":             {method: "POST", path: "/api/v1/mail/mailboxes", body: map[string]any{"name": "evil", "host": "imap.evil.example", "username": "x"}, want: all(403)},
		"GET /api/v1/mail/mailboxes/{id}":         {method: "GET", path: "/api/v1/mail/mailboxes/1", want: all(403)},
		"PATCH /api/v1/mail/mailboxes/{id}":       {method: "PATCH", path: "/api/v1/mail/mailboxes/1", body: map[string]any{"host": "imap.evil.example"}, want: all(403)},
		"GET /api/v1/mail/messages":               {method: "GET", path: "/api/v1/mail/messages", want: all(403)},
		"GET /api/v1/mail/messages/{id}/original": {method: "GET", path: "/api/v1/mail/messages/1/original", want: all(404)},
		"GET /api/v1/mail/triage":                 {method: "GET", path: "/api/v1/mail/triage", want: all(403)},
		"GET /api/v1/mail/preferences":            {method: "GET", path: "/api/v1/mail/preferences", want: all(200)},
		"PUT /api/v1/mail/preferences":            {method: "PUT", path: "/api/v1/mail/preferences", body: map[string]any{"essential_only": true}, want: all(200)},
		"GET /api/v1/requests/{id}/mail":          {method: "GET", path: req("/mail"), want: all(404)},
		"POST /api/v1/requests/{id}/customer":     {method: "POST", path: req("/customer"), body: map[string]any{"customer_id": d.alfa, "product_id": d.product}, want: all(404)},
	}
}
