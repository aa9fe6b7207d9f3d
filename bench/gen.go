package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"tend/internal/auth"
	"tend/internal/civil"
	"tend/internal/desk"
	"tend/internal/licensing"
	"tend/internal/lifecycle"
	"tend/internal/sla"
	"tend/internal/store"
)

// The dataset: a vendor five years into business. Customers differ in size
// (a Zipf-like spread: the largest has about a tenth of all requests),
// requests arrive more often each year, mostly in working hours, and each
// one lives through the real workflow (desk.Next decides every step) with
// delays drawn per step; whatever has not happened by now has not happened,
// so the open requests, waiting questions and running clocks at the end are
// those a real desk would have. Timers fire as the server's would
// (reminders after 48 h, closing an unanswered question after 14 days,
// closing a resolved request after 5). The same seed gives the same data;
// absolute times are anchored at the moment the run starts.

const (
	years     = 5
	batchSize = 2000
)

// scale is how many customers a dataset of n requests has: 1000 for a
// million requests and more, fewer (at least 10) for smaller runs; each
// has ten contacts on average.
func scale(n int) (customers, contacts int) {
	customers = min(1000, max(10, n/1000))
	return customers, 10 * customers
}

type person struct {
	id   int64
	name string
	role auth.Role
	lang lang
}

type customer struct {
	id        int64
	lang      lang
	weight    float64
	admin     person
	contacts  []person // the admin first
	products  []int64  // licensed products
	licenses  []licensing.License
	instances map[int64][]int64 // by product
	since     time.Time
}

type dataset struct {
	seed      uint64
	n         int
	now       time.Time
	start     time.Time
	products  []int64
	customers []customer
	cumWeight []float64
	agents    []person
	devs      []person
	testers   []person
	admin     person
	created   []int64 // the registration instants (unix ns), increasing
	work      sla.Schedule
}

func newDataset(seed uint64, n int, now time.Time) *dataset {
	d := &dataset{seed: seed, n: n, now: now.UTC()}
	d.start = d.now.AddDate(-years, 0, 0)
	win, _ := sla.ParseWindow("09:00-18:00", sla.Moscow())
	d.work = sla.Schedule{Cal: sla.Default(), Win: win, Mode: sla.WorkingHours}
	return d
}

func (d *dataset) rng(stream, i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(d.seed^0x9e3779b97f4a7c15*stream, i))
}

