package api

import (
	"net/http"
	"strconv"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/store"
)

// requestRoutes: the service desk.
func (s *Server) requestRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/desk/options", h: s.deskOptions},
		{method: "POST", path: "/api/v1/requests", h: s.registerRequest},
		{method: "GET", path: "/api/v1/requests", h: s.listRequests},
		{method: "GET", path: "/api/v1/requests/{id}", h: s.viewRequest},
		{method: "GET", path: "/api/v1/requests/{id}/journal", h: s.requestJournal},
		{method: "POST", path: "/api/v1/requests/{id}/actions", h: s.actOnRequest},
		{method: "POST", path: "/api/v1/requests/{id}/comments", h: s.addComment},
		{method: "POST", path: "/api/v1/requests/{id}/rating", h: s.rateRequest},
	}
}

type option struct {
	Value      string `json:"value"`
	Definition string `json:"definition,omitempty"`
}

// deskOptions lists what a registration form offers, with the priority
// definitions to show where the choice is made (R3.3).
func (s *Server) deskOptions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var out struct {
		Types      []option `json:"types"`
		Priorities []option `json:"priorities"`
		Channels   []string `json:"channels"`
		Actions    []string `json:"actions"`
	}
	for _, t := range desk.Types {
		out.Types = append(out.Types, option{Value: t})
	}
	for _, pr := range desk.Priorities {
		out.Priorities = append(out.Priorities, option{Value: pr, Definition: desk.PriorityDefinitions[pr]})
	}
	out.Channels = []string{string(desk.ChannelPortal), string(desk.ChannelEmail), string(desk.ChannelPhone), string(desk.ChannelAPI)}
	for _, a := range desk.Actions() {
		out.Actions = append(out.Actions, string(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// idempotencyKey reads the Idempotency-Key header.
func idempotencyKey(r *http.Request) string {
	return strings.TrimSpace(r.Header.Get("Idempotency-Key"))
}

func (s *Server) registerRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[desk.NewRequest](s, r)
	if err != nil {
		return err
	}
	// A customer calling with a bearer token is an integration; in a browser
	// it is the portal.
	if _, isAPI := bearer(r); p.IsCustomer() && isAPI {
		in.Channel = desk.ChannelAPI
	}
	req, replay, err := s.store.RegisterRequest(r.Context(), p, in, idempotencyKey(r), s.cal())
	if err != nil {
		return err
	}
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/requests/"+strconv.FormatInt(req.ID, 10))
	writeJSON(w, http.StatusCreated, req)
	return nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := store.RequestFilter{Type: q.Get("type"), Priority: q.Get("priority"), Query: q.Get("q"), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	var err error
	for _, st := range q["state"] {
		for _, one := range strings.Split(st, ",") {
			f.States = append(f.States, desk.State(one))
		}
	}
	if f.ProductID, err = queryID(r, "product_id"); err != nil {
		return err
	}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	if f.AssigneeID, err = queryID(r, "assignee_id"); err != nil {
		return err
	}
	if f.Limit, err = queryInt(r, "limit", 50); err != nil {
		return err
	}
	if f.Limit > store.MaxPage {
		return errorf("limit", "limit must be at most %d", store.MaxPage)
	}
	if f.Covered, err = queryBool(r, "covered"); err != nil {
		return err
	}
	if f.Open, err = queryBool(r, "open"); err != nil {
		return err
	}
	out, err := s.store.ListRequests(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func queryBool(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, apperr.Field(name, "%s must be true or false", name)
	}
	return &b, nil
}

func (s *Server) viewRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.store.ViewRequest(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) requestJournal(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.RequestJournal(r.Context(), p, id, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// actionInput is an action with the inputs it needs, flat in one object.
type actionInput struct {
	Action  desk.Action `json:"action"`
	Version int64       `json:"version"`
	desk.Needs
}

func (s *Server) actOnRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[actionInput](s, r)
	if err != nil {
		return err
	}
	if in.Action == "" {
		return apperr.Field("action", "say which action to take; GET the request for the allowed ones")
	}
	if _, err := s.store.Act(r.Context(), p, id, store.ActInput{Action: in.Action, Needs: in.Needs, Version: in.Version}, idempotencyKey(r)); err != nil {
		return err
	}
	v, err := s.store.ViewRequest(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type commentInput struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[commentInput](s, r)
	if err != nil {
		return err
	}
	c, err := s.store.AddComment(r.Context(), p, id, in.Body, in.Internal, idempotencyKey(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

type ratingInput struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

func (s *Server) rateRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[ratingInput](s, r)
	if err != nil {
		return err
	}
	req, err := s.store.Rate(r.Context(), p, id, in.Rating, in.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}
