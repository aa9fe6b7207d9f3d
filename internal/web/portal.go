package web

// The customer portal: my organisation's requests, a new request, and our
// licenses with the production calendar. The request page itself is in
// request.go, shared with staff.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/civil"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
	"tend/internal/sla"
	"tend/internal/store"
)

// portalRoutes registers the portal pages.
func (s *Server) portalRoutes() {
	s.mux.HandleFunc("GET /requests", s.page(false, s.requestList))
	s.mux.HandleFunc("GET /requests/new", s.page(false, s.newRequestForm))
	s.mux.HandleFunc("POST /requests/new", s.pageMultipart(s.createRequest))
	s.mux.HandleFunc("GET /licenses", s.page(false, s.licensesPage))
	s.requestRoutes()
}

// listPageSize is how many requests one page of the portal's list shows.
const listPageSize = 25

// ---- my requests

type listView struct {
	W         words
	Rows      []listRow
	Total     int
	Next      string // the URL of the next page, "" on the last
	First     string // the URL of the first page, "" on it
	Status    string // open, closed, all
	Type      string
	Types     []string
	Customers bool // staff: show the customer column
}

type listRow struct {
	R        desk.Request
	Product  string
	Customer string
	SLA      slaSummary
}

func (s *Server) requestList(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	st := s.deps.Store
	q := r.URL.Query()
	d := &listView{W: v.words(), Status: q.Get("status"), Type: q.Get("type"), Types: desk.Types, Customers: v.IsStaff()}
	f := store.RequestFilter{Limit: listPageSize, Cursor: q.Get("cursor")}
	switch d.Status {
	case "closed":
		f.Open = new(false)
	case "all":
	default:
		d.Status = "open"
		f.Open = new(true)
	}
	if slices.Contains(desk.Types, d.Type) {
		f.Type = d.Type
	} else {
		d.Type = ""
	}
	list, err := st.ListRequests(ctx, v.User, f)
	if apperr.Is(err, apperr.Invalid) && f.Cursor != "" {
		// A cursor from an older page: start again at the first page.
		f.Cursor = ""
		list, err = st.ListRequests(ctx, v.User, f)
	}
	if err != nil {
		return err
	}
	d.Total = list.Total
	products, err := s.productNames(ctx, v.User)
	if err != nil {
		return err
	}
	customers := map[int64]string{}
	for _, it := range list.Items {
		row := listRow{R: it, Product: products[it.ProductID]}
		if d.Customers && it.CustomerID != 0 {
			name, ok := customers[it.CustomerID]
			if !ok {
				if c, err := st.GetCustomer(ctx, v.User, it.CustomerID); err == nil {
					name = c.Name
				}
				customers[it.CustomerID] = name
			}
			row.Customer = name
		}
		clocks, err := st.RequestClocks(ctx, v.User, it.ID)
		if err != nil {
			return err
		}
		row.SLA = d.W.SLA(it, clocks)
		d.Rows = append(d.Rows, row)
	}
	base := url.Values{}
	base.Set("status", d.Status)
	if d.Type != "" {
		base.Set("type", d.Type)
	}
	if list.Next != "" {
		nq := url.Values{}
		for k, vs := range base {
			nq[k] = vs
		}
		nq.Set("cursor", list.Next)
		d.Next = "/requests?" + nq.Encode()
	}
	if f.Cursor != "" {
		d.First = "/requests?" + base.Encode()
	}
	s.takeFlash(r, v)
	v.Title = v.T("portal.list.title")
	v.Data = d
	return s.render(w, http.StatusOK, "portal_list", v)
}

// productNames maps every product's id to its name (products are few).
func (s *Server) productNames(ctx context.Context, p auth.Principal) (map[int64]string, error) {
	out := map[int64]string{}
	pg := store.Page{Limit: store.MaxPage}
	for {
		list, err := s.deps.Store.ListProducts(ctx, p, pg)
		if err != nil {
			return nil, err
		}
		for _, pr := range list.Items {
			out[pr.ID] = pr.Name
		}
		if list.Next == 0 {
			return out, nil
		}
		pg.After = list.Next
	}
}

// ---- a new request

type newView struct {
	W          words
	Products   []productChoice
	Instances  []instanceChoice
	Types      []string
	Priorities []string
	Form       url.Values
	Key        string
	Phone      string
	MaxUpload  string
}

type productChoice struct {
	ID    int64
	Name  string
	Valid bool // the license is in force today
	// StartsAt: an emergency registered now, outside the plan's hours and
	// without 24/7 handling, is worked on from this moment.
	StartsAt string
}

