package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"tend/internal/apperr"
	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/mail"
	"tend/internal/store"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, store.SecretKeySize) }

// Mailbox passwords are sealed at rest: the database holds no plain text,
// tend reads them back, a wrong key is a clear error that names the
// mailbox, and rows from before sealing are sealed on start.
func TestMailboxPasswordsSealed(t *testing.T) {
	const secret = "s3cret-imap-Пароль"
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			st := app.Store
			admin, err := st.AccountByLogin(ctx, "admin@vendor.example")
			if err != nil {
				t.Fatal(err)
			}
			if rep, err := st.UseSecretKey(ctx, key(1)); err != nil || rep.Sealed != 0 || len(rep.Unreadable) != 0 {
				t.Fatalf("first key: %+v %v", rep, err)
			}
			box, err := st.CreateMailbox(ctx, admin.Principal(), store.Mailbox{Name: "Support", Host: "imap.vendor.example", Username: "support", Password: secret})
			if err != nil {
				t.Fatal(err)
			}
			if box.Password != "" || !box.PasswordSet {
				t.Errorf("answered %+v", box)
			}

			// No plain text in the row or in the journal.
			plain, sealed, err := st.StoredMailboxPassword(ctx, box.ID)
			if err != nil {
				t.Fatal(err)
			}
			if plain != "" || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, secret) ||
				strings.Contains(sealed, base64.RawStdEncoding.EncodeToString([]byte(secret))) {
				t.Errorf("stored plain %q, sealed %q", plain, sealed)
			}
			noPlainInJournal(t, st, box.ID, secret)

			// Round trip: the poller gets the password back.
			read := readable(t, st, box.ID)
			if read.Password != secret || read.PasswordProblem != "" {
				t.Errorf("read back %q (%s)", read.Password, read.PasswordProblem)
			}
			// An edit without a password keeps it; moving the mailbox to
			// another server takes it along, sealed anew for that server.
			moved, err := st.UpdateMailbox(ctx, admin.Principal(), box.ID, func(m *store.Mailbox) error {
				m.Host, m.Port = "imap2.vendor.example", 1993
				return nil
			})
			if err != nil || !moved.PasswordSet {
				t.Fatalf("move: %+v %v", moved, err)
			}
			_, sealed2, _ := st.StoredMailboxPassword(ctx, box.ID)
			if sealed2 == sealed {
				t.Error("the password was not sealed anew for the new server")
			}
			if read := readable(t, st, box.ID); read.Password != secret {
				t.Errorf("after the move: %q (%s)", read.Password, read.PasswordProblem)
			}
			// Pointed at another server behind tend's back, the password
			// does not open: it goes nowhere it was not given for.
			if err := st.MoveMailboxBehindTendsBack(ctx, box.ID, "attacker.example"); err != nil {
				t.Fatal(err)
			}
			if read := readable(t, st, box.ID); read.Password != "" || !strings.Contains(read.PasswordProblem, `"Support"`) {
				t.Errorf("moved behind tend's back: %q (%s)", read.Password, read.PasswordProblem)
			}
			if _, err := st.UpdateMailbox(ctx, admin.Principal(), box.ID, func(m *store.Mailbox) error {
				m.Host, m.Password = "imap2.vendor.example", secret
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			// A wrong key: named, not a crash; the poller sees why.
			rep, err := st.UseSecretKey(ctx, key(2))
			if err != nil || len(rep.Unreadable) != 1 || rep.Unreadable[0] != "Support" {
				t.Fatalf("wrong key: %+v %v", rep, err)
			}
			read = readable(t, st, box.ID)
			if read.Password != "" || !strings.Contains(read.PasswordProblem, `mailbox "Support"`) || !strings.Contains(read.PasswordProblem, "secret key") {
				t.Errorf("wrong key read: %q (%s)", read.Password, read.PasswordProblem)
			}
			// Moving it needs the password again: 422 on the password field.
			_, err = st.UpdateMailbox(ctx, admin.Principal(), box.ID, func(m *store.Mailbox) error { m.Host = "imap3.vendor.example"; return nil })
			if ae := apperr.As(err); ae == nil || ae.Code != apperr.Invalid || ae.Field != "password" {
				t.Errorf("move under a wrong key: %v", err)
			}
			// Giving it again heals the mailbox under the key in force.
			if _, err := st.UpdateMailbox(ctx, admin.Principal(), box.ID, func(m *store.Mailbox) error { m.Password = "new-" + secret; return nil }); err != nil {
				t.Fatal(err)
			}
			if read := readable(t, st, box.ID); read.Password != "new-"+secret {
				t.Errorf("after a new password: %q (%s)", read.Password, read.PasswordProblem)
			}

			// A row from before sealing is sealed when the key is given.
			if err := st.StorePlainMailboxPassword(ctx, box.ID, "old-plain"); err != nil {
				t.Fatal(err)
			}
			rep, err = st.UseSecretKey(ctx, key(2))
			if err != nil || rep.Sealed != 1 || len(rep.Unreadable) != 0 {
				t.Fatalf("sealing old rows: %+v %v", rep, err)
			}
			if plain, sealed, _ := st.StoredMailboxPassword(ctx, box.ID); plain != "" || strings.Contains(sealed, "old-plain") || sealed == "" {
				t.Errorf("after sealing: plain %q sealed %q", plain, sealed)
			}
			if read := readable(t, st, box.ID); read.Password != "old-plain" {
				t.Errorf("sealed old row reads %q (%s)", read.Password, read.PasswordProblem)
			}

			// A key of the wrong size is refused.
			if _, err := st.UseSecretKey(ctx, []byte("short")); err == nil {
				t.Error("a 5-byte key was taken")
			}
		})
	}
}