// setup creates the vendor: products and plans the usual way, customers,
// staff and contacts in bulk, then licenses and instances the usual way.
func (d *dataset) setup(ctx context.Context, st *store.Store, bulk *store.Bulk) error {
	sys := auth.System
	r := d.rng(1, 0)
	for _, p := range []lifecycle.Product{
		{Code: "secplat", Name: "Security Platform", Delivery: lifecycle.OnPremises, Description: "Access control, time attendance, security and fire alarm."},
		{Code: "portal", Name: "Customer Portal", Delivery: lifecycle.Hosted, Description: "Subscribers read their meter data and bills."},
		{Code: "mobile", Name: "Guard Mobile", Delivery: lifecycle.Hosted, Description: "The guards' mobile app."},
	} {
		out, err := st.CreateProduct(ctx, sys, p)
		if err != nil {
			return err
		}
		d.products = append(d.products, out.ID)
	}
	h := func(x time.Duration) licensing.Duration { return licensing.Duration(x) }
	var plans []licensing.Plan
	for _, p := range []licensing.Plan{
		{Name: "Standard 9–17", WindowStart: "09:00", WindowEnd: "17:00", Zone: "Europe/Moscow",
			Emergency: licensing.Targets{FirstResponse: h(time.Hour), Clarification: h(2 * time.Hour), Agreement: h(4 * time.Hour), Resolution: h(16 * time.Hour)},
			Normal:    licensing.Targets{FirstResponse: h(4 * time.Hour), Clarification: h(8 * time.Hour), Agreement: h(16 * time.Hour), Resolution: h(80 * time.Hour)}},
		{Name: "Business 9–18", WindowStart: "09:00", WindowEnd: "18:00", Zone: "Europe/Moscow",
			Emergency: licensing.Targets{FirstResponse: h(30 * time.Minute), Clarification: h(time.Hour), Agreement: h(2 * time.Hour), Resolution: h(9 * time.Hour)},
			Normal:    licensing.Targets{FirstResponse: h(2 * time.Hour), Clarification: h(4 * time.Hour), Agreement: h(9 * time.Hour), Resolution: h(45 * time.Hour)}},
		{Name: "Premium 24/7", WindowStart: "09:00", WindowEnd: "18:00", Zone: "Europe/Moscow", Emergency24x7: true,
			Emergency: licensing.Targets{FirstResponse: h(15 * time.Minute), Clarification: h(30 * time.Minute), Agreement: h(time.Hour), Resolution: h(4 * time.Hour)},
			Normal:    licensing.Targets{FirstResponse: h(time.Hour), Clarification: h(2 * time.Hour), Agreement: h(9 * time.Hour), Resolution: h(36 * time.Hour)}},
	} {
		out, err := st.CreatePlan(ctx, sys, p)
		if err != nil {
			return err
		}
		plans = append(plans, out)
	}

	// Customers, by size.
	numCustomers, numContacts := scale(d.n)
	cs := make([]licensing.Customer, numCustomers)
	d.customers = make([]customer, numCustomers)
	total := 0.0
	for i := range cs {
		name, l := orgName(r, i+1)
		since := d.start.Add(-time.Duration(r.IntN(90*24)) * time.Hour)
		cs[i] = licensing.Customer{Code: fmt.Sprintf("c%04d", i+1), Name: name, Phone: phone(r), Email: fmt.Sprintf("it@c%04d.example", i+1), CreatedAt: since, UpdatedAt: since}
		w := 1 / math.Pow(float64(i+1), 0.9)
		d.customers[i] = customer{lang: l, weight: w, since: since, instances: map[int64][]int64{}}
		total += w
	}
	acc := 0.0
	for i := range d.customers {
		acc += d.customers[i].weight / total
		d.cumWeight = append(d.cumWeight, acc)
	}
	if err := bulk.Customers(ctx, cs); err != nil {
		return err
	}
	for i := range cs {
		d.customers[i].id = cs[i].ID
	}

	// Staff and contacts: every customer has an admin; the other contacts
	// are spread by size.
	var accounts []auth.Account
	staffRoles := []struct {
		role auth.Role
		n    int
	}{{auth.RoleAgent, 40}, {auth.RoleDeveloper, 25}, {auth.RoleTester, 8}, {auth.RoleReleaseManager, 3}, {auth.RoleAdmin, 2}}
	for _, sr := range staffRoles {
		for j := range sr.n {
			l := lang(r.IntN(4) / 3)
			accounts = append(accounts, auth.Account{Login: fmt.Sprintf("%s%02d@vendor.example", sr.role, j+1), Name: personName(r, l), Phone: phone(r),
				Role: sr.role, Lang: []string{"ru", "en"}[l], CreatedAt: d.start, UpdatedAt: d.start})
		}
	}
	nStaff := len(accounts)
	perCustomer := make([]int, numCustomers)
	for i := range perCustomer {
		perCustomer[i] = 1
	}
	for range numContacts - numCustomers {
		perCustomer[d.pickCustomer(r.Float64())]++
	}
	for i, n := range perCustomer {
		c := &d.customers[i]
		for j := range n {
			role := auth.RoleCustomerAdmin
			if j > 0 {
				role = auth.RoleOperator
				if r.IntN(5) == 0 {
					role = auth.RoleIntegrator
				}
			}
			accounts = append(accounts, auth.Account{Login: fmt.Sprintf("u%02d@c%04d.example", j+1, i+1), Name: personName(r, c.lang), Phone: phone(r),
				Role: role, CustomerID: c.id, Lang: []string{"ru", "en"}[c.lang], CreatedAt: c.since, UpdatedAt: c.since})
		}
	}
	if err := bulk.Accounts(ctx, accounts); err != nil {
		return err
	}
	for _, a := range accounts[:nStaff] {
		p := person{id: a.ID, name: a.Name, role: a.Role}
		switch a.Role {
		case auth.RoleAgent:
			d.agents = append(d.agents, p)
		case auth.RoleDeveloper:
			d.devs = append(d.devs, p)
		case auth.RoleTester:
			d.testers = append(d.testers, p)
		case auth.RoleAdmin:
			d.admin = p
		}
	}
	k := nStaff
	for i, n := range perCustomer {
		c := &d.customers[i]
		for _, a := range accounts[k : k+n] {
			c.contacts = append(c.contacts, person{id: a.ID, name: a.Name, role: a.Role, lang: c.lang})
		}
		c.admin = c.contacts[0]
		k += n
	}

	// Licenses: the platform for all, the portal and the app for some; the
	// largest customers on Premium; a few lapsed a year ago.
	for i := range d.customers {
		c := &d.customers[i]
		plan := plans[0]
		switch {
		case i < numCustomers/20:
			plan = plans[2]
		case i < numCustomers*3/10:
			plan = plans[1]
		}
		prods := []int64{d.products[0]}
		if r.IntN(2) == 0 {
			prods = append(prods, d.products[1])
		}
		if r.IntN(5) == 0 {
			prods = append(prods, d.products[2])
		}
		validTo := civil.Of(d.now).AddDays(365 + r.IntN(365))
		if i >= numCustomers/10 && r.IntN(33) == 0 {
			validTo = civil.Of(d.now).AddDays(-365 + r.IntN(200))
		}
		ents := licensing.Entitlements
		if plan.ID == plans[0].ID && r.IntN(2) == 0 {
			ents = []licensing.Entitlement{licensing.Consultation, licensing.ImprovementsPlanned, licensing.AdministrationHelp}
		}
		for _, pid := range prods {
			l, err := st.CreateLicense(ctx, sys, licensing.License{CustomerID: c.id, ProductID: pid, PlanID: plan.ID,
				ValidFrom: civil.Of(c.since), ValidTo: validTo, Entitlements: ents})
			if err != nil {
				return err
			}
			c.licenses = append(c.licenses, l)
			c.products = append(c.products, pid)
			envs := []string{"production"}
			if r.IntN(3) == 0 {
				envs = append(envs, "test")
			}
			for _, env := range envs {
				in, err := st.CreateInstance(ctx, sys, lifecycle.Instance{CustomerID: c.id, ProductID: pid, Name: fmt.Sprintf("%s %s %d", env, pickCode(pid, d.products), i+1),
					Environment: lifecycle.Environment(env), Version: pick(r, versions), Components: []lifecycle.Component{}, ContactID: c.admin.id})
				if err != nil {
					return err
				}
				c.instances[pid] = append(c.instances[pid], in.ID)
			}
		}
	}
	d.arrivals()
	return nil
}

