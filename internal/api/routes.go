package api

import (
	"context"
	"net/http"

	"tend/internal/auth"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
	"tend/internal/store"
)

// routeTable is every API route, by surface. The OpenAPI document must
// list exactly these; a test holds the two together.
func (s *Server) routeTable() []route {
	var all []route
	for _, group := range [][]route{s.foundationRoutes(), s.calendarRoutes(), s.requestRoutes(), s.problemRoutes(), s.attachmentRoutes(), s.mailRoutes()} {
		all = append(all, group...)
	}
	return all
}

// foundationRoutes: health, sessions, people, customers, licenses, instances.
func (s *Server) foundationRoutes() []route {
	st := s.store
	return []route{
		{method: "GET", path: "/healthz", public: true, h: s.healthz},
		{method: "GET", path: "/readyz", public: true, h: s.readyz},
		{method: "GET", path: "/api/v1/openapi.json", public: true, h: serveOpenAPI},

		{method: "POST", path: "/api/v1/auth/login", public: true, h: s.login},
		{method: "POST", path: "/api/v1/auth/logout", public: true, h: s.logout},
		{method: "GET", path: "/api/v1/me", h: s.me},
		{method: "PATCH", path: "/api/v1/me", h: s.updateMe},
		{method: "POST", path: "/api/v1/me/password", h: s.changeOwnPassword},

		{method: "GET", path: "/api/v1/tokens", h: s.listTokens},
		{method: "POST", path: "/api/v1/tokens", h: s.createToken},
		{method: "DELETE", path: "/api/v1/tokens/{id}", h: s.revokeToken},

		{method: "GET", path: "/api/v1/customers", h: s.listCustomers},
		{method: "POST", path: "/api/v1/customers", h: create(s, st.CreateCustomer)},
		{method: "GET", path: "/api/v1/customers/{id}", h: get(st.GetCustomer)},
		{method: "PATCH", path: "/api/v1/customers/{id}", h: patch(s, st.UpdateCustomer)},

		{method: "GET", path: "/api/v1/contacts", h: s.listAccounts(false)},
		{method: "POST", path: "/api/v1/contacts", h: s.createAccount(false)},
		{method: "GET", path: "/api/v1/contacts/{id}", h: s.getAccount(false)},
		{method: "PATCH", path: "/api/v1/contacts/{id}", h: s.patchAccount(false)},

		{method: "GET", path: "/api/v1/staff", h: s.listAccounts(true)},
		{method: "POST", path: "/api/v1/staff", h: s.createAccount(true)},
		{method: "GET", path: "/api/v1/staff/{id}", h: s.getAccount(true)},
		{method: "PATCH", path: "/api/v1/staff/{id}", h: s.patchAccount(true)},
		{method: "POST", path: "/api/v1/accounts/{id}/password", h: s.resetPassword},

		{method: "GET", path: "/api/v1/products", h: s.listProducts},
		{method: "POST", path: "/api/v1/products", h: create(s, st.CreateProduct)},
		{method: "GET", path: "/api/v1/products/{id}", h: get(st.GetProduct)},
		{method: "PATCH", path: "/api/v1/products/{id}", h: patch(s, st.UpdateProduct)},

		{method: "GET", path: "/api/v1/plans", h: s.listPlans},
		{method: "POST", path: "/api/v1/plans", h: create(s, st.CreatePlan)},
		{method: "GET", path: "/api/v1/plans/{id}", h: get(st.GetPlan)},
		{method: "PATCH", path: "/api/v1/plans/{id}", h: patch(s, st.UpdatePlan)},

		{method: "GET", path: "/api/v1/licenses", h: s.listLicenses},
		{method: "POST", path: "/api/v1/licenses", h: create(s, st.CreateLicense)},
		{method: "GET", path: "/api/v1/licenses/{id}", h: get(st.GetLicense)},
		{method: "PATCH", path: "/api/v1/licenses/{id}", h: patch(s, st.UpdateLicense)},
		{method: "GET", path: "/api/v1/coverage", h: s.coverage},

		{method: "GET", path: "/api/v1/instances", h: s.listInstances},
		{method: "POST", path: "/api/v1/instances", h: s.createInstance},
		{method: "GET", path: "/api/v1/instances/{id}", h: get(st.GetInstance)},
		{method: "PATCH", path: "/api/v1/instances/{id}", h: patch(s, st.UpdateInstance)},

		{method: "GET", path: "/api/v1/journal", h: s.listJournal},
	}
}

