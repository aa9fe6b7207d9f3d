package api

import (
	"embed"
	"net/http"

	"tend/internal/auth"
)

//go:embed openapi.json
var openapiDoc embed.FS

func serveOpenAPI(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	b, _ := openapiDoc.ReadFile("openapi.json")
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
