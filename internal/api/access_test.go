package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"tend/internal/apptest"
)

// ids of the demo records the walk aims at.
type ids struct {
	alfa, beta                           int64 // customers
	betaAdmin, betaOperator, alfaAdmin   int64 // contacts
	betaLicense, betaInstance, betaToken int64
	staffAgent, product, plan            int64
	betaRequest                          int64 // a request beta's admin registered
}

type probe struct {
	method, path string
	body         any
	// want is the status each alfa role must get; a list probe instead
	// checks that every item belongs to alfa.
	want map[string]int
	list bool
}

// all gives every customer role the same expected status.
func all(status int) map[string]int {
	return map[string]int{"customer_admin": status, "operator": status, "integrator": status}
}

// accessCaseSets lets each surface's test file add the cases for its
// routes (from an init function); accessCases merges them.
var accessCaseSets = []func(ids) map[string]probe{foundationAccessCases}

// accessCases says, for every route, how a customer of alfa tries to read
// or change beta's data (or staff-only data) through it.
func accessCases(d ids) map[string]probe {
	out := map[string]probe{}
	for _, set := range accessCaseSets {
		for route, p := range set(d) {
			out[route] = p
		}
	}
	return out
}

func foundationAccessCases(d ids) map[string]probe {
	id := func(format string, v int64) string { return fmt.Sprintf(format, v) }
	self := map[string]int{"customer_admin": 200, "operator": 200, "integrator": 200}
	return map[string]probe{
		"GET /healthz":             {method: "GET", path: "/healthz", want: all(200)},
		"GET /readyz":              {method: "GET", path: "/readyz", want: all(200)},
		"GET /api/v1/openapi.json": {method: "GET", path: "/api/v1/openapi.json", want: all(200)},
		// Signing in as beta needs beta's password; a wrong one is refused.
		"POST /api/v1/auth/login":  {method: "POST", path: "/api/v1/auth/login", body: map[string]string{"login": "admin@beta.example", "password": "not-demo"}, want: all(401)},
		"POST /api/v1/auth/logout": {method: "POST", path: "/api/v1/auth/logout", want: all(204)},
		"GET /api/v1/me":           {method: "GET", path: "/api/v1/me", want: self},
		"PATCH /api/v1/me":         {method: "PATCH", path: "/api/v1/me", body: map[string]any{"customer_id": d.beta}, want: all(422)},
		"POST /api/v1/me/password": {method: "POST", path: "/api/v1/me/password", body: map[string]string{"current_password": "wrong", "new_password": "long enough pw"}, want: all(422)},

		"GET /api/v1/tokens":         {method: "GET", path: "/api/v1/tokens", list: true},
		"POST /api/v1/tokens":        {method: "POST", path: "/api/v1/tokens", body: map[string]any{"name": "x", "account_id": d.betaAdmin}, want: all(422)},
		"DELETE /api/v1/tokens/{id}": {method: "DELETE", path: id("/api/v1/tokens/%d", d.betaToken), want: all(404)},

		"GET /api/v1/customers":        {method: "GET", path: "/api/v1/customers", list: true},
		"POST /api/v1/customers":       {method: "POST", path: "/api/v1/customers", body: map[string]string{"code": "evil", "name": "Evil"}, want: all(403)},
		"GET /api/v1/customers/{id}":   {method: "GET", path: id("/api/v1/customers/%d", d.beta), want: all(404)},
		"PATCH /api/v1/customers/{id}": {method: "PATCH", path: id("/api/v1/customers/%d", d.beta), body: map[string]string{"name": "Pwned"}, want: all(404)},

		"GET /api/v1/contacts":        {method: "GET", path: id("/api/v1/contacts?customer_id=%d", d.beta), list: true},
		"POST /api/v1/contacts":       {method: "POST", path: "/api/v1/contacts", body: map[string]any{"login": "mole@beta.example", "name": "Mole", "role": "customer_admin", "customer_id": d.beta}, want: all(404)},
		"GET /api/v1/contacts/{id}":   {method: "GET", path: id("/api/v1/contacts/%d", d.betaOperator), want: all(404)},
		"PATCH /api/v1/contacts/{id}": {method: "PATCH", path: id("/api/v1/contacts/%d", d.betaOperator), body: map[string]string{"name": "Pwned"}, want: all(404)},

		"GET /api/v1/staff":                   {method: "GET", path: "/api/v1/staff", want: all(403)},
		"POST /api/v1/staff":                  {method: "POST", path: "/api/v1/staff", body: map[string]any{"login": "mole@vendor.example", "name": "Mole", "role": "admin"}, want: all(403)},
		"GET /api/v1/staff/{id}":              {method: "GET", path: id("/api/v1/staff/%d", d.staffAgent), want: all(403)},
		"PATCH /api/v1/staff/{id}":            {method: "PATCH", path: id("/api/v1/staff/%d", d.staffAgent), body: map[string]string{"name": "Pwned"}, want: all(403)},
		"POST /api/v1/accounts/{id}/password": {method: "POST", path: id("/api/v1/accounts/%d/password", d.betaAdmin), body: map[string]string{"new_password": "taken over!"}, want: all(404)},

		"GET /api/v1/products":        {method: "GET", path: "/api/v1/products", want: all(200)},
		"POST /api/v1/products":       {method: "POST", path: "/api/v1/products", body: map[string]string{"code": "x", "name": "X", "delivery": "hosted"}, want: all(403)},
		"GET /api/v1/products/{id}":   {method: "GET", path: id("/api/v1/products/%d", d.product), want: all(200)},
		"PATCH /api/v1/products/{id}": {method: "PATCH", path: id("/api/v1/products/%d", d.product), body: map[string]string{"name": "Pwned"}, want: all(403)},

		"GET /api/v1/plans":        {method: "GET", path: "/api/v1/plans", want: all(403)},
		"POST /api/v1/plans":       {method: "POST", path: "/api/v1/plans", body: map[string]string{"name": "x", "window_start": "09:00", "window_end": "18:00"}, want: all(403)},
		"GET /api/v1/plans/{id}":   {method: "GET", path: id("/api/v1/plans/%d", d.plan), want: all(403)},
		"PATCH /api/v1/plans/{id}": {method: "PATCH", path: id("/api/v1/plans/%d", d.plan), body: map[string]string{"name": "Pwned"}, want: all(403)},

		"GET /api/v1/licenses":        {method: "GET", path: id("/api/v1/licenses?customer_id=%d", d.beta), list: true},
		"POST /api/v1/licenses":       {method: "POST", path: "/api/v1/licenses", body: map[string]any{"customer_id": d.beta, "product_id": d.product, "plan_id": d.plan, "valid_from": "2026-01-01", "valid_to": "2027-01-01"}, want: all(404)},
		"GET /api/v1/licenses/{id}":   {method: "GET", path: id("/api/v1/licenses/%d", d.betaLicense), want: all(404)},
		"PATCH /api/v1/licenses/{id}": {method: "PATCH", path: id("/api/v1/licenses/%d", d.betaLicense), body: map[string]string{"valid_to": "2020-01-01"}, want: all(404)},
		"GET /api/v1/coverage":        {method: "GET", path: fmt.Sprintf("/api/v1/coverage?customer_id=%d&product_id=%d&type=fault", d.beta, d.product), want: all(404)},

		"GET /api/v1/instances":        {method: "GET", path: id("/api/v1/instances?customer_id=%d", d.beta), list: true},
		"POST /api/v1/instances":       {method: "POST", path: "/api/v1/instances", body: map[string]any{"customer_id": d.beta, "product_id": d.product, "name": "planted"}, want: all(404)},
		"GET /api/v1/instances/{id}":   {method: "GET", path: id("/api/v1/instances/%d", d.betaInstance), want: all(404)},
		"PATCH /api/v1/instances/{id}": {method: "PATCH", path: id("/api/v1/instances/%d", d.betaInstance), body: map[string]any{"customer_id": d.alfa}, want: all(404)},

		"GET /api/v1/journal": {method: "GET", path: id("/api/v1/journal?customer_id=%d", d.beta), list: true,
			want: map[string]int{"operator": 403, "integrator": 403}},
	}
}