func readable(t *testing.T, st *store.Store, id int64) store.Mailbox {
	t.Helper()
	boxes, err := st.MailboxesToRead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range boxes {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("mailbox %d is not read", id)
	return store.Mailbox{}
}

func noPlainInJournal(t *testing.T, st *store.Store, id int64, secret string) {
	t.Helper()
	l, err := st.ListJournal(context.Background(), auth.System, store.JournalFilter{Entity: "mailbox", EntityID: id, Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Items {
		if strings.Contains(string(e.Before)+string(e.After)+e.Note, secret) {
			t.Errorf("the journal holds the password: %+v", e)
		}
	}
}

// A store never given the server's secret key stores no secret at all: a
// code path that forgot the key fails at once, with an error that says
// what is missing, instead of sealing under a key that dies with the
// process (and losing the passwords at the next start).
func TestNoSecretKeyNoSecrets(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			opts := store.Options{Log: slog.New(slog.DiscardHandler)}
			if engine == "sqlite" {
				opts.DataDir = t.TempDir()
			} else {
				opts.DSN = apptest.PostgresDSN(t)
			}
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			noKey := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrNoSecretKey) || apperr.CodeOf(err) != apperr.Unavailable || !strings.Contains(err.Error(), "--secret-key-file") {
					t.Errorf("%s without a key: %v", what, err)
				}
			}
			box := store.Mailbox{Name: "Support", Host: "imap.vendor.example", Username: "support", Password: "pw"}
			_, err = st.CreateMailbox(ctx, auth.System, box)
			noKey("a mailbox with a password", err)
			_, err = st.EnsureMailbox(ctx, store.Mailbox{Name: "config: support@imap.vendor.example/INBOX", Host: "imap.vendor.example", Username: "support", Password: "pw"})
			noKey("a configured mailbox", err)
			_, err = st.MailSecret(ctx)
			noKey("the reply-address key", err)
			if l, err := st.ListMailboxes(ctx, auth.System, store.Page{Limit: 10}); err != nil || l.Total != 0 {
				t.Errorf("mailboxes written without a key: %+v %v", l, err)
			}
			if _, _, err := st.StoredMailSecret(ctx); !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("a reply-address key was made without a key: %v", err)
			}
			// Nothing to seal, nothing refused.
			bare, err := st.CreateMailbox(ctx, auth.System, store.Mailbox{Name: "No password", Host: "imap.vendor.example", Username: "other"})
			if err != nil || bare.PasswordSet {
				t.Fatalf("a mailbox without a password: %+v %v", bare, err)
			}
			_, err = st.UpdateMailbox(ctx, auth.System, bare.ID, func(m *store.Mailbox) error { m.Password = "pw"; return nil })
			noKey("a new password", err)

			// Given the key, the same calls work.
			if _, err := st.UseSecretKey(ctx, key(5)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateMailbox(ctx, auth.System, box); err != nil {
				t.Errorf("with a key: %v", err)
			}
			if k, err := st.MailSecret(ctx); err != nil || len(k) != 32 {
				t.Errorf("the reply-address key with a key: %d bytes, %v", len(k), err)
			}
		})
	}
}

