package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
)

// Entry is one line of the append-only journal.
type Entry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    int64           `json:"actor_id,omitempty"`
	ActorName  string          `json:"actor_name"`
	Entity     string          `json:"entity"`
	EntityID   int64           `json:"entity_id"`
	CustomerID int64           `json:"customer_id,omitempty"`
	Action     string          `json:"action"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Note       string          `json:"note,omitempty"`
}

// journal appends an entry in the caller's transaction, so a change and
// its record are written together or not at all.
func (c conn) journal(ctx context.Context, p auth.Principal, entity string, id, customerID int64, action string, before, after any, note string) error {
	return c.journalOf(ctx, p, entity, id, customerID, nil, action, before, after, note)
}

// journalOf is journal for a request this transaction has in hand as it
// now stands (known), which the notices then need not read back.
func (c conn) journalOf(ctx context.Context, p auth.Principal, entity string, id, customerID int64, known *desk.Request, action string, before, after any, note string) error {
	_, err := c.exec(ctx, `INSERT INTO journal (at, actor_id, actor_name, entity, entity_id, customer_id, action, before_json, after_json, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.s.Now(), nullID(p.AccountID), p.Name, entity, id, nullID(customerID), action, jsonOrNil(before), jsonOrNil(after), note)
	if err == nil && entity == "request" {
		// What happens to a request is also what its people are told:
		// the notice is queued in the same transaction (mail.go).
		err = c.queueNoticesOf(ctx, p, id, known, action)
	}
	return err
}

func jsonOrNil(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return string(b)
}

// nullID stores 0 as NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// JournalFilter narrows ListJournal.
type JournalFilter struct {
	Entity     string
	EntityID   int64
	CustomerID int64
	Page
}

// ListJournal lists journal entries; a customer admin sees those about its
// own organisation.
func (s *Store) ListJournal(ctx context.Context, p auth.Principal, f JournalFilter) (List[Entry], error) {
	scope, err := auth.ListScope(p, auth.KindJournal)
	if err != nil {
		return List[Entry]{}, err
	}
	var w where
	w.scope(scope, "customer_id", "actor_id")
	if f.Entity != "" {
		w.add("entity = ?", f.Entity)
	}
	if f.EntityID != 0 {
		w.add("entity_id = ?", f.EntityID)
	}
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	return listPage(ctx, s, "list journal", "journal",
		`id, at, actor_id, actor_name, entity, entity_id, customer_id, action, before_json, after_json, note`,
		w, f.Page, scanEntry, func(e Entry) int64 { return e.ID })
}

func scanEntry(r scanner) (Entry, error) {
	var e Entry
	var actor, cust sql.NullInt64
	var before, after sql.NullString
	err := r.Scan(&e.ID, &e.At, &actor, &e.ActorName, &e.Entity, &e.EntityID, &cust, &e.Action, &before, &after, &e.Note)
	e.ActorID, e.CustomerID = actor.Int64, cust.Int64
	if before.Valid {
		e.Before = json.RawMessage(before.String)
	}
	if after.Valid {
		e.After = json.RawMessage(after.String)
	}
	return e, err
}
