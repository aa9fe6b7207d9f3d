// Package demo loads a demo vendor so a newcomer sees tend at work at once:
// two products, three customers with contacts, plans and licenses (one
// lapsed) and instances. The logins are fixed so guides can rely on them.
package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/civil"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
	"tend/internal/store"
)

// Password is every demo account's password.
const Password = "demo"

// demoHash hashes the public demo password once per process: argon2id is
// slow on purpose, and these accounts share a published password anyway.
var demoHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(Password) })

// Login is one demo account, for printing.
type Login struct {
	Login, Role, Who string
}

// Logins lists the demo accounts in the order they are printed.
var Logins = []Login{
	{"admin@vendor.example", "admin", "vendor administrator"},
	{"agent@vendor.example", "agent", "support agent"},
	{"dev@vendor.example", "developer", "developer"},
	{"qa@vendor.example", "tester", "tester"},
	{"release@vendor.example", "release_manager", "release manager"},
	{"admin@alfa.example", "customer_admin", "Alfa Energy, customer admin"},
	{"operator@alfa.example", "operator", "Alfa Energy, operator"},
	{"integrator@alfa.example", "integrator", "Alfa Energy, integrator"},
	{"admin@beta.example", "customer_admin", "Beta Logistics, customer admin"},
	{"operator@beta.example", "operator", "Beta Logistics, operator"},
	{"admin@gamma.example", "customer_admin", "Gamma Retail, customer admin (license lapsed)"},
}

