package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/civil"
	"tend/internal/licensing"
	"tend/internal/sla"
	"tend/internal/store"
)

// Administration (issue 5, page 8): customers and their contacts,
// licenses, plans with their SLA targets, the production calendar, staff
// accounts and API tokens. Every read and write goes through the store,
// so its access rules and the journal apply: the pages show what the
// caller may read and a refused change answers the store's 403.
//
// The pages are built as data (adminPage: headings, tables, forms) and
// drawn by one template, admin_page.html, so every form has the same
// labels, hints and error wiring.

// adminRoutes registers the admin pages.
func (s *Server) adminRoutes() {
	s.mux.HandleFunc("GET /admin", s.page(false, s.adminIndex))
	s.mux.HandleFunc("GET /admin/customers", s.page(false, s.adminCustomers))
	s.mux.HandleFunc("POST /admin/customers", s.page(false, s.adminCreateCustomer))
	s.mux.HandleFunc("GET /admin/customers/{id}", s.page(false, s.adminCustomer))
	s.mux.HandleFunc("POST /admin/customers/{id}", s.page(false, s.adminUpdateCustomer))
	s.mux.HandleFunc("POST /admin/customers/{id}/contacts", s.page(false, s.adminCreateContact))
	s.mux.HandleFunc("GET /admin/contacts/{id}", s.page(false, s.adminAccount))
	s.mux.HandleFunc("POST /admin/contacts/{id}", s.page(false, s.adminUpdateAccount))
	s.mux.HandleFunc("GET /admin/staff", s.page(false, s.adminStaff))
	s.mux.HandleFunc("POST /admin/staff", s.page(false, s.adminCreateStaff))
	s.mux.HandleFunc("GET /admin/staff/{id}", s.page(false, s.adminAccount))
	s.mux.HandleFunc("POST /admin/staff/{id}", s.page(false, s.adminUpdateAccount))
	s.mux.HandleFunc("POST /admin/accounts/{id}/password", s.page(false, s.adminResetPassword))
	s.mux.HandleFunc("GET /admin/licenses", s.page(false, s.adminLicenses))
	s.mux.HandleFunc("POST /admin/licenses", s.page(false, s.adminCreateLicense))
	s.mux.HandleFunc("GET /admin/licenses/{id}", s.page(false, s.adminLicense))
	s.mux.HandleFunc("POST /admin/licenses/{id}", s.page(false, s.adminUpdateLicense))
	s.mux.HandleFunc("GET /admin/plans", s.page(false, s.adminPlans))
	s.mux.HandleFunc("POST /admin/plans", s.page(false, s.adminCreatePlan))
	s.mux.HandleFunc("GET /admin/plans/{id}", s.page(false, s.adminPlan))
	s.mux.HandleFunc("POST /admin/plans/{id}", s.page(false, s.adminUpdatePlan))
	s.mux.HandleFunc("GET /admin/calendar", s.page(false, s.adminCalendar))
	s.mux.HandleFunc("POST /admin/calendar/import", s.pageMultipart(s.adminImportCalendar))
	s.mux.HandleFunc("GET /admin/tokens", s.page(false, s.adminTokens))
	s.mux.HandleFunc("POST /admin/tokens", s.page(false, s.adminCreateToken))
	s.mux.HandleFunc("POST /admin/tokens/{id}/revoke", s.page(false, s.adminRevokeToken))
}

// ---- the form model, shared with the desk

// admOption is one choice of a select, a radio group or a checkbox group.
type admOption struct {
	Value, Label, Hint string
	Selected           bool
}

// admField is one labelled input. Type is an input type (text, email,
// tel, password, date, time, number, file, datetime-local) or select,
// textarea, checkbox, radios, checkboxes.
type admField struct {
	ID, Name, Label, Type, Value, Hint, Error string
	Autocomplete, InputMode, Placeholder      string
	Accept, Min, Max                          string
	Required, Checked, Wide                   bool
	Options                                   []admOption
}

// DescribedBy names the hint and the error, for aria-describedby.
func (f admField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

type admSection struct {
	Legend string
	Fields []admField
}

type admHidden struct{ Name, Value string }

// form is a POST form: the CSRF token, hidden values, sections of fields.
type admForm struct {
	ID, Action, Submit, CSRF, Error string
	ButtonLabel                     string // the button's accessible name, when Submit alone is ambiguous
	Danger, Inline, Multipart       bool
	Hidden                          []admHidden
	Sections                        []admSection
}

// done gives every field its id; call it once the fields are in.
func (f *admForm) done(v *view) *admForm {
	f.CSRF = v.CSRF
	for i := range f.Sections {
		for j := range f.Sections[i].Fields {
			fd := &f.Sections[i].Fields[j]
			if fd.ID == "" {
				fd.ID = f.ID + "-" + strings.NewReplacer(".", "-", "[", "-", "]", "", "_", "-").Replace(fd.Name)
			}
		}
	}
	return f
}

func (f *admForm) field(name string) *admField {
	for i := range f.Sections {
		for j := range f.Sections[i].Fields {
			if f.Sections[i].Fields[j].Name == name {
				return &f.Sections[i].Fields[j]
			}
		}
	}
	return nil
}

// invalid puts a message next to its field, or above the form.
func (f *admForm) invalid(name, msg string) {
	if fd := f.field(name); fd != nil && name != "" {
		fd.Error = msg
		return
	}
	f.Error = msg
}

// admFailed shows a store error on the form when it is about the input (an
// invalid or taken value) and reports whether it did; anything else
// (refused, not found, internal) is left to the error page.
func admFailed(v *view, f *admForm, area string, err error) bool {
	e := apperr.As(err)
	if e.Code != apperr.Invalid && !(e.Code == apperr.Conflict && e.Field != "") {
		return false
	}
	field := e.Field
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i] // entitlements[2] → entitlements
	}
	f.invalid(field, admFieldMessage(v, area, e.Code, field, e.Message))
	return true
}

// admFieldMessage words a store error in the reader's language where the
// catalog knows the field, and falls back to the store's own message.
func admFieldMessage(v *view, area string, code apperr.Code, field, fallback string) string {
	for _, id := range []string{area + ".err." + string(code) + "." + field, area + ".err." + field} {
		if field != "" && v.tr.Has(id) {
			return v.T(id)
		}
	}
	return fallback
}

func admTextField(name, label string, vals url.Values) admField {
	return admField{Name: name, Label: label, Type: "text", Value: vals.Get(name)}
}

func admSelectField(name, label string, opts []admOption, selected string) admField {
	opts = slices.Clone(opts)
	for i := range opts {
		opts[i].Selected = opts[i].Value == selected
	}
	return admField{Name: name, Label: label, Type: "select", Value: selected, Options: opts}
}

func admRadioField(name, label string, opts []admOption, selected string) admField {
	f := admSelectField(name, label, opts, selected)
	f.Type = "radios"
	return f
}

func admChecksField(name, label string, opts []admOption, selected []string) admField {
	opts = slices.Clone(opts)
	for i := range opts {
		opts[i].Selected = slices.Contains(selected, opts[i].Value)
	}
	return admField{Name: name, Label: label, Type: "checkboxes", Options: opts}
}

func admCheckField(name, label string, checked bool) admField {
	return admField{Name: name, Label: label, Type: "checkbox", Checked: checked}
}

// ---- the page model

type admLink struct{ Href, Label string }

// cell is one table cell: text, a link, a badge or a small form. Label,
// when set, is a link's accessible name (when Text alone is ambiguous in
// a list); Note is a second, quieter line (a reason, an error); Download
// marks a link to a file.
type admCell struct {
	Text, Href, Badge, Label, Note string
	Download                       bool
	Time                           *time.Time
	Form                           *admForm
}

type admTable struct {
	Caption string
	Cols    []string
	Rows    [][]admCell
	Empty   string
	Next    string // the next page's address, when there is one
	More    string // its link text
}

type admFact struct{ Term, Value, Badge, Href string }

// block is one part of an admin page: a table, a form, facts, the secret
// of a new token, or a year of the calendar.
type admBlock struct {
	ID, Heading, Intro string
	Links              []admLink
	Facts              []admFact
	Table              *admTable
	Form               *admForm
	Secret             string
	Months             []admCalMonth
	Weekdays           []admWeekday
	Legend             []admFact
}

type admWeekday struct{ Short, Full string }

type adminPage struct {
	Section string // the admin navigation's current item
	Heading string
	Intro   string
	Back    *admLink
	Search  *admSearch // a search box above the blocks
	Filter  *admFilter // choices that narrow a list (GET), above the blocks
	At      *admAt     // the plan page's "registered at" box
	Blocks  []admBlock
}

