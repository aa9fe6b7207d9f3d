package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
)

// Mailbox passwords and the key that signs reply-to addresses are sealed
// at rest with AES-256-GCM under the server's secret key (tend serve
// --secret-key-file), so that a copy of the database — a backup, a dump
// sent along with a bug report — neither gives the support mailboxes away
// nor lets anyone forge reply-to addresses. The key never enters the
// database, and a store is never without one by accident: until
// UseSecretKey gives it, storing a password or making the reply-address
// key fails (ErrNoSecretKey) rather than sealing under a key that dies
// with the process.
//
// A sealed password is bound to where it is sent (host, port, security,
// user name): someone who can write to the database but lacks the key
// cannot point a mailbox at their own server and have tend hand them the
// password; the password then fails to open, as under a wrong key.

// SecretKeySize is the length of the secret key: AES-256.
const SecretKeySize = 32

// sealedPrefix marks the format, so that another can follow.
const sealedPrefix = "v1:"

type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes, not %d", SecretKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// ErrNoSecretKey is what storing a secret answers on a store that was
// never given the server's secret key: a code path that forgot
// UseSecretKey. tend serve and tend demo always give one.
var ErrNoSecretKey error = &apperr.Error{Code: apperr.Unavailable,
	Message: "this tend has no secret key to seal secrets with (see --secret-key-file, TEND_SECRET_KEY, or secret.key in --data)"}

// ErrReplyKeyUnreadable says the reply-address key in the database was
// sealed under another secret key.
var ErrReplyKeyUnreadable = errors.New("the key that signs reply-to addresses cannot be opened with this server's secret key: " +
	"it was sealed under another key; start tend with that key (--secret-key-file, TEND_SECRET_KEY), " +
	"or give --mail-secret to sign with a new one (reply-to addresses already sent then no longer verify)")

// SecretReport is what UseSecretKey found.
type SecretReport struct {
	// Sealed counts the passwords that were stored in plain text (written
	// before sealing existed) and are sealed now.
	Sealed int
	// Unreadable lists, by mailbox name, the passwords this key does not
	// open: sealed under another key, or the mailbox's server changed in
	// the database behind tend's back.
	Unreadable []string
	// ReplyKeySealed says the reply-address key was stored in plain text
	// and is sealed now, with the same value.
	ReplyKeySealed bool
	// ReplyKeyUnreadable says this key does not open the reply-address
	// key (sealed under another key).
	ReplyKeyUnreadable bool
}