func pickCode(pid int64, products []int64) string {
	return []string{"secplat", "portal", "mobile"}[slices.Index(products, pid)]
}

func (d *dataset) pickCustomer(u float64) int {
	i, _ := slices.BinarySearch(d.cumWeight, u)
	return min(i, len(d.cumWeight)-1)
}

// arrivals spreads the registrations over the five years: three times as
// many a day at the end as at the start, a fifth on days off, most within
// working hours; sorted, so ids follow time as they do on a real desk.
func (d *dataset) arrivals() {
	days := int(d.now.Sub(d.start).Hours()/24) + 1
	weights := make([]float64, days)
	total := 0.0
	for i := range weights {
		day := d.start.AddDate(0, 0, i)
		w := 1 + 2*float64(i)/float64(days)
		if !sla.Default().KindOf(day.In(sla.Moscow())).IsWorking() {
			w *= 0.2
		}
		weights[i], total = w, total+w
	}
	d.created = make([]int64, 0, d.n)
	acc := 0.0
	for i, w := range weights {
		acc += w
		upto := int(math.Round(acc / total * float64(d.n)))
		k := upto - len(d.created)
		r := d.rng(2, uint64(i))
		dayStart := time.Date(d.start.Year(), d.start.Month(), d.start.Day()+i, 0, 0, 0, 0, sla.Moscow())
		ts := make([]int64, 0, k)
		for range k {
			var off time.Duration
			if r.IntN(10) < 8 {
				off = 9*time.Hour + time.Duration(r.Int64N(int64(9*time.Hour)))
			} else {
				off = time.Duration(r.Int64N(int64(24 * time.Hour)))
			}
			t := dayStart.Add(off)
			if t.After(d.now) {
				t = d.now.Add(-time.Duration(r.Int64N(int64(time.Hour))))
			}
			ts = append(ts, t.UnixNano())
		}
		slices.Sort(ts)
		d.created = append(d.created, ts...)
	}
	slices.Sort(d.created)
}

// batch generates requests [from, to).
func (d *dataset) batch(from, to int) []store.BulkRequest {
	out := make([]store.BulkRequest, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, d.request(i))
	}
	return out
}

// ---- one request's life

type sim struct {
	d   *dataset
	r   *rand.Rand
	c   *customer
	l   lang
	out store.BulkRequest
	req *desk.Request
	t   time.Time
	// clocks run only for requests a plan covers.
	clocks    bool
	targets   licensing.Targets // of the request's plan: staff work to them
	requester person
	assignee  person
	stopped   bool
}

