package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
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
	"tend/internal/sla"
	"tend/internal/store"
)

// The agent desk (issue 5, pages 6 and 7): the queue of every customer's
// requests with its filters, counts and SLA countdowns, and logging a
// phone call or an e-mail on a customer's behalf. A request's own page,
// with the workflow's actions, is /requests/{id} (request.go).
//
// The queue reads through the store: ListQueue (ListRequests plus the SLA
// state), CountQueue (the chips' numbers, one GROUP BY) and QueueClocks
// (a page's countdowns, two queries); store/queue.go says which index
// serves each. Pages are keyset pages (the store's next cursor), never
// OFFSET. Everything works without JavaScript; with htmx the table
// refreshes itself every minute from /desk/rows.

// deskRoutes registers the desk pages.
func (s *Server) deskRoutes() {
	s.mux.HandleFunc("GET /desk", s.page(false, s.deskQueue))
	s.mux.HandleFunc("GET /desk/rows", s.page(false, s.deskRows))
	s.mux.HandleFunc("GET /desk/new", s.page(false, s.deskNewForm))
	s.mux.HandleFunc("POST /desk/new", s.page(false, s.deskRegister))
}

// deskStates are the workflow states in the order the desk shows them.
var deskStates = []desk.State{desk.StateReceived, desk.StateClarifying, desk.StateScopeDefined, desk.StateDeadlineAgreed,
	desk.StateAgreed, desk.StateInWork, desk.StateDeployed, desk.StateRolledOut, desk.StateResolved,
	desk.StateClosed, desk.StateClosedUnanswered, desk.StateCancelled}

// deskQuery is the queue's address: its filters, order and page.
type deskQuery struct {
	States                                  []string
	Type, Priority, Product, Customer       string
	Assignee, Covered, SLA, Q, Sort, Cursor string
	ignoredSort                             bool
}

func deskParse(r *http.Request) deskQuery {
	in := r.URL.Query()
	q := deskQuery{Q: strings.TrimSpace(in.Get("q")), Cursor: in.Get("cursor")}
	for _, st := range in["state"] {
		if slices.Contains(deskStates, desk.State(st)) && !slices.Contains(q.States, st) {
			q.States = append(q.States, st)
		}
	}
	pick := func(name string, allowed ...string) string {
		if v := in.Get(name); slices.Contains(allowed, v) {
			return v
		}
		return ""
	}
	q.Type = pick("type", desk.Types...)
	q.Priority = pick("priority", desk.Priorities...)
	q.Assignee = pick("assignee", "me")
	q.Covered = pick("covered", "yes", "no")
	q.SLA = pick("sla", store.SLAStates...)
	q.Sort = pick("sort", "due", "created", "activity")
	if q.Sort == "" {
		q.Sort = "due"
	}
	if q.SLA == store.SLANone && q.Sort == "due" {
		q.Sort, q.ignoredSort = "created", true // nothing to sort by due there
	}
	for _, id := range []struct {
		name string
		to   *string
	}{{"product", &q.Product}, {"customer", &q.Customer}} {
		if n, err := strconv.ParseInt(in.Get(id.name), 10, 64); err == nil && n > 0 {
			*id.to = strconv.FormatInt(n, 10)
		}
	}
	return q
}

func (q deskQuery) values() url.Values {
	out := url.Values{}
	for _, st := range q.States {
		out.Add("state", st)
	}
	for _, kv := range [][2]string{{"type", q.Type}, {"priority", q.Priority}, {"product", q.Product}, {"customer", q.Customer},
		{"assignee", q.Assignee}, {"covered", q.Covered}, {"sla", q.SLA}, {"q", q.Q}, {"cursor", q.Cursor}} {
		if kv[1] != "" {
			out.Set(kv[0], kv[1])
		}
	}
	if q.Sort != "due" && !q.ignoredSort {
		out.Set("sort", q.Sort)
	}
	return out
}

