package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/licensing"
)

// The e-mail channel's records (R3.1, R3.4, R6.3): mailboxes, every message
// in and out, and the outbox of notices. The rules of reading a message
// (parsing, threading, noise) live in internal/mail; this file writes what
// a message became in one transaction.

// mailPrincipal registers requests that came by mail: the requester is the
// contact the mail is from, the journal says it was the mail channel.
var mailPrincipal = auth.Principal{Name: "e-mail", Role: auth.RoleAdmin, Scope: auth.ScopeWrite}

// Outcomes of an inbound message.
const (
	MailRequest     = "request"      // a new request from a known contact
	MailTriage      = "triage"       // a new request from someone unknown, in the triage queue
	MailComment     = "comment"      // a reply on an existing request
	MailNote        = "note"         // a message on a request from someone who is not part of it: an internal note
	MailIgnored     = "ignored"      // auto-reply, bounce, list mail: never a request, never answered
	MailRateLimited = "rate_limited" // the sender sent too many
	MailRejected    = "rejected"     // could not be taken (too large)
	MailSent        = "sent"         // outbound
)

// Notice kinds (R3.4, R3.5, R6.3). Essential ones go out even to people
// who asked for less mail.
const (
	NoticeRegistered    = "registered"
	NoticeCoverage      = "coverage"
	NoticeClarification = "clarification"
	NoticeProposal      = "proposal"
	NoticeResolved      = "resolved"
	NoticeReminder      = "reminder"
	NoticeClosed        = "closed"
	NoticeComment       = "comment"
	NoticeCustomerReply = "customer_reply" // to the assignee: the customer wrote
)

// NoticeEssential says whether a notice kind goes out despite an opt-out.
func NoticeEssential(kind string) bool {
	switch kind {
	case NoticeReminder, NoticeCustomerReply:
		return false
	}
	return true
}

// ---- mailboxes ----

// Mailbox is an IMAP mailbox tend reads. The password is write-only: it is
// never answered, only PasswordSet; it is stored sealed (mail_secrets.go).
type Mailbox struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Host         string     `json:"host"`
	Port         int        `json:"port"`
	Security     string     `json:"security"` // tls | starttls | plain
	Username     string     `json:"username"`
	Password     string     `json:"password,omitempty"`
	PasswordSet  bool       `json:"password_set"`
	Folder       string     `json:"folder"`
	Disabled     bool       `json:"disabled"` // not read while set
	PollSeconds  int        `json:"poll_seconds"`
	ProductID    int64      `json:"product_id,omitempty"`
	Source       string     `json:"source"`
	UIDValidity  uint32     `json:"uid_validity"`
	LastUID      uint32     `json:"last_uid"`
	LastPolledAt *time.Time `json:"last_polled_at,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// PasswordProblem, from MailboxesToRead, says why the stored password
	// cannot be used (sealed under another secret key); the poller shows
	// it as the mailbox's last error.
	PasswordProblem string `json:"-"`
	// sealed is the password as stored; Password holds a plain one only
	// for a row written before sealing, until UseSecretKey seals it.
	sealed string
}

const mailboxCols = `id, name, host, port, security, username, password, password_sealed, folder, enabled, poll_seconds, product_id, source,
	uid_validity, last_uid, last_polled_at, last_error, created_at, updated_at`

func scanMailbox(row scanner) (Mailbox, error) {
	var m Mailbox
	var prod nullInt
	var polled nullTime
	var uv, lu int64
	var enabled bool
	err := row.Scan(&m.ID, &m.Name, &m.Host, &m.Port, &m.Security, &m.Username, &m.Password, &m.sealed, &m.Folder, &enabled, &m.PollSeconds, &prod, &m.Source,
		&uv, &lu, &polled, &m.LastError, &m.CreatedAt, &m.UpdatedAt)
	m.ProductID, m.LastPolledAt = prod.Int64, timePtr(polled)
	m.UIDValidity, m.LastUID = uint32(uv), uint32(lu)
	m.PasswordSet = m.Password != "" || m.sealed != ""
	m.Disabled = !enabled
	return m, err
}

// public hides the password.
func (m Mailbox) public() Mailbox {
	m.Password, m.sealed, m.PasswordProblem = "", "", ""
	return m
}

// sameServer says whether two mailboxes send their password to the same
// place (what a sealed password is bound to).
func (m Mailbox) sameServer(o Mailbox) bool {
	return strings.EqualFold(m.Host, o.Host) && m.Port == o.Port && m.Security == o.Security && m.Username == o.Username
}

var mailboxResource = auth.Resource{Kind: auth.KindMailbox}

func (m *Mailbox) check(ctx context.Context, c conn) error {
	m.Name = strings.TrimSpace(m.Name)
	m.Host = strings.TrimSpace(m.Host)
	m.Username = strings.TrimSpace(m.Username)
	m.Folder = strings.TrimSpace(m.Folder)
	switch {
	case m.Name == "":
		return apperr.Field("name", "give the mailbox a name")
	case utf8.RuneCountInString(m.Name) > 100:
		return apperr.Field("name", "the name is longer than 100 characters")
	case m.Host == "" || strings.ContainsAny(m.Host, " /:@"):
		return apperr.Field("host", "host must be the IMAP server's name or address, such as imap.example.com")
	case m.Username == "":
		return apperr.Field("username", "username is required")
	}
	switch m.Security {
	case "":
		m.Security = "tls"
	case "tls", "starttls", "plain":
	default:
		return apperr.Field("security", "security must be tls, starttls or plain")
	}
	if m.Port == 0 {
		m.Port = 993
		if m.Security != "tls" {
			m.Port = 143
		}
	}
	if m.Port < 1 || m.Port > 65535 {
		return apperr.Field("port", "port must be between 1 and 65535")
	}
	if m.Folder == "" {
		m.Folder = "INBOX"
	}
	if m.PollSeconds == 0 {
		m.PollSeconds = 60
	}
	if m.PollSeconds < 5 || m.PollSeconds > 86400 {
		return apperr.Field("poll_seconds", "poll_seconds must be between 5 and 86400")
	}
	if len(m.Password) > 1024 {
		return apperr.Field("password", "the password is longer than 1024 bytes")
	}
	if m.ProductID != 0 {
		return c.mustExist(ctx, "products", m.ProductID, "product_id", "product")
	}
	return nil
}

// CreateMailbox adds a mailbox to read (admins).
func (s *Store) CreateMailbox(ctx context.Context, p auth.Principal, m Mailbox) (Mailbox, error) {
	err := s.tx(ctx, "create mailbox", func(c conn) error {
		if err := auth.Authorize(p, auth.Create, mailboxResource); err != nil {
			return err
		}
		m.ID, m.UIDValidity, m.LastUID, m.LastPolledAt, m.LastError = 0, 0, 0, nil, ""
		if m.Source == "" {
			m.Source = "api"
		}
		if err := m.check(ctx, c); err != nil {
			return err
		}
		sealed, err := s.sealPassword(m)
		if err != nil {
			return err
		}
		now := s.Now()
		m.CreatedAt, m.UpdatedAt = now, now
		id, err := c.insert(ctx, `INSERT INTO mailboxes (name, host, port, security, username, password_sealed, folder, enabled, poll_seconds, product_id, source, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Name, m.Host, m.Port, m.Security, m.Username, sealed, m.Folder, !m.Disabled, m.PollSeconds, nullID(m.ProductID), m.Source, now, now)
		if err != nil {
			return uniqueOr(err, "name", "a mailbox with this name already exists")
		}
		m.ID = id
		m.PasswordSet = m.Password != ""
		return c.journal(ctx, p, "mailbox", id, 0, "created", nil, m.public(), "")
	})
	return m.public(), err
}

