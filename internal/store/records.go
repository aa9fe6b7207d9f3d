package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
)

// scanner is a row or rows.
type scanner = interface{ Scan(...any) error }

// jsonText scans a JSON text column into v.
func jsonText(src string, v any) error { return json.Unmarshal([]byte(src), v) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded here
	}
	return string(b)
}

// ---- customers

var customers = entity[licensing.Customer]{
	name: "customer", table: "customers",
	cols: `id, code, name, phone, email, notes, created_at, updated_at`,
	scan: func(r scanner) (licensing.Customer, error) {
		var c licensing.Customer
		err := r.Scan(&c.ID, &c.Code, &c.Name, &c.Phone, &c.Email, &c.Notes, &c.CreatedAt, &c.UpdatedAt)
		return c, err
	},
	resource: func(c licensing.Customer) auth.Resource {
		return auth.Resource{Kind: auth.KindCustomer, CustomerID: c.ID}
	},
	id: func(c *licensing.Customer) *int64 { return &c.ID },
	stamp: func(c *licensing.Customer, now time.Time, created bool) {
		if created {
			c.CreatedAt = now
		}
		c.UpdatedAt = now
	},
	check: func(_ context.Context, _ conn, c *licensing.Customer) error { return c.Validate() },
	keep:  func(b licensing.Customer, c *licensing.Customer) { c.CreatedAt = b.CreatedAt },
	insert: func(ctx context.Context, c conn, v *licensing.Customer) (int64, error) {
		return c.insert(ctx, `INSERT INTO customers (code, name, phone, email, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			v.Code, v.Name, v.Phone, v.Email, v.Notes, v.CreatedAt, v.UpdatedAt)
	},
	update: func(ctx context.Context, c conn, v *licensing.Customer) error {
		_, err := c.exec(ctx, `UPDATE customers SET code = ?, name = ?, phone = ?, email = ?, notes = ?, updated_at = ? WHERE id = ?`,
			v.Code, v.Name, v.Phone, v.Email, v.Notes, v.UpdatedAt, v.ID)
		return err
	},
	uniqueField: "code", uniqueMsg: "a customer with this code already exists",
}

func (s *Store) CreateCustomer(ctx context.Context, p auth.Principal, c licensing.Customer) (licensing.Customer, error) {
	return customers.create(ctx, s, p, c)
}

func (s *Store) GetCustomer(ctx context.Context, p auth.Principal, id int64) (licensing.Customer, error) {
	return customers.get(ctx, s, p, id)
}

func (s *Store) UpdateCustomer(ctx context.Context, p auth.Principal, id int64, change func(*licensing.Customer) error) (licensing.Customer, error) {
	return customers.modify(ctx, s, p, id, change)
}

// ListCustomers lists customers; a contact sees only its own organisation.
func (s *Store) ListCustomers(ctx context.Context, p auth.Principal, query string, pg Page) (List[licensing.Customer], error) {
	scope, err := auth.ListScope(p, auth.KindCustomer)
	if err != nil {
		return List[licensing.Customer]{}, err
	}
	var w where
	w.scope(scope, "id", "0")
	if query != "" {
		w.add("(LOWER(name) LIKE ? ESCAPE '\\' OR code LIKE ? ESCAPE '\\')", likeArg(query), likeArg(query))
	}
	return listPage(ctx, s, "list customers", customers.table, customers.cols, w, pg, customers.scan, func(c licensing.Customer) int64 { return c.ID })
}

// ---- products

var products = entity[lifecycle.Product]{
	name: "product", table: "products",
	cols: `id, code, name, delivery, description, created_at, updated_at`,
	scan: func(r scanner) (lifecycle.Product, error) {
		var p lifecycle.Product
		err := r.Scan(&p.ID, &p.Code, &p.Name, &p.Delivery, &p.Description, &p.CreatedAt, &p.UpdatedAt)
		return p, err
	},
	resource: func(lifecycle.Product) auth.Resource { return auth.Resource{Kind: auth.KindProduct} },
	id:       func(p *lifecycle.Product) *int64 { return &p.ID },
	stamp: func(p *lifecycle.Product, now time.Time, created bool) {
		if created {
			p.CreatedAt = now
		}
		p.UpdatedAt = now
	},
	check: func(_ context.Context, _ conn, p *lifecycle.Product) error { return p.Validate() },
	keep:  func(b lifecycle.Product, p *lifecycle.Product) { p.CreatedAt = b.CreatedAt },
	insert: func(ctx context.Context, c conn, v *lifecycle.Product) (int64, error) {
		return c.insert(ctx, `INSERT INTO products (code, name, delivery, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			v.Code, v.Name, v.Delivery, v.Description, v.CreatedAt, v.UpdatedAt)
	},
	update: func(ctx context.Context, c conn, v *lifecycle.Product) error {
		_, err := c.exec(ctx, `UPDATE products SET code = ?, name = ?, delivery = ?, description = ?, updated_at = ? WHERE id = ?`,
			v.Code, v.Name, v.Delivery, v.Description, v.UpdatedAt, v.ID)
		return err
	},
	uniqueField: "code", uniqueMsg: "a product with this code already exists",
}

func (s *Store) CreateProduct(ctx context.Context, p auth.Principal, v lifecycle.Product) (lifecycle.Product, error) {
	return products.create(ctx, s, p, v)
}

func (s *Store) GetProduct(ctx context.Context, p auth.Principal, id int64) (lifecycle.Product, error) {
	return products.get(ctx, s, p, id)
}

func (s *Store) UpdateProduct(ctx context.Context, p auth.Principal, id int64, change func(*lifecycle.Product) error) (lifecycle.Product, error) {
	return products.modify(ctx, s, p, id, change)
}

func (s *Store) ListProducts(ctx context.Context, p auth.Principal, pg Page) (List[lifecycle.Product], error) {
	scope, err := auth.ListScope(p, auth.KindProduct)
	if err != nil {
		return List[lifecycle.Product]{}, err
	}
	var w where
	w.scope(scope, "0", "0")
	return listPage(ctx, s, "list products", products.table, products.cols, w, pg, products.scan, func(v lifecycle.Product) int64 { return v.ID })
}

// ---- plans

type planTargets struct {
	Emergency licensing.Targets `json:"emergency"`
	Normal    licensing.Targets `json:"normal"`
}

var plans = entity[licensing.Plan]{
	name: "plan", table: "plans",
	cols: `id, name, window_start, window_end, zone, emergency_24x7, targets, at_risk_percent, created_at, updated_at`,
	scan: func(r scanner) (licensing.Plan, error) {
		var p licensing.Plan
		var targets string
		if err := r.Scan(&p.ID, &p.Name, &p.WindowStart, &p.WindowEnd, &p.Zone, &p.Emergency24x7, &targets, &p.AtRiskPercent, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return p, err
		}
		var t planTargets
		err := jsonText(targets, &t)
		p.Emergency, p.Normal = t.Emergency, t.Normal
		return p, err
	},
	resource: func(licensing.Plan) auth.Resource { return auth.Resource{Kind: auth.KindPlan} },
	id:       func(p *licensing.Plan) *int64 { return &p.ID },
	stamp: func(p *licensing.Plan, now time.Time, created bool) {
		if created {
			p.CreatedAt = now
		}
		p.UpdatedAt = now
	},
	check: func(_ context.Context, _ conn, p *licensing.Plan) error { return p.Validate() },
	keep:  func(b licensing.Plan, p *licensing.Plan) { p.CreatedAt = b.CreatedAt },
	insert: func(ctx context.Context, c conn, v *licensing.Plan) (int64, error) {
		return c.insert(ctx, `INSERT INTO plans (name, window_start, window_end, zone, emergency_24x7, targets, at_risk_percent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.Name, v.WindowStart, v.WindowEnd, v.Zone, v.Emergency24x7, mustJSON(planTargets{v.Emergency, v.Normal}), v.AtRiskPercent, v.CreatedAt, v.UpdatedAt)
	},
	update: func(ctx context.Context, c conn, v *licensing.Plan) error {
		_, err := c.exec(ctx, `UPDATE plans SET name = ?, window_start = ?, window_end = ?, zone = ?, emergency_24x7 = ?, targets = ?, at_risk_percent = ?, updated_at = ? WHERE id = ?`,
			v.Name, v.WindowStart, v.WindowEnd, v.Zone, v.Emergency24x7, mustJSON(planTargets{v.Emergency, v.Normal}), v.AtRiskPercent, v.UpdatedAt, v.ID)
		return err
	},
	uniqueField: "name", uniqueMsg: "a plan with this name already exists",
}

func (s *Store) CreatePlan(ctx context.Context, p auth.Principal, v licensing.Plan) (licensing.Plan, error) {
	return plans.create(ctx, s, p, v)
}

func (s *Store) GetPlan(ctx context.Context, p auth.Principal, id int64) (licensing.Plan, error) {
	return plans.get(ctx, s, p, id)
}

// UpdatePlan changes a plan and recomputes the clocks of the open
// requests under it: targets, window and zone move their due instants.
func (s *Store) UpdatePlan(ctx context.Context, p auth.Principal, id int64, change func(*licensing.Plan) error) (licensing.Plan, error) {
	pl, err := plans.modify(ctx, s, p, id, change)
	if err != nil {
		return pl, err
	}
	_, err = s.RecomputeClocks(ctx, id)
	return pl, err
}

func (s *Store) ListPlans(ctx context.Context, p auth.Principal, pg Page) (List[licensing.Plan], error) {
	scope, err := auth.ListScope(p, auth.KindPlan)
	if err != nil {
		return List[licensing.Plan]{}, err
	}
	var w where
	w.scope(scope, "0", "0")
	return listPage(ctx, s, "list plans", plans.table, plans.cols, w, pg, plans.scan, func(v licensing.Plan) int64 { return v.ID })
}

// ---- licenses

var licenses = entity[licensing.License]{
	name: "license", table: "licenses",
	cols: `id, customer_id, product_id, plan_id, valid_from, valid_to, entitlements, notes, created_at, updated_at`,
	scan: func(r scanner) (licensing.License, error) {
		var l licensing.License
		var ents string
		if err := r.Scan(&l.ID, &l.CustomerID, &l.ProductID, &l.PlanID, &l.ValidFrom, &l.ValidTo, &ents, &l.Notes, &l.CreatedAt, &l.UpdatedAt); err != nil {
			return l, err
		}
		return l, jsonText(ents, &l.Entitlements)
	},
	resource: func(l licensing.License) auth.Resource {
		return auth.Resource{Kind: auth.KindLicense, CustomerID: l.CustomerID}
	},
	id: func(l *licensing.License) *int64 { return &l.ID },
	stamp: func(l *licensing.License, now time.Time, created bool) {
		if created {
			l.CreatedAt = now
		}
		l.UpdatedAt = now
	},
	check: func(ctx context.Context, c conn, l *licensing.License) error {
		if err := l.Validate(); err != nil {
			return err
		}
		if err := c.mustExist(ctx, "customers", l.CustomerID, "customer_id", "customer"); err != nil {
			return err
		}
		if err := c.mustExist(ctx, "products", l.ProductID, "product_id", "product"); err != nil {
			return err
		}
		return c.mustExist(ctx, "plans", l.PlanID, "plan_id", "plan")
	},
	keep: func(b licensing.License, l *licensing.License) {
		l.CreatedAt, l.Plan = b.CreatedAt, nil
	},
	insert: func(ctx context.Context, c conn, v *licensing.License) (int64, error) {
		return c.insert(ctx, `INSERT INTO licenses (customer_id, product_id, plan_id, valid_from, valid_to, entitlements, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.CustomerID, v.ProductID, v.PlanID, v.ValidFrom, v.ValidTo, mustJSON(v.Entitlements), v.Notes, v.CreatedAt, v.UpdatedAt)
	},
	update: func(ctx context.Context, c conn, v *licensing.License) error {
		_, err := c.exec(ctx, `UPDATE licenses SET customer_id = ?, product_id = ?, plan_id = ?, valid_from = ?, valid_to = ?, entitlements = ?, notes = ?, updated_at = ? WHERE id = ?`,
			v.CustomerID, v.ProductID, v.PlanID, v.ValidFrom, v.ValidTo, mustJSON(v.Entitlements), v.Notes, v.UpdatedAt, v.ID)
		return err
	},
}

func (s *Store) CreateLicense(ctx context.Context, p auth.Principal, v licensing.License) (licensing.License, error) {
	l, err := licenses.create(ctx, s, p, v)
	if err != nil {
		return l, err
	}
	return l, s.attachPlans(ctx, []*licensing.License{&l})
}

// GetLicense reads a license with its plan.
func (s *Store) GetLicense(ctx context.Context, p auth.Principal, id int64) (licensing.License, error) {
	l, err := licenses.get(ctx, s, p, id)
	if err != nil {
		return l, err
	}
	return l, s.attachPlans(ctx, []*licensing.License{&l})
}

func (s *Store) UpdateLicense(ctx context.Context, p auth.Principal, id int64, change func(*licensing.License) error) (licensing.License, error) {
	l, err := licenses.modify(ctx, s, p, id, change)
	if err != nil {
		return l, err
	}
	if _, err := s.RecomputeClocks(ctx, l.PlanID); err != nil {
		return l, err
	}
	return l, s.attachPlans(ctx, []*licensing.License{&l})
}

// LicenseFilter narrows ListLicenses.
type LicenseFilter struct {
	CustomerID, ProductID int64
	Page
}

func (s *Store) ListLicenses(ctx context.Context, p auth.Principal, f LicenseFilter) (List[licensing.License], error) {
	var w where
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.ProductID != 0 {
		w.add("product_id = ?", f.ProductID)
	}
	out, err := licenses.list(ctx, s, p, auth.KindLicense, w, f.Page)
	if err != nil {
		return out, err
	}
	ptrs := make([]*licensing.License, len(out.Items))
	for i := range out.Items {
		ptrs[i] = &out.Items[i]
	}
	return out, s.attachPlans(ctx, ptrs)
}

// attachPlans fills each license's plan: a customer reads its plan through
// its license, without a right to the plans list.
func (s *Store) attachPlans(ctx context.Context, ls []*licensing.License) error {
	cache := map[int64]*licensing.Plan{}
	for _, l := range ls {
		if p, ok := cache[l.PlanID]; ok {
			l.Plan = p
			continue
		}
		p, err := plans.scan(s.read().queryRow(ctx, `SELECT `+plans.cols+` FROM plans WHERE id = ?`, l.PlanID))
		if err != nil {
			return s.fail("load plan", err)
		}
		cache[l.PlanID], l.Plan = &p, &p
	}
	return nil
}

// CustomerLicenses returns every license of a customer with plans, for
// coverage decisions, after checking the caller may read them.
func (s *Store) CustomerLicenses(ctx context.Context, p auth.Principal, customerID int64) ([]licensing.License, error) {
	if err := auth.Authorize(p, auth.Read, auth.Resource{Kind: auth.KindLicense, CustomerID: customerID}); err != nil {
		return nil, err
	}
	rows, err := s.read().query(ctx, `SELECT `+licenses.cols+` FROM licenses WHERE customer_id = ? ORDER BY id`, customerID)
	if err != nil {
		return nil, s.fail("customer licenses", err)
	}
	defer rows.Close()
	var out []licensing.License
	for rows.Next() {
		l, err := licenses.scan(rows)
		if err != nil {
			return nil, s.fail("customer licenses", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("customer licenses", err)
	}
	ptrs := make([]*licensing.License, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, s.attachPlans(ctx, ptrs)
}

// ---- instances

var instances = entity[lifecycle.Instance]{
	name: "instance", table: "instances",
	cols: `id, customer_id, product_id, name, environment, version, components, contact_id, location, created_at, updated_at`,
	scan: func(r scanner) (lifecycle.Instance, error) {
		var in lifecycle.Instance
		var comps string
		var contact sql.NullInt64
		if err := r.Scan(&in.ID, &in.CustomerID, &in.ProductID, &in.Name, &in.Environment, &in.Version, &comps, &contact, &in.Location, &in.CreatedAt, &in.UpdatedAt); err != nil {
			return in, err
		}
		in.ContactID = contact.Int64
		return in, jsonText(comps, &in.Components)
	},
	resource: func(in lifecycle.Instance) auth.Resource {
		return auth.Resource{Kind: auth.KindInstance, CustomerID: in.CustomerID}
	},
	id: func(in *lifecycle.Instance) *int64 { return &in.ID },
	stamp: func(in *lifecycle.Instance, now time.Time, created bool) {
		if created {
			in.CreatedAt = now
		}
		in.UpdatedAt = now
	},
	check: func(ctx context.Context, c conn, in *lifecycle.Instance) error {
		if err := in.Validate(); err != nil {
			return err
		}
		if err := c.mustExist(ctx, "customers", in.CustomerID, "customer_id", "customer"); err != nil {
			return err
		}
		if err := c.mustExist(ctx, "products", in.ProductID, "product_id", "product"); err != nil {
			return err
		}
		if in.ContactID != 0 {
			var cust sql.NullInt64
			err := c.queryRow(ctx, `SELECT customer_id FROM accounts WHERE id = ?`, in.ContactID).Scan(&cust)
			if err != nil || cust.Int64 != in.CustomerID {
				return apperr.Field("contact_id", "the contact must be a person of the same customer")
			}
		}
		return nil
	},
	keep: func(b lifecycle.Instance, in *lifecycle.Instance) { in.CreatedAt = b.CreatedAt },
	insert: func(ctx context.Context, c conn, v *lifecycle.Instance) (int64, error) {
		return c.insert(ctx, `INSERT INTO instances (customer_id, product_id, name, environment, version, components, contact_id, location, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.CustomerID, v.ProductID, v.Name, v.Environment, v.Version, mustJSON(v.Components), nullID(v.ContactID), v.Location, v.CreatedAt, v.UpdatedAt)
	},
	update: func(ctx context.Context, c conn, v *lifecycle.Instance) error {
		_, err := c.exec(ctx, `UPDATE instances SET customer_id = ?, product_id = ?, name = ?, environment = ?, version = ?, components = ?, contact_id = ?, location = ?, updated_at = ? WHERE id = ?`,
			v.CustomerID, v.ProductID, v.Name, v.Environment, v.Version, mustJSON(v.Components), nullID(v.ContactID), v.Location, v.UpdatedAt, v.ID)
		return err
	},
	uniqueField: "name", uniqueMsg: "this customer already has an instance with this name",
}

func (s *Store) CreateInstance(ctx context.Context, p auth.Principal, v lifecycle.Instance) (lifecycle.Instance, error) {
	return instances.create(ctx, s, p, v)
}

func (s *Store) GetInstance(ctx context.Context, p auth.Principal, id int64) (lifecycle.Instance, error) {
	return instances.get(ctx, s, p, id)
}

func (s *Store) UpdateInstance(ctx context.Context, p auth.Principal, id int64, change func(*lifecycle.Instance) error) (lifecycle.Instance, error) {
	return instances.modify(ctx, s, p, id, change)
}

// InstanceFilter narrows ListInstances.
type InstanceFilter struct {
	CustomerID, ProductID int64
	Page
}

func (s *Store) ListInstances(ctx context.Context, p auth.Principal, f InstanceFilter) (List[lifecycle.Instance], error) {
	var w where
	if f.CustomerID != 0 {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.ProductID != 0 {
		w.add("product_id = ?", f.ProductID)
	}
	return instances.list(ctx, s, p, auth.KindInstance, w, f.Page)
}

// CustomerIDByCode finds a customer by its code, for the CLI.
func (s *Store) CustomerIDByCode(ctx context.Context, code string) (int64, error) {
	var id int64
	err := s.read().queryRow(ctx, `SELECT id FROM customers WHERE code = ?`, code).Scan(&id)
	if err != nil {
		return 0, s.fail("find customer", notFound(err, "customer "+code))
	}
	return id, nil
}