func (d *dataset) request(i int) store.BulkRequest {
	r := d.rng(3, uint64(i))
	c := &d.customers[d.pickCustomer(r.Float64())]
	s := &sim{d: d, r: r, c: c, l: c.lang, t: time.Unix(0, d.created[i]).UTC()}
	if r.IntN(10) == 0 {
		s.l = 1 - s.l
	}
	s.requester = pick(r, c.contacts)
	typ := "fault"
	switch x := r.IntN(100); {
	case x < 30:
		typ = "consultation"
	case x < 45:
		typ = "improvement"
	}
	prio := "normal"
	if typ == "fault" && r.IntN(100) < 8 {
		prio = "emergency"
	}
	product := pick(r, c.products)
	if r.IntN(100) < 3 {
		product = pick(r, d.products)
	}
	channel := desk.ChannelPortal
	switch x := r.IntN(100); {
	case x < 25:
		channel = desk.ChannelEmail
	case x < 45:
		channel = desk.ChannelPhone
	case x < 55:
		channel = desk.ChannelAPI
	}
	createdBy := s.requester
	if channel == desk.ChannelEmail || channel == desk.ChannelPhone {
		createdBy = pick(r, d.agents)
	}
	var instance int64
	if typ == "fault" && len(c.instances[product]) > 0 && r.IntN(10) < 6 {
		instance = pick(r, c.instances[product])
	}
	cov := licensing.Cover(c.licenses, product, typ, prio, s.t, sla.Default())
	req := desk.Request{CustomerID: c.id, ProductID: product, InstanceID: instance, RequesterID: s.requester.id,
		RequesterName: s.requester.name, RequesterPhone: phoneOf(r), Channel: channel, Type: typ, Priority: prio, State: desk.StateReceived,
		Subject: subject(r, s.l, typ), Description: description(r, s.l, typ),
		Covered: cov.Covered, CoverageReason: cov.Reason, CoverageNote: cov.Message, LicenseID: cov.LicenseID,
		CreatedBy: createdBy.id, Version: 1, CreatedAt: s.t, UpdatedAt: s.t, LastActivityAt: s.t}
	if typ == "fault" {
		req.Steps = "1. " + pick(r, []string{"Открыть журнал событий.", "Present a badge at the reader.", "Запустить выгрузку за месяц.", "Sign in to the portal."}) + "\n2. " +
			pick(r, []string{"Дождаться результата.", "Watch the turnstile.", "Нажать «Сформировать».", "Open the bills page."})
		req.Expected = byLang(r, s.l, []string{"Операция выполняется без ошибок."}, []string{"It works."})
		req.Actual = byLang(r, s.l, []string{"Появляется ошибка, операция не выполняется."}, []string{"An error appears and nothing happens."})
	}
	s.out = store.BulkRequest{Request: req, CreatedByName: createdBy.name}
	s.req = &s.out.Request
	s.clocks = cov.LicenseID != 0 && (cov.Covered || cov.Reason == licensing.ReasonOutsideHours)
	s.targets = licensing.Targets{FirstResponse: licensing.Duration(4 * time.Hour), Clarification: licensing.Duration(8 * time.Hour),
		Agreement: licensing.Duration(16 * time.Hour), Resolution: licensing.Duration(80 * time.Hour)}
	for _, l := range c.licenses {
		if l.ID == cov.LicenseID && l.Plan != nil {
			s.targets = l.Plan.Normal
			if prio == "emergency" {
				s.targets = l.Plan.Emergency
			}
		}
	}
	if s.clocks {
		for _, op := range desk.ClocksAtRegistration(typ) {
			s.clockOp(op)
		}
	}
	s.live()
	return s.out
}

func phoneOf(r *rand.Rand) string { return phone(r) }

// delay draws a log-normal delay with the given median, moved into
// working hours for people who keep them.
func (s *sim) after(median time.Duration, office bool) time.Time {
	x := math.Exp(math.Log(float64(median)) + 0.8*s.r.NormFloat64())
	t := s.t.Add(time.Duration(x))
	if office && s.r.IntN(10) < 9 && !s.d.work.IsWorking(t) {
		t = s.d.work.NextWorking(t).Add(time.Duration(s.r.Int64N(int64(min(median, 90*time.Minute)) + 1)))
	}
	return t
}