func (q deskQuery) href(path string) string {
	if enc := q.values().Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

// chip is q narrowed to one chip: the chip dimensions (state, SLA state,
// coverage) reset, as the counts are taken without them, and the first page.
func (q deskQuery) chip(set func(*deskQuery)) string {
	c := q
	c.States, c.SLA, c.Covered, c.Cursor, c.ignoredSort = nil, "", "", "", false
	if c.Sort == "created" && q.ignoredSort {
		c.Sort = "due"
	}
	set(&c)
	if c.SLA == store.SLANone && c.Sort == "due" {
		c.Sort, c.ignoredSort = "created", true
	}
	return c.href("/desk")
}

// active counts the filters in force, for the filters' summary.
func (q deskQuery) active() int {
	n := len(q.States)
	for _, v := range []string{q.Type, q.Priority, q.Product, q.Customer, q.Assignee, q.Covered, q.SLA, q.Q} {
		if v != "" {
			n++
		}
	}
	return n
}

func (q deskQuery) filter(p auth.Principal) store.QueueFilter {
	f := store.QueueFilter{SLA: q.SLA, RequestFilter: store.RequestFilter{Type: q.Type, Priority: q.Priority, Query: q.Q, Sort: q.Sort, Cursor: q.Cursor, Limit: 50}}
	for _, st := range q.States {
		f.States = append(f.States, desk.State(st))
	}
	if len(f.States) == 0 {
		open := true
		f.Open = &open // the queue is the open requests unless states are chosen
	}
	f.ProductID, _ = strconv.ParseInt(q.Product, 10, 64)
	f.CustomerID, _ = strconv.ParseInt(q.Customer, 10, 64)
	if q.Assignee == "me" {
		f.AssigneeID = p.AccountID
	}
	if q.Covered != "" {
		covered := q.Covered == "yes"
		f.Covered = &covered
	}
	return f
}

// ---- the queue's view

type deskChip struct {
	// ID is stable across refreshes, so that htmx puts the keyboard focus
	// back on the same chip after it swaps the queue in.
	ID, Href, Label, Badge string
	N                      int
	Current                bool
}

type deskClock struct {
	Due               time.Time
	Left, State, Kind string
	StateLabel        string
}

type deskRow struct {
	ID                                int64
	Number, Subject, Href             string
	Customer, Product, Assignee       string
	Type, Priority, State, StateLabel string
	Emergency, Covered                bool
	Coverage                          string
	Clock                             *deskClock
	Activity                          time.Time
}

type deskQueueView struct {
	Query         deskQuery
	RowsHref      string
	Chips         []deskChip
	SLAChips      []deskChip
	Rows          []deskRow
	TotalText     string
	Next, First   string
	Hidden        int
	HiddenHref    string
	Active        int
	StateOpts     []admOption
	Selects       []deskSelect
	RefreshedText string
	Triage        int // requests waiting in the triage queue (the full page only)
}

// deskSelect is one of the queue's filter choices.
type deskSelect struct {
	ID, Name, Label string
	Opts            []admOption
}

func deskOpts(selected string, opts ...admOption) []admOption {
	for i := range opts {
		opts[i].Selected = opts[i].Value == selected
	}
	return opts
}

func (s *Server) deskQueue(w http.ResponseWriter, r *http.Request, v *view) error {
	qv, err := s.deskQueueData(r, v)
	if err != nil {
		return err
	}
	// The triage queue's size, by the link to it: mail from unknown senders
	// waits there until an agent links it to a customer.
	tr, err := s.deps.Store.TriageRequests(r.Context(), v.User, store.Page{Limit: 1})
	if err != nil {
		return err
	}
	qv.Triage = tr.Total
	s.takeFlash(r, v)
	v.Title, v.Data = v.T("desk.title"), qv
	return s.render(w, http.StatusOK, "desk_queue", v)
}

// deskRows is the queue's table alone, for htmx to refresh every minute.
func (s *Server) deskRows(w http.ResponseWriter, r *http.Request, v *view) error {
	qv, err := s.deskQueueData(r, v)
	if err != nil {
		return err
	}
	v.Data = qv
	var buf strings.Builder
	if err := s.pages["desk_queue"].ExecuteTemplate(&buf, "desk-queue", v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write([]byte(buf.String()))
	return err
}

func (s *Server) deskQueueData(r *http.Request, v *view) (deskQueueView, error) {
	ctx, st, p := r.Context(), s.deps.Store, v.User
	if err := store.CheckDesk(p); err != nil {
		return deskQueueView{}, err
	}
	q := deskParse(r)
	f := q.filter(p)
	list, err := st.ListQueue(ctx, p, f)
	if apperr.Is(err, apperr.Invalid) && q.Cursor != "" {
		// A cursor from an older page or another order: start again.
		q.Cursor, f.Cursor = "", ""
		list, err = st.ListQueue(ctx, p, f)
	}
	if err != nil {
		return deskQueueView{}, err
	}
	counts, err := st.CountQueue(ctx, p, f.RequestFilter)
	if err != nil {
		return deskQueueView{}, err
	}
	ids := make([]int64, len(list.Items))
	for i, it := range list.Items {
		ids[i] = it.ID
	}
	clocks, err := st.QueueClocks(ctx, p, ids)
	if err != nil {
		return deskQueueView{}, err
	}
	names, err := s.deskNames(r, v, list.Items, q)
	if err != nil {
		return deskQueueView{}, err
	}
	qv := deskQueueView{Query: q, RowsHref: q.href("/desk/rows"), Active: q.active()}
	qv.TotalText = v.T("desk.total", "N", list.Total)
	if list.TotalCapped {
		qv.TotalText = v.T("desk.total_capped", "N", list.Total)
	}
	qv.RefreshedText = v.T("desk.refreshed", "Time", v.Now.In(sla.Moscow()).Format("15:04"))
	if list.Next != "" {
		nq := q
		nq.Cursor = list.Next
		qv.Next = nq.href("/desk")
	}
	if q.Cursor != "" {
		fq := q
		fq.Cursor = ""
		qv.First = fq.href("/desk")
	}

	// Chips: the open requests by state, by SLA state, and not covered.
	noChip := len(q.States) == 0 && q.SLA == "" && q.Covered == ""
	qv.Chips = append(qv.Chips, deskChip{ID: "chip-open", Href: q.chip(func(*deskQuery) {}), Label: v.T("desk.chip.open"), N: counts.Open, Current: noChip})
	for _, stt := range deskStates {
		n := counts.ByState[stt]
		cur := len(q.States) == 1 && q.States[0] == string(stt) && q.SLA == "" && q.Covered == ""
		if n == 0 && !cur {
			continue
		}
		qv.Chips = append(qv.Chips, deskChip{ID: "chip-state-" + string(stt), Href: q.chip(func(c *deskQuery) { c.States = []string{string(stt)} }), Label: v.T("desk.state." + string(stt)), N: n, Current: cur})
	}
	for _, sl := range store.SLAStates {
		cur := q.SLA == sl && len(q.States) == 0 && q.Covered == ""
		qv.SLAChips = append(qv.SLAChips, deskChip{ID: "chip-sla-" + sl, Href: q.chip(func(c *deskQuery) { c.SLA = sl }), Label: v.T("desk.sla." + sl), N: counts.BySLA[sl], Current: cur, Badge: sl})
	}
	qv.SLAChips = append(qv.SLAChips, deskChip{ID: "chip-not-covered", Href: q.chip(func(c *deskQuery) { c.Covered = "no" }), Label: v.T("desk.chip.not_covered"), N: counts.NotCovered,
		Current: q.Covered == "no" && len(q.States) == 0 && q.SLA == "", Badge: "not-covered"})
	if q.Sort == "due" && noChip && counts.BySLA[store.SLANone] > 0 {
		qv.Hidden = counts.BySLA[store.SLANone]
		qv.HiddenHref = q.chip(func(c *deskQuery) { c.SLA = store.SLANone })
	}

	for _, it := range list.Items {
		row := deskRow{ID: it.ID, Number: it.Number, Subject: it.Subject, Href: "/requests/" + strconv.FormatInt(it.ID, 10),
			Customer: names.customers[it.CustomerID], Product: names.products[it.ProductID], Assignee: names.staff[it.AssigneeID],
			Type: v.T("desk.type." + it.Type), Priority: v.T("desk.priority." + it.Priority), Emergency: it.Priority == licensing.PriorityEmergency,
			State: string(it.State), StateLabel: v.T("desk.state." + string(it.State)), Covered: it.Covered, Activity: it.LastActivityAt}
		if it.CustomerID == 0 {
			row.Customer = v.T("desk.triage")
		}
		if !it.Covered {
			row.Coverage = deskCoverage(v, it)
		}
		if c, ok := clocks[it.ID]; ok {
			row.Clock = &deskClock{Due: c.Due, Left: deskLeft(v, c.Left), State: c.State, StateLabel: v.T("desk.sla." + c.State), Kind: v.T("desk.clock." + string(c.Kind))}
		}
		qv.Rows = append(qv.Rows, row)
	}

	// The filter form's choices.
	for _, stt := range deskStates {
		qv.StateOpts = append(qv.StateOpts, admOption{Value: string(stt), Label: v.T("desk.state." + string(stt)), Selected: slices.Contains(q.States, string(stt))})
	}
	anyOpt := admOption{Value: "", Label: v.T("desk.any")}
	types := deskOpts(q.Type, anyOpt)
	for _, t := range desk.Types {
		types = append(types, admOption{Value: t, Label: v.T("desk.type." + t), Selected: q.Type == t})
	}
	prios := deskOpts(q.Priority, anyOpt)
	for _, pr := range desk.Priorities {
		prios = append(prios, admOption{Value: pr, Label: v.T("desk.priority." + pr), Selected: q.Priority == pr})
	}
	slas := deskOpts(q.SLA, anyOpt)
	for _, sl := range store.SLAStates {
		slas = append(slas, admOption{Value: sl, Label: v.T("desk.sla." + sl), Selected: q.SLA == sl})
	}
	qv.Selects = []deskSelect{
		{"f-type", "type", v.T("desk.filter.type"), types},
		{"f-priority", "priority", v.T("desk.filter.priority"), prios},
		{"f-product", "product", v.T("desk.filter.product"), append(deskOpts(q.Product, anyOpt), names.productOpts(q.Product)...)},
		{"f-customer", "customer", v.T("desk.filter.customer"), append(deskOpts(q.Customer, anyOpt), names.customerOpts(q.Customer)...)},
		{"f-assignee", "assignee", v.T("desk.filter.assignee"), deskOpts(q.Assignee, anyOpt, admOption{Value: "me", Label: v.T("desk.assignee.me")})},
		{"f-covered", "covered", v.T("desk.filter.covered"), deskOpts(q.Covered, anyOpt, admOption{Value: "yes", Label: v.T("desk.covered.yes")}, admOption{Value: "no", Label: v.T("desk.covered.no")})},
		{"f-sla", "sla", v.T("desk.filter.sla"), slas},
		{"f-sort", "sort", v.T("desk.filter.sort"), deskOpts(q.Sort, admOption{Value: "due", Label: v.T("desk.sort.due")}, admOption{Value: "created", Label: v.T("desk.sort.created")},
			admOption{Value: "activity", Label: v.T("desk.sort.activity")})},
	}
	return qv, nil
}

// deskCoverage words why a request is not covered.
func deskCoverage(v *view, r desk.Request) string {
	if id := "desk.coverage." + r.CoverageReason; r.CoverageReason != "" && v.tr.Has(id) {
		return v.T(id)
	}
	if r.CoverageNote != "" {
		return r.CoverageNote
	}
	return v.T("desk.coverage.not_covered")
}

// deskLeft words working time left ("3 h 20 min left") or overdue.
func deskLeft(v *view, d time.Duration) string {
	late := d < 0
	if late {
		d = -d
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var t string
	switch {
	case h > 0 && m > 0:
		t = v.T("desk.dur.hm", "H", h, "M", m)
	case h > 0:
		t = v.T("desk.dur.h", "H", h)
	default:
		t = v.T("desk.dur.m", "M", m)
	}
	if late {
		return v.T("desk.left.late", "Time", t)
	}
	return v.T("desk.left.left", "Time", t)
}

// deskNamesSet names the customers, products and staff a queue shows.
type deskNamesSet struct {
	customers, products, staff map[int64]string
	custOrder, prodOrder       []int64
}

func (n deskNamesSet) customerOpts(selected string) []admOption {
	var out []admOption
	for _, id := range n.custOrder {
		v := strconv.FormatInt(id, 10)
		out = append(out, admOption{Value: v, Label: n.customers[id], Selected: v == selected})
	}
	return out
}

func (n deskNamesSet) productOpts(selected string) []admOption {
	var out []admOption
	for _, id := range n.prodOrder {
		v := strconv.FormatInt(id, 10)
		out = append(out, admOption{Value: v, Label: n.products[id], Selected: v == selected})
	}
	return out
}

// deskNames reads the first page (200) of customers, products and staff
// for the filters and the rows, and any other a row or a filter names.
func (s *Server) deskNames(r *http.Request, v *view, rows []desk.Request, q deskQuery) (deskNamesSet, error) {
	ctx, st, p := r.Context(), s.deps.Store, v.User
	n := deskNamesSet{customers: map[int64]string{}, products: map[int64]string{}, staff: map[int64]string{}}
	all := store.Page{Limit: store.MaxPage}
	cs, err := st.ListCustomers(ctx, p, "", all)
	if err != nil {
		return n, err
	}
	for _, c := range cs.Items {
		n.customers[c.ID] = c.Name
		n.custOrder = append(n.custOrder, c.ID)
	}
	ps, err := st.ListProducts(ctx, p, all)
	if err != nil {
		return n, err
	}
	for _, pr := range ps.Items {
		n.products[pr.ID] = pr.Name
		n.prodOrder = append(n.prodOrder, pr.ID)
	}
	sf, err := st.ListAccounts(ctx, p, store.AccountFilter{Staff: true, Page: all})
	if err != nil {
		return n, err
	}
	for _, a := range sf.Items {
		n.staff[a.ID] = a.Name
	}
	want := []int64{}
	if id, _ := strconv.ParseInt(q.Customer, 10, 64); id != 0 {
		want = append(want, id)
	}
	for _, it := range rows {
		want = append(want, it.CustomerID)
	}
	for _, id := range want {
		if _, ok := n.customers[id]; ok || id == 0 {
			continue
		}
		c, err := st.GetCustomer(ctx, p, id)
		if err != nil {
			return n, err
		}
		n.customers[id] = c.Name
		n.custOrder = append(n.custOrder, id)
	}
	for _, it := range rows {
		if _, ok := n.staff[it.AssigneeID]; ok || it.AssigneeID == 0 {
			continue
		}
		if a, err := st.GetAccount(ctx, p, it.AssigneeID); err == nil {
			n.staff[a.ID] = a.Name
		}
	}
	return n, nil
}

// ---- logging a call

type deskRegistered struct {
	Number, Href, Subject, Customer string
	Another                         string // the form again, for the same customer
	Covered                         bool
	Coverage                        string
}

type deskNewView struct {
	Search     string
	Customers  []admOption
	More       bool
	Customer   *licensing.Customer
	Licenses   *admTable
	Form       *admForm
	Registered *deskRegistered
}

func deskKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) deskNewForm(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.deskNewPage(w, r, v, http.StatusOK, nil)
}

// deskNewPage shows the call form: first the customer, then who called
// and what about. f, when given, is the form coming back with errors.
func (s *Server) deskNewPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	ctx, st, p := r.Context(), s.deps.Store, v.User
	if r.Method == http.MethodGet {
		s.takeFlash(r, v)
	}
	v.Title = v.T("desk.new.title")
	nv := deskNewView{Search: strings.TrimSpace(r.URL.Query().Get("cq"))}
	if id, err := strconv.ParseInt(r.URL.Query().Get("registered"), 10, 64); err == nil && id > 0 {
		req, err := st.GetRequest(ctx, p, id)
		if err != nil {
			return err
		}
		reg := &deskRegistered{Number: req.Number, Href: "/requests/" + strconv.FormatInt(req.ID, 10), Subject: req.Subject, Covered: req.Covered}
		if req.Covered {
			reg.Coverage = v.T("desk.coverage.covered")
		} else {
			reg.Coverage = deskCoverage(v, req)
		}
		if c, err := st.GetCustomer(ctx, p, req.CustomerID); err == nil {
			reg.Customer = c.Name
			reg.Another = fmt.Sprintf("/desk/new?customer=%d", c.ID)
		}
		nv.Registered = reg
	}
	custID, _ := strconv.ParseInt(r.URL.Query().Get("customer"), 10, 64)
	if r.Method == http.MethodPost {
		custID, _ = strconv.ParseInt(r.PostFormValue("customer_id"), 10, 64)
	}
	cs, err := st.ListCustomers(ctx, p, nv.Search, store.Page{Limit: store.MaxPage})
	if err != nil {
		return err
	}
	nv.More = cs.Total > len(cs.Items)
	for _, c := range cs.Items {
		nv.Customers = append(nv.Customers, admOption{Value: strconv.FormatInt(c.ID, 10), Label: c.Name + " (" + c.Code + ")", Selected: c.ID == custID})
	}
	if custID != 0 {
		c, err := st.GetCustomer(ctx, p, custID)
		if err != nil {
			return err
		}
		nv.Customer = &c
		if f == nil {
			vals := url.Values{"channel": {string(desk.ChannelPhone)}, "type": {"fault"}, "priority": {licensing.PriorityNormal}}
			f, err = s.deskCallForm(r, v, c, vals)
			if err != nil {
				return err
			}
		}
		nv.Form = f
		if nv.Licenses, err = s.deskLicenses(r, v, c.ID); err != nil {
			return err
		}
	}
	v.Data = nv
	return s.render(w, status, "desk_new", v)
}

// deskLicenses lists a customer's licenses: what a call will be covered by.
func (s *Server) deskLicenses(r *http.Request, v *view, customerID int64) (*admTable, error) {
	ctx, st := r.Context(), s.deps.Store
	lics, err := st.CustomerLicenses(ctx, v.User, customerID)
	if err != nil {
		return nil, err
	}
	products := map[int64]string{}
	if ps, err := st.ListProducts(ctx, v.User, store.Page{Limit: store.MaxPage}); err == nil {
		for _, pr := range ps.Items {
			products[pr.ID] = pr.Name
		}
	}
	t := &admTable{Caption: v.T("desk.new.licenses"), Empty: v.T("desk.new.no_licenses"),
		Cols: []string{v.T("admin.license.product"), v.T("admin.license.plan"), v.T("admin.license.validity"), v.T("admin.field.status")}}
	today := civil.Of(v.Now.In(sla.Moscow()))
	for _, l := range lics {
		status := admCell{Text: v.T("admin.license.active"), Badge: "met"}
		switch {
		case today.Before(l.ValidFrom):
			status = admCell{Text: v.T("admin.license.future"), Badge: "paused"}
		case today.After(l.ValidTo):
			status = admCell{Text: v.T("admin.license.lapsed"), Badge: "breached"}
		}
		plan := ""
		if l.Plan != nil {
			plan = l.Plan.Name + ", " + l.Plan.WindowStart + "–" + l.Plan.WindowEnd
			if l.Plan.Emergency24x7 {
				plan += ", " + v.T("desk.new.24x7")
			}
		}
		t.Rows = append(t.Rows, []admCell{{Text: admNameOr(products, l.ProductID)}, {Text: plan},
			{Text: v.T("admin.license.from_to", "From", l.ValidFrom.String(), "To", l.ValidTo.String())}, status})
	}
	return t, nil
}

// deskCallForm is the form of a call from customer c.
func (s *Server) deskCallForm(r *http.Request, v *view, c licensing.Customer, vals url.Values) (*admForm, error) {
	ctx, st, p := r.Context(), s.deps.Store, v.User
	contacts, err := st.ListAccounts(ctx, p, store.AccountFilter{CustomerID: c.ID, Page: store.Page{Limit: store.MaxPage}})
	if err != nil {
		return nil, err
	}
	who := []admOption{{Value: "", Label: v.T("desk.new.someone_else")}}
	for _, a := range contacts.Items {
		if a.Disabled {
			continue
		}
		label := a.Name + " — " + v.T("admin.role."+string(a.Role))
		if a.Phone != "" {
			label += ", " + a.Phone
		}
		who = append(who, admOption{Value: strconv.FormatInt(a.ID, 10), Label: label})
	}
	prods, firstLicensed, err := s.deskProductOptions(r, v, c.ID)
	if err != nil {
		return nil, err
	}
	if vals.Get("product_id") == "" {
		vals.Set("product_id", firstLicensed)
	}
	insts, err := st.ListInstances(ctx, p, store.InstanceFilter{CustomerID: c.ID, Page: store.Page{Limit: store.MaxPage}})
	if err != nil {
		return nil, err
	}
	instOpts := []admOption{{Value: "", Label: v.T("desk.new.instance_unknown")}}
	for _, in := range insts.Items {
		label := in.Name
		if pn, ok := admFindOption(prods, strconv.FormatInt(in.ProductID, 10)); ok {
			label += " — " + strings.SplitN(pn, " — ", 2)[0]
		}
		if in.Version != "" {
			label += ", " + in.Version
		}
		instOpts = append(instOpts, admOption{Value: strconv.FormatInt(in.ID, 10), Label: label})
	}
	var types, prios []admOption
	for _, t := range desk.Types {
		types = append(types, admOption{Value: t, Label: v.T("desk.type." + t)})
	}
	for _, pr := range desk.Priorities {
		prios = append(prios, admOption{Value: pr, Label: v.T("desk.priority." + pr), Hint: v.T("desk.priority." + pr + ".definition")})
	}

	channel := admRadioField("channel", v.T("desk.new.channel"), []admOption{
		{Value: string(desk.ChannelPhone), Label: v.T("desk.channel.phone")}, {Value: string(desk.ChannelEmail), Label: v.T("desk.channel.email")}}, vals.Get("channel"))
	channel.Required = true
	requester := admSelectField("requester_id", v.T("desk.new.requester"), who, vals.Get("requester_id"))
	requester.Hint = v.T("desk.new.requester_hint")
	name := admTextField("requester_name", v.T("desk.new.requester_name"), vals)
	name.Autocomplete = "off"
	phone := admTextField("requester_phone", v.T("desk.new.requester_phone"), vals)
	phone.Type, phone.Autocomplete, phone.Hint = "tel", "off", v.T("desk.new.requester_phone_hint")
	product := admSelectField("product_id", v.T("desk.new.product"), prods, vals.Get("product_id"))
	product.Required, product.Wide = true, true
	instance := admSelectField("instance_id", v.T("desk.new.instance"), instOpts, vals.Get("instance_id"))
	typ := admSelectField("type", v.T("desk.new.type"), types, vals.Get("type"))
	typ.Required, typ.Hint = true, v.T("desk.new.type_hint")
	prio := admRadioField("priority", v.T("desk.new.priority"), prios, vals.Get("priority"))
	prio.Required = true
	subject := admTextField("subject", v.T("desk.new.subject"), vals)
	subject.Required, subject.Wide = true, true
	descr := admTextField("description", v.T("desk.new.description"), vals)
	descr.Type, descr.Required, descr.Wide, descr.Hint = "textarea", true, true, v.T("desk.new.description_hint")
	steps := admTextField("steps", v.T("desk.new.steps"), vals)
	steps.Type, steps.Wide = "textarea", true
	expected := admTextField("expected", v.T("desk.new.expected"), vals)
	expected.Type = "textarea"
	actual := admTextField("actual", v.T("desk.new.actual"), vals)
	actual.Type = "textarea"
	key := vals.Get("key")
	if key == "" {
		key = deskKey()
	}
	f := &admForm{ID: "call", Action: "/desk/new", Submit: v.T("desk.new.submit"),
		Hidden: []admHidden{{"customer_id", strconv.FormatInt(c.ID, 10)}, {"key", key}},
		Sections: []admSection{
			{Legend: v.T("desk.new.who"), Fields: []admField{channel, requester, name, phone}},
			{Legend: v.T("desk.new.what"), Fields: []admField{product, instance, typ, prio}},
			{Legend: v.T("desk.new.request"), Fields: []admField{subject, descr}},
			{Legend: v.T("desk.new.fault"), Fields: []admField{steps, expected, actual}},
		}}
	return f.done(v), nil
}

// deskProductOptions lists the products for a request of a customer, each
// with what the customer's license for it says today, and the first one
// with an active license (the likely choice).
func (s *Server) deskProductOptions(r *http.Request, v *view, customerID int64) ([]admOption, string, error) {
	ctx, st, p := r.Context(), s.deps.Store, v.User
	products, err := st.ListProducts(ctx, p, store.Page{Limit: store.MaxPage})
	if err != nil {
		return nil, "", err
	}
	lics, err := st.CustomerLicenses(ctx, p, customerID)
	if err != nil {
		return nil, "", err
	}
	today := civil.Of(v.Now.In(sla.Moscow()))
	prods := []admOption{{Value: "", Label: v.T("admin.choose")}}
	firstLicensed := ""
	for _, pr := range products.Items {
		note := v.T("desk.new.no_license")
		for _, l := range lics {
			if l.ProductID != pr.ID {
				continue
			}
			switch {
			case today.Before(l.ValidFrom):
				note = v.T("desk.new.license_future", "From", l.ValidFrom.String())
			case today.After(l.ValidTo):
				note = v.T("desk.new.license_lapsed", "To", l.ValidTo.String())
			default:
				plan := ""
				if l.Plan != nil {
					plan = l.Plan.Name
				}
				note = v.T("desk.new.license_active", "Plan", plan, "To", l.ValidTo.String())
				if firstLicensed == "" {
					firstLicensed = strconv.FormatInt(pr.ID, 10)
				}
			}
		}
		prods = append(prods, admOption{Value: strconv.FormatInt(pr.ID, 10), Label: pr.Name + " — " + note})
	}
	return prods, firstLicensed, nil
}

func admFindOption(opts []admOption, value string) (string, bool) {
	for _, o := range opts {
		if o.Value == value {
			return o.Label, true
		}
	}
	return "", false
}

// deskRegister registers the call as the agent. A hidden key makes a
// double submit register one request, not two.
func (s *Server) deskRegister(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	ctx, st := r.Context(), s.deps.Store
	form := r.PostForm
	num := func(name string) int64 {
		n, _ := strconv.ParseInt(form.Get(name), 10, 64)
		return n
	}
	in := desk.NewRequest{CustomerID: num("customer_id"), RequesterID: num("requester_id"), RequesterName: form.Get("requester_name"),
		RequesterPhone: form.Get("requester_phone"), ProductID: num("product_id"), InstanceID: num("instance_id"),
		Channel: desk.Channel(form.Get("channel")), Type: form.Get("type"), Priority: form.Get("priority"),
		Subject: form.Get("subject"), Description: form.Get("description"), Steps: strings.TrimSpace(form.Get("steps")),
		Expected: strings.TrimSpace(form.Get("expected")), Actual: strings.TrimSpace(form.Get("actual"))}
	if in.Channel != desk.ChannelPhone && in.Channel != desk.ChannelEmail {
		in.Channel = desk.ChannelPhone
	}
	if in.CustomerID == 0 {
		return apperr.New(apperr.Invalid, "%s", v.T("desk.err.customer_id"))
	}
	key := form.Get("key")
	if key != "" {
		key = "desk-call-" + key
	}
	req, _, err := st.RegisterRequest(ctx, v.User, in, key, s.deps.Calendar())
	if err != nil {
		c, cerr := st.GetCustomer(ctx, v.User, in.CustomerID)
		if cerr != nil {
			return cerr
		}
		vals := admCloneValues(form)
		if apperr.Is(err, apperr.Conflict) {
			vals.Del("key") // the form was sent before with other content: a fresh one
		}
		f, ferr := s.deskCallForm(r, v, c, vals)
		if ferr != nil {
			return ferr
		}
		if !admFailed(v, f, "desk", err) {
			return err
		}
		return s.deskNewPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/desk/new?registered=%d", req.ID), v.T("desk.flash.registered", "Number", req.Number))
}
