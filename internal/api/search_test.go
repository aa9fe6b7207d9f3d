package api_test

import (
	"net/url"
	"strings"
	"testing"

	"tend/internal/apptest"
)

// GET /requests?q= over HTTP: word forms and the word being typed find a
// request, each customer within its own requests; a query past the limits
// is a 422 on q, one with nothing to look for an empty list.
func TestSearchRequestsOverHTTP(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			alfa := app.Login(t, "admin@alfa.example", "demo")
			beta := app.Login(t, "admin@beta.example", "demo")
			agent := app.Login(t, "agent@vendor.example", "demo")
			var created struct {
				ID     int64  `json:"id"`
				Number string `json:"number"`
			}
			alfa.Do("POST", "/api/v1/requests", map[string]any{"product_id": 1, "type": "fault", "subject": "Отчёты по турникетам пустые",
				"description": "Выгрузка отчётов за октябрь не содержит проходов."}, 201, &created)
			type list struct {
				Items []struct {
					ID int64 `json:"id"`
				} `json:"items"`
				Total int `json:"total"`
			}
			has := func(l list) bool {
				for _, it := range l.Items {
					if it.ID == created.ID {
						return true
					}
				}
				return false
			}
			for _, q := range []string{"отчет", "отчетов турник", "ОТЧЁТЫ", strings.ToLower(created.Number)} {
				var l list
				agent.Do("GET", "/api/v1/requests?q="+url.QueryEscape(q), nil, 200, &l)
				if !has(l) {
					t.Errorf("the agent's %q did not find %s", q, created.Number)
				}
				alfa.Do("GET", "/api/v1/requests?q="+url.QueryEscape(q), nil, 200, &l)
				if !has(l) {
					t.Errorf("alfa's %q did not find its own %s", q, created.Number)
				}
				beta.Do("GET", "/api/v1/requests?q="+url.QueryEscape(q), nil, 200, &l)
				if has(l) {
					t.Errorf("beta's %q found alfa's %s", q, created.Number)
				}
			}
			var empty list
			agent.Do("GET", "/api/v1/requests?q="+url.QueryEscape("и на ?"), nil, 200, &empty)
			if empty.Total != 0 || len(empty.Items) != 0 {
				t.Errorf("a query of stop words found %d", empty.Total)
			}
			for _, q := range []string{strings.Repeat("турникет ", 30), "a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12 m13"} {
				resp := agent.Call("GET", "/api/v1/requests?q="+url.QueryEscape(q), nil)
				if _, field, _ := resp.Error(); resp.Status != 422 || field != "q" {
					t.Errorf("%.20q…: %d %s, want 422 on q", q, resp.Status, resp.Body)
				}
			}
		})
	}
}