// live plays the request's workflow until it ends or until now.
func (s *sim) live() {
	r := s.r
	emergency := s.req.Priority == "emergency"
	// Steps: each is an action by someone after a delay; a step that would
	// happen after now has not happened.
	// Staff work to the plan's targets: most requests meet them, a tail
	// does not.
	fr, ag, cl := time.Duration(s.targets.FirstResponse), time.Duration(s.targets.Agreement), time.Duration(s.targets.Clarification)
	if !s.step(desk.ActionTake, s.staff(s.d.agents), s.after(fr/4, !emergency), desk.Needs{}) {
		return
	}
	// Most agents acknowledge at once: the first response.
	if r.IntN(100) < 85 && !s.say(s.assignee, s.after(fr/10, !emergency), byLang(r, s.l, ruAck, enAck)) {
		return
	}
	s.extras(0.05)
	if r.IntN(100) < 3 && !emergency {
		s.step(desk.ActionCancel, s.requester, s.after(6*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruReasons, enReasons)})
		return
	}
	if r.IntN(100) < 25 && !s.clarify(cl) {
		return
	}
	switch {
	case s.req.Type == "consultation":
		if !s.step(desk.ActionAnswer, s.assignee, s.after(5*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruResolved, enResolved)}) {
			return
		}
	case emergency:
		at := s.after(ag/6, false)
		deadline := at.Add(time.Duration(4+r.IntN(44)) * time.Hour)
		if !s.step(desk.ActionPropose, s.assignee, at, desk.Needs{Deadline: deadline, Text: byLang(r, s.l, ruStaffReplies, enStaffReplies)}) ||
			!s.step(desk.ActionAcceptProposal, s.c.admin, s.after(40*time.Minute, false), desk.Needs{}) ||
			!s.step(desk.ActionStartWork, s.staff(s.d.devs), s.after(ag/6, false), desk.Needs{}) ||
			!s.work(time.Duration(s.targets.Resolution)/4, false) {
			return
		}
	default:
		if !s.step(desk.ActionDefineScope, s.staff(s.d.devs), s.after(ag/6, true), desk.Needs{Scope: byLang(r, s.l, ruScopes, enScopes)}) {
			return
		}
		effort := float64(4 + r.IntN(120))
		for round := 0; ; round++ {
			at := s.after(ag/8, true)
			deadline := at.Add(time.Duration(5+r.IntN(40)) * 24 * time.Hour)
			if !s.step(desk.ActionPropose, pick(r, s.d.agents), at, desk.Needs{Scope: byLang(r, s.l, ruScopes, enScopes), EffortHours: effort, Deadline: deadline}) {
				return
			}
			if round == 0 && r.IntN(100) < 8 {
				if !s.step(desk.ActionRejectProposal, s.c.admin, s.after(20*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruReasons, enReasons)}) {
					return
				}
				effort *= 0.7
				continue
			}
			break
		}
		if !s.step(desk.ActionAcceptProposal, s.c.admin, s.after(18*time.Hour, true), desk.Needs{}) ||
			!s.step(desk.ActionStartWork, s.staff(s.d.devs), s.after(8*time.Hour, true), desk.Needs{}) {
			return
		}
		s.extras(0.1)
		median := 4 * 24 * time.Hour
		if s.req.Type == "improvement" {
			median = 30 * 24 * time.Hour
		}
		if !s.work(median, true) {
			return
		}
	}
	// Resolved: the customer confirms, reopens, or lets it close itself.
	if r.IntN(100) < 6 {
		if !s.step(desk.ActionReopen, s.requester, s.after(30*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruReopen, enReopen)}) ||
			!s.step(desk.ActionResolve, s.staff(s.d.devs), s.after(24*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruResolved, enResolved)}) {
			return
		}
	}
	who := s.requester
	if r.IntN(3) == 0 {
		who = s.c.admin
	}
	if s.step(desk.ActionConfirm, who, s.after(50*time.Hour, true), desk.Needs{}) && r.IntN(100) < 30 {
		s.rate(who)
	}
}

// work is the work after agreement: deploy (when there is an instance) and
// resolve.
func (s *sim) work(median time.Duration, office bool) bool {
	r := s.r
	if inst := s.c.instances[s.req.ProductID]; len(inst) > 0 && r.IntN(10) < 7 {
		who := pick(r, s.d.devs)
		if r.IntN(3) == 0 {
			who = pick(r, s.d.testers)
		}
		if !s.step(desk.ActionDeploy, who, s.after(median, office), desk.Needs{InstanceID: pick(r, inst)}) {
			return false
		}
		median = 8 * time.Hour
	}
	return s.step(desk.ActionResolve, s.staff(s.d.devs), s.after(median, office), desk.Needs{Text: byLang(r, s.l, ruResolved, enResolved)})
}

// clarify asks the customer a question; some never answer.
func (s *sim) clarify(target time.Duration) bool {
	r := s.r
	if !s.step(desk.ActionAskClarification, s.assignee, s.after(3*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruQuestions, enQuestions)}) {
		return false
	}
	if r.IntN(100) < 5 {
		s.step("", person{}, s.d.now.Add(time.Hour), desk.Needs{}) // waits until the timers close it
		return false
	}
	if !s.step(desk.ActionAnswerClarification, s.requester, s.after(20*time.Hour, true), desk.Needs{Text: byLang(r, s.l, ruAnswers, enAnswers)}) {
		return false
	}
	// The answer restarts the vendor's clock: staff often reply to it.
	if r.IntN(2) == 0 {
		return true
	}
	return s.say(s.assignee, s.after(target/4, true), byLang(r, s.l, ruStaffReplies, enStaffReplies))
}

// say is a public reply by staff at the instant at.
func (s *sim) say(who person, at time.Time, body string) bool {
	if s.stopped || !s.timers(at) {
		return false
	}
	if at.After(s.d.now) {
		s.stopped = true
		return false
	}
	s.t = at
	s.comment(who, body, false)
	return true
}

