package web

// The request page, shared by customers and staff: header facts, SLA
// clocks, the conversation, files, proposals and the journal, and exactly
// the workflow actions desk.Allowed gives the viewer now. Every form is a
// plain POST with the CSRF token that redirects back (PRG); a refusal
// re-renders the page with the error next to the field it is about.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/files"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
	"tend/internal/sla"
	"tend/internal/store"
)

func init() {
	// fieldAttrs marks an input that the page's error is about:
	// aria-invalid, and aria-describedby pointing at the message shown
	// beside it (id "err-<name>", see the "field_error" partial).
	funcs["fieldAttrs"] = func(errField, name string) template.HTMLAttr {
		if errField == "" || errField != name {
			return ""
		}
		return template.HTMLAttr(`aria-invalid="true" aria-describedby="err-` + template.HTMLEscapeString(name) + `"`)
	}
	// pairs builds a map for partials that need more than one value.
	funcs["pairs"] = func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	}
	// formValue reads one value of a form being re-shown.
	funcs["formValue"] = func(f url.Values, name string) string { return f.Get(name) }
	funcs["formHas"] = func(f url.Values, name, value string) bool { return slices.Contains(f[name], value) }
	funcs["fileInline"] = files.Inline
	funcs["seq5"] = func() []int { return []int{5, 4, 3, 2, 1} }
	funcs["seqWeek"] = func() []int { return []int{1, 2, 3, 4, 5, 6, 7} }
}

func (s *Server) requestRoutes() {
	s.mux.HandleFunc("GET /requests/{id}", s.page(false, s.requestPage))
	s.mux.HandleFunc("POST /requests/{id}/act", s.page(false, s.requestAct))
	s.mux.HandleFunc("POST /requests/{id}/comment", s.pageMultipart(s.requestComment))
	s.mux.HandleFunc("POST /requests/{id}/rate", s.page(false, s.requestRate))
	s.mux.HandleFunc("POST /requests/{id}/problem", s.page(false, s.requestLinkProblem))
}

// ---- words: the domain's codes in the reader's language

// words turns the domain's codes into plain words of the page's language.
// Templates reach it as .Data.W.
type words struct {
	tr       translator
	customer bool
	role     auth.Role
}

func (v *view) words() words {
	return words{tr: v.tr, customer: v.User.IsCustomer(), role: v.User.Role}
}

func (w words) T(id string, args ...any) string { return w.tr.T(id, args...) }

func (w words) State(s desk.State) string       { return w.tr.T("request.state." + string(s)) }
func (w words) Type(t string) string            { return w.tr.T("request.type." + t) }
func (w words) TypeHint(t string) string        { return w.tr.T("request.type_hint." + t) }
func (w words) Priority(p string) string        { return w.tr.T("request.priority." + p) }
func (w words) PriorityDef(p string) string     { return w.tr.T("request.priority_def." + p) }
func (w words) Action(a desk.Action) string     { return w.tr.T("request.action." + string(a)) }
func (w words) ActionHint(a desk.Action) string { return w.tr.T("request.action_hint." + string(a)) }
func (w words) TextLabel(a desk.Action) string  { return w.tr.T("request.action_text." + string(a)) }
func (w words) Clock(k desk.ClockKind) string   { return w.tr.T("request.clock." + string(k)) }
func (w words) ClockState(st string) string     { return w.tr.T("request.clock_state." + st) }
func (w words) Channel(c desk.Channel) string   { return w.tr.T("request.channel." + string(c)) }
func (w words) Proposal(st desk.ProposalStatus) string {
	return w.tr.T("request.proposal_status." + string(st))
}
func (w words) Entitlement(e licensing.Entitlement) string {
	return w.tr.T("portal.entitlement." + string(e))
}

// Journal names a journal entry's action; unknown ones show as they are.
func (w words) Journal(action string) string {
	if id := "request.journal." + action; w.tr.Has(id) {
		return w.tr.T(id)
	}
	if slices.Contains(desk.Actions(), desk.Action(action)) {
		return w.Action(desk.Action(action))
	}
	return action
}

// userNotes are the journal actions whose note is what a person wrote
// (a question, a reason, a comment's first line); the others' notes are
// the system's own English and are not shown.
var userNotes = map[string]bool{"comment": true, "internal_note": true, "rated": true}