// GetMailbox reads one mailbox (admins), without its password.
func (s *Store) GetMailbox(ctx context.Context, p auth.Principal, id int64) (Mailbox, error) {
	if err := auth.Authorize(p, auth.Read, mailboxResource); err != nil {
		return Mailbox{}, err
	}
	m, err := scanMailbox(s.read().queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
	if err != nil {
		return Mailbox{}, s.fail("get mailbox", notFound(err, "mailbox"))
	}
	return m.public(), nil
}

// ListMailboxes lists the mailboxes (admins), without passwords.
func (s *Store) ListMailboxes(ctx context.Context, p auth.Principal, pg Page) (List[Mailbox], error) {
	if _, err := auth.ListScope(p, auth.KindMailbox); err != nil {
		return List[Mailbox]{}, err
	}
	out, err := listPage(ctx, s, "list mailboxes", "mailboxes", mailboxCols, where{}, pg, scanMailbox, func(m Mailbox) int64 { return m.ID })
	for i := range out.Items {
		out.Items[i] = out.Items[i].public()
	}
	return out, err
}

// UpdateMailbox changes a mailbox (admins). A password left out keeps the
// stored one; the read position cannot be set from outside, but moving the
// mailbox to another server or folder starts reading it afresh (messages
// already taken are recognised by their Message-ID).
func (s *Store) UpdateMailbox(ctx context.Context, p auth.Principal, id int64, change func(*Mailbox) error) (Mailbox, error) {
	var out Mailbox
	err := s.tx(ctx, "update mailbox", func(c conn) error {
		if err := auth.Authorize(p, auth.Update, mailboxResource); err != nil {
			return err
		}
		before, err := scanMailbox(c.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "mailbox")
		}
		v := before.public()
		if err := change(&v); err != nil {
			return err
		}
		newPassword := v.Password != ""
		v.ID, v.Source, v.CreatedAt, v.LastPolledAt, v.LastError = id, before.Source, before.CreatedAt, before.LastPolledAt, before.LastError
		v.UIDValidity, v.LastUID = before.UIDValidity, before.LastUID
		if v.Host != before.Host || v.Port != before.Port || v.Username != before.Username || v.Folder != before.Folder {
			v.UIDValidity, v.LastUID = 0, 0
		}
		if err := v.check(ctx, c); err != nil {
			return err
		}
		// A password left out stays; it is sealed again when the mailbox
		// moves to another server (it is bound to it) or was never sealed.
		sealed := before.sealed
		if !newPassword && (before.Password != "" || !v.sameServer(before)) {
			if v.Password, err = s.password(before); errors.Is(err, ErrNoSecretKey) {
				return err
			} else if err != nil {
				return apperr.Field("password", "the stored password cannot be read with this server's secret key; give the password again")
			}
		}
		if newPassword || v.Password != "" {
			if sealed, err = s.sealPassword(v); err != nil {
				return err
			}
		}
		v.UpdatedAt = s.Now()
		_, err = c.exec(ctx, `UPDATE mailboxes SET name = ?, host = ?, port = ?, security = ?, username = ?, password = '', password_sealed = ?, folder = ?, enabled = ?,
			poll_seconds = ?, product_id = ?, uid_validity = ?, last_uid = ?, updated_at = ? WHERE id = ?`,
			v.Name, v.Host, v.Port, v.Security, v.Username, sealed, v.Folder, !v.Disabled, v.PollSeconds, nullID(v.ProductID),
			int64(v.UIDValidity), int64(v.LastUID), v.UpdatedAt, id)
		if err != nil {
			return uniqueOr(err, "name", "a mailbox with this name already exists")
		}
		v.PasswordSet = sealed != ""
		out = v.public()
		note := ""
		if newPassword {
			note = "password changed"
		}
		return c.journal(ctx, p, "mailbox", id, 0, "updated", before.public(), out, note)
	})
	return out, err
}