// The key that signs reply-to addresses is sealed like the passwords: a
// plain one from before sealing is sealed on start with its value kept,
// so reply-to addresses already sent still find their request; under
// another server key it is not used (replies are threaded by their
// references instead), and the right key brings it back.
func TestReplyKeySealed(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx, st := context.Background(), app.Store
			old := bytes.Repeat([]byte{0x42}, 32)
			oldHex := hex.EncodeToString(old)
			if err := st.StorePlainMailSecret(ctx, oldHex); err != nil {
				t.Fatal(err)
			}
			rep, err := st.UseSecretKey(ctx, apptest.SecretKey())
			if err != nil || !rep.ReplyKeySealed || rep.ReplyKeyUnreadable {
				t.Fatalf("sealing the plain key: %+v %v", rep, err)
			}
			plain, sealed, err := st.StoredMailSecret(ctx)
			if err != nil || plain != "" || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, oldHex) {
				t.Errorf("stored: plain %q sealed %q %v", plain, sealed, err)
			}
			if got, err := st.MailSecret(ctx); err != nil || !bytes.Equal(got, old) {
				t.Errorf("the key changed: %x %v", got, err)
			}
			l, err := st.ListJournal(ctx, auth.System, store.JournalFilter{Entity: "mail_settings", EntityID: 1, Page: store.Page{Limit: 10}})
			if err != nil || len(l.Items) != 1 || l.Items[0].Action != "secret_sealed" || strings.Contains(l.Items[0].Note, oldHex) {
				t.Errorf("journal: %+v %v", l.Items, err)
			}
			// Again: nothing left to seal, the sealed key opens.
			if rep, err := st.UseSecretKey(ctx, apptest.SecretKey()); err != nil || rep.ReplyKeySealed || rep.ReplyKeyUnreadable {
				t.Errorf("second start: %+v %v", rep, err)
			}

			// A reply to an address signed before sealing finds its request.
			files, err := blob.NewDisk(app.Files)
			if err != nil {
				t.Fatal(err)
			}
			receiver := func() *mail.Receiver {
				rc, err := mail.NewReceiver(ctx, st, files, slog.New(slog.DiscardHandler), mail.Config{Address: "support@vendor.example"})
				if err != nil {
					t.Fatal(err)
				}
				return rc
			}
			deliver := func(rc *mail.Receiver, id, to, subject string) store.MailResult {
				t.Helper()
				raw := "From: admin@beta.example\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + "@beta.example>\r\n\r\nText.\r\n"
				res, err := rc.Deliver(ctx, []byte(raw), mail.Envelope{Source: "smtp"})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			rc := receiver()
			first := deliver(rc, "first", "support@vendor.example", "The reader is offline")
			if first.Outcome != store.MailRequest {
				t.Fatalf("first: %+v", first)
			}
			signed := mail.Tokens{Secret: old, Local: "support", Domain: "vendor.example"}.Address(first.Number)
			if res := deliver(rc, "reply1", signed, "thanks"); res.Outcome != store.MailComment || res.RequestID != first.RequestID {
				t.Errorf("a reply to an address signed with the plain key: %+v", res)
			}

			// Under another server key the reply-address key is not used:
			// tend still starts, and a reply only by address is no thread.
			rep, err = st.UseSecretKey(ctx, key(9))
			if err != nil || !rep.ReplyKeyUnreadable {
				t.Fatalf("another key: %+v %v", rep, err)
			}
			if _, err := st.MailSecret(ctx); !errors.Is(err, store.ErrReplyKeyUnreadable) {
				t.Errorf("MailSecret under another key: %v", err)
			}
			if res := deliver(receiver(), "reply2", signed, "thanks again"); res.RequestID == first.RequestID {
				t.Errorf("a reply threads by an address the server cannot verify: %+v", res)
			}
			if _, sealed2, _ := st.StoredMailSecret(ctx); sealed2 != sealed {
				t.Error("another key replaced the reply-address key")
			}
			// The right key again: the same key, replies thread again.
			if rep, err := st.UseSecretKey(ctx, apptest.SecretKey()); err != nil || rep.ReplyKeyUnreadable {
				t.Fatalf("the right key: %+v %v", rep, err)
			}
			if res := deliver(receiver(), "reply3", signed, "and again"); res.Outcome != store.MailComment || res.RequestID != first.RequestID {
				t.Errorf("after the right key: %+v", res)
			}

			// A sealed mailbox password put in the key's place does not open
			// as the key.
			box, err := st.CreateMailbox(ctx, auth.System, store.Mailbox{Name: "Support", Host: "imap.vendor.example", Username: "support", Password: oldHex})
			if err != nil {
				t.Fatal(err)
			}
			_, boxSealed, _ := st.StoredMailboxPassword(ctx, box.ID)
			if err := st.StoreSealedMailSecret(ctx, boxSealed); err != nil {
				t.Fatal(err)
			}
			if _, err := st.MailSecret(ctx); !errors.Is(err, store.ErrReplyKeyUnreadable) {
				t.Errorf("a sealed password opens as the reply-address key: %v", err)
			}
		})
	}
}
