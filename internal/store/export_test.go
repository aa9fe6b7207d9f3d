package store

import "context"

// ForgetSearchIndex leaves the database as 00008_search found one made
// before it: no request in the search index, all of them in the backlog.
func (s *Store) ForgetSearchIndex(ctx context.Context) error {
	return s.tx(ctx, "forget search index", func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM request_search`); err != nil {
			return err
		}
		if s.engine == SQLite {
			for _, table := range []string{"request_search_terms", "request_search_pending"} {
				if _, err := c.exec(ctx, `DELETE FROM `+table); err != nil {
					return err
				}
			}
		}
		_, err := c.exec(ctx, `UPDATE search_backlog SET below = (SELECT COALESCE(MAX(id), 0) + 1 FROM requests) WHERE id = 1`)
		return err
	})
}

// ExecForTest runs a statement on the write connection.
func (s *Store) ExecForTest(ctx context.Context, q string) error {
	_, err := s.w.ExecContext(ctx, q)
	return err
}

// CountForTest gives the number a COUNT query returns.
func (s *Store) CountForTest(ctx context.Context, q string, args ...any) (n int, err error) {
	err = s.r.QueryRowContext(ctx, rebind(s.engine, q), args...).Scan(&n)
	return n, err
}