// JournalNote is the note of an entry worth showing, or "".
func (w words) JournalNote(e store.Entry) string {
	a := desk.Action(e.Action)
	if userNotes[e.Action] || slices.Contains(desk.Actions(), a) && a != desk.ActionDeploy && a != desk.ActionRollOut {
		return e.Note
	}
	return ""
}

// Target writes a plan's target as working hours and minutes.
func (w words) Target(d licensing.Duration) string {
	if d == 0 {
		return "—"
	}
	return w.Dur(int64(time.Duration(d).Seconds()))
}

// Coverage says in plain words whether the request is covered, and why not.
func (w words) Coverage(r desk.Request, startsAt time.Time) string {
	if r.Covered {
		return w.tr.T("request.coverage.covered")
	}
	reason := r.CoverageReason
	if reason == "" || !w.tr.Has("request.coverage."+reason) {
		return r.CoverageNote
	}
	if reason == licensing.ReasonOutsideHours && !startsAt.IsZero() {
		return w.tr.T("request.coverage.outside_working_hours_at", "At", mskTime(startsAt))
	}
	return w.tr.T("request.coverage." + reason)
}

// Waiting says what the vendor waits for, from the viewer's side; "" when
// the next move is the vendor's.
func (w words) Waiting(r desk.Request) string {
	switch {
	case !r.State.Open():
		return ""
	case r.State == desk.StateClarifying:
		if w.customer {
			return w.tr.T("request.waiting.answer_you")
		}
		return w.tr.T("request.waiting.answer_customer")
	case r.ProposalOpen:
		switch {
		case w.role == auth.RoleCustomerAdmin:
			return w.tr.T("request.waiting.decision_you")
		case w.customer:
			return w.tr.T("request.waiting.decision_admin")
		}
		return w.tr.T("request.waiting.decision_customer")
	case r.State == desk.StateResolved:
		if w.customer {
			return w.tr.T("request.waiting.confirm_you")
		}
		return w.tr.T("request.waiting.confirm_customer")
	}
	return ""
}

// Dur writes a span of (working) time as hours and minutes.
func (w words) Dur(sec int64) string {
	if sec < 0 {
		sec = -sec
	}
	h, m := sec/3600, (sec%3600)/60
	switch {
	case h == 0:
		return w.tr.T("request.dur.m", "M", m)
	case m == 0:
		return w.tr.T("request.dur.h", "H", h)
	}
	return w.tr.T("request.dur.hm", "H", h, "M", m)
}

// ClockText says where one SLA clock stands, in a sentence.
func (w words) ClockText(c store.Clock) string {
	due := mskTime(c.Due)
	switch c.State {
	case "breached":
		if c.Stopped != nil {
			return w.tr.T("request.sla.missed", "Due", due)
		}
		return w.tr.T("request.sla.breached", "Due", due, "Left", w.Dur(c.LeftSec))
	case "met":
		return w.tr.T("request.sla.met", "At", mskTime(deref(c.Stopped)))
	case "paused":
		if w.customer {
			return w.tr.T("request.sla.paused_you")
		}
		return w.tr.T("request.sla.paused")
	case "at_risk":
		return w.tr.T("request.sla.at_risk", "Due", due, "Left", w.Dur(c.LeftSec))
	}
	return w.tr.T("request.sla.running", "Due", due, "Left", w.Dur(c.LeftSec))
}

// slaSummary is one line about a request's clocks, for lists.
type slaSummary struct {
	Text  string
	Class string // a badge class: breached, at_risk, paused, met, or ""
}

// SLA sums up a request's clocks: the worst running one decides.
func (w words) SLA(r desk.Request, clocks []store.Clock) slaSummary {
	rank := map[string]int{"breached": 5, "at_risk": 4, "running": 3, "paused": 2}
	var worst *store.Clock
	missed := false
	for i := range clocks {
		c := &clocks[i]
		if c.Stopped != nil {
			missed = missed || c.State == "breached"
			continue
		}
		if worst == nil || rank[c.State] > rank[worst.State] ||
			rank[c.State] == rank[worst.State] && c.Due.Before(worst.Due) {
			worst = c
		}
	}
	switch {
	case worst != nil:
		class := worst.State
		if class == "running" {
			class = ""
		}
		return slaSummary{Text: w.Clock(worst.Kind) + ": " + w.ClockText(*worst), Class: class}
	case len(clocks) == 0 && r.State.Open() && !r.Covered:
		return slaSummary{Text: w.tr.T("request.sla.none_uncovered")}
	case len(clocks) == 0:
		return slaSummary{Text: w.tr.T("request.sla.none")}
	case missed:
		return slaSummary{Text: w.tr.T("request.sla.some_missed"), Class: "breached"}
	}
	return slaSummary{Text: w.tr.T("request.sla.all_met"), Class: "met"}
}