// extras adds staff replies, internal notes and customer messages while
// the request is open, mean comments each.
func (s *sim) extras(mean float64) {
	n, p := -1, 1.0
	for limit := math.Exp(-mean); p > limit; n++ {
		p *= s.r.Float64()
	}
	for range n {
		at := s.after(5*time.Hour, true)
		if s.stopped || !s.timers(at) || at.After(s.d.now) {
			return
		}
		s.t = at
		switch x := s.r.IntN(10); {
		case x < 4:
			s.comment(s.assignee, byLang(s.r, s.l, ruStaffReplies, enStaffReplies), false)
		case x < 7:
			if s.req.State == desk.StateClarifying {
				continue
			}
			s.comment(s.requester, byLang(s.r, s.l, ruCustomerReplies, enCustomerReplies), false)
		default:
			s.comment(pick(s.r, s.d.devs), pick(s.r, internalNotes), true)
		}
	}
}

func (s *sim) staff(pool []person) person {
	if s.assignee.id != 0 && s.r.IntN(2) == 0 {
		return s.assignee
	}
	return pick(s.r, pool)
}

func isStaff(p person) bool { return p.role.IsStaff() }

func actorOf(p person, req *desk.Request) desk.Actor {
	a := desk.Actor{Role: string(p.role), IsRequester: p.id == req.RequesterID}
	if p.role.IsCustomer() {
		a.OrgID = req.CustomerID
	}
	return a
}

// timers fires what the server's sweeps would fire before at; it reports
// whether the request is still going.
func (s *sim) timers(at time.Time) bool {
	upto := at
	if upto.After(s.d.now) {
		upto = s.d.now
	}
	req := s.req
	if req.WaitingSince != nil && req.RemindedAt == nil && !req.WaitingSince.Add(store.DefaultTimers.RemindAfter).After(upto) {
		t := req.WaitingSince.Add(store.DefaultTimers.RemindAfter)
		req.RemindedAt = &t
		req.Version++
		what := "the answer to the question"
		if req.State != desk.StateClarifying {
			what = "the decision on the proposal"
		}
		s.journal(t, person{name: auth.System.Name}, "reminder", nil, nil, "reminded the customer: the vendor waits for "+what)
	}
	if req.State == desk.StateClarifying && req.WaitingSince != nil && !req.WaitingSince.Add(store.DefaultTimers.CloseUnansweredAfter).After(upto) {
		s.t = req.WaitingSince.Add(store.DefaultTimers.CloseUnansweredAfter)
		s.apply(desk.ActionCloseUnanswered, person{name: auth.System.Name, role: desk.RoleSystem},
			desk.Needs{Text: "Closed: the question waited 14 days without an answer. Reopen the request to continue."})
		s.stopped = true
		return false
	}
	if req.State == desk.StateResolved && req.ResolvedAt != nil && !req.ResolvedAt.Add(store.DefaultTimers.AutoCloseAfter).After(upto) {
		s.t = req.ResolvedAt.Add(store.DefaultTimers.AutoCloseAfter)
		s.apply(desk.ActionAutoClose, person{name: auth.System.Name, role: desk.RoleSystem},
			desk.Needs{Text: "Closed automatically: 5 days passed after the resolution without confirmation or reopening."})
		s.stopped = true
		return false
	}
	return true
}

// step takes an action at the instant at, after the timers due before it;
// it reports whether the request goes on.
func (s *sim) step(act desk.Action, who person, at time.Time, n desk.Needs) bool {
	if s.stopped || !s.timers(at) {
		return false
	}
	if at.After(s.d.now) || act == "" {
		s.stopped = true
		return false
	}
	s.t = at
	s.apply(act, who, n)
	if !s.req.State.Open() {
		s.stopped = true
	}
	return !s.stopped
}

