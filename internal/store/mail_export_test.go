package store

import "context"

// StoredMailboxPassword reads a mailbox's password columns as they are
// in the database, for tests that look for plain text there.
func (s *Store) StoredMailboxPassword(ctx context.Context, id int64) (plain, sealed string, err error) {
	err = s.read().queryRow(ctx, `SELECT password, password_sealed FROM mailboxes WHERE id = ?`, id).Scan(&plain, &sealed)
	return plain, sealed, err
}

// StorePlainMailboxPassword writes a password the way tend did before
// sealing existed, or the way someone editing the database would.
func (s *Store) StorePlainMailboxPassword(ctx context.Context, id int64, password string) error {
	return s.tx(ctx, "test", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE mailboxes SET password = ?, password_sealed = '' WHERE id = ?`, password, id)
		return err
	})
}

// MoveMailboxBehindTendsBack points a mailbox at another server without
// going through tend, as someone with write access to the database only
// could.
func (s *Store) MoveMailboxBehindTendsBack(ctx context.Context, id int64, host string) error {
	return s.tx(ctx, "test", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE mailboxes SET host = ? WHERE id = ?`, host, id)
		return err
	})
}

// StoredMailSecret reads the reply-address key's columns as they are in
// the database.
func (s *Store) StoredMailSecret(ctx context.Context) (plain, sealed string, err error) {
	err = s.read().queryRow(ctx, `SELECT secret, secret_sealed FROM mail_settings WHERE id = 1`).Scan(&plain, &sealed)
	return plain, sealed, err
}

// StorePlainMailSecret writes the reply-address key the way tend did
// before sealing existed: hex, in plain text.
func (s *Store) StorePlainMailSecret(ctx context.Context, hexKey string) error {
	return s.tx(ctx, "test", func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO mail_settings (id, secret, secret_sealed) VALUES (1, ?, '')
			ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, secret_sealed = ''`, hexKey)
		return err
	})
}

// StoreSealedMailSecret writes a sealed value in the reply-address key's
// place, as someone with write access to the database only could.
func (s *Store) StoreSealedMailSecret(ctx context.Context, sealed string) error {
	return s.tx(ctx, "test", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE mail_settings SET secret = '', secret_sealed = ? WHERE id = 1`, sealed)
		return err
	})
}