// storePrefixes are the English openings the store gives the comments it
// writes for an action; the page shows them in the reader's language.
var storePrefixes = map[string]string{"Resolved: ": "request.prefix.resolved", "Scope of work: ": "request.prefix.scope"}

// CommentBody is a comment's text, with the store's own opening translated.
func (w words) CommentBody(c desk.Comment) string {
	if c.FromStaff {
		for prefix, id := range storePrefixes {
			if rest, ok := strings.CutPrefix(c.Body, prefix); ok {
				return w.tr.T(id) + " " + rest
			}
		}
	}
	return c.Body
}

// Size writes a file size.
func (w words) Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return w.tr.T("request.size.mb", "N", n>>20)
	case n >= 1<<20:
		return w.tr.T("request.size.mb", "N", fmt.Sprintf("%.1f", float64(n)/(1<<20)))
	case n >= 1<<10:
		return w.tr.T("request.size.kb", "N", (n+512)>>10)
	}
	return w.tr.T("request.size.b", "N", n)
}

func mskTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(sla.Moscow()).Format("02.01.2006 15:04")
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// ---- field errors

// fieldError puts a refusal from the store on the view: a localized
// message for a known field (the store speaks English), else its own.
func fieldError(v *view, err error, fields ...string) bool {
	e := apperr.As(err)
	if e.Code != apperr.Invalid && e.Code != apperr.TooLarge {
		return false
	}
	field := e.Field
	if len(fields) > 0 && !slices.Contains(fields, field) {
		field = ""
	}
	v.Field, v.Error = field, e.Message
	if _, ok := errors.AsType[*localized](err); ok {
		return true
	}
	if field != "" && v.tr.Has("request.field_error."+field) {
		v.Error = v.T("request.field_error." + field)
	}
	return true
}

// localized marks an error whose message is already in the reader's language.
type localized struct{ e *apperr.Error }

func (l *localized) Error() string { return l.e.Error() }
func (l *localized) Unwrap() error { return l.e }

func localField(field, msg string) error {
	return &localized{&apperr.Error{Code: apperr.Invalid, Field: field, Message: msg}}
}

// ---- reading forms with files

// upload is one file of a form, already in the file store.
type upload struct {
	name string
	blob blob.Blob
}

// maxFormText bounds the text fields of one multipart form together.
const maxFormText = 1 << 20

// maxFormFiles bounds how many files one form may carry.
const maxFormFiles = 20

// readForm reads a POSTed form: url-encoded (already parsed by page), or
// multipart (pageMultipart checked its csrf part), whose file parts named
// "files" are streamed to the file store one by one, never held in memory.
// beforeFiles, if given, runs before the first file's bytes are read
// (with the fields read so far) and may refuse them. A refused file does
// not stop the form from being read: its text comes back so the page can
// be shown again, with the error; files already stored are discarded.
func (s *Server) readForm(ctx context.Context, v *view, r *http.Request, beforeFiles func(url.Values) error) (url.Values, []upload, error) {
	if v.parts == nil {
		return r.PostForm, nil, nil
	}
	vals := url.Values{}
	var ups []upload
	var fileErr error
	text := 0
	stored := int64(0)
	limit := s.maxUpload()
	checked := false
	for {
		part, err := v.parts.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.discardUploads(ctx, ups)
			return vals, nil, s.bodyError(v, err, limit)
		}
		name := part.FormName()
		if name != "files" {
			b, err := io.ReadAll(io.LimitReader(part, int64(maxFormText-text+1)))
			if err != nil {
				s.discardUploads(ctx, ups)
				return vals, nil, s.bodyError(v, err, limit)
			}
			if text += len(b); text > maxFormText {
				s.discardUploads(ctx, ups)
				return vals, nil, &apperr.Error{Code: apperr.TooLarge, Message: v.T("request.files.text_too_large")}
			}
			vals.Add(name, strings.ReplaceAll(string(b), "\r\n", "\n"))
			continue
		}
		if part.FileName() == "" || fileErr != nil {
			continue // an empty file field, or files after a refused one
		}
		if !checked {
			checked = true
			if s.deps.Blobs == nil {
				fileErr = apperr.New(apperr.Unavailable, "%s", v.T("request.files.off"))
				continue
			}
			if beforeFiles != nil {
				if fileErr = beforeFiles(vals); fileErr != nil {
					continue
				}
			}
		}
		if len(ups) == maxFormFiles {
			fileErr = localField("files", v.T("request.files.too_many", "N", maxFormFiles))
			continue
		}
		up, err := s.storeFile(ctx, v, part, limit-stored)
		if err != nil {
			var ae *apperr.Error
			if errors.As(err, &ae) && ae.Code != apperr.Internal {
				fileErr = err
				if ae.Code == apperr.TooLarge {
					s.discardUploads(ctx, ups)
					return vals, nil, err // the body is cut off: nothing more to read
				}
				continue
			}
			s.discardUploads(ctx, ups)
			return vals, nil, err
		}
		stored += up.blob.Size
		ups = append(ups, up)
	}
	if fileErr != nil {
		s.discardUploads(ctx, ups)
		return vals, nil, fileErr
	}
	return vals, ups, nil
}