// apply is store.Act on the request in memory.
func (s *sim) apply(act desk.Action, who person, n desk.Needs) {
	req := s.req
	before := *req
	if who.role == "" {
		who.role = desk.RoleSystem
	}
	actor := actorOf(who, req)
	if who.role == desk.RoleSystem {
		actor = desk.SystemActor
	}
	next, err := desk.Next(req.WorkflowSubject(), actor, act, n)
	if err != nil {
		panic(fmt.Sprintf("dataset: request %s: %v", req.Subject, err))
	}
	req.Type, req.Priority, req.State, req.ReturnState, req.ProposalOpen = next.Type, next.Priority, next.State, next.ReturnState, next.ProposalOpen
	commentText := ""
	switch act {
	case desk.ActionAskClarification, desk.ActionAnswerClarification, desk.ActionAnswer, desk.ActionReopen, desk.ActionCancel,
		desk.ActionRejectProposal, desk.ActionAcceptProposal:
		commentText = n.Text
	case desk.ActionDefineScope:
		commentText = "Scope of work: " + n.Scope
	case desk.ActionResolve:
		commentText = "Resolved: " + n.Text
	}
	if commentText != "" {
		s.addComment(who, commentText, false)
	}
	switch act {
	case desk.ActionTake, desk.ActionStartWork:
		if isStaff(who) && (act == desk.ActionTake || req.AssigneeID == 0) {
			req.AssigneeID = who.id
			s.assignee = who
		}
	case desk.ActionPropose:
		s.decide(who, desk.ProposalWithdrawn, "superseded")
		s.out.Proposals = append(s.out.Proposals, desk.Proposal{Version: len(s.out.Proposals) + 1, Scope: n.Scope, EffortHours: n.EffortHours,
			Deadline: n.Deadline.UTC(), Status: desk.ProposalOpen, ProposedBy: who.name, ProposedAt: s.t})
	case desk.ActionAcceptProposal:
		s.decide(who, desk.ProposalAccepted, n.Text)
	case desk.ActionRejectProposal:
		s.decide(who, desk.ProposalRejected, n.Text)
	case desk.ActionDeploy:
		req.InstanceID = n.InstanceID
	case desk.ActionAnswer, desk.ActionResolve:
		t := s.t
		req.Resolution, req.ResolvedAt = n.Text, &t
	case desk.ActionReopen:
		req.ResolvedAt, req.ClosedAt = nil, nil
	}
	if !req.State.Open() && req.ClosedAt == nil {
		t := s.t
		req.ClosedAt = &t
	}
	if desk.WaitingOnCustomer(next) {
		if !desk.WaitingOnCustomer(before.WorkflowSubject()) || act == desk.ActionAskClarification || act == desk.ActionPropose {
			t := s.t
			req.WaitingSince, req.RemindedAt = &t, nil
		}
	} else {
		req.WaitingSince, req.RemindedAt = nil, nil
	}
	req.Version++
	req.UpdatedAt, req.LastActivityAt = s.t, s.t
	s.setWaiting(desk.WaitingOnCustomer(next))
	if s.clocks {
		for _, op := range desk.ClocksOnAction(act, isStaff(who)) {
			s.clockOp(op)
		}
	}
	type change struct {
		State    desk.State `json:"state"`
		Type     string     `json:"type"`
		Priority string     `json:"priority"`
	}
	note := n.Text
	if act == desk.ActionDeploy {
		note = strings.TrimSpace(fmt.Sprintf("instance %d. %s", n.InstanceID, n.Text))
	}
	s.journal(s.t, who, string(act), change{before.State, before.Type, before.Priority}, change{req.State, req.Type, req.Priority}, note)
}

func (s *sim) decide(who person, status desk.ProposalStatus, comment string) {
	for i := range s.out.Proposals {
		p := &s.out.Proposals[i]
		if p.Status == desk.ProposalOpen {
			t := s.t
			p.Status, p.DecidedBy, p.DecidedAt, p.Comment = status, who.name, &t, comment
		}
	}
}

func (s *sim) setWaiting(waiting bool) {
	ps := s.out.Pauses
	open := len(ps) > 0 && ps[len(ps)-1].To.IsZero()
	switch {
	case waiting && !open:
		s.out.Pauses = append(s.out.Pauses, sla.Interval{From: s.t})
	case !waiting && open:
		ps[len(ps)-1].To = s.t
	}
}

// clockOp is applyClocks on the clocks in memory (every plan sets every
// target, so every start starts a clock).
func (s *sim) clockOp(op desk.ClockOp) {
	ks := s.out.Clocks
	switch op.Op {
	case desk.ClockStart:
		seq := 1
		for _, k := range ks {
			if k.Kind == op.Kind && k.Seq >= seq {
				seq = k.Seq + 1
			}
		}
		s.out.Clocks = append(ks, store.BulkClock{Kind: op.Kind, Seq: seq, Started: s.t})
	case desk.ClockStop, desk.ClockStopAll:
		for i := range ks {
			if (op.Op == desk.ClockStopAll || ks[i].Kind == op.Kind) && ks[i].Stopped.IsZero() {
				ks[i].Stopped = s.t
			}
		}
	case desk.ClockResume:
		last := -1
		for i := range ks {
			if ks[i].Kind == op.Kind && (last < 0 || ks[i].Seq > ks[last].Seq) {
				last = i
			}
		}
		if last >= 0 && !ks[last].Stopped.IsZero() {
			s.out.Pauses = append(s.out.Pauses, sla.Interval{From: ks[last].Stopped, To: s.t})
			ks[last].Stopped = time.Time{}
		}
	case desk.ClockDeadline:
		var deadline time.Time
		for _, p := range s.out.Proposals {
			if p.Status == desk.ProposalAccepted {
				deadline = p.Deadline
			}
		}
		if deadline.IsZero() {
			return
		}
		for i := range ks {
			if ks[i].Kind == op.Kind && ks[i].Stopped.IsZero() {
				ks[i].Deadline = deadline
			}
		}
	}
}

