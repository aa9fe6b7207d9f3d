package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sync"

	"tend/internal/auth"
)

// The OpenAPI document is kept in parts, one per surface (base.json holds
// info, security and the foundation); they are merged once at start.
//
//go:embed openapi/*.json
var openapiParts embed.FS

var openapiDoc = sync.OnceValues(func() ([]byte, error) {
	base, err := readPart("openapi/base.json")
	if err != nil {
		return nil, err
	}
	names, _ := fs.Glob(openapiParts, "openapi/*.json")
	for _, name := range names {
		if name == "openapi/base.json" {
			continue
		}
		part, err := readPart(name)
		if err != nil {
			return nil, err
		}
		if err := mergeInto(base, part, name); err != nil {
			return nil, err
		}
	}
	return json.MarshalIndent(base, "", "  ")
})

func readPart(name string) (map[string]any, error) {
	b, err := openapiParts.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// mergeInto adds a part's paths, components and tags to the base document;
// a name defined twice is a mistake and fails loudly.
func mergeInto(base, part map[string]any, name string) error {
	for _, key := range []string{"paths"} {
		if err := mergeMap(base, part, key, name); err != nil {
			return err
		}
	}
	if pc, ok := part["components"].(map[string]any); ok {
		bc, _ := base["components"].(map[string]any)
		if bc == nil {
			bc = map[string]any{}
			base["components"] = bc
		}
		for key := range pc {
			if err := mergeMap(bc, pc, key, name); err != nil {
				return err
			}
		}
	}
	if tags, ok := part["tags"].([]any); ok {
		bt, _ := base["tags"].([]any)
		base["tags"] = append(bt, tags...)
	}
	return nil
}

func mergeMap(dst, src map[string]any, key, name string) error {
	s, _ := src[key].(map[string]any)
	if len(s) == 0 {
		return nil
	}
	d, _ := dst[key].(map[string]any)
	if d == nil {
		d = map[string]any{}
		dst[key] = d
	}
	for k, v := range s {
		if _, dup := d[k]; dup {
			return fmt.Errorf("openapi part %s defines %s %q again", name, key, k)
		}
		d[k] = v
	}
	return nil
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	b, err := openapiDoc()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

// healthz says the process is up; it touches nothing.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says the database answers; load balancers stop sending traffic
// to a replica that cannot reach it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if err := s.store.Ping(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "engine": string(s.store.Engine())})
	return nil
}