// storeFile checks one file part (name, bytes against extension) and
// streams it to the file store.
func (s *Server) storeFile(ctx context.Context, v *view, part *multipart.Part, limit int64) (upload, error) {
	name := files.SanitizeName(part.FileName())
	br := bufio.NewReaderSize(part, files.HeadSize)
	head, err := br.Peek(files.HeadSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return upload{}, s.bodyError(v, err, s.maxUpload())
	}
	if len(head) == 0 {
		return upload{}, localField("files", v.T("request.files.empty", "Name", name))
	}
	sniffed := files.Sniff(head)
	if err := files.CheckType(name, sniffed, head); err != nil {
		var me *files.MismatchError
		errors.As(err, &me)
		return upload{}, localField("files", v.T("request.files.mismatch", "Name", name, "Ext", strings.TrimPrefix(me.Ext, ".")))
	}
	if limit <= 0 {
		return upload{}, &localized{&apperr.Error{Code: apperr.TooLarge, Field: "files", Message: v.T("request.files.too_large", "Limit", files.SizeText(s.maxUpload()))}}
	}
	b, err := s.deps.Blobs.Put(ctx, br, limit)
	var re *blob.ReadError
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return upload{}, &localized{&apperr.Error{Code: apperr.TooLarge, Field: "files", Message: v.T("request.files.too_large", "Limit", files.SizeText(s.maxUpload()))}}
	case errors.Is(err, blob.ErrEmpty):
		return upload{}, localField("files", v.T("request.files.empty", "Name", name))
	case errors.As(err, &re):
		return upload{}, s.bodyError(v, re.Err, s.maxUpload())
	case err != nil:
		return upload{}, fmt.Errorf("store upload: %w", err)
	}
	b.ContentType = files.StoredType(name, sniffed)
	return upload{name: name, blob: b}, nil
}

// bodyError maps a broken or oversized multipart body.
func (s *Server) bodyError(v *view, err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &localized{&apperr.Error{Code: apperr.TooLarge, Field: "files", Message: v.T("request.files.too_large", "Limit", files.SizeText(limit))}}
	}
	return &localized{&apperr.Error{Code: apperr.Invalid, Field: "files", Message: v.T("request.files.broken"), Err: err}}
}

// discardUploads removes files whose records were not written, if this
// form created them and no record refers to them.
func (s *Server) discardUploads(ctx context.Context, ups []upload) {
	ctx = context.WithoutCancel(ctx)
	for _, u := range ups {
		if !u.blob.Created {
			continue
		}
		if used, err := s.deps.Store.BlobInUse(ctx, u.blob.Key); err != nil || used {
			continue
		}
		if err := s.deps.Blobs.Delete(ctx, u.blob.Key); err != nil {
			s.deps.Log.WarnContext(ctx, "could not remove an unrecorded file", "key", u.blob.Key, "err", err)
		}
	}
}

// attachUploads records stored files on a request (and comment); a file
// that cannot be recorded is discarded with the rest.
func (s *Server) attachUploads(ctx context.Context, p auth.Principal, key string, requestID, commentID int64, internal bool, ups []upload) error {
	for i, u := range ups {
		k := ""
		if key != "" {
			k = key + ":file:" + strconv.Itoa(i)
		}
		if _, _, err := s.deps.Store.AddAttachmentWithKey(ctx, p, k, requestID, commentID, u.name, internal, u.blob); err != nil {
			s.discardUploads(ctx, ups[i:])
			return err
		}
	}
	return nil
}

