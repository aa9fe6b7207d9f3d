package store

import (
	"context"
	"strings"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
)

// What the web pages need of the e-mail channel beyond mail.go: the sender
// of each request in the triage queue (one query for a page of it), and a
// person's mail settings (language and opt-out) saved together.

// MailSender is who wrote the first message of a request, and when it came.
type MailSender struct {
	Address string    `json:"address"`
	Name    string    `json:"name,omitempty"`
	At      time.Time `json:"at"`
}

// RequestSenders answers, for each request id that came by mail, the sender
// of its first inbound message (staff: the desk reads the triage queue).
func (s *Store) RequestSenders(ctx context.Context, p auth.Principal, requestIDs []int64) (map[int64]MailSender, error) {
	if !p.IsStaff() {
		return nil, apperr.New(apperr.Forbidden, "the triage queue is the support desk's")
	}
	out := map[int64]MailSender{}
	if len(requestIDs) == 0 {
		return out, nil
	}
	if len(requestIDs) > MaxPage {
		return nil, apperr.Field("ids", "at most %d requests at a time", MaxPage)
	}
	args := make([]any, len(requestIDs))
	for i, id := range requestIDs {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(requestIDs)), ", ")
	rows, err := s.read().query(ctx, `SELECT request_id, from_addr, from_name, at FROM mail_messages
		WHERE direction = 'in' AND request_id IN (`+marks+`) ORDER BY id`, args...)
	if err != nil {
		return nil, s.fail("request senders", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m MailSender
		if err := rows.Scan(&id, &m.Address, &m.Name, &m.At); err != nil {
			return nil, s.fail("request senders", err)
		}
		if _, seen := out[id]; !seen {
			out[id] = m // the first message is the one that registered it
		}
	}
	return out, s.failOrNil("request senders", rows.Err())
}

// MailSettings are a person's language (of pages and of the notices they
// get) and their mail preferences.
type MailSettings struct {
	Lang string `json:"lang"`
	MailPrefs
}

// SetMailSettings changes the caller's language and mail preferences in
// one transaction, so a refused value leaves both as they were.
func (s *Store) SetMailSettings(ctx context.Context, p auth.Principal, in MailSettings) (MailSettings, error) {
	if p.AccountID == 0 {
		return MailSettings{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if p.Scope == auth.ScopeRead {
		return MailSettings{}, apperr.New(apperr.Forbidden, "this API token may only read")
	}
	if in.Lang != "ru" && in.Lang != "en" {
		return MailSettings{}, apperr.Field("lang", "lang must be ru or en")
	}
	err := s.tx(ctx, "mail settings", func(c conn) error {
		before, err := scanAccount(c.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, p.AccountID))
		if err != nil {
			return notFound(err, "account")
		}
		var was MailPrefs
		c.queryRow(ctx, `SELECT essential_only FROM mail_prefs WHERE account_id = ?`, p.AccountID).Scan(&was.EssentialOnly)
		now := s.Now()
		if _, err := c.exec(ctx, `UPDATE accounts SET lang = ?, updated_at = ? WHERE id = ?`, in.Lang, now, p.AccountID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO mail_prefs (account_id, essential_only, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET essential_only = excluded.essential_only, updated_at = excluded.updated_at`,
			p.AccountID, in.EssentialOnly, now); err != nil {
			return err
		}
		return c.journal(ctx, p, "account", p.AccountID, before.CustomerID, "mail_preferences",
			MailSettings{Lang: before.Lang, MailPrefs: was}, in, "")
	})
	if err != nil {
		return MailSettings{}, err
	}
	return in, nil
}
