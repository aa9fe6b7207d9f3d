package store

import (
	"context"
	"encoding/json"
	"time"

	"tend/internal/auth"
)

// entity describes how one kind of record is stored, so the four common
// operations (create, get, list, update) are written once for all kinds.
type entity[T any] struct {
	name  string // for messages and the journal: "customer"
	table string
	cols  string // column list matching scan
	scan  func(interface{ Scan(...any) error }) (T, error)
	// resource is how access control sees a record.
	resource func(T) auth.Resource
	id       func(*T) *int64
	// stamp sets the updated time, and the created time when created is true.
	stamp func(v *T, now time.Time, created bool)
	// check validates the record and its references inside the transaction.
	check func(ctx context.Context, c conn, v *T) error
	// keep restores what an update may not change.
	keep   func(before T, v *T)
	insert func(ctx context.Context, c conn, v *T) (int64, error)
	update func(ctx context.Context, c conn, v *T) error
	// unique names the field a unique violation is about.
	uniqueField, uniqueMsg string
}

func (e entity[T]) create(ctx context.Context, s *Store, p auth.Principal, v T) (T, error) {
	err := s.tx(ctx, "create "+e.name, func(c conn) error {
		// Access first, so a refused caller learns nothing from validation.
		r := e.resource(v)
		if err := auth.Authorize(p, auth.Create, r); err != nil {
			return err
		}
		if err := e.check(ctx, c, &v); err != nil {
			return err
		}
		e.stamp(&v, s.Now(), true)
		id, err := e.insert(ctx, c, &v)
		if err != nil {
			return uniqueOr(err, e.uniqueField, e.uniqueMsg)
		}
		*e.id(&v) = id
		return c.journal(ctx, p, e.name, id, r.CustomerID, "created", nil, v, "")
	})
	return v, err
}

func (e entity[T]) get(ctx context.Context, s *Store, p auth.Principal, id int64) (T, error) {
	v, err := e.scan(s.read().queryRow(ctx, `SELECT `+e.cols+` FROM `+e.table+` WHERE id = ?`, id))
	if err != nil {
		var zero T
		return zero, s.fail("get "+e.name, notFound(err, e.name))
	}
	if err := auth.Authorize(p, auth.Read, e.resource(v)); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func (e entity[T]) list(ctx context.Context, s *Store, p auth.Principal, kind auth.Kind, w where, pg Page) (List[T], error) {
	scope, err := auth.ListScope(p, kind)
	if err != nil {
		return List[T]{}, err
	}
	w.scope(scope, "customer_id", "id")
	return listPage(ctx, s, "list "+e.name+"s", e.table, e.cols, w, pg, e.scan, func(v T) int64 { return *e.id(&v) })
}

// modify loads a record, lets change alter it, and stores it with a
// journal entry. The caller needs the update right both to the record as it
// was and as it becomes, so nothing can be moved out of reach.
func (e entity[T]) modify(ctx context.Context, s *Store, p auth.Principal, id int64, change func(*T) error) (T, error) {
	var out T
	err := s.tx(ctx, "update "+e.name, func(c conn) error {
		before, err := e.scan(c.queryRow(ctx, `SELECT `+e.cols+` FROM `+e.table+` WHERE id = ?`, id))
		if err != nil {
			return notFound(err, e.name)
		}
		if err := auth.Authorize(p, auth.Update, e.resource(before)); err != nil {
			return err
		}
		// Snapshot first: change may reuse the slices that before shares.
		snapshot, err := json.Marshal(before)
		if err != nil {
			return err
		}
		v := before
		if err := change(&v); err != nil {
			return err
		}
		*e.id(&v) = id
		e.keep(before, &v)
		r := e.resource(v)
		if err := auth.Authorize(p, auth.Update, r); err != nil {
			return err
		}
		if err := e.check(ctx, c, &v); err != nil {
			return err
		}
		e.stamp(&v, s.Now(), false)
		if err := e.update(ctx, c, &v); err != nil {
			return uniqueOr(err, e.uniqueField, e.uniqueMsg)
		}
		out = v
		return c.journal(ctx, p, e.name, id, r.CustomerID, "updated", json.RawMessage(snapshot), v, "")
	})
	return out, err
}