// UseSecretKey sets the key that seals mailbox passwords and the
// reply-address key, seals those still stored in plain text, and checks
// that it opens the sealed ones. A store must be given a key before it
// stores a password or makes the reply-address key (ErrNoSecretKey).
func (s *Store) UseSecretKey(ctx context.Context, key []byte) (SecretReport, error) {
	x, err := newSealer(key)
	if err != nil {
		return SecretReport{}, err
	}
	s.sealer.Store(x)
	var rep SecretReport
	err = s.tx(ctx, "seal secrets", func(c conn) error {
		rep = SecretReport{}
		rows, err := c.query(ctx, `SELECT `+mailboxCols+` FROM mailboxes ORDER BY id`)
		if err != nil {
			return err
		}
		var boxes []Mailbox
		for rows.Next() {
			m, err := scanMailbox(rows)
			if err != nil {
				rows.Close()
				return err
			}
			boxes = append(boxes, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range boxes {
			switch {
			case m.Password != "":
				// Plain text wins over a sealed value beside it: only a tend
				// from before sealing writes it, so it is the newer one.
				if _, err := c.exec(ctx, `UPDATE mailboxes SET password = '', password_sealed = ? WHERE id = ?`, x.seal(m), m.ID); err != nil {
					return err
				}
				rep.Sealed++
				if err := c.journal(ctx, auth.System, "mailbox", m.ID, 0, "password_sealed", nil, nil,
					"the password stored in plain text is now sealed with the server's secret key"); err != nil {
					return err
				}
			case m.sealed != "":
				if _, err := x.open(m, m.sealed); err != nil {
					rep.Unreadable = append(rep.Unreadable, m.Name)
				}
			}
		}
		return c.sealReplyKey(ctx, x, &rep)
	})
	return rep, err
}

// sealReplyKey seals a reply-address key stored in plain text (its value
// stays, so reply-to addresses already sent stay valid), or checks that
// the sealed one opens.
func (c conn) sealReplyKey(ctx context.Context, x *sealer, rep *SecretReport) error {
	var plain, sealed string
	err := c.queryRow(ctx, `SELECT secret, secret_sealed FROM mail_settings WHERE id = 1`).Scan(&plain, &sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // made, sealed, on first use (MailSecret)
	case err != nil:
		return err
	case plain != "":
		// As with passwords, plain text is the newer value.
		if _, err := c.exec(ctx, `UPDATE mail_settings SET secret = '', secret_sealed = ? WHERE id = 1`, x.sealText(plain, replyKeyContext)); err != nil {
			return err
		}
		rep.ReplyKeySealed = true
		return c.journal(ctx, auth.System, "mail_settings", 1, 0, "secret_sealed", nil, nil,
			"the key that signs reply-to addresses, stored in plain text, is now sealed with the server's secret key")
	case sealed != "":
		if _, err := x.openText(sealed, replyKeyContext); err != nil {
			rep.ReplyKeyUnreadable = true
		}
	}
	return nil
}

// sealing gives the store's sealer, or ErrNoSecretKey when it was never
// given a key.
func (s *Store) sealing() (*sealer, error) {
	if x := s.sealer.Load(); x != nil {
		return x, nil
	}
	return nil, ErrNoSecretKey
}

// sealPassword gives m.Password sealed for m's server ("" for no password;
// a password needs the server's key).
func (s *Store) sealPassword(m Mailbox) (string, error) {
	if m.Password == "" {
		return "", nil
	}
	x, err := s.sealing()
	if err != nil {
		return "", err
	}
	return x.seal(m), nil
}

// replyKeyContext binds a sealed reply-address key to its place, so that a
// sealed mailbox password copied there does not open as a key, nor the
// key as a password.
var replyKeyContext = []byte("tend reply-address key")

// passwordContext binds a sealed password to where it is sent.
func passwordContext(m Mailbox) []byte {
	return fmt.Appendf(nil, "tend mailbox password\x00%s\x00%d\x00%s\x00%s", strings.ToLower(m.Host), m.Port, m.Security, m.Username)
}

// seal gives m.Password sealed for m's server ("" for no password).
func (x *sealer) seal(m Mailbox) string {
	if m.Password == "" {
		return ""
	}
	return x.sealText(m.Password, passwordContext(m))
}

// sealText seals a secret bound to its context.
func (x *sealer) sealText(plain string, context []byte) string {
	nonce := make([]byte, x.aead.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(x.aead.Seal(nonce, nonce, []byte(plain), context))
}

var errSealedFormat = errors.New("the stored secret is in a form this tend does not know")

// open gives the password sealed for m's server.
func (x *sealer) open(m Mailbox, sealed string) (string, error) {
	return x.openText(sealed, passwordContext(m))
}

// openText opens a secret sealed for its context.
func (x *sealer) openText(sealed string, context []byte) (string, error) {
	text, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", errSealedFormat
	}
	b, err := base64.RawStdEncoding.DecodeString(text)
	if err != nil || len(b) < x.aead.NonceSize() {
		return "", errSealedFormat
	}
	ns := x.aead.NonceSize()
	plain, err := x.aead.Open(nil, b[:ns], b[ns:], context)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// password gives a stored mailbox's password in the clear: the plain
// value of a row not sealed yet, or the sealed one opened. The error
// names the mailbox and says what to do.
func (s *Store) password(m Mailbox) (string, error) {
	if m.Password != "" || m.sealed == "" {
		return m.Password, nil
	}
	x, err := s.sealing()
	if err != nil {
		return "", err
	}
	p, err := x.open(m, m.sealed)
	if err != nil {
		return "", fmt.Errorf("the password of mailbox %q cannot be opened with this server's secret key: it was sealed under another key "+
			"(see --secret-key-file), or the mailbox's server was changed in the database directly; give the password again, "+
			"or start tend with the key it was sealed with", m.Name)
	}
	return p, nil
}

// MailSecret is the key that signs reply-to addresses: made once, shared by
// every replica, stored sealed with the server's secret key. A key stored
// in plain text by an older tend is read as it is (UseSecretKey seals it).
func (s *Store) MailSecret(ctx context.Context) ([]byte, error) {
	x, err := s.sealing()
	if err != nil {
		return nil, err
	}
	var plain, sealed string
	err = s.tx(ctx, "mail secret", func(c conn) error {
		read := func() error {
			return c.queryRow(ctx, `SELECT secret, secret_sealed FROM mail_settings WHERE id = 1`).Scan(&plain, &sealed)
		}
		if err := read(); !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b := make([]byte, 32)
		rand.Read(b)
		_, err := c.exec(ctx, `INSERT INTO mail_settings (id, secret, secret_sealed) VALUES (1, '', ?) ON CONFLICT (id) DO NOTHING`,
			x.sealText(hex.EncodeToString(b), replyKeyContext))
		if err != nil {
			return err
		}
		return read() // another replica's, if it was first
	})
	if err != nil {
		return nil, err
	}
	text := plain
	if text == "" {
		if text, err = x.openText(sealed, replyKeyContext); err != nil {
			return nil, ErrReplyKeyUnreadable
		}
	}
	key, err := hex.DecodeString(text)
	if err != nil || len(key) == 0 {
		return nil, errors.New("the key that signs reply-to addresses is damaged in the database (mail_settings); give --mail-secret")
	}
	return key, nil
}