type admSearch struct{ Action, Value, Label, Submit string }

// admFilter is a GET form of choices, such as the mail log's outcome and
// direction; its fields show their errors like a POST form's.
type admFilter struct {
	Action, Label, Submit, Reset string
	Fields                       []admField
}

type admAt struct {
	Action string
	Field  admField
	Submit string
}

// adminNav lists the admin sections in order.
func adminNav(v *view, current string) []admNavItem {
	items := []admNavItem{}
	for _, s := range []string{"index", "customers", "licenses", "plans", "products", "calendar", "staff", "tokens", "mailboxes", "mail"} {
		// Mailboxes are the admins' alone (their passwords): the access
		// rules decide whether the section is offered at all.
		if s == "mailboxes" && !auth.Can(v.User, auth.Read, auth.Resource{Kind: auth.KindMailbox}) {
			continue
		}
		href := "/admin/" + s
		if s == "index" {
			href = "/admin"
		}
		items = append(items, admNavItem{Href: href, Label: v.T("admin.nav." + s), Current: s == current})
	}
	return items
}

type admNavItem struct {
	Href, Label string
	Current     bool
}

// adminView is what admin_page.html gets as Data.
type adminView struct {
	Nav []admNavItem
	adminPage
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, v *view, status int, pg adminPage) error {
	if v.Title == "" {
		v.Title = pg.Heading
	}
	if r.Method == http.MethodGet {
		s.takeFlash(r, v)
	}
	v.Data = adminView{Nav: adminNav(v, pg.Section), adminPage: pg}
	return s.render(w, status, "admin_page", v)
}

// adminGuard keeps customers out of the admin area: the staff list is
// the vendor's, so the access rules refuse it to every customer role.
func adminGuard(v *view) error {
	_, err := auth.ListScope(v.User, auth.KindStaff)
	return err
}

func admPathID(r *http.Request, v *view) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "%s", v.T("error.not_found"))
	}
	return id, nil
}

func admAfterParam(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	return max(n, 0)
}

// admNextHref is the address of the next page of a list, keeping the query.
func admNextHref(r *http.Request, next int64) string {
	if next == 0 {
		return ""
	}
	q := r.URL.Query()
	q.Set("after", strconv.FormatInt(next, 10))
	return r.URL.Path + "?" + q.Encode()
}

func admMskTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(sla.Moscow()).Format("02.01.2006 15:04")
}

func admYesNo(v *view, b bool) string {
	if b {
		return v.T("admin.yes")
	}
	return v.T("admin.no")
}

// ---- overview

func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	ctx, st, p := r.Context(), s.deps.Store, v.User
	one := store.Page{Limit: 1}
	var facts []admFact
	count := func(section string, n int, err error) error {
		if err != nil && !apperr.Is(err, apperr.Forbidden) {
			return err
		}
		if err == nil {
			facts = append(facts, admFact{Term: v.T("admin.nav." + section), Value: strconv.Itoa(n), Href: "/admin/" + section})
		}
		return nil
	}
	cs, err := st.ListCustomers(ctx, p, "", one)
	if err := count("customers", cs.Total, err); err != nil {
		return err
	}
	ls, err := st.ListLicenses(ctx, p, store.LicenseFilter{Page: one})
	if err := count("licenses", ls.Total, err); err != nil {
		return err
	}
	ps, err := st.ListPlans(ctx, p, one)
	if err := count("plans", ps.Total, err); err != nil {
		return err
	}
	prs, err := st.ListProducts(ctx, p, one)
	if err := count("products", prs.Total, err); err != nil {
		return err
	}
	sf, err := st.ListAccounts(ctx, p, store.AccountFilter{Staff: true, Page: one})
	if err := count("staff", sf.Total, err); err != nil {
		return err
	}
	ts, err := st.ListTokens(ctx, p, one)
	if err := count("tokens", ts.Total, err); err != nil {
		return err
	}
	mbs, err := st.ListMailboxes(ctx, p, one)
	if err := count("mailboxes", mbs.Total, err); err != nil {
		return err
	}
	cal := s.deps.Calendar()
	year := v.Now.In(sla.Moscow()).Year()
	var calFacts []admFact
	for _, y := range []int{year, year + 1} {
		calFacts = append(calFacts, admCalendarStatus(v, cal, y))
	}
	pg := adminPage{Section: "index", Heading: v.T("admin.title"), Intro: v.T("admin.intro"), Blocks: []admBlock{
		{ID: "adm-counts", Heading: v.T("admin.index.records"), Facts: facts},
		{ID: "adm-cal", Heading: v.T("admin.nav.calendar"), Facts: calFacts, Links: []admLink{{"/admin/calendar", v.T("admin.calendar.open")}}},
	}}
	if v.Role() != string(auth.RoleAdmin) {
		pg.Blocks = append([]admBlock{{ID: "adm-role", Intro: v.T("admin.index.not_admin")}}, pg.Blocks...)
	}
	return s.renderAdmin(w, r, v, http.StatusOK, pg)
}

func admCalendarStatus(v *view, cal *sla.Calendar, year int) admFact {
	if cal.Provisional(year) {
		return admFact{Term: strconv.Itoa(year), Value: v.T("admin.calendar.provisional"), Badge: "at_risk"}
	}
	return admFact{Term: strconv.Itoa(year), Value: v.T("admin.calendar.decree", "Source", cal.Source(year)), Badge: "met"}
}

// ---- customers

func admCustomerValues(c licensing.Customer) url.Values {
	return url.Values{"code": {c.Code}, "name": {c.Name}, "phone": {c.Phone}, "email": {c.Email}, "notes": {c.Notes}}
}

func admCustomerFrom(vals url.Values) licensing.Customer {
	return licensing.Customer{Code: vals.Get("code"), Name: vals.Get("name"), Phone: strings.TrimSpace(vals.Get("phone")),
		Email: strings.TrimSpace(vals.Get("email")), Notes: vals.Get("notes")}
}

func admCustomerForm(v *view, id, action, submit string, vals url.Values) *admForm {
	code := admTextField("code", v.T("admin.customer.code"), vals)
	code.Hint, code.Required = v.T("admin.customer.code_hint"), true
	name := admTextField("name", v.T("admin.customer.name"), vals)
	name.Required, name.Autocomplete = true, "organization"
	phone := admTextField("phone", v.T("admin.field.phone"), vals)
	phone.Type, phone.Autocomplete = "tel", "tel"
	email := admTextField("email", v.T("admin.field.email"), vals)
	email.Type, email.Autocomplete = "email", "email"
	notes := admTextField("notes", v.T("admin.field.notes"), vals)
	notes.Type, notes.Wide = "textarea", true
	f := &admForm{ID: id, Action: action, Submit: submit, Sections: []admSection{{Fields: []admField{code, name, phone, email, notes}}}}
	return f.done(v)
}

func (s *Server) adminCustomers(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admCustomersPage(w, r, v, http.StatusOK, admCustomerForm(v, "new-customer", "/admin/customers", v.T("admin.customer.create"), url.Values{}))
}