// Load fills an empty database with the demo vendor. It does nothing when
// the demo admin already exists, so `tend demo` can be run again.
// files may be nil: the demo then has no attachments.
func Load(ctx context.Context, st *store.Store, files blob.Store, now time.Time) (bool, error) {
	if _, err := st.AccountByLogin(ctx, "admin@vendor.example"); err == nil {
		return false, nil
	} else if !apperr.Is(err, apperr.NotFound) {
		return false, err
	}
	l := loader{ctx: ctx, st: st, p: auth.System, instances: map[string]int64{}}
	// Demo accounts use the short password "demo" on purpose; it is below
	// the floor for passwords people choose, so its hash is set directly.
	staff := []auth.Account{
		{Login: "admin@vendor.example", Name: "Анна Админова", Phone: "+7 495 000-00-01", Role: auth.RoleAdmin, Lang: "ru"},
		{Login: "agent@vendor.example", Name: "Сергей Поддержкин", Phone: "+7 495 000-00-02", Role: auth.RoleAgent, Lang: "ru"},
		{Login: "dev@vendor.example", Name: "Dmitry Developer", Phone: "+7 495 000-00-03", Role: auth.RoleDeveloper, Lang: "en"},
		{Login: "qa@vendor.example", Name: "Татьяна Тестова", Phone: "+7 495 000-00-04", Role: auth.RoleTester, Lang: "ru"},
		{Login: "release@vendor.example", Name: "Роман Релизов", Phone: "+7 495 000-00-05", Role: auth.RoleReleaseManager, Lang: "ru"},
	}
	for _, a := range staff {
		l.account(a)
	}

	platform := l.product(lifecycle.Product{Code: "secplat", Name: "Security Platform", Delivery: lifecycle.OnPremises,
		Description: "Access control, time attendance, security and fire alarm systems; shipped as docker services to the customer's servers."})
	portal := l.product(lifecycle.Product{Code: "portal", Name: "Customer Portal", Delivery: lifecycle.Hosted,
		Description: "Hosted portal where a utility's subscribers read their meter data; the vendor updates it for all users."})

	h := func(d time.Duration) licensing.Duration { return licensing.Duration(d) }
	standard := l.plan(licensing.Plan{Name: "Standard 9–17", WindowStart: "09:00", WindowEnd: "17:00", Zone: "Europe/Moscow",
		Emergency: licensing.Targets{FirstResponse: h(time.Hour), Clarification: h(2 * time.Hour), Agreement: h(4 * time.Hour), Resolution: h(16 * time.Hour)},
		Normal:    licensing.Targets{FirstResponse: h(4 * time.Hour), Clarification: h(8 * time.Hour), Agreement: h(16 * time.Hour), Resolution: h(80 * time.Hour)}})
	business := l.plan(licensing.Plan{Name: "Business 9–18", WindowStart: "09:00", WindowEnd: "18:00", Zone: "Europe/Moscow",
		Emergency: licensing.Targets{FirstResponse: h(30 * time.Minute), Clarification: h(time.Hour), Agreement: h(2 * time.Hour), Resolution: h(9 * time.Hour)},
		Normal:    licensing.Targets{FirstResponse: h(2 * time.Hour), Clarification: h(4 * time.Hour), Agreement: h(9 * time.Hour), Resolution: h(45 * time.Hour)}})
	premium := l.plan(licensing.Plan{Name: "Premium 24/7", WindowStart: "09:00", WindowEnd: "18:00", Zone: "Europe/Moscow", Emergency24x7: true,
		Emergency: licensing.Targets{FirstResponse: h(15 * time.Minute), Clarification: h(30 * time.Minute), Agreement: h(time.Hour), Resolution: h(4 * time.Hour)},
		Normal:    licensing.Targets{FirstResponse: h(time.Hour), Clarification: h(2 * time.Hour), Agreement: h(9 * time.Hour), Resolution: h(36 * time.Hour)}})

	alfa := l.customer(licensing.Customer{Code: "alfa", Name: "Alfa Energy", Phone: "+7 495 111-11-11", Email: "it@alfa.example"})
	beta := l.customer(licensing.Customer{Code: "beta", Name: "Beta Logistics", Phone: "+7 812 222-22-22", Email: "it@beta.example"})
	gamma := l.customer(licensing.Customer{Code: "gamma", Name: "Gamma Retail", Phone: "+7 343 333-33-33", Email: "it@gamma.example"})

	alfaAdmin := l.account(auth.Account{Login: "admin@alfa.example", Name: "Алексей Альфин", Phone: "+7 495 111-11-12", Role: auth.RoleCustomerAdmin, CustomerID: alfa, Lang: "ru"})
	l.account(auth.Account{Login: "operator@alfa.example", Name: "Ольга Операторова", Phone: "+7 495 111-11-13", Role: auth.RoleOperator, CustomerID: alfa, Lang: "ru"})
	l.account(auth.Account{Login: "integrator@alfa.example", Name: "Ivan Integrator", Phone: "+7 495 111-11-14", Role: auth.RoleIntegrator, CustomerID: alfa, Lang: "en"})
	betaAdmin := l.account(auth.Account{Login: "admin@beta.example", Name: "Борис Бетин", Phone: "+7 812 222-22-23", Role: auth.RoleCustomerAdmin, CustomerID: beta, Lang: "ru"})
	l.account(auth.Account{Login: "operator@beta.example", Name: "Bella Operator", Phone: "+7 812 222-22-24", Role: auth.RoleOperator, CustomerID: beta, Lang: "en"})
	gammaAdmin := l.account(auth.Account{Login: "admin@gamma.example", Name: "Григорий Гаммов", Phone: "+7 343 333-33-34", Role: auth.RoleCustomerAdmin, CustomerID: gamma, Lang: "ru"})

	today := civil.Of(now.In(moscow()))
	all := licensing.Entitlements
	l.license(licensing.License{CustomerID: alfa, ProductID: platform, PlanID: premium, ValidFrom: today.AddDays(-300), ValidTo: today.AddDays(430), Entitlements: all, Notes: "Full support, emergencies around the clock."})
	l.license(licensing.License{CustomerID: alfa, ProductID: portal, PlanID: business, ValidFrom: today.AddDays(-120), ValidTo: today.AddDays(245),
		Entitlements: []licensing.Entitlement{licensing.Consultation, licensing.ImprovementsPlanned, licensing.ImprovementsOnDemand, licensing.RemoteAccess}})
	l.license(licensing.License{CustomerID: beta, ProductID: platform, PlanID: standard, ValidFrom: today.AddDays(-200), ValidTo: today.AddDays(165),
		Entitlements: []licensing.Entitlement{licensing.Consultation, licensing.ImprovementsPlanned, licensing.AdministrationHelp}, Notes: "No improvements on request."})
	l.license(licensing.License{CustomerID: gamma, ProductID: platform, PlanID: standard, ValidFrom: today.AddDays(-425), ValidTo: today.AddDays(-60),
		Entitlements: []licensing.Entitlement{licensing.Consultation, licensing.ImprovementsPlanned}, Notes: "Lapsed: renewal under discussion."})

	services := func(v string) []lifecycle.Component {
		return []lifecycle.Component{{Name: "gateway", Version: v}, {Name: "access-control", Version: v}, {Name: "time-attendance", Version: v}, {Name: "fire-alarm", Version: v}, {Name: "postgres", Version: "15.8"}, {Name: "nginx", Version: "1.26"}}
	}
	l.instance(lifecycle.Instance{CustomerID: alfa, ProductID: platform, Name: "Alfa HQ production", Environment: "production", Version: "4.2.1", Components: services("4.2.1"), ContactID: alfaAdmin, Location: "secplat.alfa.example (Moscow DC)"})
	l.instance(lifecycle.Instance{CustomerID: alfa, ProductID: platform, Name: "Alfa test bench", Environment: "test", Version: "4.3.0-rc1", Components: services("4.3.0-rc1"), ContactID: alfaAdmin, Location: "secplat-test.alfa.example"})
	l.instance(lifecycle.Instance{CustomerID: alfa, ProductID: portal, Name: "Alfa subscriber portal", Environment: "production", Version: "2026.11", Components: []lifecycle.Component{}, ContactID: alfaAdmin, Location: "https://portal.alfa.example (hosted by the vendor)"})
	l.instance(lifecycle.Instance{CustomerID: beta, ProductID: platform, Name: "Beta warehouse", Environment: "production", Version: "4.1.7", Components: services("4.1.7"), ContactID: betaAdmin, Location: "10.20.0.15 (St Petersburg warehouse)"})
	l.instance(lifecycle.Instance{CustomerID: gamma, ProductID: platform, Name: "Gamma stores", Environment: "production", Version: "3.9.4", Components: services("3.9.4"), ContactID: gammaAdmin, Location: "gamma-sec01"})
	l.products = map[string]int64{"secplat": platform, "portal": portal}
	l.loadRequests(now, l.instances, l.products)
	l.loadExtras(files, now)
	return true, l.err
}

