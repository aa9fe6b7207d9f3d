package api

import (
	"net/http"
	"strconv"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/store"
)

// problemRoutes: problems that link several requests (R3.8). Staff only;
// the access rules (auth.KindProblem) refuse customers.
func (s *Server) problemRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/problems", h: s.listProblems},
		{method: "POST", path: "/api/v1/problems", h: s.createProblem},
		{method: "GET", path: "/api/v1/problems/{id}", h: s.getProblem},
		{method: "PATCH", path: "/api/v1/problems/{id}", h: s.patchProblem},
		{method: "POST", path: "/api/v1/problems/{id}/requests", h: s.linkRequest},
		{method: "DELETE", path: "/api/v1/problems/{id}/requests/{request_id}", h: s.unlinkRequest},
		{method: "POST", path: "/api/v1/problems/{id}/resolve", h: s.resolveProblem},
	}
}

func (s *Server) listProblems(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := store.ProblemFilter{State: desk.ProblemState(r.URL.Query().Get("state")), Query: r.URL.Query().Get("q")}
	var err error
	if f.Page, err = page(r); err != nil {
		return err
	}
	if f.ProductID, err = queryID(r, "product_id"); err != nil {
		return err
	}
	out, err := s.store.ListProblems(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createProblem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[desk.NewProblem](s, r)
	if err != nil {
		return err
	}
	pr, replay, err := s.store.CreateProblem(r.Context(), p, in, idempotencyKey(r))
	if err != nil {
		return err
	}
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/problems/"+strconv.FormatInt(pr.ID, 10))
	writeJSON(w, http.StatusCreated, pr)
	return nil
}

func (s *Server) getProblem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.answerProblem(w, r, p, id)
}

// answerProblem answers the problem as it now is, with its requests.
func (s *Server) answerProblem(w http.ResponseWriter, r *http.Request, p auth.Principal, id int64) error {
	v, err := s.store.GetProblem(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) patchProblem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[desk.ProblemPatch](s, r)
	if err != nil {
		return err
	}
	if _, err := s.store.UpdateProblem(r.Context(), p, id, in); err != nil {
		return err
	}
	return s.answerProblem(w, r, p, id)
}

type linkInput struct {
	RequestID int64 `json:"request_id"`
}

func (s *Server) linkRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[linkInput](s, r)
	if err != nil {
		return err
	}
	if _, err := s.store.LinkRequest(r.Context(), p, id, in.RequestID); err != nil {
		return err
	}
	return s.answerProblem(w, r, p, id)
}

func (s *Server) unlinkRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	requestID, err := pathID(r, "request_id")
	if err != nil {
		return err
	}
	if _, err := s.store.UnlinkRequest(r.Context(), p, id, requestID); err != nil {
		return err
	}
	return s.answerProblem(w, r, p, id)
}

func (s *Server) resolveProblem(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[store.ResolveInput](s, r)
	if err != nil {
		return err
	}
	out, err := s.store.ResolveProblem(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