func (s *Server) admCustomersPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	list, err := s.deps.Store.ListCustomers(r.Context(), v.User, q, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("admin.customers.caption", "N", list.Total), Empty: v.T("admin.empty"),
		Cols: []string{v.T("admin.customer.code"), v.T("admin.customer.name"), v.T("admin.field.phone"), v.T("admin.field.email")},
		Next: admNextHref(r, list.Next), More: v.T("admin.more")}
	for _, c := range list.Items {
		t.Rows = append(t.Rows, []admCell{{Text: c.Code, Href: fmt.Sprintf("/admin/customers/%d", c.ID)}, {Text: c.Name}, {Text: c.Phone}, {Text: c.Email}})
	}
	pg := adminPage{Section: "customers", Heading: v.T("admin.nav.customers"), Search: admSearchFor(r, v, q), Blocks: []admBlock{
		{ID: "customers", Table: t},
		{ID: "new-customer-block", Heading: v.T("admin.customer.new"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func admSearchFor(r *http.Request, v *view, q string) *admSearch {
	return &admSearch{Action: r.URL.Path, Value: q, Label: v.T("admin.search"), Submit: v.T("admin.search.submit")}
}

func (s *Server) adminCreateCustomer(w http.ResponseWriter, r *http.Request, v *view) error {
	c, err := s.deps.Store.CreateCustomer(r.Context(), v.User, admCustomerFrom(r.PostForm))
	if err != nil {
		f := admCustomerForm(v, "new-customer", "/admin/customers", v.T("admin.customer.create"), r.PostForm)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admCustomersPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/customers/%d", c.ID), v.T("admin.flash.created", "Name", c.Name))
}

func (s *Server) adminCustomer(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admCustomerPage(w, r, v, http.StatusOK, nil, nil)
}

// customerPage shows a customer: its form, its contacts with a form for a
// new one, and its licenses. edit or contact, when given, are forms
// coming back with errors.
func (s *Server) admCustomerPage(w http.ResponseWriter, r *http.Request, v *view, status int, edit, contact *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	ctx, st := r.Context(), s.deps.Store
	c, err := st.GetCustomer(ctx, v.User, id)
	if err != nil {
		return err
	}
	if edit == nil {
		edit = admCustomerForm(v, "customer", fmt.Sprintf("/admin/customers/%d", id), v.T("admin.save"), admCustomerValues(c))
	}
	if contact == nil {
		contact = admAccountForm(v, "new-contact", fmt.Sprintf("/admin/customers/%d/contacts", id), v.T("admin.contact.create"), false, true, url.Values{"role": {string(auth.RoleOperator)}, "lang": {"ru"}})
	}
	contacts, err := st.ListAccounts(ctx, v.User, store.AccountFilter{CustomerID: id, Page: store.Page{Limit: store.MaxPage}})
	if err != nil {
		return err
	}
	ct := &admTable{Caption: v.T("admin.contacts.caption", "N", contacts.Total), Empty: v.T("admin.empty"),
		Cols: []string{v.T("admin.field.name"), v.T("admin.field.login"), v.T("admin.field.role"), v.T("admin.field.phone"), v.T("admin.field.status")}}
	for _, a := range contacts.Items {
		ct.Rows = append(ct.Rows, []admCell{{Text: a.Name, Href: fmt.Sprintf("/admin/contacts/%d", a.ID)}, {Text: a.Login},
			{Text: v.T("admin.role." + string(a.Role))}, {Text: a.Phone}, admAccountStatus(v, a)})
	}
	lics, err := st.ListLicenses(ctx, v.User, store.LicenseFilter{CustomerID: id, Page: store.Page{Limit: store.MaxPage}})
	if err != nil && !apperr.Is(err, apperr.Forbidden) {
		return err
	}
	names, err := s.admNamesFor(r, v)
	if err != nil {
		return err
	}
	lt := s.admLicenseTable(v, names, lics.Items)
	pg := adminPage{Section: "customers", Heading: c.Name, Back: &admLink{"/admin/customers", v.T("admin.back.customers")}, Blocks: []admBlock{
		{ID: "customer-block", Heading: v.T("admin.customer.edit"), Form: edit},
		{ID: "contacts", Heading: v.T("admin.contacts"), Table: ct},
		{ID: "new-contact-block", Heading: v.T("admin.contact.new"), Intro: v.T("admin.contact.new_intro"), Form: contact},
		{ID: "licenses", Heading: v.T("admin.nav.licenses"), Table: lt, Links: []admLink{{fmt.Sprintf("/admin/licenses?customer=%d", id), v.T("admin.license.new_for")}}},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminUpdateCustomer(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	in := admCustomerFrom(r.PostForm)
	c, err := s.deps.Store.UpdateCustomer(r.Context(), v.User, id, func(c *licensing.Customer) error {
		c.Code, c.Name, c.Phone, c.Email, c.Notes = in.Code, in.Name, in.Phone, in.Email, in.Notes
		return nil
	})
	if err != nil {
		f := admCustomerForm(v, "customer", fmt.Sprintf("/admin/customers/%d", id), v.T("admin.save"), r.PostForm)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admCustomerPage(w, r, v, http.StatusUnprocessableEntity, f, nil)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/customers/%d", id), v.T("admin.flash.saved", "Name", c.Name))
}

// ---- accounts: contacts and staff

func admAccountStatus(v *view, a auth.Account) admCell {
	if a.Disabled {
		return admCell{Text: v.T("admin.account.disabled"), Badge: "breached"}
	}
	return admCell{Text: v.T("admin.account.active"), Badge: "met"}
}

func admAccountValues(a auth.Account) url.Values {
	vals := url.Values{"login": {a.Login}, "name": {a.Name}, "phone": {a.Phone}, "role": {string(a.Role)},
		"department": {string(a.Department)}, "lang": {a.Lang}}
	if a.Disabled {
		vals.Set("disabled", "on")
	}
	return vals
}

// admAccountForm is the form of a staff account (staff) or a contact. A new
// account gets an initial password field; an existing one the disabled box.
func admAccountForm(v *view, id, action, submit string, staff, create bool, vals url.Values) *admForm {
	login := admTextField("login", v.T("admin.field.login"), vals)
	login.Type, login.Required, login.Autocomplete, login.Hint = "email", true, "off", v.T("admin.account.login_hint")
	name := admTextField("name", v.T("admin.field.name"), vals)
	name.Required, name.Autocomplete = true, "off"
	phone := admTextField("phone", v.T("admin.field.phone"), vals)
	phone.Type, phone.Autocomplete = "tel", "off"
	roles := auth.CustomerRoles
	if staff {
		roles = auth.StaffRoles
	}
	var ro []admOption
	for _, rl := range roles {
		ro = append(ro, admOption{Value: string(rl), Label: v.T("admin.role." + string(rl))})
	}
	fields := []admField{login, name, phone, admSelectField("role", v.T("admin.field.role"), ro, vals.Get("role"))}
	if staff {
		do := []admOption{{Value: "", Label: v.T("admin.department.default")}}
		for _, d := range auth.Departments {
			do = append(do, admOption{Value: string(d), Label: v.T("admin.department." + string(d))})
		}
		fields = append(fields, admSelectField("department", v.T("admin.field.department"), do, vals.Get("department")))
	}
	fields = append(fields, admSelectField("lang", v.T("admin.field.lang"), []admOption{{Value: "ru", Label: "Русский"}, {Value: "en", Label: "English"}}, vals.Get("lang")))
	if create {
		pw := admField{Name: "password", Label: v.T("admin.account.initial_password"), Type: "password", Autocomplete: "new-password", Hint: v.T("admin.account.initial_password_hint")}
		fields = append(fields, pw)
	} else {
		fields = append(fields, admCheckField("disabled", v.T("admin.account.disable"), vals.Get("disabled") != ""))
	}
	return (&admForm{ID: id, Action: action, Submit: submit, Sections: []admSection{{Fields: fields}}}).done(v)
}

func admAccountFrom(vals url.Values) auth.Account {
	return auth.Account{Login: vals.Get("login"), Name: strings.TrimSpace(vals.Get("name")), Phone: strings.TrimSpace(vals.Get("phone")),
		Role: auth.Role(vals.Get("role")), Department: auth.Department(vals.Get("department")), Lang: vals.Get("lang"), Disabled: vals.Get("disabled") != ""}
}

func (s *Server) adminCreateContact(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	a := admAccountFrom(r.PostForm)
	a.CustomerID, a.Department, a.Disabled = id, "", false
	out, err := s.deps.Store.CreateAccount(r.Context(), v.User, a, r.PostFormValue("password"))
	if err != nil {
		vals := admCloneValues(r.PostForm)
		vals.Del("password")
		f := admAccountForm(v, "new-contact", fmt.Sprintf("/admin/customers/%d/contacts", id), v.T("admin.contact.create"), false, true, vals)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admCustomerPage(w, r, v, http.StatusUnprocessableEntity, nil, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/customers/%d#contacts", id), v.T("admin.flash.created", "Name", out.Name))
}

func admCloneValues(in url.Values) url.Values {
	out := url.Values{}
	for k, v := range in {
		out[k] = slices.Clone(v)
	}
	return out
}

func (s *Server) adminStaff(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admStaffPage(w, r, v, http.StatusOK, admAccountForm(v, "new-staff", "/admin/staff", v.T("admin.staff.create"), true, true, url.Values{"role": {string(auth.RoleAgent)}, "lang": {"ru"}}))
}

func (s *Server) admStaffPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	list, err := s.deps.Store.ListAccounts(r.Context(), v.User, store.AccountFilter{Staff: true, Query: q, Page: store.Page{After: admAfterParam(r), Limit: 50}})
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("admin.staff.caption", "N", list.Total), Empty: v.T("admin.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("admin.field.name"), v.T("admin.field.login"), v.T("admin.field.role"), v.T("admin.field.department"), v.T("admin.field.status")}}
	for _, a := range list.Items {
		dept := ""
		if a.Department != "" {
			dept = v.T("admin.department." + string(a.Department))
		}
		t.Rows = append(t.Rows, []admCell{{Text: a.Name, Href: fmt.Sprintf("/admin/staff/%d", a.ID)}, {Text: a.Login},
			{Text: v.T("admin.role." + string(a.Role))}, {Text: dept}, admAccountStatus(v, a)})
	}
	pg := adminPage{Section: "staff", Heading: v.T("admin.nav.staff"), Search: admSearchFor(r, v, q), Blocks: []admBlock{
		{ID: "staff", Table: t},
		{ID: "new-staff-block", Heading: v.T("admin.staff.new"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminCreateStaff(w http.ResponseWriter, r *http.Request, v *view) error {
	a := admAccountFrom(r.PostForm)
	a.Disabled = false
	if a.Department == "" && a.Role.IsStaff() {
		a.Department = auth.DefaultDepartment(a.Role)
	}
	out, err := s.deps.Store.CreateAccount(r.Context(), v.User, a, r.PostFormValue("password"))
	if err != nil {
		vals := admCloneValues(r.PostForm)
		vals.Del("password")
		f := admAccountForm(v, "new-staff", "/admin/staff", v.T("admin.staff.create"), true, true, vals)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admStaffPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/staff/%d", out.ID), v.T("admin.flash.created", "Name", out.Name))
}

// admAccountHref is where an account is edited: staff and contacts live
// under their own sections.
func admAccountHref(a auth.Account) string {
	if a.Role.IsStaff() {
		return fmt.Sprintf("/admin/staff/%d", a.ID)
	}
	return fmt.Sprintf("/admin/contacts/%d", a.ID)
}

func (s *Server) adminAccount(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admAccountPage(w, r, v, http.StatusOK, nil, nil)
}

// accountPage shows one staff account or contact with its form and the
// password reset.
func (s *Server) admAccountPage(w http.ResponseWriter, r *http.Request, v *view, status int, edit, reset *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	a, err := s.deps.Store.GetAccount(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	staff := a.Role.IsStaff()
	if r.URL.Path != admAccountHref(a) && !strings.HasPrefix(r.URL.Path, "/admin/accounts/") {
		return apperr.New(apperr.NotFound, "%s", v.T("error.not_found"))
	}
	if edit == nil {
		edit = admAccountForm(v, "account", admAccountHref(a), v.T("admin.save"), staff, false, admAccountValues(a))
	}
	if reset == nil {
		reset = admPasswordForm(v, a.ID)
	}
	pg := adminPage{Section: "staff", Heading: a.Name, Blocks: []admBlock{
		{ID: "account-block", Heading: v.T("admin.account.edit"), Facts: []admFact{
			{Term: v.T("admin.field.role"), Value: v.T("admin.role." + string(a.Role))},
			{Term: v.T("admin.account.created"), Value: admMskTime(a.CreatedAt)},
		}, Form: edit},
		{ID: "password-block", Heading: v.T("admin.account.reset"), Intro: v.T("admin.account.reset_intro"), Form: reset},
	}}
	if staff {
		pg.Back = &admLink{"/admin/staff", v.T("admin.back.staff")}
	} else {
		pg.Section = "customers"
		pg.Back = &admLink{fmt.Sprintf("/admin/customers/%d#contacts", a.CustomerID), v.T("admin.back.customer")}
	}
	return s.renderAdmin(w, r, v, status, pg)
}

func admPasswordForm(v *view, id int64) *admForm {
	pw := admField{Name: "password", Label: v.T("admin.account.new_password"), Type: "password", Autocomplete: "new-password", Required: true, Hint: v.T("password.hint")}
	return (&admForm{ID: "reset", Action: fmt.Sprintf("/admin/accounts/%d/password", id), Submit: v.T("admin.account.reset_submit"),
		Sections: []admSection{{Fields: []admField{pw}}}}).done(v)
}

func (s *Server) adminUpdateAccount(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	before, err := s.deps.Store.GetAccount(ctx, v.User, id)
	if err != nil {
		return err
	}
	if r.URL.Path != admAccountHref(before) {
		return apperr.New(apperr.NotFound, "%s", v.T("error.not_found"))
	}
	in := admAccountFrom(r.PostForm)
	a, err := s.deps.Store.UpdateAccount(ctx, v.User, id, func(a *auth.Account) error {
		a.Login, a.Name, a.Phone, a.Role, a.Lang, a.Disabled = in.Login, in.Name, in.Phone, in.Role, in.Lang, in.Disabled
		if a.Role.IsStaff() {
			a.Department = in.Department
			if a.Department == "" {
				a.Department = auth.DefaultDepartment(a.Role)
			}
		}
		return nil
	})
	if err != nil {
		f := admAccountForm(v, "account", admAccountHref(before), v.T("admin.save"), before.Role.IsStaff(), false, r.PostForm)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admAccountPage(w, r, v, http.StatusUnprocessableEntity, f, nil)
	}
	return s.redirect(w, r, admAccountHref(a), v.T("admin.flash.saved", "Name", a.Name))
}

func (s *Server) adminResetPassword(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := s.deps.Store.GetAccount(ctx, v.User, id)
	if err != nil {
		return err
	}
	if err := s.deps.Store.SetPassword(ctx, v.User, id, "", r.PostFormValue("password")); err != nil {
		f := admPasswordForm(v, id)
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admAccountPage(w, r, v, http.StatusUnprocessableEntity, nil, f)
	}
	return s.redirect(w, r, admAccountHref(a), v.T("admin.flash.password", "Name", a.Name))
}

// ---- licenses

// adminNames are the names the license and token tables show.
type adminNames struct {
	customers, products, plans map[int64]string
	customerOpts, productOpts  []admOption
	planOpts                   []admOption
}

func (s *Server) admNamesFor(r *http.Request, v *view) (adminNames, error) {
	ctx, st, p := r.Context(), s.deps.Store, v.User
	n := adminNames{customers: map[int64]string{}, products: map[int64]string{}, plans: map[int64]string{}}
	all := store.Page{Limit: store.MaxPage}
	cs, err := st.ListCustomers(ctx, p, "", all)
	if err != nil {
		return n, err
	}
	for _, c := range cs.Items {
		n.customers[c.ID] = c.Name
		n.customerOpts = append(n.customerOpts, admOption{Value: strconv.FormatInt(c.ID, 10), Label: c.Name + " (" + c.Code + ")"})
	}
	ps, err := st.ListProducts(ctx, p, all)
	if err != nil {
		return n, err
	}
	for _, pr := range ps.Items {
		n.products[pr.ID] = pr.Name
		n.productOpts = append(n.productOpts, admOption{Value: strconv.FormatInt(pr.ID, 10), Label: pr.Name})
	}
	pl, err := st.ListPlans(ctx, p, all)
	if err != nil && !apperr.Is(err, apperr.Forbidden) {
		return n, err
	}
	for _, x := range pl.Items {
		n.plans[x.ID] = x.Name
		n.planOpts = append(n.planOpts, admOption{Value: strconv.FormatInt(x.ID, 10), Label: x.Name})
	}
	return n, nil
}

func admNameOr(m map[int64]string, id int64) string {
	if n, ok := m[id]; ok {
		return n
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (s *Server) admLicenseTable(v *view, n adminNames, items []licensing.License) *admTable {
	t := &admTable{Empty: v.T("admin.empty"), Cols: []string{v.T("admin.license.number"), v.T("admin.license.customer"), v.T("admin.license.product"),
		v.T("admin.license.plan"), v.T("admin.license.validity"), v.T("admin.field.status"), v.T("admin.license.entitlements")}}
	today := civil.Of(v.Now.In(sla.Moscow()))
	for _, l := range items {
		status := admCell{Text: v.T("admin.license.active"), Badge: "met"}
		switch {
		case today.Before(l.ValidFrom):
			status = admCell{Text: v.T("admin.license.future"), Badge: "paused"}
		case today.After(l.ValidTo):
			status = admCell{Text: v.T("admin.license.lapsed"), Badge: "breached"}
		}
		var ents []string
		for _, e := range l.Entitlements {
			ents = append(ents, v.T("admin.entitlement."+string(e)))
		}
		t.Rows = append(t.Rows, []admCell{
			{Text: "#" + strconv.FormatInt(l.ID, 10), Href: fmt.Sprintf("/admin/licenses/%d", l.ID)},
			{Text: admNameOr(n.customers, l.CustomerID), Href: fmt.Sprintf("/admin/customers/%d", l.CustomerID)},
			{Text: admNameOr(n.products, l.ProductID)},
			{Text: admNameOr(n.plans, l.PlanID), Href: fmt.Sprintf("/admin/plans/%d", l.PlanID)},
			{Text: v.T("admin.license.from_to", "From", l.ValidFrom.String(), "To", l.ValidTo.String())},
			status,
			{Text: strings.Join(ents, ", ")},
		})
	}
	return t
}

func admLicenseValues(l licensing.License) url.Values {
	vals := url.Values{"customer_id": {strconv.FormatInt(l.CustomerID, 10)}, "product_id": {strconv.FormatInt(l.ProductID, 10)},
		"plan_id": {strconv.FormatInt(l.PlanID, 10)}, "valid_from": {l.ValidFrom.String()}, "valid_to": {l.ValidTo.String()}, "notes": {l.Notes}}
	for _, e := range l.Entitlements {
		vals.Add("entitlements", string(e))
	}
	return vals
}

func admLicenseForm(v *view, n adminNames, id, action, submit string, vals url.Values) *admForm {
	choose := []admOption{{Value: "", Label: v.T("admin.choose")}}
	var ents []admOption
	for _, e := range licensing.Entitlements {
		ents = append(ents, admOption{Value: string(e), Label: v.T("admin.entitlement." + string(e)), Hint: v.T("admin.entitlement." + string(e) + ".hint")})
	}
	from := admTextField("valid_from", v.T("admin.license.valid_from"), vals)
	from.Type, from.Required = "date", true
	to := admTextField("valid_to", v.T("admin.license.valid_to"), vals)
	to.Type, to.Required, to.Hint = "date", true, v.T("admin.license.valid_to_hint")
	notes := admTextField("notes", v.T("admin.field.notes"), vals)
	notes.Type, notes.Wide = "textarea", true
	cust := admSelectField("customer_id", v.T("admin.license.customer"), append(slices.Clone(choose), n.customerOpts...), vals.Get("customer_id"))
	prod := admSelectField("product_id", v.T("admin.license.product"), append(slices.Clone(choose), n.productOpts...), vals.Get("product_id"))
	plan := admSelectField("plan_id", v.T("admin.license.plan"), append(slices.Clone(choose), n.planOpts...), vals.Get("plan_id"))
	cust.Required, prod.Required, plan.Required = true, true, true
	plan.Hint = v.T("admin.license.plan_hint")
	ent := admChecksField("entitlements", v.T("admin.license.entitlements"), ents, vals["entitlements"])
	ent.Wide = true
	return (&admForm{ID: id, Action: action, Submit: submit, Sections: []admSection{
		{Fields: []admField{cust, prod, plan, from, to}},
		{Fields: []admField{ent, notes}},
	}}).done(v)
}

// admLicenseFrom reads the license form; a date that does not parse is
// reported on its field.
func admLicenseFrom(v *view, vals url.Values) (licensing.License, *admFormErr) {
	l := licensing.License{Notes: vals.Get("notes"), Entitlements: []licensing.Entitlement{}}
	l.CustomerID, _ = strconv.ParseInt(vals.Get("customer_id"), 10, 64)
	l.ProductID, _ = strconv.ParseInt(vals.Get("product_id"), 10, 64)
	l.PlanID, _ = strconv.ParseInt(vals.Get("plan_id"), 10, 64)
	for _, e := range vals["entitlements"] {
		l.Entitlements = append(l.Entitlements, licensing.Entitlement(e))
	}
	for _, d := range []struct {
		name string
		to   *civil.Date
	}{{"valid_from", &l.ValidFrom}, {"valid_to", &l.ValidTo}} {
		s := strings.TrimSpace(vals.Get(d.name))
		if s == "" {
			continue // the store names the missing date
		}
		date, err := civil.Parse(s)
		if err != nil {
			return l, &admFormErr{d.name, v.T("admin.err.date")}
		}
		*d.to = date
	}
	return l, nil
}

// admFormErr is an input the page itself could not read.
type admFormErr struct{ Field, Message string }

func (s *Server) adminLicenses(w http.ResponseWriter, r *http.Request, v *view) error {
	names, err := s.admNamesFor(r, v)
	if err != nil {
		return err
	}
	today := civil.Of(v.Now.In(sla.Moscow()))
	vals := url.Values{"valid_from": {today.String()}, "valid_to": {today.AddDays(364).String()}, "customer_id": {r.URL.Query().Get("customer")}}
	for _, e := range []licensing.Entitlement{licensing.Consultation, licensing.ImprovementsPlanned} {
		vals.Add("entitlements", string(e))
	}
	return s.admLicensesPage(w, r, v, http.StatusOK, names, admLicenseForm(v, names, "new-license", "/admin/licenses", v.T("admin.license.create"), vals))
}

func (s *Server) admLicensesPage(w http.ResponseWriter, r *http.Request, v *view, status int, names adminNames, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	filter := store.LicenseFilter{Page: store.Page{After: admAfterParam(r), Limit: 50}}
	filter.CustomerID, _ = strconv.ParseInt(r.URL.Query().Get("customer"), 10, 64)
	list, err := s.deps.Store.ListLicenses(r.Context(), v.User, filter)
	if err != nil {
		return err
	}
	t := s.admLicenseTable(v, names, list.Items)
	t.Caption, t.Next, t.More = v.T("admin.licenses.caption", "N", list.Total), admNextHref(r, list.Next), v.T("admin.more")
	pg := adminPage{Section: "licenses", Heading: v.T("admin.nav.licenses"), Blocks: []admBlock{
		{ID: "licenses", Table: t},
		{ID: "new-license-block", Heading: v.T("admin.license.new"), Form: f},
	}}
	if filter.CustomerID != 0 {
		pg.Blocks[0].Links = []admLink{{"/admin/licenses", v.T("admin.licenses.all")}}
	}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminCreateLicense(w http.ResponseWriter, r *http.Request, v *view) error {
	names, err := s.admNamesFor(r, v)
	if err != nil {
		return err
	}
	f := admLicenseForm(v, names, "new-license", "/admin/licenses", v.T("admin.license.create"), r.PostForm)
	l, ferr := admLicenseFrom(v, r.PostForm)
	if ferr != nil {
		// Access first: a refused caller learns nothing from validation.
		if err := auth.Authorize(v.User, auth.Create, auth.Resource{Kind: auth.KindLicense, CustomerID: l.CustomerID}); err != nil {
			return err
		}
		f.invalid(ferr.Field, ferr.Message)
		return s.admLicensesPage(w, r, v, http.StatusUnprocessableEntity, names, f)
	}
	out, err := s.deps.Store.CreateLicense(r.Context(), v.User, l)
	if err != nil {
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admLicensesPage(w, r, v, http.StatusUnprocessableEntity, names, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/licenses/%d", out.ID), v.T("admin.flash.license_created", "ID", out.ID))
}

func (s *Server) adminLicense(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admLicensePage(w, r, v, http.StatusOK, nil)
}

func (s *Server) admLicensePage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	l, err := s.deps.Store.GetLicense(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	names, err := s.admNamesFor(r, v)
	if err != nil {
		return err
	}
	if f == nil {
		f = admLicenseForm(v, names, "license", fmt.Sprintf("/admin/licenses/%d", id), v.T("admin.save"), admLicenseValues(l))
	}
	t := s.admLicenseTable(v, names, []licensing.License{l})
	pg := adminPage{Section: "licenses", Heading: v.T("admin.license.title", "ID", l.ID, "Customer", admNameOr(names.customers, l.CustomerID)),
		Back: &admLink{"/admin/licenses", v.T("admin.back.licenses")}, Blocks: []admBlock{
			{ID: "license-summary", Table: t},
			{ID: "license-block", Heading: v.T("admin.license.edit"), Form: f},
		}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminUpdateLicense(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	names, err := s.admNamesFor(r, v)
	if err != nil {
		return err
	}
	f := admLicenseForm(v, names, "license", fmt.Sprintf("/admin/licenses/%d", id), v.T("admin.save"), r.PostForm)
	in, ferr := admLicenseFrom(v, r.PostForm)
	if ferr != nil {
		if err := auth.Authorize(v.User, auth.Update, auth.Resource{Kind: auth.KindLicense, CustomerID: in.CustomerID}); err != nil {
			return err
		}
		f.invalid(ferr.Field, ferr.Message)
		return s.admLicensePage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	_, err = s.deps.Store.UpdateLicense(r.Context(), v.User, id, func(l *licensing.License) error {
		l.CustomerID, l.ProductID, l.PlanID, l.ValidFrom, l.ValidTo, l.Entitlements, l.Notes = in.CustomerID, in.ProductID, in.PlanID, in.ValidFrom, in.ValidTo, in.Entitlements, in.Notes
		return nil
	})
	if err != nil {
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admLicensePage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/licenses/%d", id), v.T("admin.flash.license_saved", "ID", id))
}

// ---- plans

var admTargetKinds = []string{"first_response", "clarification", "agreement", "resolution"}

func admTargetsOf(t licensing.Targets) []licensing.Duration {
	return []licensing.Duration{t.FirstResponse, t.Clarification, t.Agreement, t.Resolution}
}

func admDurationText(d licensing.Duration) string {
	if d == 0 {
		return ""
	}
	s := time.Duration(d).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func admPlanValues(p licensing.Plan) url.Values {
	vals := url.Values{"name": {p.Name}, "window_start": {p.WindowStart}, "window_end": {p.WindowEnd}, "zone": {p.Zone},
		"at_risk_percent": {strconv.Itoa(p.AtRiskPercent)}}
	if p.Emergency24x7 {
		vals.Set("emergency_24x7", "on")
	}
	for i, k := range admTargetKinds {
		vals.Set("emergency."+k, admDurationText(admTargetsOf(p.Emergency)[i]))
		vals.Set("normal."+k, admDurationText(admTargetsOf(p.Normal)[i]))
	}
	return vals
}

func admPlanForm(v *view, id, action, submit string, vals url.Values) *admForm {
	name := admTextField("name", v.T("admin.plan.name"), vals)
	name.Required = true
	start := admTextField("window_start", v.T("admin.plan.window_start"), vals)
	start.Type, start.Required = "time", true
	end := admTextField("window_end", v.T("admin.plan.window_end"), vals)
	end.Type, end.Required, end.Hint = "time", true, v.T("admin.plan.window_hint")
	zone := admTextField("zone", v.T("admin.plan.zone"), vals)
	zone.Hint, zone.Placeholder = v.T("admin.plan.zone_hint"), "Europe/Moscow"
	risk := admTextField("at_risk_percent", v.T("admin.plan.at_risk"), vals)
	risk.Type, risk.Min, risk.Max, risk.InputMode, risk.Hint = "number", "1", "99", "numeric", v.T("admin.plan.at_risk_hint")
	allDay := admCheckField("emergency_24x7", v.T("admin.plan.24x7"), vals.Get("emergency_24x7") != "")
	allDay.Hint, allDay.Wide = v.T("admin.plan.24x7_hint"), true
	sections := []admSection{{Fields: []admField{name, start, end, zone, risk, allDay}}}
	for _, prio := range []string{"emergency", "normal"} {
		sec := admSection{Legend: v.T("admin.plan.targets." + prio)}
		for _, k := range admTargetKinds {
			f := admTextField(prio+"."+k, v.T("admin.target."+k), vals)
			f.Hint = v.T("admin.target." + k + ".hint")
			sec.Fields = append(sec.Fields, f)
		}
		sections = append(sections, sec)
	}
	return (&admForm{ID: id, Action: action, Submit: submit, Sections: sections}).done(v)
}

// admPlanFrom reads the plan form; targets are Go durations such as 4h or 1h30m.
func admPlanFrom(v *view, vals url.Values) (licensing.Plan, *admFormErr) {
	p := licensing.Plan{Name: vals.Get("name"), WindowStart: strings.TrimSpace(vals.Get("window_start")), WindowEnd: strings.TrimSpace(vals.Get("window_end")),
		Zone: strings.TrimSpace(vals.Get("zone")), Emergency24x7: vals.Get("emergency_24x7") != ""}
	if s := strings.TrimSpace(vals.Get("at_risk_percent")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, &admFormErr{"at_risk_percent", v.T("admin.err.invalid.at_risk_percent")}
		}
		p.AtRiskPercent = n
	}
	for _, prio := range []struct {
		name string
		to   *licensing.Targets
	}{{"emergency", &p.Emergency}, {"normal", &p.Normal}} {
		ptrs := []*licensing.Duration{&prio.to.FirstResponse, &prio.to.Clarification, &prio.to.Agreement, &prio.to.Resolution}
		for i, k := range admTargetKinds {
			field := prio.name + "." + k
			s := strings.TrimSpace(vals.Get(field))
			if s == "" {
				continue
			}
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				return p, &admFormErr{field, v.T("admin.err.duration", "Value", s)}
			}
			*ptrs[i] = licensing.Duration(d)
		}
	}
	return p, nil
}

func (s *Server) adminPlans(w http.ResponseWriter, r *http.Request, v *view) error {
	vals := url.Values{"window_start": {"09:00"}, "window_end": {"18:00"}, "zone": {"Europe/Moscow"}, "at_risk_percent": {"80"}}
	return s.admPlansPage(w, r, v, http.StatusOK, admPlanForm(v, "new-plan", "/admin/plans", v.T("admin.plan.create"), vals))
}

func (s *Server) admPlansPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	list, err := s.deps.Store.ListPlans(r.Context(), v.User, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("admin.plans.caption", "N", list.Total), Empty: v.T("admin.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("admin.plan.name"), v.T("admin.plan.window"), v.T("admin.plan.24x7_short"), v.T("admin.plan.at_risk_short"),
			v.T("admin.plan.emergency_targets"), v.T("admin.plan.normal_targets")}}
	for _, p := range list.Items {
		t.Rows = append(t.Rows, []admCell{{Text: p.Name, Href: fmt.Sprintf("/admin/plans/%d", p.ID)},
			{Text: p.WindowStart + "–" + p.WindowEnd + " " + p.Zone}, {Text: admYesNo(v, p.Emergency24x7)}, {Text: strconv.Itoa(p.AtRiskPercent) + "%"},
			{Text: admTargetsText(v, p.Emergency)}, {Text: admTargetsText(v, p.Normal)}})
	}
	pg := adminPage{Section: "plans", Heading: v.T("admin.nav.plans"), Intro: v.T("admin.plans.intro"), Blocks: []admBlock{
		{ID: "plans", Table: t},
		{ID: "new-plan-block", Heading: v.T("admin.plan.new"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func admTargetsText(v *view, t licensing.Targets) string {
	var parts []string
	for i, k := range admTargetKinds {
		if d := admTargetsOf(t)[i]; d != 0 {
			parts = append(parts, v.T("admin.target."+k+".short")+" "+admDurationText(d))
		}
	}
	return strings.Join(parts, " · ")
}

func (s *Server) adminCreatePlan(w http.ResponseWriter, r *http.Request, v *view) error {
	f := admPlanForm(v, "new-plan", "/admin/plans", v.T("admin.plan.create"), r.PostForm)
	p, ferr := admPlanFrom(v, r.PostForm)
	if ferr != nil {
		// Access first: a refused caller learns nothing from validation.
		if err := auth.Authorize(v.User, auth.Create, auth.Resource{Kind: auth.KindPlan}); err != nil {
			return err
		}
		f.invalid(ferr.Field, ferr.Message)
		return s.admPlansPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	out, err := s.deps.Store.CreatePlan(r.Context(), v.User, p)
	if err != nil {
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admPlansPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/plans/%d", out.ID), v.T("admin.flash.created", "Name", out.Name))
}

func (s *Server) adminPlan(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admPlanPage(w, r, v, http.StatusOK, nil)
}

// planPage shows a plan's form and what its targets mean on the calendar:
// the due instant of each target for a request registered now (or at the
// instant asked for), as GET /api/v1/plans/{id}/targets computes them.
func (s *Server) admPlanPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	p, err := s.deps.Store.GetPlan(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	if f == nil {
		f = admPlanForm(v, "plan", fmt.Sprintf("/admin/plans/%d", id), v.T("admin.save"), admPlanValues(p))
	}
	loc := p.Location()
	if p.Zone == "Europe/Moscow" {
		loc = sla.Moscow()
	}
	from := v.Now.In(loc)
	fromText := r.URL.Query().Get("from")
	if fromText != "" {
		if t, err := time.ParseInLocation("2006-01-02T15:04", fromText, loc); err == nil && t.Year() > 1900 && t.Year() < 2990 {
			from = t
		}
	}
	targets, intro, err := s.admPlanTargets(v, p, loc, from)
	if err != nil {
		return err
	}
	at := admField{ID: "targets-from", Name: "from", Label: v.T("admin.plan.from"), Type: "datetime-local", Value: from.Format("2006-01-02T15:04")}
	pg := adminPage{Section: "plans", Heading: p.Name, Back: &admLink{"/admin/plans", v.T("admin.back.plans")},
		At: &admAt{Action: r.URL.Path, Field: at, Submit: v.T("admin.plan.from_submit")}, Blocks: []admBlock{
			{ID: "targets", Heading: v.T("admin.plan.meaning"), Intro: intro, Table: targets},
			{ID: "plan-block", Heading: v.T("admin.plan.edit"), Form: f},
		}}
	return s.renderAdmin(w, r, v, status, pg)
}

// planTargets works out the due instant of each of the plan's targets for
// a request registered at from, for both priorities.
func (s *Server) admPlanTargets(v *view, p licensing.Plan, loc *time.Location, from time.Time) (*admTable, string, error) {
	win, err := sla.ParseWindow(p.WindowStart+"-"+p.WindowEnd, loc)
	if err != nil {
		return nil, "", apperr.As(err) // plans are validated on save
	}
	cal := s.deps.Calendar()
	t := &admTable{Caption: v.T("admin.plan.meaning_caption", "From", from.Format("02.01.2006 15:04"), "Zone", p.Zone),
		Cols: []string{v.T("admin.plan.target"), v.T("admin.plan.emergency_targets"), v.T("admin.plan.normal_targets")}}
	type prio struct {
		targets licensing.Targets
		sched   sla.Schedule
	}
	emergencyMode := sla.WorkingHours
	if p.Emergency24x7 {
		emergencyMode = sla.Always
	}
	prios := []prio{{p.Emergency, sla.Schedule{Cal: cal, Win: win, Mode: emergencyMode}}, {p.Normal, sla.Schedule{Cal: cal, Win: win, Mode: sla.WorkingHours}}}
	provisional := false
	starts := []admCell{{Text: v.T("admin.plan.starts")}}
	for _, pr := range prios {
		start := pr.sched.NextWorking(from).In(loc)
		starts = append(starts, admCell{Text: start.Format("02.01.2006 15:04")})
	}
	t.Rows = append(t.Rows, starts)
	for i, k := range admTargetKinds {
		row := []admCell{{Text: v.T("admin.target." + k)}}
		for _, pr := range prios {
			d := time.Duration(admTargetsOf(pr.targets)[i])
			limit := pr.sched.Between(from, from.AddDate(10, 0, 0))
			if d <= 0 || d > limit {
				row = append(row, admCell{Text: v.T("admin.plan.no_target")})
				continue
			}
			due := pr.sched.Due(from, d).In(loc)
			if pr.sched.Mode != sla.Always {
				for y := from.Year(); y <= due.Year(); y++ {
					provisional = provisional || cal.Provisional(y)
				}
			}
			row = append(row, admCell{Text: v.T("admin.plan.due", "Target", admDurationText(licensing.Duration(d)), "Due", due.Format("02.01.2006 15:04"))})
		}
		t.Rows = append(t.Rows, row)
	}
	mode := v.T("admin.plan.mode_working")
	if p.Emergency24x7 {
		mode = v.T("admin.plan.mode_24x7")
	}
	intro := v.T("admin.plan.meaning_intro", "Window", p.WindowStart+"–"+p.WindowEnd) + " " + mode
	if provisional {
		intro += " " + v.T("admin.plan.provisional")
	}
	return t, intro, nil
}

func (s *Server) adminUpdatePlan(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	f := admPlanForm(v, "plan", fmt.Sprintf("/admin/plans/%d", id), v.T("admin.save"), r.PostForm)
	in, ferr := admPlanFrom(v, r.PostForm)
	if ferr != nil {
		if err := auth.Authorize(v.User, auth.Update, auth.Resource{Kind: auth.KindPlan}); err != nil {
			return err
		}
		f.invalid(ferr.Field, ferr.Message)
		return s.admPlanPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	p, err := s.deps.Store.UpdatePlan(r.Context(), v.User, id, func(p *licensing.Plan) error {
		p.Name, p.WindowStart, p.WindowEnd, p.Zone, p.Emergency24x7, p.AtRiskPercent = in.Name, in.WindowStart, in.WindowEnd, in.Zone, in.Emergency24x7, in.AtRiskPercent
		p.Emergency, p.Normal = in.Emergency, in.Normal
		return nil
	})
	if err != nil {
		if !admFailed(v, f, "admin", err) {
			return err
		}
		return s.admPlanPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/plans/%d", id), v.T("admin.flash.saved", "Name", p.Name))
}

// ---- the production calendar

type admCalDay struct {
	Day   int
	Kind  string // working, short, weekend, holiday
	Label string
	Blank bool
}

type admCalMonth struct {
	Name  string
	Weeks [][]admCalDay
	Sum   string
}

func (s *Server) adminCalendar(w http.ResponseWriter, r *http.Request, v *view) error {
	f := admImportForm(v, url.Values{})
	return s.admCalendarPage(w, r, v, http.StatusOK, f)
}

func admImportForm(v *view, vals url.Values) *admForm {
	file := admField{Name: "file", Label: v.T("admin.calendar.file"), Type: "file", Accept: ".xml,.json,application/xml,text/xml,application/json", Required: true, Hint: v.T("admin.calendar.file_hint")}
	source := admTextField("source", v.T("admin.calendar.source"), vals)
	source.Hint, source.Wide = v.T("admin.calendar.source_hint"), true
	return (&admForm{ID: "import", Action: "/admin/calendar/import", Submit: v.T("admin.calendar.import_submit"), Multipart: true,
		Sections: []admSection{{Fields: []admField{file, source}}}}).done(v)
}

func (s *Server) admCalendarPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	if err := auth.Authorize(v.User, auth.Read, auth.Resource{Kind: auth.KindCalendar}); err != nil {
		return err
	}
	cal := s.deps.Calendar()
	year := v.Now.In(sla.Moscow()).Year()
	if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && y >= 1900 && y <= 2999 {
		year = y
	}
	sum := cal.Summary(year)
	status1 := admCalendarStatus(v, cal, year)
	facts := []admFact{
		{Term: v.T("admin.calendar.status"), Value: status1.Value, Badge: status1.Badge},
		{Term: v.T("admin.calendar.working_days"), Value: strconv.Itoa(sum.WorkingDays)},
		{Term: v.T("admin.calendar.short_days"), Value: strconv.Itoa(sum.ShortDays)},
		{Term: v.T("admin.calendar.days_off"), Value: strconv.Itoa(sum.DaysOff)},
		{Term: v.T("admin.calendar.hours40"), Value: strconv.Itoa(sum.Hours40)},
	}
	var months []admCalMonth
	for m := time.January; m <= time.December; m++ {
		cm := admCalMonth{Name: v.T(fmt.Sprintf("admin.month.%d", m)), Sum: v.T("admin.calendar.month_sum", "Days", sum.Months[m-1].WorkingDays, "Hours", sum.Months[m-1].Hours40)}
		first := time.Date(year, m, 1, 12, 0, 0, 0, time.UTC)
		week := make([]admCalDay, 0, 7)
		for i := 0; i < (int(first.Weekday())+6)%7; i++ {
			week = append(week, admCalDay{Blank: true})
		}
		for d := first; d.Month() == m; d = d.AddDate(0, 0, 1) {
			k := cal.KindOf(d).String()
			week = append(week, admCalDay{Day: d.Day(), Kind: k, Label: v.T("admin.day." + k)})
			if len(week) == 7 {
				cm.Weeks = append(cm.Weeks, week)
				week = make([]admCalDay, 0, 7)
			}
		}
		if len(week) > 0 {
			for len(week) < 7 {
				week = append(week, admCalDay{Blank: true})
			}
			cm.Weeks = append(cm.Weeks, week)
		}
		months = append(months, cm)
	}
	var legend []admFact
	for _, k := range []string{"working", "short", "weekend", "holiday"} {
		legend = append(legend, admFact{Term: k, Value: v.T("admin.day." + k)})
	}
	blocks := []admBlock{
		{ID: "year", Heading: v.T("admin.calendar.year", "Year", year), Facts: facts, Links: []admLink{
			{fmt.Sprintf("/admin/calendar?year=%d", year-1), v.T("admin.calendar.prev", "Year", year-1)},
			{fmt.Sprintf("/admin/calendar?year=%d", year+1), v.T("admin.calendar.next", "Year", year+1)},
		}, Months: months, Weekdays: admWeekdays(v), Legend: legend},
	}
	if s.deps.CalendarImport != nil {
		blocks = append(blocks, admBlock{ID: "import-block", Heading: v.T("admin.calendar.import"), Intro: v.T("admin.calendar.import_intro"), Form: f})
	}
	pg := adminPage{Section: "calendar", Heading: v.T("admin.nav.calendar"), Intro: v.T("admin.calendar.intro"), Blocks: blocks}
	return s.renderAdmin(w, r, v, status, pg)
}

// admWeekdays names the days of the week, Monday first.
func admWeekdays(v *view) []admWeekday {
	var out []admWeekday
	for i := 1; i <= 7; i++ {
		out = append(out, admWeekday{Short: v.T(fmt.Sprintf("admin.weekday.%d.short", i)), Full: v.T(fmt.Sprintf("admin.weekday.%d", i))})
	}
	return out
}

// admMaxCalendarFile bounds an uploaded calendar file: a year is a few KB.
const admMaxCalendarFile = 1 << 20

func (s *Server) adminImportCalendar(w http.ResponseWriter, r *http.Request, v *view) error {
	if s.deps.CalendarImport == nil {
		return apperr.New(apperr.Unavailable, "%s", v.T("admin.calendar.no_import"))
	}
	// Access first: a refused caller learns nothing about the file.
	if err := auth.Authorize(v.User, auth.Update, auth.Resource{Kind: auth.KindCalendar}); err != nil {
		return err
	}
	vals := url.Values{}
	var data []byte
	hint := ""
	if v.parts == nil {
		return apperr.New(apperr.Invalid, "%s", v.T("error.form"))
	}
	for {
		part, err := v.parts.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return apperr.New(apperr.Invalid, "%s", v.T("error.form"))
		}
		switch part.FormName() {
		case "file":
			b, err := io.ReadAll(io.LimitReader(part, admMaxCalendarFile+1))
			if err != nil {
				return apperr.New(apperr.Invalid, "%s", v.T("error.form"))
			}
			data, hint = b, part.FileName()+" "+part.Header.Get("Content-Type")
		case "source":
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			vals.Set("source", strings.TrimSpace(string(b)))
		}
		part.Close()
	}
	f := admImportForm(v, vals)
	switch {
	case len(data) == 0:
		f.invalid("file", v.T("admin.err.file_missing"))
	case len(data) > admMaxCalendarFile:
		f.invalid("file", v.T("admin.err.file_large"))
	case len([]rune(vals.Get("source"))) > 500:
		f.invalid("source", v.T("admin.err.source_long"))
	}
	if f.Error != "" || f.field("file").Error != "" || f.field("source").Error != "" {
		return s.admCalendarPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	years, err := s.deps.CalendarImport.Import(r.Context(), v.User, data, hint, vals.Get("source"))
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		// The store's message names the entry, the date and what is wrong.
		field := e.Field
		if field != "source" {
			field = "file"
		}
		f.invalid(field, v.T("admin.calendar.bad_file", "Detail", e.Message))
		return s.admCalendarPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	var ys []string
	for _, y := range years {
		ys = append(ys, strconv.Itoa(y))
	}
	to := "/admin/calendar"
	if len(years) > 0 {
		to += "?year=" + strconv.Itoa(years[0])
	}
	return s.redirect(w, r, to, v.T("admin.flash.calendar", "Years", strings.Join(ys, ", ")))
}

// ---- API tokens

func admTokenForm(v *view, vals url.Values) *admForm {
	name := admTextField("name", v.T("admin.token.name"), vals)
	name.Required, name.Hint, name.Autocomplete = true, v.T("admin.token.name_hint"), "off"
	scope := admRadioField("scope", v.T("admin.token.scope"), []admOption{
		{Value: "read", Label: v.T("admin.token.scope.read"), Hint: v.T("admin.token.scope.read_hint")},
		{Value: "write", Label: v.T("admin.token.scope.write"), Hint: v.T("admin.token.scope.write_hint")},
	}, vals.Get("scope"))
	exp := admTextField("expires_at", v.T("admin.token.expires"), vals)
	exp.Type, exp.Hint = "date", v.T("admin.token.expires_hint")
	return (&admForm{ID: "new-token", Action: "/admin/tokens", Submit: v.T("admin.token.create"), Sections: []admSection{{Fields: []admField{name, scope, exp}}}}).done(v)
}

func (s *Server) adminTokens(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.admTokensPage(w, r, v, http.StatusOK, admTokenForm(v, url.Values{"scope": {"read"}}), "")
}

// tokensPage lists the tokens the caller may see (an admin: everyone's),
// with a form for a new one. secret is a new token's secret, shown once.
func (s *Server) admTokensPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm, secret string) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	ctx := r.Context()
	list, err := s.deps.Store.ListTokens(ctx, v.User, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	owners := map[int64]string{}
	t := &admTable{Caption: v.T("admin.tokens.caption", "N", list.Total), Empty: v.T("admin.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("admin.token.name"), v.T("admin.token.owner"), v.T("admin.token.scope"), v.T("admin.token.hint"), v.T("admin.token.created"),
			v.T("admin.token.expires"), v.T("admin.token.last_used"), v.T("admin.field.status"), ""}}
	for _, tk := range list.Items {
		owner, ok := owners[tk.AccountID]
		if !ok {
			if a, err := s.deps.Store.GetAccount(ctx, v.User, tk.AccountID); err == nil {
				owner = a.Name
			} else {
				owner = "#" + strconv.FormatInt(tk.AccountID, 10)
			}
			owners[tk.AccountID] = owner
		}
		status := admCell{Text: v.T("admin.token.active"), Badge: "met"}
		var revoke admCell
		switch {
		case tk.RevokedAt != nil:
			status = admCell{Text: v.T("admin.token.revoked", "At", admMskTime(*tk.RevokedAt)), Badge: "breached"}
		case tk.ExpiresAt != nil && !tk.ExpiresAt.After(v.Now):
			status = admCell{Text: v.T("admin.token.expired"), Badge: "paused"}
		default:
			revoke.Form = (&admForm{ID: fmt.Sprintf("revoke-%d", tk.ID), Action: fmt.Sprintf("/admin/tokens/%d/revoke", tk.ID),
				Submit: v.T("admin.token.revoke"), ButtonLabel: v.T("admin.token.revoke_label", "Name", tk.Name), Danger: true, Inline: true}).done(v)
		}
		exp, used := "", ""
		if tk.ExpiresAt != nil {
			exp = admMskTime(*tk.ExpiresAt)
		}
		if tk.LastUsedAt != nil {
			used = admMskTime(*tk.LastUsedAt)
		}
		t.Rows = append(t.Rows, []admCell{{Text: tk.Name}, {Text: owner}, {Text: v.T("admin.token.scope." + string(tk.Scope))}, {Text: tk.Hint + "…"},
			{Text: admMskTime(tk.CreatedAt)}, {Text: exp}, {Text: used}, status, revoke})
	}
	blocks := []admBlock{}
	if secret != "" {
		blocks = append(blocks, admBlock{ID: "secret", Heading: v.T("admin.token.secret"), Intro: v.T("admin.token.secret_intro"), Secret: secret})
	}
	blocks = append(blocks, admBlock{ID: "tokens", Intro: v.T("admin.tokens.intro"), Table: t}, admBlock{ID: "new-token-block", Heading: v.T("admin.token.new"), Form: f})
	pg := adminPage{Section: "tokens", Heading: v.T("admin.nav.tokens"), Blocks: blocks}
	return s.renderAdmin(w, r, v, status, pg)
}

// adminCreateToken issues a token. Its secret is shown in this answer only
// (kept nowhere, not even in the session for a redirect), so this one
// POST answers with the page instead of redirecting, and it is not cached.
func (s *Server) adminCreateToken(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	f := admTokenForm(v, r.PostForm)
	var expires *time.Time
	if d := strings.TrimSpace(r.PostFormValue("expires_at")); d != "" {
		date, err := civil.Parse(d)
		if err != nil {
			f.invalid("expires_at", v.T("admin.err.date"))
			return s.admTokensPage(w, r, v, http.StatusUnprocessableEntity, f, "")
		}
		t := date.AddDays(1).Start(sla.Moscow()) // valid through the whole day
		expires = &t
	}
	tk, secret, err := s.deps.Store.CreateToken(r.Context(), v.User, r.PostFormValue("name"), auth.TokenScope(r.PostFormValue("scope")), expires)
	if err != nil {
		if !admFailed(v, f, "admin.token", err) {
			return err
		}
		return s.admTokensPage(w, r, v, http.StatusUnprocessableEntity, f, "")
	}
	w.Header().Set("Cache-Control", "no-store")
	v.Flash = v.T("admin.flash.token", "Name", tk.Name)
	return s.admTokensPage(w, r, v, http.StatusCreated, admTokenForm(v, url.Values{"scope": {"read"}}), secret)
}

func (s *Server) adminRevokeToken(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	tk, err := s.deps.Store.RevokeToken(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/tokens", v.T("admin.flash.revoked", "Name", tk.Name))
}