type instanceChoice struct {
	lifecycle.Instance
	Product string
}

func (s *Server) newRequestForm(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.IsStaff() {
		http.Redirect(w, r, "/desk/new", http.StatusSeeOther)
		return nil
	}
	form := url.Values{}
	q := r.URL.Query()
	for _, k := range []string{"type", "product_id", "priority"} {
		if q.Get(k) != "" {
			form.Set(k, q.Get(k))
		}
	}
	return s.showNewRequest(w, r, v, http.StatusOK, form)
}

func (s *Server) showNewRequest(w http.ResponseWriter, r *http.Request, v *view, status int, form url.Values) error {
	ctx := r.Context()
	st := s.deps.Store
	d := &newView{W: v.words(), Types: desk.Types, Priorities: desk.Priorities, Form: form, Key: formKey(), MaxUpload: v.words().Size(s.maxUpload())}
	if d.Form.Get("type") == "" {
		d.Form.Set("type", "fault")
	}
	if d.Form.Get("priority") == "" {
		d.Form.Set("priority", "normal")
	}
	if d.Form.Get("key") != "" {
		d.Key = d.Form.Get("key")
	}
	lics, err := st.CustomerLicenses(ctx, v.User, v.User.CustomerID)
	if err != nil {
		return err
	}
	names, err := s.productNames(ctx, v.User)
	if err != nil {
		return err
	}
	now := s.deps.Store.Now()
	for _, l := range lics {
		i := slices.IndexFunc(d.Products, func(p productChoice) bool { return p.ID == l.ProductID })
		valid := l.ValidAt(now, l.Plan.Location())
		if i >= 0 {
			d.Products[i].Valid = d.Products[i].Valid || valid
			continue
		}
		d.Products = append(d.Products, productChoice{ID: l.ProductID, Name: names[l.ProductID], Valid: valid})
	}
	for i := range d.Products {
		cov := licensing.Cover(lics, d.Products[i].ID, licensing.TypeFault, licensing.PriorityEmergency, now, s.calendar())
		if cov.Reason == licensing.ReasonOutsideHours {
			d.Products[i].StartsAt = mskTime(cov.StartsAt)
		}
	}
	if len(d.Products) == 1 && d.Form.Get("product_id") == "" {
		d.Form.Set("product_id", strconv.FormatInt(d.Products[0].ID, 10))
	}
	inst, err := st.ListInstances(ctx, v.User, store.InstanceFilter{CustomerID: v.User.CustomerID, Page: store.Page{Limit: store.MaxPage}})
	if err != nil {
		return err
	}
	for _, in := range inst.Items {
		d.Instances = append(d.Instances, instanceChoice{Instance: in, Product: names[in.ProductID]})
	}
	if a, err := st.GetAccount(ctx, v.User, v.User.AccountID); err == nil {
		d.Phone = a.Phone
	}
	if d.Form.Get("requester_phone") == "" {
		d.Form.Set("requester_phone", d.Phone)
	}
	v.Title = v.T("portal.new.title")
	v.Data = d
	return s.render(w, status, "portal_new", v)
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, v *view) error {
	if !v.IsCustomer() {
		return apperr.New(apperr.Forbidden, "%s", v.T("portal.new.customers_only"))
	}
	ctx := r.Context()
	f, ups, err := s.readForm(ctx, v, r, nil)
	show := func(err error) error {
		if f == nil {
			f = url.Values{}
		}
		if fieldError(v, err) {
			if v.Field == "name" || v.Field == "file" {
				v.Field = "files"
			}
			if len(ups) > 0 || v.Field == "files" {
				v.Error += " " + v.T("portal.new.files_again")
			}
			return s.showNewRequest(w, r, v, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	if err != nil {
		return show(err)
	}
	in := desk.NewRequest{Channel: desk.ChannelPortal, Type: f.Get("type"), Priority: f.Get("priority"),
		Subject: f.Get("subject"), Description: f.Get("description"), RequesterPhone: strings.TrimSpace(f.Get("requester_phone"))}
	if in.Type == desk.Types[0] { // the fault's own questions
		in.Steps, in.Expected, in.Actual = strings.TrimSpace(f.Get("steps")), strings.TrimSpace(f.Get("expected")), strings.TrimSpace(f.Get("actual"))
	} else if in.Priority == licensing.PriorityEmergency {
		s.discardUploads(ctx, ups)
		return show(apperr.Field("priority", "only a fault"))
	}
	in.ProductID, _ = strconv.ParseInt(f.Get("product_id"), 10, 64)
	in.InstanceID, _ = strconv.ParseInt(f.Get("instance_id"), 10, 64)
	key := f.Get("key")
	req, _, err := s.deps.Store.RegisterRequest(ctx, v.User, in, key, s.calendar())
	if err != nil {
		s.discardUploads(ctx, ups)
		return show(err)
	}
	if err := s.attachUploads(ctx, v.User, key, req.ID, 0, false, ups); err != nil {
		// The request stands; say that the files did not make it.
		return s.redirect(w, r, requestURL(req.ID), v.T("portal.new.files_failed", "Number", req.Number))
	}
	flash := v.T("portal.new.done", "Number", req.Number)
	if at := s.startsAt(ctx, v.User, req); !at.IsZero() {
		flash += " " + v.T("portal.new.starts_at", "At", mskTime(at))
	}
	return s.redirect(w, r, requestURL(req.ID), flash)
}

// ---- licenses and the production calendar

type licensesView struct {
	W         words
	Licenses  []licenseView
	Months    []monthView
	Customers []licensing.Customer // staff choose whose
	Customer  int64
}

type licenseView struct {
	licensing.License
	Product string
	From    string // the validity, as people write dates
	To      string
	Status  string // valid, lapsed, not_yet
	Faults  bool
	Consult bool
	Improve bool
}

type monthView struct {
	Title   string
	Weeks   [][]dayView // Monday first; Day 0 is a cell outside the month
	Summary sla.MonthSummary
	Source  string
}

type dayView struct {
	Day   int
	Kind  string
	Today bool
	Label string
}

func (s *Server) licensesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	st := s.deps.Store
	d := &licensesView{W: v.words()}
	customer := v.User.CustomerID
	if v.IsStaff() {
		list, err := st.ListCustomers(ctx, v.User, "", store.Page{Limit: store.MaxPage})
		if err != nil {
			return err
		}
		d.Customers = list.Items
		customer, _ = strconv.ParseInt(r.URL.Query().Get("customer_id"), 10, 64)
	}
	d.Customer = customer
	if customer != 0 {
		lics, err := st.CustomerLicenses(ctx, v.User, customer)
		if err != nil {
			return err
		}
		names, err := s.productNames(ctx, v.User)
		if err != nil {
			return err
		}
		now := st.Now()
		for _, l := range lics {
			lv := licenseView{License: l, Product: names[l.ProductID], Status: "valid", Faults: true,
				From: l.ValidFrom.Start(time.UTC).Format("02.01.2006"), To: l.ValidTo.Start(time.UTC).Format("02.01.2006"),
				Consult: l.Has(licensing.Consultation), Improve: l.Has(licensing.ImprovementsOnDemand)}
			loc := l.Plan.Location()
			switch {
			case now.In(loc).Before(l.ValidFrom.Start(loc)):
				lv.Status = "not_yet"
			case !l.ValidAt(now, loc):
				lv.Status = "lapsed"
			}
			d.Licenses = append(d.Licenses, lv)
		}
	}
	cal := s.calendar()
	today := civil.Of(v.Now.In(sla.Moscow()))
	first := time.Date(today.Year, today.Month, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		m := first.AddDate(0, i, 0)
		d.Months = append(d.Months, s.month(v, cal, m.Year(), m.Month(), today))
	}
	v.Title = v.T("portal.licenses.title")
	v.Data = d
	return s.render(w, http.StatusOK, "portal_licenses", v)
}

// month lays one month of the production calendar out as a grid.
func (s *Server) month(v *view, cal *sla.Calendar, year int, m time.Month, today civil.Date) monthView {
	mv := monthView{Title: v.T("portal.month."+strconv.Itoa(int(m))) + " " + strconv.Itoa(year), Summary: cal.Summary(year).Months[m-1]}
	if cal.Provisional(year) {
		mv.Source = v.T("portal.calendar.provisional")
	}
	first := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	week := make([]dayView, (int(first.Weekday())+6)%7, 7)
	for day := first; day.Month() == m; day = day.AddDate(0, 0, 1) {
		kind := cal.Kind(year, m, day.Day()).String()
		week = append(week, dayView{Day: day.Day(), Kind: kind,
			Today: today.Year == year && today.Month == m && today.Day == day.Day(),
			Label: strconv.Itoa(day.Day()) + " " + v.T("portal.month_of."+strconv.Itoa(int(m))) + ": " + v.T("portal.day."+kind)})
		if len(week) == 7 {
			mv.Weeks = append(mv.Weeks, week)
			week = make([]dayView, 0, 7)
		}
	}
	if len(week) > 0 {
		mv.Weeks = append(mv.Weeks, append(week, make([]dayView, 7-len(week))...))
	}
	return mv
}
