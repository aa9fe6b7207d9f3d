package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/store"
)

// The e-mail channel's pages (issue 6): the support mailboxes tend reads
// (admins), the mail log (staff), the triage queue where the desk links
// mail from unknown senders to a customer, and each person's mail
// settings. A request's own mail is on its page (request.go). As
// everywhere, the store decides who may do what; these handlers read the
// form, call the store and show its answer.

func (s *Server) mailRoutes() {
	s.mux.HandleFunc("GET /admin/mailboxes", s.page(false, s.adminMailboxes))
	s.mux.HandleFunc("POST /admin/mailboxes", s.page(false, s.adminCreateMailbox))
	s.mux.HandleFunc("GET /admin/mailboxes/{id}", s.page(false, s.adminMailbox))
	s.mux.HandleFunc("POST /admin/mailboxes/{id}", s.page(false, s.adminUpdateMailbox))
	s.mux.HandleFunc("POST /admin/mailboxes/{id}/enabled", s.page(false, s.adminEnableMailbox))
	s.mux.HandleFunc("GET /admin/mail", s.page(false, s.adminMailLog))
	s.mux.HandleFunc("GET /desk/triage", s.page(false, s.deskTriage))
	s.mux.HandleFunc("GET /desk/triage/{id}", s.page(false, s.deskTriageLink))
	s.mux.HandleFunc("POST /desk/triage/{id}", s.page(false, s.deskTriageAssign))
	s.mux.HandleFunc("POST /settings/mail", s.page(false, s.saveMailSettings))
}

// mailOriginalHref is where a message's original is downloaded: the API's
// route, which the session cookie opens as it opens attachments, so the
// request's access rules are applied in one place.
func mailOriginalHref(id int64) string { return fmt.Sprintf("/api/v1/mail/messages/%d/original", id) }

// ---- mailboxes

var mailboxResource = auth.Resource{Kind: auth.KindMailbox}

func mailboxValues(m store.Mailbox) url.Values {
	vals := url.Values{"name": {m.Name}, "host": {m.Host}, "port": {strconv.Itoa(m.Port)}, "security": {m.Security},
		"username": {m.Username}, "folder": {m.Folder}, "poll_seconds": {strconv.Itoa(m.PollSeconds)}}
	if m.ProductID != 0 {
		vals.Set("product_id", strconv.FormatInt(m.ProductID, 10))
	}
	if !m.Disabled {
		vals.Set("enabled", "on")
	}
	return vals
}

