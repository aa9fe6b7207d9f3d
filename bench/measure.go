package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/sla"
	"tend/internal/store"
)

// bench holds what the measurements share: API tokens, prepared bodies and
// the queue cursors, found before anything is timed.
type bench struct {
	cfg  config
	ds   *dataset
	st   *store.Store
	cal  func() *sla.Calendar // the calendar in force
	logf func(string, ...any)
	in   *target // the server in this process

	tokens     benchTokens
	bodies     [][]byte // registrations, cycled
	comments   [][]byte
	queues     []string // query strings of first pages
	deep       []string // query strings with the cursor of a deep page
	deepPage   int
	maxID      int64
	openIDs    []int64
	openStates string
}

type benchTokens struct {
	Agent     string
	Customers []string // customer admins of large and small customers
}

// target is a server under test.
type target struct {
	base string
	hc   *http.Client
}

func newTarget(base string, conc int) *target {
	tr := &http.Transport{MaxIdleConns: 4 * conc, MaxIdleConnsPerHost: 4 * conc, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	return &target{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

func newBench(cfg config, ds *dataset, st *store.Store, cal func() *sla.Calendar, base string, logf func(string, ...any)) *bench {
	return &bench{cfg: cfg, ds: ds, st: st, cal: cal, logf: logf, in: newTarget(base, cfg.concurrency)}
}

// httpError is an answer that was not the one expected.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// call sends one API call and checks the status; out, if not nil,
// receives the JSON answer, otherwise the body is drained unread.
func (t *target) call(ctx context.Context, method, path, token string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return &httpError{resp.StatusCode, string(b)}
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// prepare creates the API tokens and finds what the measurements need.
func (b *bench) prepare(ctx context.Context) error {
	ds := b.ds
	agent := ds.agents[0]
	_, secret, err := b.st.CreateToken(ctx, auth.Principal{AccountID: agent.id, Name: agent.name, Role: auth.RoleAgent, Scope: auth.ScopeWrite}, "bench", auth.ScopeWrite, nil)
	if err != nil {
		return err
	}
	b.tokens.Agent = secret
	// Customer admins: the twenty largest customers and twenty others.
	r := ds.rng(10, 0)
	var picks []int
	for i := range min(20, len(ds.customers)) {
		picks = append(picks, i)
	}
	for range min(20, len(ds.customers)) {
		picks = append(picks, r.IntN(len(ds.customers)))
	}
	for _, i := range picks {
		c := ds.customers[i]
		_, secret, err := b.st.CreateToken(ctx, auth.Principal{AccountID: c.admin.id, Name: c.admin.name, Role: auth.RoleCustomerAdmin, CustomerID: c.id, Scope: auth.ScopeWrite},
			"bench", auth.ScopeWrite, nil)
		if err != nil {
			return err
		}
		b.tokens.Customers = append(b.tokens.Customers, secret)
	}

	// Registrations and comments, prepared so that making them costs the
	// clients nothing while they are timed.
	for i := range 4000 {
		r := ds.rng(11, uint64(i))
		c := &ds.customers[ds.pickCustomer(r.Float64())]
		l := c.lang
		typ := []string{"fault", "fault", "fault", "consultation", "consultation", "improvement"}[r.IntN(6)]
		prio := "normal"
		if typ == "fault" && r.IntN(100) < 8 {
			prio = "emergency"
		}
		in := desk.NewRequest{CustomerID: c.id, RequesterID: pick(r, c.contacts).id, ProductID: pick(r, c.products), Channel: desk.ChannelPhone,
			Type: typ, Priority: prio, Subject: subject(r, l, typ), Description: description(r, l, typ)}
		body, _ := json.Marshal(in)
		b.bodies = append(b.bodies, body)
		cm, _ := json.Marshal(map[string]any{"body": byLang(r, l, ruStaffReplies, enStaffReplies)})
		b.comments = append(b.comments, cm)
	}

	// The agent's queue: open work, normal priority, one customer, nearest
	// due first; the deep page is the tenth (rows 451–500) where a customer
	// has that many, else the deepest there is.
	b.openStates = strings.Join([]string{"received", "clarifying", "scope_defined", "deadline_agreed", "agreed", "in_work"}, ",")
	b.deepPage = 10
	type deepAt struct {
		q    string
		page int
	}
	var deeps []deepAt
	for i := range min(20, len(ds.customers)) {
		q := "/api/v1/requests?sort=due&state=" + b.openStates + "&priority=normal&customer_id=" + strconv.FormatInt(ds.customers[i].id, 10) + "&limit=50"
		b.queues = append(b.queues, q)
		cursor, page := "", 1
		for page < b.deepPage {
			var list struct {
				Next string `json:"next"`
			}
			if err := b.in.call(ctx, "GET", q+cursorArg(cursor), b.tokens.Agent, nil, 200, &list); err != nil {
				return fmt.Errorf("walk the queue: %w", err)
			}
			if list.Next == "" {
				break
			}
			cursor, page = list.Next, page+1
		}
		if page > 1 {
			deeps = append(deeps, deepAt{q + cursorArg(cursor), page})
		}
	}
	deepest := 0
	for _, d := range deeps {
		deepest = max(deepest, d.page)
	}
	for _, d := range deeps {
		if d.page == deepest {
			b.deep = append(b.deep, d.q)
		}
	}
	if len(b.deep) == 0 {
		b.deep, deepest = b.queues[:1], 1
	}
	b.deepPage = deepest
	b.logf("queue: deep page is page %d (%d customers have it)", b.deepPage, len(b.deep))

	// Open requests to comment on and the id range to read pages from.
	yes := true
	f := store.RequestFilter{Open: &yes, Limit: store.MaxPage}
	for len(b.openIDs) < 5000 {
		page, err := b.st.ListRequests(ctx, auth.System, f)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			b.openIDs = append(b.openIDs, r.ID)
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	last, err := b.st.ListRequests(ctx, auth.System, store.RequestFilter{Limit: 1})
	if err != nil || len(last.Items) == 0 {
		return errors.Join(err, errors.New("no requests"))
	}
	b.maxID = last.Items[0].ID
	if len(b.openIDs) == 0 {
		return errors.New("the dataset has no open requests")
	}
	return nil
}

func cursorArg(c string) string {
	if c == "" {
		return ""
	}
	return "&cursor=" + url.QueryEscape(c)
}

// op is one timed operation, taken by one client.
type op func(ctx context.Context, t *target, r *rand.Rand, i int) error

func (b *bench) ops() map[string]op {
	return map[string]op{
		"register": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "POST", "/api/v1/requests", b.tokens.Agent, b.bodies[i%len(b.bodies)], 201, nil)
		},
		"queue_first": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "GET", pick(r, b.queues), b.tokens.Agent, nil, 200, nil)
		},
		"queue_deep": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "GET", pick(r, b.deep), b.tokens.Agent, nil, 200, nil)
		},
		"customer_list": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "GET", "/api/v1/requests?limit=50", pick(r, b.tokens.Customers), nil, 200, nil)
		},
		"request_page": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			id := strconv.FormatInt(1+r.Int64N(b.maxID), 10)
			if err := t.call(ctx, "GET", "/api/v1/requests/"+id, b.tokens.Agent, nil, 200, nil); err != nil {
				return err
			}
			return t.call(ctx, "GET", "/api/v1/requests/"+id+"/journal", b.tokens.Agent, nil, 200, nil)
		},
		"search": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "GET", "/api/v1/requests?limit=50&q="+url.QueryEscape(pick(r, searchTerms)), b.tokens.Agent, nil, 200, nil)
		},
		// A customer admin of one of the twenty largest customers (the
		// first twenty customer tokens) searches their own requests: the
		// common terms among a large customer's many are the hard case.
		"search_customer": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			return t.call(ctx, "GET", "/api/v1/requests?limit=50&q="+url.QueryEscape(pick(r, searchTerms)), pick(r, b.tokens.Customers[:min(20, len(b.tokens.Customers))]), nil, 200, nil)
		},
		"comment": func(ctx context.Context, t *target, r *rand.Rand, i int) error {
			id := strconv.FormatInt(pick(r, b.openIDs), 10)
			return t.call(ctx, "POST", "/api/v1/requests/"+id+"/comments", b.tokens.Agent, b.comments[i%len(b.comments)], 201, nil)
		},
	}
}

