package api

import (
	"fmt"
	"net/http"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/store"
)

// mailRoutes: the e-mail channel — mailboxes (admins), the mail log and the
// triage queue (staff), a request's mail and the original .eml (whoever may
// read the request), and each person's mail preferences.
func (s *Server) mailRoutes() []route {
	st := s.store
	return []route{
		{method: "GET", path: "/api/v1/mail/mailboxes", h: s.listMailboxes},
		{method: "POST", path: "/api/v1/mail/mailboxes", h: create(s, st.CreateMailbox)},
		{method: "GET", path: "/api/v1/mail/mailboxes/{id}", h: get(st.GetMailbox)},
		{method: "PATCH", path: "/api/v1/mail/mailboxes/{id}", h: patch(s, st.UpdateMailbox)},
		{method: "GET", path: "/api/v1/mail/messages", h: s.listMail},
		{method: "GET", path: "/api/v1/mail/messages/{id}/original", h: s.mailOriginal},
		{method: "GET", path: "/api/v1/mail/triage", h: s.triage},
		{method: "GET", path: "/api/v1/mail/preferences", h: s.mailPrefs},
		{method: "PUT", path: "/api/v1/mail/preferences", h: s.setMailPrefs},
		{method: "GET", path: "/api/v1/requests/{id}/mail", h: get(st.MailOfRequest)},
		{method: "POST", path: "/api/v1/requests/{id}/customer", h: s.assignRequest},
	}
}

func (s *Server) listMailboxes(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.ListMailboxes(r.Context(), p, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listMail(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := store.MailFilter{Outcome: r.URL.Query().Get("outcome"), Direction: r.URL.Query().Get("direction")}
	var err error
	if f.Page, err = page(r); err != nil {
		return err
	}
	switch f.Outcome {
	case "", store.MailRequest, store.MailTriage, store.MailComment, store.MailNote, store.MailIgnored, store.MailRateLimited, store.MailRejected, store.MailSent:
	default:
		return errorf("outcome", "outcome must be one of request, triage, comment, note, ignored, rate_limited, rejected, sent")
	}
	out, err := s.store.ListMail(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// mailOriginal streams the message as it arrived, to whoever may read its
// request; it is downloaded, never shown.
func (s *Server) mailOriginal(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.store.MailOriginal(r.Context(), p, id)
	if err != nil {
		return err
	}
	if s.blobs == nil {
		return apperr.New(apperr.Unavailable, "this server has no file store configured; originals are not available")
	}
	f, err := s.blobs.Open(r.Context(), m.BlobKey)
	if err != nil {
		return fmt.Errorf("mail %d: open the original %s: %w", m.ID, m.BlobKey, err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Disposition", contentDisposition(fmt.Sprintf("message-%d.eml", m.ID), false))
	h.Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", m.At, f)
	return nil
}

func (s *Server) triage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out, err := s.store.TriageRequests(r.Context(), p, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) mailPrefs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	out, err := s.store.GetMailPrefs(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) setMailPrefs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := bodyOf[store.MailPrefs](s, r)
	if err != nil {
		return err
	}
	out, err := s.store.SetMailPrefs(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// assignRequest links a request from the triage queue to a customer.
func (s *Server) assignRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := bodyOf[store.Assignment](s, r)
	if err != nil {
		return err
	}
	out, err := s.store.AssignRequest(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