// create answers POST with the stored record and 201.
func create[T any](s *Server, fn func(context.Context, auth.Principal, T) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		v, err := bodyOf[T](s, r)
		if err != nil {
			return err
		}
		out, err := fn(r.Context(), p, v)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, out)
		return nil
	}
}

func get[T any](fn func(context.Context, auth.Principal, int64) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		out, err := fn(r.Context(), p, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// patch applies the fields present in the body to the stored record, in
// the store's transaction; absent fields keep their values.
func patch[T any](s *Server, fn func(context.Context, auth.Principal, int64, func(*T) error) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		b, err := readBody(r, s.cfg.MaxBody)
		if err != nil {
			return err
		}
		out, err := fn(r.Context(), p, id, func(v *T) error { return decodeStrict(b, v) })
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func page(r *http.Request) (store.Page, error) {
	after, err := queryID(r, "after")
	if err != nil {
		return store.Page{}, err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return store.Page{}, err
	}
	if limit > store.MaxPage {
		return store.Page{}, errorf("limit", "limit must be at most %d", store.MaxPage)
	}
	return store.Page{After: after, Limit: limit}, nil
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.ListCustomers(r.Context(), p, r.URL.Query().Get("q"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.ListProducts(r.Context(), p, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.ListPlans(r.Context(), p, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var f store.LicenseFilter
	var err error
	if f.Page, err = page(r); err != nil {
		return err
	}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	if f.ProductID, err = queryID(r, "product_id"); err != nil {
		return err
	}
	out, err := s.store.ListLicenses(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var f store.InstanceFilter
	var err error
	if f.Page, err = page(r); err != nil {
		return err
	}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	if f.ProductID, err = queryID(r, "product_id"); err != nil {
		return err
	}
	out, err := s.store.ListInstances(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createInstance lets a customer admin leave customer_id out: it is theirs.
func (s *Server) createInstance(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[lifecycle.Instance](s, r)
	if err != nil {
		return err
	}
	if in.CustomerID == 0 && p.IsCustomer() {
		in.CustomerID = p.CustomerID
	}
	out, err := s.store.CreateInstance(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// coverage answers whether a request would be covered, and why not.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	customerID, err := queryID(r, "customer_id")
	if err != nil {
		return err
	}
	if customerID == 0 {
		if !p.IsCustomer() {
			return errorf("customer_id", "customer_id is required")
		}
		customerID = p.CustomerID
	}
	productID, err := queryID(r, "product_id")
	if err != nil {
		return err
	}
	if productID == 0 {
		return errorf("product_id", "product_id is required")
	}
	typ := q.Get("type")
	if typ != licensing.TypeFault && typ != licensing.TypeConsultation && typ != licensing.TypeImprovement {
		return errorf("type", "type must be fault, consultation or improvement")
	}
	prio := q.Get("priority")
	if prio == "" {
		prio = licensing.PriorityNormal
	}
	if prio != licensing.PriorityEmergency && prio != licensing.PriorityNormal {
		return errorf("priority", "priority must be emergency or normal")
	}
	at := s.now()
	if v := q.Get("at"); v != "" {
		if at, err = parseInstant("at", v); err != nil {
			return err
		}
	}
	lics, err := s.store.CustomerLicenses(r.Context(), p, customerID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, licensing.Cover(lics, productID, typ, prio, at, s.cal()))
	return nil
}

func (s *Server) listJournal(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var f store.JournalFilter
	var err error
	if f.Page, err = page(r); err != nil {
		return err
	}
	f.Entity = r.URL.Query().Get("entity")
	if f.EntityID, err = queryID(r, "entity_id"); err != nil {
		return err
	}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	out, err := s.store.ListJournal(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