// formKey is a fresh idempotency key for one rendering of a form, so a
// form sent twice (a double click, a reload after a lost answer) acts once.
func formKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "web-" + base64.RawURLEncoding.EncodeToString(b)
}

// ---- the page

// requestView is what request.html shows.
type requestView struct {
	W           words
	R           store.RequestView
	Product     string
	Instance    string
	Customer    string
	Assignee    string
	Problem     *desk.Problem
	StartsAt    time.Time
	Question    *desk.Comment // the open question, when clarifying
	Open        *desk.Proposal
	Comments    []commentView
	Files       []store.Attachment // not on a comment
	Journal     []store.Entry
	Actions     []actionView
	Instances   []lifecycle.Instance // the customer's, for deploy
	ProductInst []lifecycle.Instance // the product's, for roll-out
	Problems    []desk.Problem       // open problems, to link to (staff)
	CanComment  bool
	ReplyAnswer bool // a customer's reply answers the open question
	CanRate     bool
	Form        url.Values // what was sent, when the page is shown again
	OpenAction  string     // the action whose form was sent
	OpenForm    string     // "comment", "rate", "problem" when one of those was sent
	Key         string
	Deadline    string // a default deadline, datetime-local in Moscow
	MinDeadline string
	Types       []string
	Priorities  []string
	// Mail is the request's e-mail in and out (staff also see the notices);
	// Triage says the desk still has to link it to a customer or product.
	Mail   store.RequestMail
	Triage bool
}

type commentView struct {
	desk.Comment
	Files []store.Attachment
}

// actionView is one action the viewer may take and the inputs it asks for.
type actionView struct {
	Action   desk.Action
	Text     bool // a text field
	TextReq  bool // … that must be filled
	Scope    bool
	Effort   bool
	Deadline bool
	Instance bool
	Release  bool
	Class    bool
	Primary  bool
	Danger   bool
}

// Input reports whether the action needs a form rather than one button.
func (a actionView) Input() bool {
	return a.Text || a.Scope || a.Effort || a.Deadline || a.Instance || a.Release || a.Class
}

// optionalText lists actions that take a comment although it is not required.
var optionalText = map[desk.Action]bool{
	desk.ActionPropose: true, desk.ActionAcceptProposal: true, desk.ActionDefineScope: true,
	desk.ActionDeploy: true, desk.ActionRollOut: true, desk.ActionReclassify: true,
}

// requiredText lists actions the page asks a reason for although the
// workflow does not insist: a reclassification is explained.
var requiredText = map[desk.Action]bool{desk.ActionReclassify: true}

// hiddenActions are never offered as buttons: the system's own, and the
// customer's answer, which is the reply form.
var hiddenActions = map[desk.Action]bool{desk.ActionAutoClose: true}

// needsOf finds the inputs an action asks for in the request's state: the
// workflow rule that matches (desk.Allowed has said the viewer may take it).
func needsOf(s desk.Subject, act desk.Action) []desk.Need {
	for _, r := range desk.Rules() {
		if r.Action != act || (r.Flow != "" && r.Flow != s.Workflow()) {
			continue
		}
		if r.Types != nil && !slices.Contains(r.Types, s.Type) {
			continue
		}
		if slices.Contains(r.From, s.State) || r.WhileClarifying && s.State == desk.StateClarifying && slices.Contains(r.From, s.ReturnState) {
			return r.Needs
		}
	}
	return nil
}

func actionViews(r desk.Request, allowed []desk.Action, customer bool) []actionView {
	var out []actionView
	for _, a := range allowed {
		if hiddenActions[a] || customer && a == desk.ActionAnswerClarification {
			continue
		}
		av := actionView{Action: a, Text: optionalText[a], TextReq: requiredText[a]}
		for _, n := range needsOf(r.WorkflowSubject(), a) {
			switch n {
			case desk.NeedText:
				av.Text, av.TextReq = true, true
			case desk.NeedScope:
				av.Scope = true
			case desk.NeedEffort:
				av.Effort = true
			case desk.NeedDeadline:
				av.Deadline = true
			case desk.NeedInstance:
				av.Instance = true
			case desk.NeedRelease, desk.NeedInstances:
				av.Release = true
			case desk.NeedClass:
				av.Class = true
			}
		}
		switch a {
		case desk.ActionCancel, desk.ActionRejectProposal, desk.ActionCloseUnanswered:
			av.Danger = true
		case desk.ActionTake, desk.ActionReclassify, desk.ActionReopen, desk.ActionClose:
		default:
			av.Primary = true
		}
		out = append(out, av)
	}
	return out
}