// stats summarises latencies.
type stats struct {
	n                  int
	all                int // with the warm-up
	errors             int64
	took               time.Duration
	p50, p95, p99, max time.Duration
}

func (s stats) result(op string) result {
	ms := func(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }
	return result{"op": op, "n": s.n, "errors": s.errors, "seconds": round(s.took.Seconds(), 1),
		"ops_per_s": round(float64(s.n)/s.took.Seconds(), 1), "p50_ms": ms(s.p50), "p95_ms": ms(s.p95), "p99_ms": ms(s.p99), "max_ms": ms(s.max)}
}

func summarise(lat []time.Duration, took time.Duration, errs int64) stats {
	slices.Sort(lat)
	at := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		i := int(q*float64(len(lat))+0.999999) - 1
		return lat[min(max(i, 0), len(lat)-1)]
	}
	s := stats{n: len(lat), errors: errs, took: took, p50: at(0.50), p95: at(0.95), p99: at(0.99)}
	if len(lat) > 0 {
		s.max = lat[len(lat)-1]
	}
	return s
}

// load runs fn from conc clients for d (after a short warm-up that is not
// counted) and summarises the latencies. It stops at the first error that
// is not a one-off.
func load(ctx context.Context, t *target, conc int, d time.Duration, seed uint64, fn op) (stats, error) {
	warm := min(d/10, time.Second)
	var counter, measured atomic.Int64
	var errs atomic.Int64
	var firstErr error
	var mu sync.Mutex
	lats := make([][]time.Duration, conc)
	start := time.Now()
	measureFrom := start.Add(warm)
	deadline := measureFrom.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				now := time.Now()
				if now.After(deadline) && measured.Load() > 0 {
					return // (a slow operation runs on until one is measured)
				}
				i := int(counter.Add(1))
				err := fn(ctx, t, r, i)
				took := time.Since(now)
				if err != nil {
					if errs.Add(1) > 20 {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					continue
				}
				if now.After(measureFrom) {
					lats[w] = append(lats[w], took)
					measured.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return stats{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return stats{}, err
	}
	took := time.Since(measureFrom)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	s := summarise(all, took, errs.Load())
	s.all = int(counter.Load() - errs.Load())
	return s, nil
}

// measureAll runs the in-process measurements in order.
func (b *bench) measureAll(ctx context.Context, emit func(result)) error {
	ops := b.ops()
	for i, name := range allOps {
		if !b.cfg.want(name) {
			continue
		}
		if name == "recompute_clocks" {
			if err := b.recompute(ctx, emit); err != nil {
				return err
			}
			continue
		}
		fn, ok := ops[name]
		if !ok {
			continue // measured against the binary
		}
		b.logf("measuring %s for %v at concurrency %d", name, b.cfg.duration, b.cfg.concurrency)
		waitQuiet(ctx, b.cfg.waitQuiet, 0, b.logf)
		w := watchCPU(0)
		s, err := load(ctx, b.in, b.cfg.concurrency, b.cfg.duration, b.cfg.seed+uint64(i), fn)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r := s.result(name)
		r["other_cpu"], r["steal"] = w.others(), w.stolen()
		if s.n > 0 {
			// CPU of clients and server together per operation: a figure
			// that a busy machine disturbs less than latency.
			r["cpu_ms_per_op"] = round(w.ownMs()/float64(s.all), 2)
		}
		r["concurrency"] = b.cfg.concurrency
		if name == "queue_deep" {
			r["page"] = b.deepPage
		}
		emit(r)
	}
	return nil
}

// recompute measures RecomputeClocks after calendar changes: a weekend day
// ahead becomes a working day and back, which moves every due instant
// after it. It ends on the calendar in force.
func (b *bench) recompute(ctx context.Context, emit func(result)) error {
	base := b.cal()
	day := time.Now().In(sla.Moscow()).AddDate(0, 0, 2)
	for base.KindOf(day).IsWorking() {
		day = day.AddDate(0, 0, 1)
	}
	y, ok := base.Data(day.Year())
	if !ok {
		y = sla.YearData{Year: day.Year(), Days: map[sla.MonthDay]sla.DayKind{}}
	}
	if y.Days == nil {
		y.Days = map[sla.MonthDay]sla.DayKind{}
	}
	y.Days[sla.MonthDay{Month: day.Month(), Day: day.Day()}] = sla.Working
	changed, err := base.With(y)
	if err != nil {
		return fmt.Errorf("recompute: a calendar with %s working: %w", day.Format(time.DateOnly), err)
	}
	b.logf("measuring recompute_clocks: %s becomes a working day and back", day.Format(time.DateOnly))
	var lat []time.Duration
	n := 0
	waitQuiet(ctx, b.cfg.waitQuiet, 0, b.logf)
	w := watchCPU(0)
	start := time.Now()
	for i := 0; i < 20 && (i < 4 || time.Since(start) < b.cfg.duration || i%2 == 1); i++ {
		cal := changed
		if i%2 == 1 {
			cal = base
		}
		b.st.UseCalendar(func() *sla.Calendar { return cal })
		t0 := time.Now()
		got, err := b.st.RecomputeClocks(ctx, 0)
		if err != nil {
			return fmt.Errorf("recompute: %w", err)
		}
		lat = append(lat, time.Since(t0))
		n = got
	}
	b.st.UseCalendar(b.cal)
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	s := summarise(lat, total, 0)
	r := s.result("recompute_clocks")
	r["open_requests"] = n
	r["other_cpu"], r["steal"] = w.others(), w.stolen()
	r["changed_day"] = day.Format(time.DateOnly)
	emit(r)
	return nil
}
