package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SessionStore keeps browser sessions in the database, so any replica can
// serve any browser. It implements scs.CtxStore.
type SessionStore struct{ s *Store }

func (s *Store) Sessions() SessionStore { return SessionStore{s} }

func (ss SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := ss.s.read().queryRow(ctx, `SELECT data FROM sessions WHERE token = ? AND expiry > ?`, token, ss.s.Now()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ss.s.fail("find session", err)
	}
	return data, true, nil
}

// CommitCtx saves a session. It finishes even if the client has gone: the
// request it belongs to may already have changed data.
func (ss SessionStore) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	ctx = context.WithoutCancel(ctx)
	return ss.s.tx(ctx, "save session", func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, data, expiry)
		return err
	})
}

func (ss SessionStore) DeleteCtx(ctx context.Context, token string) error {
	ctx = context.WithoutCancel(ctx)
	return ss.s.tx(ctx, "delete session", func(c conn) error {
		_, err := c.exec(ctx, `DELETE FROM sessions WHERE token = ?`, token)
		return err
	})
}

// scs also wants the context-free methods.
func (ss SessionStore) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}
func (ss SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}
func (ss SessionStore) Delete(token string) error { return ss.DeleteCtx(context.Background(), token) }

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, "delete expired sessions", func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM sessions WHERE expiry <= ?`, s.Now())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