func pathRequestID(r *http.Request, v *view) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "%s", v.T("error.not_found"))
	}
	return id, nil
}

func (s *Server) requestPage(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	s.takeFlash(r, v)
	return s.showRequest(w, r, v, id, http.StatusOK, nil, "", "")
}

// showRequest renders the request page; form and open are what was sent
// when the page is shown again after a refusal.
func (s *Server) showRequest(w http.ResponseWriter, r *http.Request, v *view, id int64, status int, form url.Values, openAction desk.Action, openForm string) error {
	ctx := r.Context()
	st := s.deps.Store
	rv, err := st.ViewRequest(ctx, v.User, id)
	if err != nil {
		return err
	}
	d := &requestView{W: v.words(), R: rv, Form: form, OpenAction: string(openAction), OpenForm: openForm, Key: formKey(),
		Types: desk.Types, Priorities: desk.Priorities}
	if d.Form == nil {
		d.Form = url.Values{}
	}
	if rv.ProductID != 0 {
		if pr, err := st.GetProduct(ctx, v.User, rv.ProductID); err == nil {
			d.Product = pr.Name
		}
	}
	if rv.InstanceID != 0 {
		if in, err := st.GetInstance(ctx, v.User, rv.InstanceID); err == nil {
			d.Instance = in.Name
		}
	}
	if v.IsStaff() {
		if rv.CustomerID != 0 {
			if c, err := st.GetCustomer(ctx, v.User, rv.CustomerID); err == nil {
				d.Customer = c.Name
			}
		}
		if rv.AssigneeID != 0 {
			if a, err := st.GetAccount(ctx, v.User, rv.AssigneeID); err == nil {
				d.Assignee = a.Name
			}
		}
		if rv.ProblemID != 0 {
			if pv, err := st.GetProblem(ctx, v.User, rv.ProblemID); err == nil {
				d.Problem = &pv.Problem
			}
		} else {
			for _, state := range []desk.ProblemState{desk.ProblemOpen, desk.ProblemKnownError} {
				list, err := st.ListProblems(ctx, v.User, store.ProblemFilter{State: state, Page: store.Page{Limit: store.MaxPage}})
				if err != nil {
					return err
				}
				d.Problems = append(d.Problems, list.Items...)
			}
		}
	}
	d.StartsAt = s.startsAt(ctx, v.User, rv.Request)
	// The conversation, with each comment's files beside it.
	byComment := map[int64][]store.Attachment{}
	for _, a := range rv.Attachments {
		if a.CommentID != 0 {
			byComment[a.CommentID] = append(byComment[a.CommentID], a)
		} else {
			d.Files = append(d.Files, a)
		}
	}
	for _, c := range rv.Comments {
		d.Comments = append(d.Comments, commentView{Comment: c, Files: byComment[c.ID]})
	}
	if rv.State == desk.StateClarifying {
		for i := len(rv.Comments) - 1; i >= 0; i-- {
			if c := rv.Comments[i]; c.FromStaff && !c.Internal {
				d.Question = &c
				break
			}
		}
	}
	for i := range rv.Proposals {
		if rv.Proposals[i].Status == desk.ProposalOpen {
			d.Open = &rv.Proposals[i]
		}
	}
	j, err := st.RequestJournal(ctx, v.User, id, store.Page{Limit: store.MaxPage})
	if err != nil {
		return err
	}
	d.Journal = j.Items
	// Clocks in the order a request meets them.
	slices.SortStableFunc(d.R.SLA, func(a, b store.Clock) int {
		if c := slices.Index(desk.ClockKinds, a.Kind) - slices.Index(desk.ClockKinds, b.Kind); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
	d.Actions = actionViews(rv.Request, rv.Allowed, v.IsCustomer())
	for _, a := range d.Actions {
		if a.Instance && rv.CustomerID != 0 {
			list, err := st.ListInstances(ctx, v.User, store.InstanceFilter{CustomerID: rv.CustomerID, Page: store.Page{Limit: store.MaxPage}})
			if err != nil {
				return err
			}
			d.Instances = list.Items
		}
		if a.Release && rv.ProductID != 0 {
			list, err := st.ListInstances(ctx, v.User, store.InstanceFilter{ProductID: rv.ProductID, Page: store.Page{Limit: store.MaxPage}})
			if err != nil {
				return err
			}
			d.ProductInst = list.Items
		}
	}
	if d.Mail, err = st.MailOfRequest(ctx, v.User, id); err != nil {
		return err
	}
	d.Triage = v.IsStaff() && rv.State.Open() && (rv.CustomerID == 0 || rv.ProductID == 0)
	d.CanComment = v.IsStaff() || rv.State.Open()
	d.ReplyAnswer = v.IsCustomer() && slices.Contains(rv.Allowed, desk.ActionAnswerClarification)
	d.CanRate = v.IsCustomer() && rv.Rating == 0 && (rv.State == desk.StateResolved || rv.State == desk.StateClosed) &&
		(rv.RequesterID == v.User.AccountID || v.User.Role == auth.RoleCustomerAdmin)
	msk := sla.Moscow()
	now := v.Now.In(msk)
	d.MinDeadline = now.Format("2006-01-02T15:04")
	d.Deadline = time.Date(now.Year(), now.Month(), now.Day()+1, 18, 0, 0, 0, msk).Format("2006-01-02T15:04")
	v.Title = rv.Number + " · " + rv.Subject
	v.Data = d
	return s.render(w, status, "request", v)
}

// startsAt is when work on an emergency registered outside the plan's
// hours starts (zero otherwise), computed from the licenses as they were
// checked at registration.
func (s *Server) startsAt(ctx context.Context, p auth.Principal, r desk.Request) time.Time {
	if r.CoverageReason != licensing.ReasonOutsideHours || r.CustomerID == 0 {
		return time.Time{}
	}
	lics, err := s.deps.Store.CustomerLicenses(ctx, p, r.CustomerID)
	if err != nil {
		return time.Time{}
	}
	return licensing.Cover(lics, r.ProductID, r.Type, r.Priority, r.CreatedAt, s.calendar()).StartsAt
}

func (s *Server) calendar() *sla.Calendar {
	if s.deps.Calendar != nil {
		return s.deps.Calendar()
	}
	return sla.Default()
}

// ---- actions

// parseDeadline reads a datetime-local value as Moscow time.
func parseDeadline(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), sla.Moscow()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) requestAct(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	f := r.PostForm
	act := desk.Action(f.Get("action"))
	in := store.ActInput{Action: act, Needs: desk.Needs{Text: f.Get("text"), Scope: f.Get("scope"), Type: f.Get("type"), Priority: f.Get("priority")}}
	in.Version, _ = strconv.ParseInt(f.Get("version"), 10, 64)
	fail := func(err error) error {
		if fieldError(v, err, "text", "scope", "effort_hours", "deadline", "instance_id", "release_id", "instance_ids", "type_or_priority") {
			return s.showRequest(w, r, v, id, http.StatusUnprocessableEntity, f, act, "")
		}
		if apperr.Is(err, apperr.Conflict) {
			v.Error = v.T("request.conflict")
			if e := apperr.As(err); e.Field == "action" && len(e.Allowed) == 0 {
				v.Error = v.T("request.conflict_none")
			}
			return s.showRequest(w, r, v, id, http.StatusConflict, nil, "", "")
		}
		return err
	}
	if ev := f.Get("effort_hours"); ev != "" {
		h, err := strconv.ParseFloat(strings.ReplaceAll(ev, ",", "."), 64)
		if err != nil || h <= 0 {
			return fail(apperr.Field("effort_hours", "not a number"))
		}
		in.Needs.EffortHours = h
	}
	if dv := f.Get("deadline"); dv != "" {
		t, ok := parseDeadline(dv)
		if !ok {
			return fail(apperr.Field("deadline", "not a date"))
		}
		in.Needs.Deadline = t.UTC()
	}
	if iv := f.Get("instance_id"); iv != "" {
		in.Needs.InstanceID, _ = strconv.ParseInt(iv, 10, 64)
	}
	if rv := f.Get("release_id"); rv != "" {
		if in.Needs.ReleaseID, err = strconv.ParseInt(rv, 10, 64); err != nil {
			return fail(apperr.Field("release_id", "not a number"))
		}
	}
	for _, iv := range f["instance_ids"] {
		n, err := strconv.ParseInt(iv, 10, 64)
		if err != nil {
			return fail(apperr.Field("instance_ids", "not a number"))
		}
		in.Needs.InstanceIDs = append(in.Needs.InstanceIDs, n)
	}
	if act == desk.ActionReclassify {
		if in.Needs.Type == "" && in.Needs.Priority == "" {
			return fail(apperr.Field("type_or_priority", "missing"))
		}
		if strings.TrimSpace(in.Needs.Text) == "" {
			return fail(apperr.Field("text", "missing"))
		}
	}
	if act == "" || act == desk.ActionAutoClose {
		return fail(&apperr.Error{Code: apperr.Conflict, Field: "action", Message: "no action"})
	}
	if _, err := s.deps.Store.Act(r.Context(), v.User, id, in, ""); err != nil {
		return fail(err)
	}
	return s.redirect(w, r, requestURL(id), v.T("request.done", "Action", v.words().Action(act)))
}

func requestURL(id int64) string { return "/requests/" + strconv.FormatInt(id, 10) }

// requestComment adds a public reply or an internal note, with files; a
// customer's reply to an open question is the answer.
func (s *Server) requestComment(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	internalOf := func(f url.Values) bool { return v.IsStaff() && f.Get("internal") == "true" }
	f, ups, err := s.readForm(ctx, v, r, func(f url.Values) error {
		return s.deps.Store.CanAttach(ctx, v.User, id, 0, internalOf(f))
	})
	show := func(err error) error {
		if fieldError(v, err, "body", "files", "name", "internal", "file") {
			if v.Field == "name" || v.Field == "file" {
				v.Field = "files"
			}
			return s.showRequest(w, r, v, id, http.StatusUnprocessableEntity, f, "", "comment")
		}
		if apperr.Is(err, apperr.Conflict) {
			v.Error = v.T("request.comment_closed")
			return s.showRequest(w, r, v, id, http.StatusConflict, f, "", "comment")
		}
		return err
	}
	if err != nil {
		return show(err)
	}
	internal := internalOf(f)
	body := strings.TrimSpace(f.Get("body"))
	if body == "" && len(ups) == 0 {
		return show(apperr.Field("body", "empty"))
	}
	key := f.Get("key")
	var commentID int64
	if body != "" {
		c, err := s.deps.Store.AddComment(ctx, v.User, id, body, internal, key)
		if err != nil {
			s.discardUploads(ctx, ups)
			return show(err)
		}
		commentID = c.ID
		internal = internal || c.Internal
	}
	if err := s.attachUploads(ctx, v.User, key, id, commentID, internal, ups); err != nil {
		return show(err)
	}
	flash := v.T("request.comment_added")
	if internal {
		flash = v.T("request.note_added")
	}
	return s.redirect(w, r, requestURL(id), flash)
}

func (s *Server) requestRate(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	f := r.PostForm
	rating, _ := strconv.Atoi(f.Get("rating"))
	if _, err := s.deps.Store.Rate(r.Context(), v.User, id, rating, f.Get("comment")); err != nil {
		if fieldError(v, err, "rating", "comment") {
			if v.Field == "comment" {
				v.Field = "rating_comment"
			}
			return s.showRequest(w, r, v, id, http.StatusUnprocessableEntity, f, "", "rate")
		}
		return err
	}
	return s.redirect(w, r, requestURL(id), v.T("request.rated"))
}

func (s *Server) requestLinkProblem(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathRequestID(r, v)
	if err != nil {
		return err
	}
	f := r.PostForm
	pid, _ := strconv.ParseInt(f.Get("problem_id"), 10, 64)
	if pid <= 0 {
		fieldError(v, apperr.Field("problem_id", "missing"), "problem_id")
		return s.showRequest(w, r, v, id, http.StatusUnprocessableEntity, f, "", "problem")
	}
	if _, err := s.deps.Store.LinkRequest(r.Context(), v.User, pid, id); err != nil {
		if apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.NotFound) {
			v.Field, v.Error = "problem_id", apperr.As(err).Message
			return s.showRequest(w, r, v, id, http.StatusConflict, f, "", "problem")
		}
		return err
	}
	return s.redirect(w, r, requestURL(id), v.T("request.linked"))
}