// TestCustomersCannotReachEachOther walks every route as every role of
// alfa, aiming at beta's data, and then checks beta's data is unchanged.
func TestCustomersCannotReachEachOther(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			admin := app.Login(t, "admin@vendor.example", "demo")
			betaAdmin := app.Login(t, "admin@beta.example", "demo")
			var d ids
			d.alfa, d.beta = customerID(t, admin, "alfa"), customerID(t, admin, "beta")
			d.alfaAdmin = accountID(t, admin, "/api/v1/contacts?q=admin@alfa.example")
			d.betaAdmin = accountID(t, admin, "/api/v1/contacts?q=admin@beta.example")
			d.betaOperator = accountID(t, admin, "/api/v1/contacts?q=operator@beta.example")
			d.staffAgent = accountID(t, admin, "/api/v1/staff?q=agent@vendor.example")
			d.betaLicense = firstID(t, admin, fmt.Sprintf("/api/v1/licenses?customer_id=%d", d.beta))
			d.betaInstance = firstID(t, admin, fmt.Sprintf("/api/v1/instances?customer_id=%d", d.beta))
			d.product = firstID(t, admin, "/api/v1/products")
			d.plan = firstID(t, admin, "/api/v1/plans")
			var tok struct{ ID int64 }
			betaAdmin.Do("POST", "/api/v1/tokens", map[string]string{"name": "beta script"}, 201, &tok)
			d.betaToken = tok.ID
			var req struct{ ID int64 }
			betaAdmin.Do("POST", "/api/v1/requests", map[string]any{"product_id": d.product, "type": "fault", "subject": "Beta's own fault", "description": "Only beta may see this."}, 201, &req)
			d.betaRequest = req.ID

			before := snapshotBeta(t, admin, d)
			cases := accessCases(d)
			for _, route := range app.Server.Routes() {
				if _, ok := cases[route]; !ok {
					t.Errorf("route %s has no cross-customer access case: add one to accessCases", route)
				}
			}
			for _, login := range []string{"admin@alfa.example", "operator@alfa.example", "integrator@alfa.example"} {
				c := app.Login(t, login, "demo")
				role := map[string]string{"admin@alfa.example": "customer_admin", "operator@alfa.example": "operator", "integrator@alfa.example": "integrator"}[login]
				for _, route := range app.Server.Routes() {
					pr := cases[route]
					if pr.path == "" || route == "POST /api/v1/auth/logout" {
						continue // logout is walked last: it ends the session
					}
					resp := c.Call(pr.method, pr.path, pr.body)
					if want, ok := pr.want[role]; ok {
						if resp.Status != want {
							t.Errorf("%s as %s: status %d, want %d; body %s", route, role, resp.Status, want, resp.Body)
						}
						continue
					}
					if pr.list {
						checkOwnItems(t, route, role, resp, d)
					}
				}
				if resp := c.Call("POST", "/api/v1/auth/logout", nil); resp.Status != 204 {
					t.Errorf("logout: %d", resp.Status)
				}
			}
			if after := snapshotBeta(t, admin, d); !reflect.DeepEqual(before, after) {
				t.Errorf("beta's data changed during the walk:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// checkOwnItems asserts a list answered 200 and holds only alfa's rows.
func checkOwnItems(t *testing.T, route, role string, resp apptest.Response, d ids) {
	t.Helper()
	if resp.Status != 200 {
		t.Errorf("%s as %s: status %d; body %s", route, role, resp.Status, resp.Body)
		return
	}
	var list struct {
		Items []map[string]any
		Total int
	}
	json.Unmarshal(resp.Body, &list)
	if list.Total != len(list.Items) {
		t.Errorf("%s as %s: total %d but %d items visible", route, role, list.Total, len(list.Items))
	}
	for _, it := range list.Items {
		owner := it["customer_id"]
		if strings.Contains(route, "/customers") {
			owner = it["id"]
		}
		if strings.Contains(route, "/tokens") {
			continue // tokens carry account_id; checked below by the snapshot
		}
		if owner != float64(d.alfa) {
			t.Errorf("%s as %s: item of customer %v visible: %v", route, role, owner, it)
		}
	}
}

// snapshotBeta reads everything of beta's as the vendor admin.
func snapshotBeta(t *testing.T, admin *apptest.Client, d ids) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		fmt.Sprintf("/api/v1/customers/%d", d.beta),
		fmt.Sprintf("/api/v1/contacts?customer_id=%d", d.beta),
		fmt.Sprintf("/api/v1/licenses?customer_id=%d", d.beta),
		fmt.Sprintf("/api/v1/instances?customer_id=%d", d.beta),
		fmt.Sprintf("/api/v1/staff/%d", d.staffAgent),
		fmt.Sprintf("/api/v1/requests/%d", d.betaRequest),
		fmt.Sprintf("/api/v1/requests/%d/journal", d.betaRequest),
		fmt.Sprintf("/api/v1/requests?customer_id=%d&limit=200", d.beta),
		"/api/v1/customers", "/api/v1/plans", "/api/v1/products",
	} {
		resp := admin.Do("GET", p, nil, 200, nil)
		b.Write(resp.Body)
	}
	var toks struct{ Items []map[string]any }
	admin.Do("GET", "/api/v1/tokens?limit=200", nil, 200, &toks)
	for _, tk := range toks.Items {
		fmt.Fprintf(&b, "token %v %v revoked=%v\n", tk["id"], tk["account_id"], tk["revoked_at"])
	}
	return b.String()
}

func customerID(t *testing.T, c *apptest.Client, code string) int64 {
	return firstID(t, c, "/api/v1/customers?q="+code)
}

func accountID(t *testing.T, c *apptest.Client, path string) int64 { return firstID(t, c, path) }

func firstID(t *testing.T, c *apptest.Client, path string) int64 {
	t.Helper()
	var list struct{ Items []struct{ ID int64 } }
	c.Do("GET", path, nil, http.StatusOK, &list)
	if len(list.Items) == 0 {
		t.Fatalf("GET %s: empty", path)
	}
	return list.Items[0].ID
}