// mailboxForm is the form of a new mailbox (create) or of a stored one. The
// password is never put back into the page: empty keeps the stored one.
func (s *Server) mailboxForm(r *http.Request, v *view, id, action, submit string, create bool, vals url.Values) (*admForm, error) {
	products, err := s.deps.Store.ListProducts(r.Context(), v.User, store.Page{Limit: store.MaxPage})
	if err != nil {
		return nil, err
	}
	prods := []admOption{{Value: "", Label: v.T("mail.box.product_none")}}
	for _, p := range products.Items {
		prods = append(prods, admOption{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
	}
	name := admTextField("name", v.T("mail.box.name"), vals)
	name.Required, name.Hint, name.Autocomplete = true, v.T("mail.box.name_hint"), "off"
	host := admTextField("host", v.T("mail.box.host"), vals)
	host.Required, host.Placeholder, host.Autocomplete, host.InputMode = true, "imap.example.com", "off", "url"
	port := admTextField("port", v.T("mail.box.port"), vals)
	port.Type, port.Min, port.Max, port.InputMode, port.Hint = "number", "1", "65535", "numeric", v.T("mail.box.port_hint")
	security := admRadioField("security", v.T("mail.box.security"), []admOption{
		{Value: "tls", Label: v.T("mail.box.security.tls"), Hint: v.T("mail.box.security.tls_hint")},
		{Value: "starttls", Label: v.T("mail.box.security.starttls"), Hint: v.T("mail.box.security.starttls_hint")},
		{Value: "plain", Label: v.T("mail.box.security.plain"), Hint: v.T("mail.box.security.plain_hint")},
	}, vals.Get("security"))
	security.Required = true
	user := admTextField("username", v.T("mail.box.username"), vals)
	user.Required, user.Autocomplete, user.Hint = true, "off", v.T("mail.box.username_hint")
	// new-password: the browser must not offer the admin's own password here.
	pw := admField{Name: "password", Label: v.T("mail.box.password"), Type: "password", Autocomplete: "new-password", Hint: v.T("mail.box.password_hint_new")}
	if !create {
		pw.Hint = v.T("mail.box.password_hint_keep")
	}
	folder := admTextField("folder", v.T("mail.box.folder"), vals)
	folder.Placeholder, folder.Hint, folder.Autocomplete = "INBOX", v.T("mail.box.folder_hint"), "off"
	poll := admTextField("poll_seconds", v.T("mail.box.poll"), vals)
	poll.Type, poll.Min, poll.Max, poll.InputMode, poll.Hint = "number", "5", "86400", "numeric", v.T("mail.box.poll_hint")
	product := admSelectField("product_id", v.T("mail.box.product"), prods, vals.Get("product_id"))
	product.Hint = v.T("mail.box.product_hint")
	enabled := admCheckField("enabled", v.T("mail.box.enabled"), vals.Get("enabled") != "")
	enabled.Hint, enabled.Wide = v.T("mail.box.enabled_hint"), true
	return (&admForm{ID: id, Action: action, Submit: submit, Sections: []admSection{
		{Legend: v.T("mail.box.legend_server"), Fields: []admField{name, host, port, security}},
		{Legend: v.T("mail.box.legend_account"), Fields: []admField{user, pw, folder, poll, product, enabled}},
	}}).done(v), nil
}

// mailboxFrom reads the mailbox form. Numbers the page cannot read are
// reported on their field; an empty port or interval takes the default.
func mailboxFrom(v *view, vals url.Values) (store.Mailbox, *admFormErr) {
	m := store.Mailbox{Name: vals.Get("name"), Host: vals.Get("host"), Security: vals.Get("security"), Username: vals.Get("username"),
		Password: vals.Get("password"), Folder: vals.Get("folder"), Disabled: vals.Get("enabled") == ""}
	for _, n := range []struct {
		name string
		to   *int
	}{{"port", &m.Port}, {"poll_seconds", &m.PollSeconds}} {
		text := strings.TrimSpace(vals.Get(n.name))
		if text == "" {
			continue
		}
		x, err := strconv.Atoi(text)
		if err != nil || x <= 0 {
			return m, &admFormErr{n.name, v.T("mail.box.err." + n.name)}
		}
		*n.to = x
	}
	if text := vals.Get("product_id"); text != "" {
		id, err := strconv.ParseInt(text, 10, 64)
		if err != nil || id <= 0 {
			return m, &admFormErr{"product_id", v.T("mail.box.err.product_id")}
		}
		m.ProductID = id
	}
	return m, nil
}

func (s *Server) adminMailboxes(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := auth.Authorize(v.User, auth.Read, mailboxResource); err != nil {
		return err
	}
	f, err := s.mailboxForm(r, v, "new-mailbox", "/admin/mailboxes", v.T("mail.box.create"), true,
		url.Values{"security": {"tls"}, "folder": {"INBOX"}, "poll_seconds": {"60"}, "enabled": {"on"}})
	if err != nil {
		return err
	}
	return s.mailboxesPage(w, r, v, http.StatusOK, f)
}

// mailboxLastRead words where reading a mailbox stands.
func mailboxLastRead(v *view, m store.Mailbox) admCell {
	switch {
	case m.LastPolledAt == nil:
		return admCell{Text: v.T("mail.box.never"), Badge: "paused"}
	case m.LastError != "":
		return admCell{Text: v.T("mail.box.failed"), Badge: "breached", Note: admMskTime(*m.LastPolledAt) + ": " + m.LastError}
	}
	return admCell{Text: v.T("mail.box.ok"), Badge: "met", Note: admMskTime(*m.LastPolledAt)}
}

func mailboxSecurity(v *view, m store.Mailbox) string {
	return v.T("mail.box.security." + m.Security)
}

func (s *Server) mailboxesPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	list, err := s.deps.Store.ListMailboxes(r.Context(), v.User, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("mail.box.caption", "N", list.Total), Empty: v.T("mail.box.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("mail.box.name"), v.T("mail.box.username"), v.T("mail.box.server"), v.T("mail.box.security"), v.T("mail.box.waiting"),
			v.T("admin.field.status"), v.T("mail.box.last_read"), ""}}
	for _, m := range list.Items {
		name := admCell{Text: m.Name, Href: fmt.Sprintf("/admin/mailboxes/%d", m.ID)}
		if m.Source == "config" {
			name.Note = v.T("mail.box.from_config")
		}
		state := admCell{Text: v.T("mail.box.on"), Badge: "met"}
		toggle := &admForm{ID: fmt.Sprintf("mailbox-%d-off", m.ID), Action: fmt.Sprintf("/admin/mailboxes/%d/enabled", m.ID), Inline: true,
			Submit: v.T("mail.box.turn_off"), ButtonLabel: v.T("mail.box.turn_off_label", "Name", m.Name), Danger: true,
			Hidden: []admHidden{{"enabled", "false"}}}
		if m.Disabled {
			state = admCell{Text: v.T("mail.box.off"), Badge: "paused"}
			toggle = &admForm{ID: fmt.Sprintf("mailbox-%d-on", m.ID), Action: fmt.Sprintf("/admin/mailboxes/%d/enabled", m.ID), Inline: true,
				Submit: v.T("mail.box.turn_on"), ButtonLabel: v.T("mail.box.turn_on_label", "Name", m.Name), Hidden: []admHidden{{"enabled", "true"}}}
		}
		t.Rows = append(t.Rows, []admCell{name, {Text: m.Username}, {Text: fmt.Sprintf("%s:%d · %s", m.Host, m.Port, m.Folder)},
			{Text: mailboxSecurity(v, m)}, {Text: v.T("mail.box.wait", "N", m.PollSeconds)}, state, mailboxLastRead(v, m), {Form: toggle.done(v)}})
	}
	pg := adminPage{Section: "mailboxes", Heading: v.T("admin.nav.mailboxes"), Intro: v.T("mail.box.intro"), Blocks: []admBlock{
		{ID: "mailboxes", Table: t},
		{ID: "new-mailbox-block", Heading: v.T("mail.box.new"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminCreateMailbox(w http.ResponseWriter, r *http.Request, v *view) error {
	// Access first: a refused caller learns nothing from validation.
	if err := auth.Authorize(v.User, auth.Create, mailboxResource); err != nil {
		return err
	}
	f, err := s.mailboxForm(r, v, "new-mailbox", "/admin/mailboxes", v.T("mail.box.create"), true, r.PostForm)
	if err != nil {
		return err
	}
	m, ferr := mailboxFrom(v, r.PostForm)
	if ferr != nil {
		f.invalid(ferr.Field, ferr.Message)
		return s.mailboxesPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	m.Source = "web"
	out, err := s.deps.Store.CreateMailbox(r.Context(), v.User, m)
	if err != nil {
		if !admFailed(v, f, "mail.box", err) {
			return err
		}
		return s.mailboxesPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, "/admin/mailboxes", v.T("admin.flash.created", "Name", out.Name))
}

func (s *Server) adminMailbox(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.mailboxPage(w, r, v, http.StatusOK, nil)
}

func (s *Server) mailboxPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	m, err := s.deps.Store.GetMailbox(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	if f == nil {
		if f, err = s.mailboxForm(r, v, "mailbox", fmt.Sprintf("/admin/mailboxes/%d", id), v.T("admin.save"), false, mailboxValues(m)); err != nil {
			return err
		}
	}
	last := mailboxLastRead(v, m)
	facts := []admFact{
		{Term: v.T("mail.box.server"), Value: fmt.Sprintf("%s:%d · %s", m.Host, m.Port, m.Folder)},
		{Term: v.T("mail.box.security"), Value: mailboxSecurity(v, m)},
		{Term: v.T("mail.box.last_read"), Value: strings.TrimSpace(last.Text + " " + last.Note), Badge: last.Badge},
		{Term: v.T("mail.box.password"), Value: admYesNo(v, m.PasswordSet)},
		{Term: v.T("mail.box.source"), Value: v.T("mail.box.source." + mailboxSource(m.Source))},
	}
	intro := ""
	if m.Source == "config" {
		intro = v.T("mail.box.config_intro")
	}
	pg := adminPage{Section: "mailboxes", Heading: m.Name, Back: &admLink{"/admin/mailboxes", v.T("mail.box.back")}, Blocks: []admBlock{
		{ID: "mailbox-facts", Facts: facts, Intro: intro},
		{ID: "mailbox-block", Heading: v.T("mail.box.edit"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func mailboxSource(src string) string {
	switch src {
	case "config", "api", "web":
		return src
	}
	return "api"
}

func (s *Server) adminUpdateMailbox(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	if err := auth.Authorize(v.User, auth.Update, mailboxResource); err != nil {
		return err
	}
	f, err := s.mailboxForm(r, v, "mailbox", fmt.Sprintf("/admin/mailboxes/%d", id), v.T("admin.save"), false, r.PostForm)
	if err != nil {
		return err
	}
	in, ferr := mailboxFrom(v, r.PostForm)
	if ferr != nil {
		f.invalid(ferr.Field, ferr.Message)
		return s.mailboxPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	out, err := s.deps.Store.UpdateMailbox(r.Context(), v.User, id, func(m *store.Mailbox) error {
		m.Name, m.Host, m.Port, m.Security, m.Username, m.Folder = in.Name, in.Host, in.Port, in.Security, in.Username, in.Folder
		m.PollSeconds, m.ProductID, m.Disabled = in.PollSeconds, in.ProductID, in.Disabled
		m.Password = in.Password // empty keeps the stored one
		return nil
	})
	if err != nil {
		if !admFailed(v, f, "mail.box", err) {
			return err
		}
		return s.mailboxPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/mailboxes/%d", id), v.T("admin.flash.saved", "Name", out.Name))
}

// adminEnableMailbox starts or stops reading a mailbox (the list's button).
func (s *Server) adminEnableMailbox(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	var enable bool
	switch r.PostFormValue("enabled") {
	case "true":
		enable = true
	case "false":
	default:
		if err := auth.Authorize(v.User, auth.Update, mailboxResource); err != nil {
			return err
		}
		return apperr.Field("enabled", "%s", v.T("mail.box.err.enabled"))
	}
	out, err := s.deps.Store.UpdateMailbox(r.Context(), v.User, id, func(m *store.Mailbox) error {
		m.Disabled = !enable
		return nil
	})
	if err != nil {
		return err
	}
	flash := v.T("mail.box.flash_off", "Name", out.Name)
	if enable {
		flash = v.T("mail.box.flash_on", "Name", out.Name)
	}
	return s.redirect(w, r, "/admin/mailboxes", flash)
}

// ---- the mail log

// mailOutcomes are the outcomes the log filters by, in the order offered.
var mailOutcomes = []string{store.MailRequest, store.MailTriage, store.MailComment, store.MailNote, store.MailIgnored,
	store.MailRateLimited, store.MailRejected, store.MailSent}

// mailOutcomeBadge colours an outcome: taken, waiting for the desk, left alone, refused.
func mailOutcomeBadge(outcome string) string {
	switch outcome {
	case store.MailRequest, store.MailComment, store.MailSent:
		return "met"
	case store.MailTriage:
		return "at_risk"
	case store.MailRejected:
		return "breached"
	}
	return "paused"
}

func mailOutcomeText(v *view, outcome string) string {
	if id := "mail.outcome." + outcome; v.tr.Has(id) {
		return v.T(id)
	}
	return outcome
}

func (s *Server) adminMailLog(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	q := r.URL.Query()
	outcome, direction := q.Get("outcome"), q.Get("direction")
	any := admOption{Value: "", Label: v.T("mail.log.any")}
	outs := []admOption{any}
	for _, o := range mailOutcomes {
		outs = append(outs, admOption{Value: o, Label: mailOutcomeText(v, o)})
	}
	outField := admSelectField("outcome", v.T("mail.log.outcome"), outs, outcome)
	dirField := admSelectField("direction", v.T("mail.log.direction"), []admOption{any,
		{Value: "in", Label: v.T("mail.dir.in")}, {Value: "out", Label: v.T("mail.dir.out")}}, direction)
	outField.ID, dirField.ID = "log-outcome", "log-direction"
	filter := &admFilter{Action: "/admin/mail", Label: v.T("mail.log.filter"), Submit: v.T("mail.log.apply"), Reset: v.T("mail.log.reset"),
		Fields: []admField{outField, dirField}}
	pg := adminPage{Section: "mail", Heading: v.T("admin.nav.mail"), Intro: v.T("mail.log.intro"), Filter: filter}
	status := http.StatusOK
	// A value that is not on the list is named by its field; nothing is listed.
	if outcome != "" && !slices.Contains(mailOutcomes, outcome) {
		filter.Fields[0].Error = v.T("mail.log.err.outcome")
	}
	if direction != "" && direction != "in" && direction != "out" {
		filter.Fields[1].Error = v.T("mail.log.err.direction")
	}
	if filter.Fields[0].Error != "" || filter.Fields[1].Error != "" {
		return s.renderAdmin(w, r, v, http.StatusUnprocessableEntity, pg)
	}
	ctx := r.Context()
	list, err := s.deps.Store.ListMail(ctx, v.User, store.MailFilter{Outcome: outcome, Direction: direction, Page: store.Page{After: admAfterParam(r), Limit: 50}})
	if err != nil {
		return err
	}
	numbers := map[int64]string{}
	t := &admTable{Caption: v.T("mail.log.caption", "N", list.Total), Empty: v.T("mail.log.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("mail.log.at"), v.T("mail.log.direction"), v.T("mail.log.who"), v.T("mail.log.subject"), v.T("mail.log.outcome"),
			v.T("mail.log.request"), v.T("mail.log.original")}}
	for _, m := range list.Items {
		req := admCell{}
		if m.RequestID != 0 {
			n, ok := numbers[m.RequestID]
			if !ok {
				if rq, err := s.deps.Store.GetRequest(ctx, v.User, m.RequestID); err == nil {
					n = rq.Number
				} else if !apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.Forbidden) {
					return err
				} else {
					n = "#" + strconv.FormatInt(m.RequestID, 10)
				}
				numbers[m.RequestID] = n
			}
			req = admCell{Text: n, Href: requestURL(m.RequestID)}
		}
		orig := admCell{}
		if m.HasOriginal {
			orig = admCell{Text: v.T("mail.eml", "Size", v.words().Size(m.Size)), Href: mailOriginalHref(m.ID), Download: true,
				Label: v.T("mail.eml_label", "Subject", m.Subject)}
		}
		t.Rows = append(t.Rows, []admCell{{Text: admMskTime(m.At)}, {Text: v.T("mail.dir." + m.Direction)}, {Text: mailParty(m)},
			{Text: m.Subject}, {Text: mailOutcomeText(v, m.Outcome), Badge: mailOutcomeBadge(m.Outcome), Note: m.Reason}, req, orig})
	}
	pg.Blocks = []admBlock{{ID: "mail-log", Table: t}}
	return s.renderAdmin(w, r, v, status, pg)
}

// mailParty is who a message is from (inbound) or to (outbound).
func mailParty(m store.MailRecord) string {
	if m.Direction == "out" {
		return "→ " + m.To
	}
	if m.FromName != "" && m.From != "" {
		return m.FromName + " <" + m.From + ">"
	}
	return m.FromName + m.From
}

// ---- triage: requests from unknown senders, linked by the desk

type triageRow struct {
	ID                       int64
	Number, Subject, Href    string
	Sender, Address, Missing string
	At                       time.Time
}

type triageView struct {
	Table *admTable
	Total int
}

type triageLinkView struct {
	Req           triageRow
	Excerpt       string
	Linked        bool // nothing left to link
	ChooseCust    bool // the request has no customer yet
	Search        string
	Customers     []admOption
	More          bool
	CustomerError string
	Customer      *licensing.Customer
	Licenses      *admTable
	Form          *admForm
}

// triageRows describes requests with their senders.
func (s *Server) triageRows(r *http.Request, v *view, reqs []desk.Request) ([]triageRow, error) {
	ids := make([]int64, len(reqs))
	for i, q := range reqs {
		ids[i] = q.ID
	}
	senders, err := s.deps.Store.RequestSenders(r.Context(), v.User, ids)
	if err != nil {
		return nil, err
	}
	out := make([]triageRow, 0, len(reqs))
	for _, q := range reqs {
		row := triageRow{ID: q.ID, Number: q.Number, Subject: q.Subject, Href: requestURL(q.ID), Sender: q.RequesterName, At: q.CreatedAt,
			Missing: v.T("mail.triage.missing_customer")}
		if q.CustomerID != 0 {
			row.Missing = v.T("mail.triage.missing_product")
		}
		if snd, ok := senders[q.ID]; ok {
			row.Address, row.At = snd.Address, snd.At
			if snd.Name != "" {
				row.Sender = snd.Name
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func (row triageRow) from() string {
	switch {
	case row.Address == "":
		return row.Sender
	case row.Sender == "" || row.Sender == row.Address:
		return row.Address
	}
	return row.Sender + " <" + row.Address + ">"
}

func (s *Server) deskTriage(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	list, err := s.deps.Store.TriageRequests(r.Context(), v.User, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	rows, err := s.triageRows(r, v, list.Items)
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("mail.triage.caption", "N", list.Total), Empty: v.T("mail.triage.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("mail.triage.request"), v.T("mail.triage.from"), v.T("mail.triage.received"), v.T("mail.triage.missing"), ""}}
	for _, row := range rows {
		t.Rows = append(t.Rows, []admCell{
			{Text: row.Number, Href: row.Href, Note: row.Subject},
			{Text: row.from()},
			{Text: admMskTime(row.At)},
			{Text: row.Missing},
			{Text: v.T("mail.triage.link"), Href: fmt.Sprintf("/desk/triage/%d", row.ID), Label: v.T("mail.triage.link_label", "Number", row.Number)},
		})
	}
	s.takeFlash(r, v)
	v.Title, v.Data = v.T("mail.triage.title"), triageView{Table: t, Total: list.Total}
	return s.render(w, http.StatusOK, "desk_triage", v)
}

func (s *Server) deskTriageLink(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.triagePage(w, r, v, http.StatusOK, nil, "")
}

// triagePage shows one request of the triage queue and the way to link it:
// first the customer (when it has none), then the product and the contact.
// f, when given, is the form coming back with errors; custErr an error
// about the customer chosen.
func (s *Server) triagePage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm, custErr string) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	ctx, st := r.Context(), s.deps.Store
	req, err := st.GetRequest(ctx, v.User, id)
	if err != nil {
		return err
	}
	rows, err := s.triageRows(r, v, []desk.Request{req})
	if err != nil {
		return err
	}
	tv := triageLinkView{Req: rows[0], Excerpt: excerpt(req.Description, 600), CustomerError: custErr,
		Linked: req.CustomerID != 0 && req.ProductID != 0 || !req.State.Open(), ChooseCust: req.CustomerID == 0}
	if r.Method == http.MethodGet {
		s.takeFlash(r, v)
	}
	v.Title = v.T("mail.triage.link_title", "Number", req.Number)
	if !tv.Linked {
		custID := req.CustomerID
		if custID == 0 {
			custID, _ = strconv.ParseInt(r.URL.Query().Get("customer"), 10, 64)
			if r.Method == http.MethodPost {
				custID, _ = strconv.ParseInt(r.PostFormValue("customer_id"), 10, 64)
			}
			tv.Search = strings.TrimSpace(r.URL.Query().Get("cq"))
			cs, err := st.ListCustomers(ctx, v.User, tv.Search, store.Page{Limit: store.MaxPage})
			if err != nil {
				return err
			}
			tv.More = cs.Total > len(cs.Items)
			for _, c := range cs.Items {
				tv.Customers = append(tv.Customers, admOption{Value: strconv.FormatInt(c.ID, 10), Label: c.Name + " (" + c.Code + ")", Selected: c.ID == custID})
			}
		}
		if custID != 0 {
			c, err := st.GetCustomer(ctx, v.User, custID)
			switch {
			case apperr.Is(err, apperr.NotFound):
				tv.CustomerError = v.T("mail.triage.err.customer_id")
			case err != nil:
				return err
			default:
				tv.Customer = &c
				if f == nil {
					if f, err = s.triageForm(r, v, req, c, rows[0].Address, url.Values{}); err != nil {
						return err
					}
				}
				tv.Form = f
				if tv.Licenses, err = s.deskLicenses(r, v, c.ID); err != nil {
					return err
				}
			}
		}
	}
	v.Data = tv
	return s.render(w, status, "desk_triage_link", v)
}

// excerpt cuts a text to about n characters for a preview.
func excerpt(text string, n int) string {
	rs := []rune(strings.TrimSpace(text))
	if len(rs) <= n {
		return string(rs)
	}
	return string(rs[:n]) + "…"
}

// triageForm is the second step: the product and, optionally, the contact
// the request is from (the one whose login is the sender's address first).
func (s *Server) triageForm(r *http.Request, v *view, req desk.Request, c licensing.Customer, sender string, vals url.Values) (*admForm, error) {
	ctx, st := r.Context(), s.deps.Store
	prods, firstLicensed, err := s.deskProductOptions(r, v, c.ID)
	if err != nil {
		return nil, err
	}
	if _, sent := vals["product_id"]; !sent {
		vals.Set("product_id", firstLicensed)
		if req.ProductID != 0 {
			vals.Set("product_id", strconv.FormatInt(req.ProductID, 10))
		}
	}
	contacts, err := st.ListAccounts(ctx, v.User, store.AccountFilter{CustomerID: c.ID, Page: store.Page{Limit: store.MaxPage}})
	if err != nil {
		return nil, err
	}
	who := []admOption{{Value: "", Label: v.T("mail.triage.requester_sender")}}
	match := ""
	for _, a := range contacts.Items {
		if a.Disabled {
			continue
		}
		idText := strconv.FormatInt(a.ID, 10)
		who = append(who, admOption{Value: idText, Label: a.Name + " — " + a.Login})
		if sender != "" && strings.EqualFold(a.Login, sender) {
			match = idText
		}
	}
	if _, sent := vals["requester_id"]; !sent {
		vals.Set("requester_id", match)
		if req.RequesterID != 0 {
			vals.Set("requester_id", strconv.FormatInt(req.RequesterID, 10))
		}
	}
	product := admSelectField("product_id", v.T("mail.triage.product"), prods, vals.Get("product_id"))
	product.Required, product.Wide = true, true
	requester := admSelectField("requester_id", v.T("mail.triage.requester"), who, vals.Get("requester_id"))
	requester.Hint, requester.Wide = v.T("mail.triage.requester_hint"), true
	return (&admForm{ID: "triage", Action: fmt.Sprintf("/desk/triage/%d", req.ID), Submit: v.T("mail.triage.submit", "Customer", c.Name),
		Hidden:   []admHidden{{"customer_id", strconv.FormatInt(c.ID, 10)}, {"version", strconv.FormatInt(req.Version, 10)}},
		Sections: []admSection{{Fields: []admField{product, requester}}}}).done(v), nil
}

// deskTriageAssign links the request to the customer, product and contact
// chosen (store.AssignRequest: it re-checks coverage and starts the SLA
// clocks from when the message came).
func (s *Server) deskTriageAssign(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := store.CheckDesk(v.User); err != nil {
		return err
	}
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	form := r.PostForm
	num := func(name string) (int64, bool) {
		text := strings.TrimSpace(form.Get(name))
		if text == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(text, 10, 64)
		return n, err == nil && n > 0
	}
	var in store.Assignment
	var bad string
	for _, f := range []struct {
		name string
		to   *int64
	}{{"customer_id", &in.CustomerID}, {"product_id", &in.ProductID}, {"requester_id", &in.RequesterID}, {"version", &in.Version}} {
		n, ok := num(f.name)
		if !ok && bad == "" {
			bad = f.name
		}
		*f.to = n
	}
	ctx, st := r.Context(), s.deps.Store
	var aerr error
	var out desk.Request
	if bad != "" {
		aerr = apperr.Field(bad, "not a number")
	} else {
		out, aerr = st.AssignRequest(ctx, v.User, id, in)
	}
	if aerr == nil {
		name := ""
		if c, err := st.GetCustomer(ctx, v.User, out.CustomerID); err == nil {
			name = c.Name
		}
		return s.redirect(w, r, "/desk/triage", v.T("mail.triage.flash", "Number", out.Number, "Customer", name))
	}
	e := apperr.As(aerr)
	if e.Code != apperr.Invalid && e.Code != apperr.Conflict {
		return aerr // refused, gone, or broken: the error page
	}
	req, err := st.GetRequest(ctx, v.User, id)
	if err != nil {
		return err
	}
	custID := req.CustomerID
	if custID == 0 {
		custID = in.CustomerID
	}
	if e.Field == "customer_id" || custID == 0 {
		return s.triagePage(w, r, v, http.StatusUnprocessableEntity, nil, v.T("mail.triage.err.customer_id"))
	}
	c, err := st.GetCustomer(ctx, v.User, custID)
	if apperr.Is(err, apperr.NotFound) {
		return s.triagePage(w, r, v, http.StatusUnprocessableEntity, nil, v.T("mail.triage.err.customer_id"))
	}
	if err != nil {
		return err
	}
	rows, err := s.triageRows(r, v, []desk.Request{req})
	if err != nil {
		return err
	}
	f, err := s.triageForm(r, v, req, c, rows[0].Address, admCloneValues(form))
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if !admFailed(v, f, "mail.triage", aerr) {
		// A conflict without a field: the request was closed or changed meanwhile.
		f.Error, status = v.T("mail.triage.err.conflict"), http.StatusConflict
	} else if e.Field == "version" {
		status = http.StatusConflict
	}
	return s.triagePage(w, r, v, status, f, "")
}

// ---- mail settings: one's language and the opt-out

func mailSettingsForm(v *view, vals url.Values) *admForm {
	lang := admRadioField("lang", v.T("mail.prefs.lang"), []admOption{{Value: "ru", Label: "Русский"}, {Value: "en", Label: "English"}}, vals.Get("lang"))
	lang.Required, lang.Hint = true, v.T("mail.prefs.lang_hint")
	essential := admCheckField("essential_only", v.T("mail.prefs.essential"), vals.Get("essential_only") != "")
	essential.Hint, essential.Wide = v.T("mail.prefs.essential_hint"), true
	return (&admForm{ID: "mail-settings", Action: "/settings/mail", Submit: v.T("mail.prefs.submit"),
		Sections: []admSection{{Fields: []admField{lang, essential}}}}).done(v)
}

// mailSettingsValues reads the caller's settings for the form.
func (s *Server) mailSettingsValues(r *http.Request, v *view) (url.Values, error) {
	ctx := r.Context()
	a, err := s.deps.Store.GetAccount(ctx, v.User, v.User.AccountID)
	if err != nil {
		return nil, err
	}
	prefs, err := s.deps.Store.GetMailPrefs(ctx, v.User)
	if err != nil {
		return nil, err
	}
	vals := url.Values{"lang": {a.Lang}}
	if prefs.EssentialOnly {
		vals.Set("essential_only", "on")
	}
	return vals, nil
}

func (s *Server) saveMailSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	in := store.MailSettings{Lang: r.PostFormValue("lang"), MailPrefs: store.MailPrefs{EssentialOnly: r.PostFormValue("essential_only") != ""}}
	if _, err := s.deps.Store.SetMailSettings(r.Context(), v.User, in); err != nil {
		f := mailSettingsForm(v, r.PostForm)
		if !admFailed(v, f, "mail.prefs", err) {
			return err
		}
		return s.settingsPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	// The pages follow the language at once, as the header's switch does.
	s.deps.Auth.Sessions().Put(r.Context(), "lang", in.Lang)
	v.Lang = in.Lang
	v.tr = s.translator(in.Lang)
	return s.redirect(w, r, "/password", v.T("mail.prefs.saved"))
}

// ---- words for the request page's mail

// MailOutcome names what an inbound message became.
func (w words) MailOutcome(outcome string) string {
	if id := "mail.outcome." + outcome; w.tr.Has(id) {
		return w.tr.T(id)
	}
	return outcome
}

// Notice names a notice kind (registration, question, …).
func (w words) Notice(kind string) string {
	if id := "mail.kind." + kind; w.tr.Has(id) {
		return w.tr.T(id)
	}
	return kind
}

// NoticeState names where a notice stands (pending, sent, failed, …).
func (w words) NoticeState(state string) string {
	if id := "mail.state." + state; w.tr.Has(id) {
		return w.tr.T(id)
	}
	return state
}

// NoticeBadge colours a notice's state.
func (w words) NoticeBadge(state string) string {
	switch state {
	case "sent":
		return "met"
	case "failed", "expired":
		return "breached"
	}
	return "paused"
}

// MailHref is where a message's original is downloaded.
func (w words) MailHref(id int64) string { return mailOriginalHref(id) }
