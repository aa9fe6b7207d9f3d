package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"tend/internal/apptest"
)

// The OpenAPI document is the contract: it must list exactly the routes
// the server registers.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	app := apptest.NewApp(t, "sqlite", apptest.Options{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	app.Anonymous(t).Do("GET", "/api/v1/openapi.json", nil, 200, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	registered := app.Server.Routes()
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is missing from openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json lists %s, which the server does not have", d)
		}
	}
}