func moscow() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return loc
}

// loader keeps the first error so Load reads as a list of facts.
type loader struct {
	ctx context.Context
	st  *store.Store
	p   auth.Principal
	err error
	// instances by name and products by code, for the demo requests.
	instances map[string]int64
	products  map[string]int64
}

func (l *loader) fail(what string, err error) {
	if l.err == nil && err != nil {
		l.err = fmt.Errorf("demo %s: %w", what, err)
	}
}

func (l *loader) account(a auth.Account) int64 {
	if l.err != nil {
		return 0
	}
	out, err := l.st.CreateAccount(l.ctx, l.p, a, "")
	l.fail("account "+a.Login, err)
	if err == nil {
		hash, err := demoHash()
		l.fail("password hash", err)
		l.fail("password "+a.Login, l.st.SetPasswordHash(l.ctx, out.ID, hash))
	}
	return out.ID
}

func (l *loader) product(v lifecycle.Product) int64 {
	if l.err != nil {
		return 0
	}
	out, err := l.st.CreateProduct(l.ctx, l.p, v)
	l.fail("product "+v.Code, err)
	return out.ID
}

func (l *loader) plan(v licensing.Plan) int64 {
	if l.err != nil {
		return 0
	}
	out, err := l.st.CreatePlan(l.ctx, l.p, v)
	l.fail("plan "+v.Name, err)
	return out.ID
}

func (l *loader) customer(v licensing.Customer) int64 {
	if l.err != nil {
		return 0
	}
	out, err := l.st.CreateCustomer(l.ctx, l.p, v)
	l.fail("customer "+v.Code, err)
	return out.ID
}

func (l *loader) license(v licensing.License) {
	if l.err != nil {
		return
	}
	_, err := l.st.CreateLicense(l.ctx, l.p, v)
	l.fail("license", err)
}

func (l *loader) instance(v lifecycle.Instance) {
	if l.err != nil {
		return
	}
	out, err := l.st.CreateInstance(l.ctx, l.p, v)
	l.fail("instance "+v.Name, err)
	l.instances[v.Name] = out.ID
}