// EnsureMailbox makes the stored mailbox named m.Name match m, for
// mailboxes given on the command line (source "config"). It answers the id.
func (s *Store) EnsureMailbox(ctx context.Context, m Mailbox) (int64, error) {
	var id int64
	err := s.tx(ctx, "configure mailbox", func(c conn) error {
		m.Source, m.Disabled = "config", false
		if err := m.check(ctx, c); err != nil {
			return err
		}
		old, err := scanMailbox(c.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE name = ?`, m.Name))
		now := s.Now()
		if errors.Is(err, sql.ErrNoRows) {
			sealed, err := s.sealPassword(m)
			if err != nil {
				return err
			}
			id, err = c.insert(ctx, `INSERT INTO mailboxes (name, host, port, security, username, password_sealed, folder, enabled, poll_seconds, product_id, source, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.Name, m.Host, m.Port, m.Security, m.Username, sealed, m.Folder, true, m.PollSeconds, nullID(m.ProductID), m.Source, now, now)
			if err != nil {
				return err
			}
			return c.journal(ctx, auth.System, "mailbox", id, 0, "created", nil, m.public(), "from the configuration")
		}
		if err != nil {
			return err
		}
		id = old.ID
		// A password that does not open (another key) is simply sealed anew
		// from the configuration; one still in plain text is sealed too.
		oldPassword, err := s.password(old)
		if old.Host == m.Host && old.Port == m.Port && old.Security == m.Security && old.Username == m.Username &&
			err == nil && oldPassword == m.Password && old.Password == "" && old.Folder == m.Folder && !old.Disabled && old.PollSeconds == m.PollSeconds {
			return nil
		}
		reset := old.Host != m.Host || old.Port != m.Port || old.Username != m.Username || old.Folder != m.Folder
		uv, lu := int64(old.UIDValidity), int64(old.LastUID)
		if reset {
			uv, lu = 0, 0
		}
		sealed, err := s.sealPassword(m)
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE mailboxes SET host = ?, port = ?, security = ?, username = ?, password = '', password_sealed = ?, folder = ?, enabled = ?, poll_seconds = ?,
			uid_validity = ?, last_uid = ?, updated_at = ? WHERE id = ?`,
			m.Host, m.Port, m.Security, m.Username, sealed, m.Folder, true, m.PollSeconds, uv, lu, now, id)
		if err != nil {
			return err
		}
		return c.journal(ctx, auth.System, "mailbox", id, 0, "updated", old.public(), m.public(), "from the configuration")
	})
	return id, err
}

// MailboxesToRead lists the enabled mailboxes with their passwords, for the
// poller only. A password that cannot be opened is left empty and the
// mailbox's PasswordProblem says why.
func (s *Store) MailboxesToRead(ctx context.Context) ([]Mailbox, error) {
	rows, err := s.read().query(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE enabled = TRUE ORDER BY id`)
	if err != nil {
		return nil, s.fail("list mailboxes", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, s.fail("list mailboxes", err)
		}
		if m.Password, err = s.password(m); err != nil {
			m.PasswordProblem = err.Error()
		}
		m.sealed = ""
		out = append(out, m)
	}
	return out, s.failOrNil("list mailboxes", rows.Err())
}

// MailboxPosition is where reading a mailbox stands.
func (s *Store) MailboxPosition(ctx context.Context, id int64) (uidValidity, lastUID uint32, err error) {
	var uv, lu int64
	err = s.read().queryRow(ctx, `SELECT uid_validity, last_uid FROM mailboxes WHERE id = ?`, id).Scan(&uv, &lu)
	return uint32(uv), uint32(lu), s.failOrNil("mailbox position", notFound(err, "mailbox"))
}

// ResetMailbox starts reading a mailbox afresh under a new UIDVALIDITY (the
// server renumbered it). Messages already taken are recognised again by
// their Message-ID, so nothing is taken twice.
func (s *Store) ResetMailbox(ctx context.Context, id int64, uidValidity uint32) error {
	return s.tx(ctx, "reset mailbox", func(c conn) error {
		var old int64
		if err := c.queryRow(ctx, `SELECT uid_validity FROM mailboxes WHERE id = ?`, id).Scan(&old); err != nil {
			return notFound(err, "mailbox")
		}
		res, err := c.exec(ctx, `UPDATE mailboxes SET uid_validity = ?, last_uid = 0 WHERE id = ? AND uid_validity <> ?`, int64(uidValidity), id, int64(uidValidity))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || old == 0 {
			return nil // another replica did it, or the first read
		}
		return c.journal(ctx, auth.System, "mailbox", id, 0, "renumbered", nil, map[string]uint32{"uid_validity": uidValidity}, "the server gave the folder a new UIDVALIDITY; reading it again from the start")
	})
}

// MailboxPolled records the outcome of reading a mailbox ("" = fine).
func (s *Store) MailboxPolled(ctx context.Context, id int64, problem string) error {
	if len(problem) > 1000 {
		problem = problem[:1000]
	}
	return s.tx(ctx, "mailbox polled", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE mailboxes SET last_polled_at = ?, last_error = ? WHERE id = ?`, s.Now(), strings.ToValidUTF8(problem, "?"), id)
		return err
	})
}

// ---- inbound ----

// InboundMail is one received message as internal/mail read it.
type InboundMail struct {
	MessageID   string // "<…>", unique; a made-up one when the message has none
	Source      string // smtp | imap
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
	From        string // the sender's address, lower-case
	FromName    string
	To          string // the support address it reached
	Subject     string
	Raw         blob.Blob // the original .eml; Key empty when it was not kept
	// Refs are the Message-IDs it answers (In-Reply-To, then References
	// newest first); TokenNumber a request number from a verified reply-to
	// address; SubjectNumber one found in the subject.
	Refs          []string
	TokenNumber   string
	SubjectNumber string
	// Noise, when set, is why the message is an auto-reply, a bounce or list
	// mail: it is recorded and nothing else happens.
	Noise string
	// Rejected, when set, is why the message could not be taken at all.
	Rejected string
	Text     string // the whole text, for a new request
	Reply    string // the text with quoted history and signature trimmed, for a comment
	Files    []MailFile
	Lang     string // ru | en, guessed from the text
	Note     string // what went wrong reading it (kept in the journal)
	// Taken says MailTaken found the message recorded before: only the
	// read position moves.
	Taken bool
	// Bounce, with Noise, is a report that one of tend's notices could not
	// be delivered: the notice is marked failed.
	Bounce *Bounce
}

// Bounce is a delivery failure report about one of tend's notices.
type Bounce struct {
	// NoticeIDs are the Message-IDs it names: of the returned message, and
	// the one its VERP address stands for.
	NoticeIDs []string
	Reason    string // the recipient and the remote server's diagnostic
}

// MailFile is an attachment or inline image, already in the file store.
type MailFile struct {
	Name        string
	ContentType string
	Blob        blob.Blob
}

// MailLimits is the per-sender flood limit.
type MailLimits struct {
	PerSender int           // messages that may become requests or comments …
	Window    time.Duration // … within this long; 0 or less: no limit
}

// MailResult is what a message became.
type MailResult struct {
	ID        int64  `json:"id"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason,omitempty"`
	RequestID int64  `json:"request_id,omitempty"`
	Number    string `json:"number,omitempty"`
	CommentID int64  `json:"comment_id,omitempty"`
	// customerID is the request's customer, for the journal (no re-read).
	customerID int64
	// internal keeps the message from customers (a note from a stranger,
	// a bounce of a notice).
	internal bool
}

// Limits of what a message may put into a request.
const (
	maxMailSubject = 300
	maxMailText    = 100_000
)

// DeliverMail records one received message and what it becomes, in one
// transaction: a message already seen (same Message-ID) changes nothing
// but the mailbox's read position, which is written with the rest, so a
// crash or a second replica never takes a message twice. Every message
// gets a journal entry.
func (s *Store) DeliverMail(ctx context.Context, in InboundMail, lim MailLimits) (MailResult, error) {
	if err := s.ensureNumbers(ctx, s.Now()); err != nil { // a message may become a request
		return MailResult{}, err
	}
	if in.Taken {
		return s.deliverAgain(ctx, in, lim)
	}
	var res MailResult
	err := s.tx(ctx, "deliver mail", func(c conn) error {
		res = MailResult{}
		now := s.Now()
		in.Subject = clip(strings.TrimSpace(in.Subject), 998)
		moved, err := c.advanceMailbox(ctx, in)
		if err != nil {
			return err
		}
		if !moved && in.UID != 0 {
			// Another replica read the mailbox this far (this update waited
			// for it): it most likely took the message, so look before doing
			// the work again.
			var one int
			err := c.queryRow(ctx, `SELECT 1 FROM mail_messages WHERE message_id = ?`, in.MessageID).Scan(&one)
			if err == nil {
				return errTakenMeanwhile
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if err := c.take(ctx, in, lim, &res, now); err != nil {
			return err
		}
		// The message is written last, with what it became (one statement,
		// not an insert and an update). Its unique Message-ID still decides:
		// a replica that took it meanwhile makes this insert do nothing,
		// and the whole transaction is undone.
		internal := res.Outcome == MailNote || res.internal
		id, err := c.insert(ctx, `INSERT INTO mail_messages (direction, message_id, source, mailbox_id, uid, from_addr, from_name, to_addr, subject, at,
			blob_key, size, sha256, outcome, reason, request_id, comment_id, internal)
			VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			in.MessageID, in.Source, nullID(in.MailboxID), int64(in.UID), clip(in.From, 320), clip(in.FromName, 200), clip(in.To, 320), in.Subject, now,
			in.Raw.Key, in.Raw.Size, in.Raw.SHA256, res.Outcome, clip(res.Reason, 1000), nullID(res.RequestID), nullID(res.CommentID), internal)
		if errors.Is(err, sql.ErrNoRows) {
			return errTakenMeanwhile
		}
		if err != nil {
			return err
		}
		res.ID = id
		var cust int64
		if !internal {
			cust = res.customerID
		}
		note := fmt.Sprintf("%s from %s: %s", res.Outcome, in.From, firstLine(in.Subject))
		if res.Number != "" {
			note += " → " + res.Number
		}
		if res.Reason != "" {
			note += " (" + res.Reason + ")"
		}
		if in.Note != "" {
			note += "; " + in.Note
		}
		type rec struct {
			MessageID string `json:"message_id"`
			Source    string `json:"source"`
			From      string `json:"from"`
			Subject   string `json:"subject"`
			RequestID int64  `json:"request_id,omitempty"`
			CommentID int64  `json:"comment_id,omitempty"`
			Size      int64  `json:"size"`
		}
		return c.journal(ctx, mailPrincipal, "mail", id, cust, "received_"+res.Outcome, nil,
			rec{in.MessageID, in.Source, in.From, in.Subject, res.RequestID, res.CommentID, in.Raw.Size}, note)
	})
	if errors.Is(err, errTakenMeanwhile) {
		return s.deliverAgain(ctx, in, lim)
	}
	return res, err
}

// errTakenMeanwhile undoes a delivery whose message another transaction
// recorded first.
var errTakenMeanwhile = errors.New("the message was taken meanwhile")

// deliverAgain answers what a message seen before became, and moves the
// mailbox's read position past it.
func (s *Store) deliverAgain(ctx context.Context, in InboundMail, lim MailLimits) (MailResult, error) {
	res := MailResult{Duplicate: true}
	err := s.tx(ctx, "deliver mail", func(c conn) error {
		err := c.queryRow(ctx, `SELECT id, outcome, COALESCE(request_id, 0), COALESCE(comment_id, 0) FROM mail_messages WHERE message_id = ?`, in.MessageID).
			Scan(&res.ID, &res.Outcome, &res.RequestID, &res.CommentID)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotTakenYet
		}
		if err != nil {
			return err
		}
		_, err = c.advanceMailbox(ctx, in)
		return err
	})
	if errors.Is(err, errNotTakenYet) {
		// Records are never deleted, so only a caller's wrong Taken gets
		// here: deliver the message for real.
		in.Taken = false
		return s.DeliverMail(ctx, in, lim)
	}
	return res, err
}

var errNotTakenYet = errors.New("the message was not taken before")

// MailTaken says which of these Message-IDs were recorded before: one
// query for a poll's batch, so that a mailbox read again (a new
// UIDVALIDITY, a second replica) does not store its originals again.
// DeliverMail stays the judge: it dedupes in its transaction.
func (s *Store) MailTaken(ctx context.Context, messageIDs []string) (map[string]bool, error) {
	taken := map[string]bool{}
	// Padded to a multiple of 10 with the last ID: a few query shapes
	// stay prepared instead of one per batch size.
	const chunk = 50
	for len(messageIDs) > 0 {
		ids := messageIDs[:min(chunk, len(messageIDs))]
		messageIDs = messageIDs[len(ids):]
		args := make([]any, 0, (len(ids)+9)/10*10)
		for _, id := range ids {
			args = append(args, id)
		}
		for len(args)%10 != 0 {
			args = append(args, ids[len(ids)-1])
		}
		rows, err := s.read().query(ctx, `SELECT message_id FROM mail_messages WHERE message_id IN (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return nil, s.fail("mail taken", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, s.fail("mail taken", err)
			}
			taken[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.fail("mail taken", err)
		}
	}
	return taken, nil
}

// advanceMailbox moves the read position past the message's UID, and
// says whether it moved.
func (c conn) advanceMailbox(ctx context.Context, in InboundMail) (bool, error) {
	if in.MailboxID == 0 || in.UID == 0 {
		return false, nil
	}
	res, err := c.exec(ctx, `UPDATE mailboxes SET last_uid = ? WHERE id = ? AND uid_validity = ? AND last_uid < ?`,
		int64(in.UID), in.MailboxID, int64(in.UIDValidity), int64(in.UID))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// take decides what a new message becomes and writes it.
func (c conn) take(ctx context.Context, in InboundMail, lim MailLimits, res *MailResult, now time.Time) error {
	switch {
	case in.Rejected != "":
		res.Outcome, res.Reason = MailRejected, in.Rejected
		return nil
	case in.Noise != "":
		res.Outcome, res.Reason = MailIgnored, in.Noise
		if in.Bounce != nil {
			return c.noticeBounced(ctx, in, res)
		}
		return nil
	}
	if lim.PerSender > 0 && lim.Window > 0 && in.From != "" {
		var n int
		err := c.queryRow(ctx, `SELECT COUNT(*) FROM mail_messages WHERE from_addr = ? AND direction = 'in' AND at > ? AND outcome IN (?, ?, ?, ?)`,
			in.From, now.Add(-lim.Window), MailRequest, MailTriage, MailComment, MailNote).Scan(&n)
		if err != nil {
			return err
		}
		if n >= lim.PerSender {
			res.Outcome = MailRateLimited
			res.Reason = fmt.Sprintf("more than %d messages from this sender within %s", lim.PerSender, lim.Window)
			return nil
		}
	}
	sender, known, err := c.senderAccount(ctx, in.From)
	if err != nil {
		return err
	}
	r, strong, err := c.thread(ctx, in)
	if err != nil {
		return err
	}
	mentions := ""
	if r.ID != 0 {
		done, err := c.reply(ctx, in, sender, known, r, strong, res, now)
		if err != nil || done {
			return err
		}
		mentions = r.Number
	}
	return c.newRequest(ctx, in, sender, known, mentions, res)
}

// noticeBounced marks the notice a bounce reports on as failed, with the
// remote server's reason, in the journal of its request; the bounce stays
// noise (never a request, never answered) and is kept on the request for
// the desk only.
func (c conn) noticeBounced(ctx context.Context, in InboundMail, res *MailResult) error {
	for _, mid := range in.Bounce.NoticeIDs {
		var noticeID, requestID, cust int64
		var kind, to, state string
		err := c.queryRow(ctx, `SELECT o.id, o.kind, o.to_addr, o.state, COALESCE(o.request_id, 0), COALESCE(r.customer_id, 0)
			FROM mail_messages m JOIN mail_outbox o ON o.id = m.outbox_id LEFT JOIN requests r ON r.id = o.request_id
			WHERE m.message_id = ? AND m.direction = 'out'`, mid).Scan(&noticeID, &kind, &to, &state, &requestID, &cust)
		if errors.Is(err, sql.ErrNoRows) {
			continue // not one of ours, or from before the mail log
		}
		if err != nil {
			return err
		}
		res.RequestID, res.internal = requestID, true
		res.Reason = fmt.Sprintf("bounce of the %s notice to %s: %s", kind, to, in.Bounce.Reason)
		if state != "sent" {
			return nil // failed already: another report on the same notice
		}
		reason := clip("returned undelivered: "+in.Bounce.Reason, 1000)
		if _, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'failed', last_error = ? WHERE id = ? AND state = 'sent'`, reason, noticeID); err != nil {
			return err
		}
		if requestID == 0 {
			return nil
		}
		if cust, err = c.noticeAudience(ctx, noticeID, cust); err != nil {
			return err
		}
		return c.journal(ctx, mailPrincipal, "request", requestID, cust, "mail_failed", nil,
			map[string]any{"notice_id": noticeID, "kind": kind, "to": to, "error": reason, "bounce": in.MessageID},
			fmt.Sprintf("the %s notice to %s came back undelivered: %s", kind, to, in.Bounce.Reason))
	}
	return nil
}

// senderAccount finds the active account whose login is the address.
func (c conn) senderAccount(ctx context.Context, addr string) (auth.Account, bool, error) {
	if addr == "" {
		return auth.Account{}, false, nil
	}
	a, err := scanAccount(c.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE login = ? AND disabled = FALSE`, auth.NormalizeLogin(addr)))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Account{}, false, nil
	}
	return a, err == nil, err
}

// thread finds the request a message answers: a signed reply-to address
// first, then the Message-IDs it refers to, then a number in the subject.
// strong is false when only the subject matched: anyone can type a number.
func (c conn) thread(ctx context.Context, in InboundMail) (desk.Request, bool, error) {
	byNumber := func(n string) (desk.Request, error) {
		r, err := scanRequest(c.queryRow(ctx, `SELECT `+requestCols+` FROM requests WHERE number = ?`, strings.ToUpper(n)))
		if errors.Is(err, sql.ErrNoRows) {
			return desk.Request{}, nil
		}
		return r, err
	}
	if in.TokenNumber != "" {
		if r, err := byNumber(in.TokenNumber); err != nil || r.ID != 0 {
			return r, true, err
		}
	}
	for _, ref := range in.Refs {
		var id int64
		err := c.queryRow(ctx, `SELECT request_id FROM mail_messages WHERE message_id = ? AND request_id IS NOT NULL`, ref).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return desk.Request{}, false, err
		}
		r, err := c.loadRequest(ctx, id)
		return r, true, err
	}
	if in.SubjectNumber != "" {
		r, err := byNumber(in.SubjectNumber)
		return r, false, err
	}
	return desk.Request{}, false, nil
}

// reply writes a message that answers request r. It answers false when the
// message should rather become a new request (a reply to a finished
// request, or a stranger who only typed the number).
func (c conn) reply(ctx context.Context, in InboundMail, sender auth.Account, known bool, r desk.Request, strong bool, res *MailResult, now time.Time) (bool, error) {
	body := mailText(in.Reply, in.Text)
	var p auth.Principal
	participant := false
	switch {
	case known && auth.Can(sender.Principal(), auth.Update, requestResource(r)):
		p, participant = sender.Principal(), true
	default:
		// Someone without an account who wrote the request in the first place.
		var addr string
		err := c.queryRow(ctx, `SELECT address FROM mail_requesters WHERE request_id = ?`, r.ID).Scan(&addr)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		participant = addr != "" && strings.EqualFold(addr, in.From)
		p = auth.Principal{Name: senderName(in), Role: auth.RoleOperator}
		if known && sender.Role.IsCustomer() {
			p = sender.Principal()
		}
	}
	if !participant {
		if !strong {
			return false, nil
		}
		// Nothing is dropped, and nothing reaches a customer from a stranger:
		// the desk sees it as an internal note.
		text := fmt.Sprintf("E-mail from %s, who is not a participant of this request:\n\n%s", senderLabel(in), body)
		cm, err := c.addComment(ctx, mailPrincipal, r.ID, clip(text, maxMailText), true, now)
		if err != nil {
			return false, err
		}
		if err := c.touch(ctx, r.ID, now); err != nil {
			return false, err
		}
		if err := c.mailFiles(ctx, mailPrincipal, r, cm.ID, true, in.Files, now); err != nil {
			return false, err
		}
		res.Outcome, res.RequestID, res.Number, res.CommentID, res.customerID = MailNote, r.ID, r.Number, cm.ID, r.CustomerID
		res.Reason = "the sender is not a participant of the request"
		return true, c.journal(ctx, mailPrincipal, "request", r.ID, r.CustomerID, "internal_note", nil, nil, "e-mail from "+in.From)
	}
	if !r.State.Open() {
		return false, nil // a new request, mentioning this one
	}
	res.Outcome, res.RequestID, res.Number, res.customerID = MailComment, r.ID, r.Number, r.CustomerID
	actor := ActorOf(p, r)
	if p.AccountID != 0 && p.IsCustomer() && r.State == desk.StateClarifying {
		if _, err := desk.Apply(r.WorkflowSubject(), actor, desk.ActionAnswerClarification, desk.Needs{Text: body}); err == nil {
			if _, err := c.act(ctx, p, actor, r, ActInput{Action: desk.ActionAnswerClarification, Needs: desk.Needs{Text: body}}); err != nil {
				return false, err
			}
			id, err := c.lastCommentID(ctx, r.ID)
			if err != nil {
				return false, err
			}
			res.CommentID = id
			return true, c.mailFiles(ctx, p, r, id, false, in.Files, now)
		}
	}
	var cm desk.Comment
	var err error
	if p.AccountID != 0 {
		cm, err = c.addComment(ctx, p, r.ID, body, false, now)
	} else {
		// No account: the comment is the requester's, by name.
		cm = desk.Comment{RequestID: r.ID, AuthorName: p.Name, Body: body, CreatedAt: now}
		cm.ID, err = c.insert(ctx, `INSERT INTO comments (request_id, author_id, author_name, from_staff, internal, body, created_at) VALUES (?, NULL, ?, FALSE, FALSE, ?, ?)`,
			r.ID, p.Name, body, now)
	}
	if err != nil {
		return false, err
	}
	res.CommentID = cm.ID
	if err := c.touch(ctx, r.ID, now); err != nil {
		return false, err
	}
	if p.IsStaff() {
		if err := c.applyClocks(ctx, r, desk.ClocksOnStaffReply(), now); err != nil {
			return false, err
		}
	}
	if err := c.mailFiles(ctx, p, r, cm.ID, false, in.Files, now); err != nil {
		return false, err
	}
	return true, c.journal(ctx, p, "request", r.ID, r.CustomerID, "comment", nil, nil, "by e-mail: "+firstLine(body))
}

func (c conn) touch(ctx context.Context, requestID int64, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE requests SET last_activity_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`, now, now, requestID)
	return err
}

// newRequest registers the message as a request: a known contact's in
// their name (channel email, consultation, normal: an agent reclassifies),
// anyone else's in the triage queue, linked to no customer.
func (c conn) newRequest(ctx context.Context, in InboundMail, sender auth.Account, known bool, mentions string, res *MailResult) error {
	subject := strings.TrimSpace(in.Subject)
	if subject == "" {
		subject = "(no subject)"
	}
	if utf8.RuneCountInString(subject) > maxMailSubject {
		subject = string([]rune(subject)[:maxMailSubject-1]) + "…"
	}
	desc := mailText(in.Text, in.Reply)
	if mentions != "" {
		desc = fmt.Sprintf("(This message refers to %s.)\n\n%s", mentions, desc)
	}
	nr := desk.NewRequest{Channel: desk.ChannelEmail, Type: licensing.TypeConsultation, Priority: licensing.PriorityNormal,
		Subject: subject, Description: clip(desc, maxMailText), RequesterName: senderName(in)}
	contact := known && sender.Role.IsCustomer()
	if contact {
		nr.CustomerID, nr.RequesterID, nr.RequesterName = sender.CustomerID, sender.ID, ""
		pid, err := c.mailProduct(ctx, sender.CustomerID, in.MailboxID)
		if err != nil {
			return err
		}
		nr.ProductID = pid
	} else if known {
		nr.RequesterName = sender.Name
		nr.RequesterPhone = sender.Phone
	}
	r, err := c.register(ctx, mailPrincipal, nr, c.s.cal())
	if err != nil {
		return err
	}
	res.Outcome, res.RequestID, res.Number, res.customerID = MailTriage, r.ID, r.Number, r.CustomerID
	if contact {
		res.Outcome = MailRequest
	}
	if mentions != "" {
		res.Reason = "refers to " + mentions
	}
	if !contact && in.From != "" {
		lang := in.Lang
		if known {
			lang = sender.Lang
		}
		if lang != "en" {
			lang = "ru"
		}
		if _, err := c.exec(ctx, `INSERT INTO mail_requesters (request_id, address, name, lang) VALUES (?, ?, ?, ?)`,
			r.ID, clip(in.From, 320), clip(in.FromName, 200), lang); err != nil {
			return err
		}
		// The registration notice was queued before the address was known.
		if err := c.queueNotices(ctx, mailPrincipal, r.ID, "registered"); err != nil {
			return err
		}
	}
	p := mailPrincipal
	if contact {
		p = sender.Principal()
	}
	return c.mailFiles(ctx, p, r, 0, false, in.Files, c.s.Now())
}

// mailProduct picks the product a contact's new mail is about: the
// mailbox's product if the customer has a license for it, else the one
// product the customer is licensed for; 0 (the desk sets it) if unclear.
func (c conn) mailProduct(ctx context.Context, customerID, mailboxID int64) (int64, error) {
	var products []int64
	rows, err := c.query(ctx, `SELECT DISTINCT product_id FROM licenses WHERE customer_id = ? ORDER BY product_id`, customerID)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		products = append(products, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if mailboxID != 0 {
		var pid nullInt
		if err := c.queryRow(ctx, `SELECT product_id FROM mailboxes WHERE id = ?`, mailboxID).Scan(&pid); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		for _, id := range products {
			if pid.Valid && id == pid.Int64 {
				return id, nil
			}
		}
	}
	if len(products) == 1 {
		return products[0], nil
	}
	return 0, nil
}

// mailFiles records a message's attachments on the request (and comment).
func (c conn) mailFiles(ctx context.Context, p auth.Principal, r desk.Request, commentID int64, internal bool, files []MailFile, now time.Time) error {
	requestID := r.ID
	for _, f := range files {
		if f.Blob.Key == "" || f.Blob.Size <= 0 {
			continue
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := Attachment{RequestID: requestID, CommentID: commentID, Name: f.Name, ContentType: ct, Size: f.Blob.Size,
			SHA256: f.Blob.SHA256, Internal: internal, UploadedBy: p.AccountID, CreatedAt: now, BlobKey: f.Blob.Key}
		id, err := c.insert(ctx, `INSERT INTO attachments (request_id, comment_id, name, content_type, size, sha256, blob_key, internal, uploaded_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			requestID, nullID(commentID), a.Name, a.ContentType, a.Size, a.SHA256, a.BlobKey, internal, nullID(p.AccountID), now)
		if err != nil {
			return err
		}
		a.ID = id
		action := "attachment_added"
		if internal {
			action = "internal_attachment"
		}
		if err := c.journal(ctx, p, "request", requestID, r.CustomerID, action, nil, a, a.Name+" (by e-mail)"); err != nil {
			return err
		}
	}
	return nil
}

func mailText(first, second string) string {
	if t := strings.TrimSpace(first); t != "" {
		return clip(t, maxMailText)
	}
	if t := strings.TrimSpace(second); t != "" {
		return clip(t, maxMailText)
	}
	return "(The message has no text; the original is kept with the request.)"
}

func senderName(in InboundMail) string {
	if n := strings.TrimSpace(in.FromName); n != "" {
		return clip(n, 200)
	}
	if in.From != "" {
		return clip(in.From, 200)
	}
	return "unknown sender"
}

func senderLabel(in InboundMail) string {
	if in.FromName != "" && in.From != "" {
		return fmt.Sprintf("%s <%s>", in.FromName, in.From)
	}
	return senderName(in)
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const more = "\n… (cut; the full text is in the original message)"
	cut := n - len(more)
	if cut < 0 {
		cut = n
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if n-len(more) < 0 {
		return s[:cut]
	}
	return s[:cut] + more
}

// ---- the triage queue ----

// Assignment links a triage request to a customer, or sets the product of
// a request that came by mail without one.
type Assignment struct {
	CustomerID  int64 `json:"customer_id"`
	ProductID   int64 `json:"product_id"`
	RequesterID int64 `json:"requester_id"` // optional: a contact of the customer
	Version     int64 `json:"version"`      // the version seen; 0 skips the check
}

// AssignRequest (staff) links a request from the triage queue to a
// customer and product, re-checks its coverage and starts its SLA clocks
// from when it arrived. A request already linked to a customer keeps it.
func (s *Store) AssignRequest(ctx context.Context, p auth.Principal, id int64, in Assignment) (desk.Request, error) {
	var out desk.Request
	err := s.tx(ctx, "assign request", func(c conn) error {
		r, err := c.requestFor(ctx, p, id)
		if err != nil {
			return err
		}
		if !p.IsStaff() {
			return apperr.New(apperr.Forbidden, "the support desk links requests to customers")
		}
		if err := auth.Authorize(p, auth.Update, auth.Resource{Kind: auth.KindRequest, CustomerID: in.CustomerID}); err != nil {
			return err
		}
		if in.Version != 0 && in.Version != r.Version {
			return &apperr.Error{Code: apperr.Conflict, Field: "version",
				Message: fmt.Sprintf("the request changed since you loaded it (version %d, now %d); reload and try again", in.Version, r.Version)}
		}
		if !r.State.Open() {
			return apperr.New(apperr.Conflict, "the request is %s; reopen it first", r.State)
		}
		if in.CustomerID == 0 {
			in.CustomerID = r.CustomerID
		}
		switch {
		case in.CustomerID == 0:
			return apperr.Field("customer_id", "say which customer the request is from")
		case r.CustomerID != 0 && in.CustomerID != r.CustomerID:
			return &apperr.Error{Code: apperr.Conflict, Field: "customer_id", Message: "the request already belongs to another customer; only requests in the triage queue are linked"}
		case in.ProductID == 0:
			return apperr.Field("product_id", "choose the product the request is about")
		}
		if err := c.mustExist(ctx, "customers", in.CustomerID, "customer_id", "customer"); err != nil {
			return err
		}
		if err := c.mustExist(ctx, "products", in.ProductID, "product_id", "product"); err != nil {
			return err
		}
		if r.InstanceID != 0 {
			return apperr.Field("product_id", "the request is already on an instance; its product stays")
		}
		name, phone := r.RequesterName, r.RequesterPhone
		requester := r.RequesterID
		if in.RequesterID == 0 && requester == 0 {
			// The contact whose address the mail came from, if there is one now.
			var addr string
			c.queryRow(ctx, `SELECT address FROM mail_requesters WHERE request_id = ?`, id).Scan(&addr)
			if addr != "" {
				c.queryRow(ctx, `SELECT id FROM accounts WHERE login = ? AND customer_id = ?`, auth.NormalizeLogin(addr), in.CustomerID).Scan(&in.RequesterID)
			}
		}
		if in.RequesterID != 0 {
			var cust nullInt
			var n, ph string
			err := c.queryRow(ctx, `SELECT name, phone, customer_id FROM accounts WHERE id = ?`, in.RequesterID).Scan(&n, &ph, &cust)
			if err != nil || cust.Int64 != in.CustomerID {
				return apperr.Field("requester_id", "the requester must be a contact of the customer")
			}
			requester, name = in.RequesterID, n
			if ph != "" {
				phone = ph
			}
		}
		lics, err := c.licensesOf(ctx, in.CustomerID)
		if err != nil {
			return err
		}
		cov := licensing.Cover(lics, in.ProductID, r.Type, r.Priority, r.CreatedAt, s.cal())
		before := r
		now := s.Now()
		r.CustomerID, r.ProductID, r.RequesterID, r.RequesterName, r.RequesterPhone = in.CustomerID, in.ProductID, requester, name, phone
		r.Covered, r.CoverageReason, r.CoverageNote, r.LicenseID = cov.Covered, cov.Reason, cov.Message, cov.LicenseID
		r.Version++
		r.UpdatedAt, r.LastActivityAt = now, now
		res, err := c.exec(ctx, `UPDATE requests SET customer_id = ?, product_id = ?, requester_id = ?, requester_name = ?, requester_phone = ?,
			covered = ?, coverage_reason = ?, coverage_message = ?, license_id = ?, version = ?, updated_at = ?, last_activity_at = ? WHERE id = ? AND version = ?`,
			r.CustomerID, r.ProductID, nullID(r.RequesterID), r.RequesterName, r.RequesterPhone,
			r.Covered, r.CoverageReason, r.CoverageNote, nullID(r.LicenseID), r.Version, now, now, id, before.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &apperr.Error{Code: apperr.Conflict, Field: "version", Message: "the request changed meanwhile; reload and try again"}
		}
		// The index carries the request's customer: a search within the
		// customer now finds it.
		if err := c.indexRequest(ctx, r); err != nil {
			return err
		}
		var clocks int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM request_clocks WHERE request_id = ?`, id).Scan(&clocks); err != nil {
			return err
		}
		if clocks == 0 {
			// The SLA counts from when the message arrived.
			if err := c.applyClocks(ctx, r, desk.ClocksAtRegistration(r.Type), r.CreatedAt); err != nil {
				return err
			}
		}
		type link struct {
			CustomerID  int64  `json:"customer_id,omitempty"`
			ProductID   int64  `json:"product_id,omitempty"`
			RequesterID int64  `json:"requester_id,omitempty"`
			Covered     bool   `json:"covered"`
			Coverage    string `json:"coverage_reason,omitempty"`
		}
		note := "linked to customer"
		if !r.Covered {
			note += "; not covered: " + r.CoverageNote
		}
		if err := c.journal(ctx, p, "request", id, r.CustomerID, "customer_assigned",
			link{before.CustomerID, before.ProductID, before.RequesterID, before.Covered, before.CoverageReason},
			link{r.CustomerID, r.ProductID, r.RequesterID, r.Covered, r.CoverageReason}, note); err != nil {
			return err
		}
		out, err = c.loadRequest(ctx, id)
		return err
	})
	return out, err
}

// TriageRequests lists open requests that came by mail and wait for the
// desk to link them: no customer yet, or no product (staff).
func (s *Store) TriageRequests(ctx context.Context, p auth.Principal, pg Page) (List[desk.Request], error) {
	if !p.IsStaff() {
		return List[desk.Request]{}, apperr.New(apperr.Forbidden, "the triage queue is the support desk's")
	}
	var w where
	w.add("(customer_id IS NULL OR product_id IS NULL)")
	w.add("state IN ("+placeholders(len(openStates))+")", anySlice(openStates)...)
	return listPage(ctx, s, "triage queue", "requests", requestCols, w, pg, scanRequest, func(r desk.Request) int64 { return r.ID })
}

// ---- what the desk sees of a request's mail ----

// MailRecord is one message in or out.
type MailRecord struct {
	ID          int64     `json:"id"`
	Direction   string    `json:"direction"`
	MessageID   string    `json:"message_id"`
	Source      string    `json:"source"`
	From        string    `json:"from,omitempty"`
	FromName    string    `json:"from_name,omitempty"`
	To          string    `json:"to,omitempty"`
	Subject     string    `json:"subject"`
	At          time.Time `json:"at"`
	Size        int64     `json:"size,omitempty"`
	RequestID   int64     `json:"request_id,omitempty"`
	CommentID   int64     `json:"comment_id,omitempty"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	Internal    bool      `json:"internal"`
	HasOriginal bool      `json:"has_original"`
	BlobKey     string    `json:"-"`
}

const mailRecordCols = `id, direction, message_id, source, from_addr, from_name, to_addr, subject, at, size, request_id, comment_id, outcome, reason, internal, blob_key`

func scanMailRecord(row scanner) (MailRecord, error) {
	var m MailRecord
	var req, cm nullInt
	err := row.Scan(&m.ID, &m.Direction, &m.MessageID, &m.Source, &m.From, &m.FromName, &m.To, &m.Subject, &m.At, &m.Size, &req, &cm, &m.Outcome, &m.Reason, &m.Internal, &m.BlobKey)
	m.RequestID, m.CommentID = req.Int64, cm.Int64
	m.HasOriginal = m.BlobKey != ""
	return m, err
}

// NoticeRecord is one notice in the outbox.
type NoticeRecord struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	To        string     `json:"to"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// RequestMail is a request's mail: the messages the caller may see
// (mailAccess), and (for staff) the notices.
type RequestMail struct {
	Messages []MailRecord   `json:"messages"`
	Notices  []NoticeRecord `json:"notices,omitempty"`
}

// mailAccess is the one rule of which mail of a request someone who may
// read the request sees (auth.KindMail). Staff see all of it. A customer
// sees only what passed between the desk and their own organisation's
// people: a message from one of its accounts that became the request or a
// comment on it, and a notice sent to one of its accounts; never a notice
// to staff (the assignee's "the customer wrote"), a bounce, a note from a
// stranger, mail from someone without an account, nor what the desk noted
// about a message (the reason it was triaged or ignored).
type mailAccess struct {
	all   bool   // staff: no restriction
	where string // otherwise: the condition on mail_messages …
	args  []any  // … and its arguments
}

func mailAccessOf(p auth.Principal) (mailAccess, error) {
	sc, err := auth.ListScope(p, auth.KindMail)
	if err != nil {
		return mailAccess{}, err
	}
	switch {
	case sc.All:
		return mailAccess{all: true}, nil
	case sc.CustomerID == 0:
		return mailAccess{where: "1 = 0"}, nil // no other reach is defined for mail
	}
	return mailAccess{
		where: `internal = FALSE AND (
			(direction = 'in' AND outcome IN (?, ?) AND from_addr IN (SELECT login FROM accounts WHERE customer_id = ?))
			OR (direction = 'out' AND outbox_id IN (SELECT o.id FROM mail_outbox o JOIN accounts a ON a.id = o.account_id WHERE a.customer_id = ?)))`,
		args: []any{MailRequest, MailComment, sc.CustomerID, sc.CustomerID},
	}, nil
}

// show gives a record as the caller sees it: the desk's notes on it are
// the desk's.
func (a mailAccess) show(m MailRecord) MailRecord {
	if !a.all {
		m.Reason = ""
	}
	return m
}

// MailOfRequest lists a request's mail for whoever may read the request,
// as mailAccess allows; the outbox (every notice, its state and errors) is
// the desk's.
func (s *Store) MailOfRequest(ctx context.Context, p auth.Principal, requestID int64) (RequestMail, error) {
	c := s.read()
	if _, err := c.requestFor(ctx, p, requestID); err != nil {
		return RequestMail{}, s.failOrNil("request mail", err)
	}
	acc, err := mailAccessOf(p)
	if err != nil {
		return RequestMail{}, err
	}
	out := RequestMail{Messages: []MailRecord{}}
	q := `SELECT ` + mailRecordCols + ` FROM mail_messages WHERE request_id = ?`
	args := []any{requestID}
	if !acc.all {
		q += ` AND ` + acc.where
		args = append(args, acc.args...)
	}
	rows, err := c.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return out, s.fail("request mail", err)
	}
	for rows.Next() {
		m, err := scanMailRecord(rows)
		if err != nil {
			rows.Close()
			return out, s.fail("request mail", err)
		}
		out.Messages = append(out.Messages, acc.show(m))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, s.fail("request mail", err)
	}
	if acc.all {
		out.Notices, err = c.notices(ctx, requestID, "")
		if err != nil {
			return out, s.fail("request mail", err)
		}
	}
	return out, nil
}

func (c conn) notices(ctx context.Context, requestID int64, state string) ([]NoticeRecord, error) {
	out := []NoticeRecord{}
	err := c.readAll(ctx, noticesRead(requestID, state, &out))
	return out, err
}

func noticesRead(requestID int64, state string, out *[]NoticeRecord) read {
	q := `SELECT id, kind, to_addr, state, attempts, last_error, created_at, sent_at FROM mail_outbox WHERE request_id = ?`
	args := []any{requestID}
	if state != "" {
		q += ` AND state = ?`
		args = append(args, state)
	}
	return read{q: q + ` ORDER BY id`, args: args, each: func(row scanner) error {
		var n NoticeRecord
		var sent nullTime
		if err := row.Scan(&n.ID, &n.Kind, &n.To, &n.State, &n.Attempts, &n.LastError, &n.CreatedAt, &sent); err != nil {
			return err
		}
		n.SentAt = timePtr(sent)
		*out = append(*out, n)
		return nil
	}}
}

// MailOriginal finds a message whose original the caller may download:
// one on a request they may read that mailAccess shows them; a message
// that became nothing (noise, rejected) only staff.
func (s *Store) MailOriginal(ctx context.Context, p auth.Principal, id int64) (MailRecord, error) {
	c := s.read()
	m, err := scanMailRecord(c.queryRow(ctx, `SELECT `+mailRecordCols+` FROM mail_messages WHERE id = ?`, id))
	if err != nil {
		return m, s.failOrNil("mail original", notFound(err, "message"))
	}
	gone := apperr.New(apperr.NotFound, "no such message")
	acc, err := mailAccessOf(p)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) {
			return MailRecord{}, err
		}
		return MailRecord{}, gone
	}
	if m.RequestID == 0 && !acc.all {
		return MailRecord{}, gone
	}
	if m.RequestID != 0 {
		if _, err := c.requestFor(ctx, p, m.RequestID); err != nil {
			if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Forbidden) {
				return MailRecord{}, gone
			}
			return MailRecord{}, s.fail("mail original", err)
		}
		if !acc.all {
			var one int
			err := c.queryRow(ctx, `SELECT 1 FROM mail_messages WHERE id = ? AND `+acc.where, append([]any{id}, acc.args...)...).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return MailRecord{}, gone
			}
			if err != nil {
				return MailRecord{}, s.fail("mail original", err)
			}
		}
	}
	if !m.HasOriginal {
		if !acc.all {
			return MailRecord{}, apperr.New(apperr.NotFound, "the original of this message was not kept")
		}
		return MailRecord{}, apperr.New(apperr.NotFound, "the original of this message was not kept (%s)", m.Reason)
	}
	return acc.show(m), nil
}

// MailFilter narrows ListMail.
type MailFilter struct {
	Outcome   string
	Direction string
	Page
}

// ListMail lists every message in and out, noise included (staff): the
// proof that nothing was dropped.
func (s *Store) ListMail(ctx context.Context, p auth.Principal, f MailFilter) (List[MailRecord], error) {
	if !p.IsStaff() {
		return List[MailRecord]{}, apperr.New(apperr.Forbidden, "the mail log is the support desk's")
	}
	var w where
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	if f.Direction != "" {
		if f.Direction != "in" && f.Direction != "out" {
			return List[MailRecord]{}, apperr.Field("direction", "direction must be in or out")
		}
		w.add("direction = ?", f.Direction)
	}
	return listPage(ctx, s, "list mail", "mail_messages", mailRecordCols, w, f.Page, scanMailRecord, func(m MailRecord) int64 { return m.ID })
}

// ---- preferences ----

// MailPrefs are one person's mail settings.
type MailPrefs struct {
	// EssentialOnly: only what needs an answer or closes a request
	// (registration, questions, proposals, resolutions, closures, coverage);
	// no reminders or desk updates.
	EssentialOnly bool `json:"essential_only"`
}

// GetMailPrefs reads the caller's own mail settings.
func (s *Store) GetMailPrefs(ctx context.Context, p auth.Principal) (MailPrefs, error) {
	if p.AccountID == 0 {
		return MailPrefs{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	var out MailPrefs
	err := s.read().queryRow(ctx, `SELECT essential_only FROM mail_prefs WHERE account_id = ?`, p.AccountID).Scan(&out.EssentialOnly)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, s.failOrNil("mail preferences", err)
}

// SetMailPrefs changes the caller's own mail settings.
func (s *Store) SetMailPrefs(ctx context.Context, p auth.Principal, in MailPrefs) (MailPrefs, error) {
	if p.AccountID == 0 {
		return MailPrefs{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if p.Scope == auth.ScopeRead {
		return MailPrefs{}, apperr.New(apperr.Forbidden, "this API token may only read")
	}
	err := s.tx(ctx, "mail preferences", func(c conn) error {
		now := s.Now()
		if _, err := c.exec(ctx, `INSERT INTO mail_prefs (account_id, essential_only, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET essential_only = excluded.essential_only, updated_at = excluded.updated_at`,
			p.AccountID, in.EssentialOnly, now); err != nil {
			return err
		}
		var cust nullInt
		c.queryRow(ctx, `SELECT customer_id FROM accounts WHERE id = ?`, p.AccountID).Scan(&cust)
		return c.journal(ctx, p, "account", p.AccountID, cust.Int64, "mail_preferences", nil, in, "")
	})
	return in, err
}

// ---- outbound notices ----

// noticeRecipient is one address a notice goes to.
type noticeRecipient struct {
	accountID int64
	addr      string
	name      string
	lang      string
}

// queueNotices is called for every journal entry about a request (see
// conn.journal): the entries that tell people something queue a notice in
// the same transaction, so an event and its notice exist together or not
// at all.
func (c conn) queueNotices(ctx context.Context, p auth.Principal, requestID int64, action string) error {
	return c.queueNoticesOf(ctx, p, requestID, nil, action)
}

// queueNoticesOf queues the notices of an action on a request; known, when
// not nil, is the request as this transaction left it (it is then not read
// back: a registration has it in hand).
func (c conn) queueNoticesOf(ctx context.Context, p auth.Principal, requestID int64, known *desk.Request, action string) error {
	var kinds []string
	toAssignee := false
	switch action {
	case "registered":
		kinds = []string{NoticeRegistered}
	case "ask_clarification":
		kinds = []string{NoticeClarification}
	case "propose":
		kinds = []string{NoticeProposal}
	case "answer", "resolve":
		kinds = []string{NoticeResolved}
	case "reminder":
		kinds = []string{NoticeReminder}
	case "close", "auto_close", "close_unanswered", "cancel":
		kinds = []string{NoticeClosed}
	case "comment":
		if p.IsStaff() && p.AccountID != 0 {
			kinds = []string{NoticeComment}
		} else {
			kinds, toAssignee = []string{NoticeCustomerReply}, true
		}
	case "answer_clarification", "accept_proposal", "reject_proposal", "reopen":
		if p.IsCustomer() {
			kinds, toAssignee = []string{NoticeCustomerReply}, true
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	var r desk.Request
	var err error
	if known != nil {
		r = *known
	} else if r, err = c.loadRequest(ctx, requestID); err != nil {
		return err
	}
	if action == "registered" && !r.Covered && r.CustomerID != 0 && r.CoverageReason != "product_unknown" {
		kinds = append(kinds, NoticeCoverage)
	}
	// The notice quotes the latest public comment; a request just
	// registered has none, which saves the look-up on the busiest path.
	var commentID int64
	if action != "registered" {
		c.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM comments WHERE request_id = ? AND internal = FALSE`, requestID).Scan(&commentID)
	}
	now := c.s.Now()
	for _, kind := range kinds {
		var to []noticeRecipient
		if toAssignee {
			if r.AssigneeID != 0 {
				to, err = c.accountRecipients(ctx, `id = ?`, r.AssigneeID)
			}
		} else {
			to, err = c.requesterRecipients(ctx, r)
			if err == nil && (kind == NoticeProposal || kind == NoticeCoverage) && r.CustomerID != 0 {
				// Only a customer admin accepts a proposal; the admins hear of coverage.
				var admins []noticeRecipient
				admins, err = c.accountRecipients(ctx, `customer_id = ? AND role = ?`, r.CustomerID, auth.RoleCustomerAdmin)
				to = append(to, admins...)
			}
		}
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, rc := range to {
			key := strings.ToLower(rc.addr)
			if rc.addr == "" || seen[key] || (rc.accountID != 0 && rc.accountID == p.AccountID && kind != NoticeRegistered) {
				continue
			}
			seen[key] = true
			if !NoticeEssential(kind) && rc.accountID != 0 {
				var essentialOnly bool
				c.queryRow(ctx, `SELECT essential_only FROM mail_prefs WHERE account_id = ?`, rc.accountID).Scan(&essentialOnly)
				if essentialOnly {
					continue
				}
			}
			tok := make([]byte, 12)
			rand.Read(tok)
			if _, err := c.exec(ctx, `INSERT INTO mail_outbox (request_id, comment_id, kind, account_id, to_addr, to_name, lang, token, state, next_attempt_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
				requestID, nullID(commentID), kind, nullID(rc.accountID), rc.addr, rc.name, rc.lang, hex.EncodeToString(tok), now, now); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c conn) requesterRecipients(ctx context.Context, r desk.Request) ([]noticeRecipient, error) {
	if r.RequesterID != 0 {
		return c.accountRecipients(ctx, `id = ?`, r.RequesterID)
	}
	var rc noticeRecipient
	err := c.queryRow(ctx, `SELECT address, name, lang FROM mail_requesters WHERE request_id = ?`, r.ID).Scan(&rc.addr, &rc.name, &rc.lang)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []noticeRecipient{rc}, nil
}

func (c conn) accountRecipients(ctx context.Context, cond string, args ...any) ([]noticeRecipient, error) {
	rows, err := c.query(ctx, `SELECT id, login, name, lang FROM accounts WHERE disabled = FALSE AND `+cond+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []noticeRecipient
	for rows.Next() {
		var rc noticeRecipient
		if err := rows.Scan(&rc.accountID, &rc.addr, &rc.name, &rc.lang); err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}

// Notice is a claimed notice with what composing it needs.
type Notice struct {
	ID        int64
	Kind      string
	Token     string // the unique part of its Message-ID, the same on every retry
	Attempts  int    // including this one
	ToAddr    string
	ToName    string
	Lang      string
	ForStaff  bool
	CreatedAt time.Time

	RequestID    int64
	Number       string
	Subject      string
	State        desk.State
	Text         string // the comment the notice is about (question, answer, reply)
	Author       string
	CoverageNote string
	Proposal     *desk.Proposal
	// Thread lists the Message-IDs of the request's mail, oldest first:
	// the notice answers the last and refers to all (capped).
	Thread []string
}

// ClaimNotices takes up to limit notices that are due, each for lease:
// another replica does not take it meanwhile, and one whose sender died
// is taken again when its lease ends. Notices older than maxAge are not
// sent any more (a relay configured after weeks of silence must not send
// stale news); they are marked expired.
func (s *Store) ClaimNotices(ctx context.Context, limit int, lease, maxAge time.Duration) ([]Notice, error) {
	now := s.Now()
	if maxAge > 0 {
		if err := s.tx(ctx, "expire notices", func(c conn) error {
			_, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'expired', last_error = 'not sent in time' WHERE state = 'pending' AND created_at < ?`, now.Add(-maxAge))
			return err
		}); err != nil {
			return nil, err
		}
	}
	rows, err := s.read().query(ctx, `SELECT id FROM mail_outbox WHERE state IN ('pending', 'sending') AND next_attempt_at <= ?
		AND (state = 'pending' OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?`, now, now, limit)
	if err != nil {
		return nil, s.fail("claim notices", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, s.fail("claim notices", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []Notice
	for _, id := range ids {
		var n Notice
		claimed := false
		err := s.tx(ctx, "claim notice", func(c conn) error {
			res, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, claimed_until = ?
				WHERE id = ? AND next_attempt_at <= ? AND (state = 'pending' OR (state = 'sending' AND claimed_until < ?))`, now.Add(lease), id, now, now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return nil // another replica took it
			}
			claimed = true
			n, err = c.loadNotice(ctx, id)
			return err
		})
		if err != nil {
			return out, err
		}
		if claimed {
			out = append(out, n)
		}
	}
	return out, nil
}

func (c conn) loadNotice(ctx context.Context, id int64) (Notice, error) {
	var n Notice
	var req, cm, acct nullInt
	err := c.queryRow(ctx, `SELECT id, kind, token, attempts, to_addr, to_name, lang, created_at, request_id, comment_id, account_id FROM mail_outbox WHERE id = ?`, id).
		Scan(&n.ID, &n.Kind, &n.Token, &n.Attempts, &n.ToAddr, &n.ToName, &n.Lang, &n.CreatedAt, &req, &cm, &acct)
	if err != nil {
		return n, err
	}
	n.RequestID = req.Int64
	if acct.Valid {
		var role string
		c.queryRow(ctx, `SELECT role FROM accounts WHERE id = ?`, acct.Int64).Scan(&role)
		n.ForStaff = auth.Role(role).IsStaff()
	}
	if n.RequestID == 0 {
		return n, nil
	}
	r, err := c.loadRequest(ctx, n.RequestID)
	if err != nil {
		return n, err
	}
	n.Number, n.Subject, n.State, n.CoverageNote = r.Number, r.Subject, r.State, r.CoverageNote
	if cm.Valid {
		c.queryRow(ctx, `SELECT body, author_name FROM comments WHERE id = ?`, cm.Int64).Scan(&n.Text, &n.Author)
	}
	if n.Kind == NoticeResolved && n.Text == "" {
		n.Text = r.Resolution
	}
	if n.Kind == NoticeProposal {
		props, err := c.proposals(ctx, r.ID)
		if err != nil {
			return n, err
		}
		for i := len(props) - 1; i >= 0; i-- {
			if props[i].Status == desk.ProposalOpen {
				pr := props[i]
				n.Proposal = &pr
				break
			}
		}
	}
	rows, err := c.query(ctx, `SELECT message_id FROM mail_messages WHERE request_id = ? AND internal = FALSE AND at <= ? ORDER BY id`, r.ID, n.CreatedAt)
	if err != nil {
		return n, err
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		if err := rows.Scan(&mid); err != nil {
			return n, err
		}
		n.Thread = append(n.Thread, mid)
	}
	return n, rows.Err()
}

// NoticeSent records a sent notice and its Message-ID, so that a reply to
// it finds its request.
func (s *Store) NoticeSent(ctx context.Context, id int64, messageID, subject string) error {
	return s.tx(ctx, "notice sent", func(c conn) error {
		now := s.Now()
		var req nullInt
		var to string
		if err := c.queryRow(ctx, `SELECT request_id, to_addr FROM mail_outbox WHERE id = ?`, id).Scan(&req, &to); err != nil {
			return notFound(err, "notice")
		}
		if _, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'sent', sent_at = ?, last_error = '', claimed_until = NULL WHERE id = ?`, now, id); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO mail_messages (direction, message_id, source, to_addr, subject, at, request_id, outbox_id, outcome)
			VALUES ('out', ?, 'outbox', ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			messageID, to, clip(subject, 998), now, nullID(req.Int64), id, MailSent)
		return err
	})
}

// NoticeFailed records a failed attempt: with retryAt the notice is tried
// again then; without, it failed for good, which the request's journal and
// page show.
func (s *Store) NoticeFailed(ctx context.Context, id int64, reason string, retryAt *time.Time) error {
	reason = clip(strings.TrimSpace(reason), 1000)
	return s.tx(ctx, "notice failed", func(c conn) error {
		if retryAt != nil {
			_, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'pending', next_attempt_at = ?, last_error = ?, claimed_until = NULL WHERE id = ? AND state = 'sending'`,
				*retryAt, reason, id)
			return err
		}
		res, err := c.exec(ctx, `UPDATE mail_outbox SET state = 'failed', last_error = ?, claimed_until = NULL WHERE id = ? AND state = 'sending'`, reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		var req nullInt
		var kind, to string
		if err := c.queryRow(ctx, `SELECT request_id, kind, to_addr FROM mail_outbox WHERE id = ?`, id).Scan(&req, &kind, &to); err != nil {
			return err
		}
		if !req.Valid {
			return nil
		}
		var cust int64
		c.queryRow(ctx, `SELECT COALESCE(customer_id, 0) FROM requests WHERE id = ?`, req.Int64).Scan(&cust)
		if cust, err = c.noticeAudience(ctx, id, cust); err != nil {
			return err
		}
		return c.journal(ctx, auth.System, "request", req.Int64, cust, "mail_failed", nil,
			map[string]any{"notice_id": id, "kind": kind, "to": to, "error": reason}, fmt.Sprintf("the %s notice to %s could not be sent: %s", kind, to, reason))
	})
}

// noticeAudience is the customer whose people may read about a notice in
// the journal: the request's customer when the notice went to one of its
// contacts (as mailAccess shows them the notice), else 0: a notice to
// staff, or to someone without an account, is the desk's.
func (c conn) noticeAudience(ctx context.Context, noticeID, requestCustomer int64) (int64, error) {
	if requestCustomer == 0 {
		return 0, nil
	}
	var cust nullInt
	err := c.queryRow(ctx, `SELECT a.customer_id FROM mail_outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?`, noticeID).Scan(&cust)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if cust.Int64 != requestCustomer {
		return 0, nil
	}
	return requestCustomer, nil
}