// comment is AddComment by someone while the request is open.
func (s *sim) comment(who person, body string, internal bool) {
	req := s.req
	s.addComment(who, body, internal)
	req.Version++
	req.UpdatedAt, req.LastActivityAt = s.t, s.t
	if !internal && isStaff(who) && s.clocks {
		for _, op := range desk.ClocksOnStaffReply() {
			s.clockOp(op)
		}
	}
	action := "comment"
	if internal {
		action = "internal_note"
	}
	first, _, _ := strings.Cut(body, "\n")
	s.journal(s.t, who, action, nil, nil, first)
}

func (s *sim) addComment(who person, body string, internal bool) {
	s.out.Comments = append(s.out.Comments, desk.Comment{AuthorID: who.id, AuthorName: who.name, FromStaff: !who.role.IsCustomer(),
		Internal: internal, Body: body, CreatedAt: s.t})
}

func (s *sim) rate(who person) {
	at := s.after(3*time.Hour, true)
	if at.After(s.d.now) {
		return
	}
	s.t = at
	req := s.req
	before := req.Rating
	req.Rating = 3 + s.r.IntN(3)
	req.RatingComment = byLang(s.r, s.l, []string{"Спасибо, всё работает.", "Долго, но решили."}, []string{"Thanks, all good.", "Slow, but solved."})
	req.Version++
	req.UpdatedAt, req.LastActivityAt = s.t, s.t
	s.journal(s.t, who, "rated", map[string]int{"rating": before}, map[string]int{"rating": req.Rating}, req.RatingComment)
}

func (s *sim) journal(at time.Time, who person, action string, before, after any, note string) {
	e := store.Entry{At: at, ActorID: who.id, ActorName: who.name, Action: action, Note: note}
	if before != nil {
		e.Before, _ = json.Marshal(before)
	}
	if after != nil {
		e.After, _ = json.Marshal(after)
	}
	s.out.Journal = append(s.out.Journal, e)
}

// loadDataset finds, in a database generated earlier, what the
// measurements need: customers by size (their codes keep the order),
// their contacts and licensed products, and the staff.
func loadDataset(ctx context.Context, st *store.Store, cfg config) (*dataset, error) {
	d := newDataset(cfg.seed, cfg.requests, time.Now())
	sys := auth.System
	byID := map[int64]int{}
	for pg := (store.Page{Limit: store.MaxPage}); ; {
		l, err := st.ListCustomers(ctx, sys, "", pg)
		if err != nil {
			return nil, err
		}
		for _, c := range l.Items {
			byID[c.ID] = len(d.customers)
			d.customers = append(d.customers, customer{id: c.ID, instances: map[int64][]int64{}})
		}
		if l.Next == 0 {
			break
		}
		pg.After = l.Next
	}
	total := 0.0
	for i := range d.customers {
		d.customers[i].weight = 1 / math.Pow(float64(i+1), 0.9)
		total += d.customers[i].weight
	}
	acc := 0.0
	for i := range d.customers {
		acc += d.customers[i].weight / total
		d.cumWeight = append(d.cumWeight, acc)
	}
	for _, staff := range []bool{true, false} {
		for pg := (store.Page{Limit: store.MaxPage}); ; {
			l, err := st.ListAccounts(ctx, sys, store.AccountFilter{Staff: staff, Page: pg})
			if err != nil {
				return nil, err
			}
			for _, a := range l.Items {
				p := person{id: a.ID, name: a.Name, role: a.Role}
				switch {
				case a.Role == auth.RoleAgent:
					d.agents = append(d.agents, p)
				case a.Role == auth.RoleDeveloper:
					d.devs = append(d.devs, p)
				case a.CustomerID != 0:
					c := &d.customers[byID[a.CustomerID]]
					c.contacts = append(c.contacts, p)
					if a.Role == auth.RoleCustomerAdmin && c.admin.id == 0 {
						c.admin = p
					}
				}
			}
			if l.Next == 0 {
				break
			}
			pg.After = l.Next
		}
	}
	for pg := (store.Page{Limit: store.MaxPage}); ; {
		l, err := st.ListLicenses(ctx, sys, store.LicenseFilter{Page: pg})
		if err != nil {
			return nil, err
		}
		for _, lic := range l.Items {
			c := &d.customers[byID[lic.CustomerID]]
			c.licenses = append(c.licenses, lic)
			c.products = append(c.products, lic.ProductID)
		}
		if l.Next == 0 {
			break
		}
		pg.After = l.Next
	}
	if len(d.agents) == 0 || len(d.customers) == 0 {
		return nil, fmt.Errorf("the database does not hold a bench dataset")
	}
	for i := range d.customers {
		if len(d.customers[i].contacts) == 0 || len(d.customers[i].products) == 0 || d.customers[i].admin.id == 0 {
			return nil, fmt.Errorf("customer %d has no admin, contacts or licenses: not a bench dataset", d.customers[i].id)
		}
	}
	return d, nil
}
