package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"tend/internal/apperr"
	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/desk"
	"tend/internal/search"
	"tend/internal/store"
)

// foundBy is the definition of a match, from the search package alone: the
// request's text has every term of q, or a term that begins with it for a
// prefix. Both engines must agree with it.
func foundBy(t *testing.T, q string, r desk.Request) bool {
	t.Helper()
	if n, ok := search.Number(q); ok {
		return r.Number == n
	}
	parsed, err := search.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	if parsed.Empty() {
		return false
	}
	terms := search.Terms(strings.Join([]string{r.Number, r.Subject, r.Description, r.Steps, r.Expected, r.Actual}, "\n"))
	for _, qt := range parsed.Terms {
		if !slices.ContainsFunc(terms, func(term string) bool {
			return term == qt.Text || qt.Prefix && strings.HasPrefix(term, qt.Text)
		}) {
			return false
		}
	}
	return true
}

// listAll walks every page of a list.
func listAll(t *testing.T, st *store.Store, p auth.Principal, f store.RequestFilter) ([]desk.Request, int) {
	t.Helper()
	ctx := context.Background()
	var out []desk.Request
	total := -1
	for range 100 {
		page, err := st.ListRequests(ctx, p, f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		if total < 0 {
			total = page.Total
		}
		out = append(out, page.Items...)
		if f.Cursor = page.Next; f.Cursor == "" {
			return out, total
		}
	}
	t.Fatalf("list %+v: more than 100 pages", f)
	return nil, 0
}

func ids(rs []desk.Request) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

func principalOf(t *testing.T, st *store.Store, login string) auth.Principal {
	t.Helper()
	a, err := st.AccountByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return a.Principal()
}

// A search finds the requests whose text has every word in any of its
// forms, on both engines alike, within the caller's scope and the list's
// other filters; a registration number finds that request alone.
func TestSearchRequests(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			st := app.Store
			agent := principalOf(t, st, "agent@vendor.example")
			alfa := principalOf(t, st, "admin@alfa.example")
			beta := principalOf(t, st, "admin@beta.example")
			register := func(p auth.Principal, subject, description string) desk.Request {
				t.Helper()
				r, _, err := st.RegisterRequest(ctx, p, desk.NewRequest{ProductID: 1, Type: "fault", Subject: subject, Description: description}, "", app.Calendar.Current())
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			alfaReport := register(alfa, "Отчёт по посещаемости не формируется", "Отчеты за октябрь пустые, ошибка timeout.")
			betaReport := register(beta, "Нет отчетов за ноябрь", "Выгрузка отчётов в 1C зависает.")
			betaGate := register(beta, "Не открывается турникет на складе", "Турникеты у ворот 2 не реагируют на пропуска.")
			alfaBadges := register(alfa, "Badges are not printed", "The badge printer at gate 3 shows a timeout.")

			all, _ := listAll(t, st, agent, store.RequestFilter{Limit: store.MaxPage})
			// The same while registrations' terms are staged, once they
			// are moved into the index, and with some in each (SQLite;
			// nothing is staged on PostgreSQL).
			var alfaMore, betaMore desk.Request // registered for the mixed state
			for _, state := range []string{"staged", "flushed", "mixed"} {
				switch state {
				case "flushed":
					if n, err := st.FlushSearchIndex(ctx); err != nil || engine == "sqlite" && n < len(all) {
						t.Fatalf("flush: %d %v, want at least the %d registered", n, err, len(all))
					}
					if n, err := st.FlushSearchIndex(ctx); err != nil || n != 0 {
						t.Fatalf("second flush: %d %v", n, err)
					}
				case "mixed":
					alfaMore = register(alfa, "Отчёты по турникетам снова пустые", "Ошибка timeout при выгрузке в 1С.")
					betaMore = register(beta, "Badge printer: отчет не печатается", "Турникет на складе работает.")
					all, _ = listAll(t, st, agent, store.RequestFilter{Limit: store.MaxPage})
				}
				for _, c := range []struct {
					q    string
					want []desk.Request // among others the definition finds
				}{
					{"отчёт", []desk.Request{alfaReport, betaReport}},
					{"отчеты", []desk.Request{alfaReport, betaReport}},
					{"ОТЧЕТОВ ноябрь", []desk.Request{betaReport}},
					{"турник", []desk.Request{betaGate}},
					{"турникеты склад", []desk.Request{betaGate}},
					{"badge", []desk.Request{alfaBadges}},
					{"badges timeout", []desk.Request{alfaBadges}},
					{"timeout", []desk.Request{alfaReport, alfaBadges}},
					{"1с", []desk.Request{betaReport}}, // Cyrillic С finds the Latin C
					{strings.ToLower(betaGate.Number), []desk.Request{betaGate}},
					{"турникет лифт", nil},
					{"турник ", nil}, // a whole word, and no such word
					{"и на", nil},    // nothing to look for: nothing found
					{"!!!", nil},
				} {
					// Each way a list is read (the index alone, within a
					// customer, the general form), page by page.
					for _, v := range []struct {
						name string
						p    auth.Principal
						f    store.RequestFilter
						keep func(desk.Request) bool
					}{
						{"agent", agent, store.RequestFilter{}, func(desk.Request) bool { return true }},
						{"agent by activity", agent, store.RequestFilter{Sort: "activity"}, func(desk.Request) bool { return true }},
						{"beta", beta, store.RequestFilter{}, func(r desk.Request) bool { return r.CustomerID == beta.CustomerID }},
						{"agent within alfa", agent, store.RequestFilter{CustomerID: alfa.CustomerID}, func(r desk.Request) bool { return r.CustomerID == alfa.CustomerID }},
					} {
						v.f.Query, v.f.Limit = c.q, 2
						found, total := listAll(t, st, v.p, v.f)
						var want []desk.Request
						for _, r := range all {
							if foundBy(t, c.q, r) && v.keep(r) {
								want = append(want, r)
							}
						}
						if !slices.Equal(ids(found), ids(want)) || total != len(want) || len(found) != len(want) {
							t.Errorf("%s, %s: %q found %v (total %d), want %v", state, v.name, c.q, ids(found), total, ids(want))
						}
					}
					found, _ := listAll(t, st, agent, store.RequestFilter{Query: c.q, Limit: 2})
					for _, r := range c.want {
						if !slices.Contains(ids(found), r.ID) {
							t.Errorf("%q did not find %s %q", c.q, r.Number, r.Subject)
						}
					}
					if c.want == nil && len(found) != 0 {
						t.Errorf("%q found %v, want nothing", c.q, ids(found))
					}
				}
			}

			// The caller's scope: beta's admin finds only beta's.
			found, _ := listAll(t, st, beta, store.RequestFilter{Query: "отчёт", Limit: 10})
			if !slices.Equal(ids(found), ids([]desk.Request{betaReport, betaMore})) {
				t.Errorf("beta's search for отчёт: %v, want only %s and %s", ids(found), betaReport.Number, betaMore.Number)
			}
			found, _ = listAll(t, st, beta, store.RequestFilter{Query: alfaReport.Number, Limit: 10})
			if len(found) != 0 {
				t.Errorf("beta found alfa's %s by its number", alfaReport.Number)
			}
			// The other filters and orders still apply.
			found, _ = listAll(t, st, agent, store.RequestFilter{Query: "отчет", CustomerID: alfaReport.CustomerID, Sort: "activity", Limit: 1})
			if !slices.Equal(ids(found), ids([]desk.Request{alfaReport, alfaMore})) {
				t.Errorf("отчет for alfa: %v, want %s and %s", ids(found), alfaReport.Number, alfaMore.Number)
			}
			found, _ = listAll(t, st, agent, store.RequestFilter{Query: "timeout", Type: "consultation", Limit: 10})
			if len(found) != 0 {
				t.Errorf("timeout among consultations: %v", ids(found))
			}
			found, _ = listAll(t, st, agent, store.RequestFilter{Query: "timeout", Sort: "due", Limit: 1})
			for _, r := range found {
				if r.SLADueAt == nil {
					t.Errorf("sort=due gave %s without a due", r.Number)
				}
			}

			// The desk's queue and its counts search alike.
			open := true
			counts, err := st.CountQueue(ctx, agent, store.RequestFilter{Query: "отчёт"})
			openReports, _ := listAll(t, st, agent, store.RequestFilter{Query: "отчёт", Open: &open, Limit: 10})
			if err != nil || counts.Open != len(openReports) || counts.Open < 2 {
				t.Errorf("queue counts for отчёт: %+v %v, want %d open", counts, err, len(openReports))
			}
			for _, sla := range store.SLAStates {
				q, err := st.ListQueue(ctx, agent, store.QueueFilter{SLA: sla, RequestFilter: store.RequestFilter{Query: "отчёт", Open: &open}})
				if err != nil || q.Total != counts.BySLA[sla] {
					t.Errorf("queue %s for отчёт: %d %v, counts say %d", sla, q.Total, err, counts.BySLA[sla])
				}
			}
			if counts, err := st.CountQueue(ctx, agent, store.RequestFilter{Query: "и"}); err != nil || counts.Open != 0 {
				t.Errorf("queue counts for a stop word: %+v %v", counts, err)
			}

			// Whatever is typed, the engines are never handed a query they
			// cannot parse: a list, or a 422 on q.
			for _, q := range []string{`"`, `'`, `\`, `*`, `:*`, `&|!()`, `NEAR(a b)`, `a AND OR NOT b`, `"турник`, `турник"`, `'отчёт':*`, `-timeout`,
				`ё`, `😀 timeout`, "\x00", `1с:ЗУП`, `c:\temp\log.txt`, `REQ-2026-`, `§1`, `%_`} {
				if _, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: q}); err != nil && apperr.As(err).Field != "q" {
					t.Errorf("%q: %v", q, err)
				}
				if _, err := st.ListRequests(ctx, beta, store.RequestFilter{Query: q, Sort: "activity"}); err != nil && apperr.As(err).Field != "q" {
					t.Errorf("beta %q: %v", q, err)
				}
			}

			// A query past the limits is refused, naming q.
			for _, q := range []string{strings.Repeat("отчёт ", 100), "a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12 m13"} {
				_, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: q})
				if e := apperr.As(err); e.Code != apperr.Invalid || e.Field != "q" {
					t.Errorf("%.20q…: %v, want invalid q", q, err)
				}
				_, err = st.CountQueue(ctx, agent, store.RequestFilter{Query: q})
				if e := apperr.As(err); e.Code != apperr.Invalid || e.Field != "q" {
					t.Errorf("queue counts %.20q…: %v, want invalid q", q, err)
				}
			}
		})
	}
}

// Requests registered before the index existed are found once the backlog
// is indexed, newest first, batch by batch; an indexed backlog stays done.
func TestSearchBacklog(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			st := app.Store
			agent := principalOf(t, st, "agent@vendor.example")
			all, _ := listAll(t, st, agent, store.RequestFilter{Limit: store.MaxPage})
			if len(all) < 7 {
				t.Fatalf("demo has %d requests", len(all))
			}
			byNumber := func() map[string]bool {
				found := map[string]bool{}
				for _, r := range all {
					list, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: r.Number})
					if err != nil {
						t.Fatal(err)
					}
					// The number's serial is indexed too: it finds the request by text.
					serial := r.Number[len(r.Number)-6:]
					byText, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: serial + " " + strings.Fields(r.Subject)[0]})
					if err != nil {
						t.Fatal(err)
					}
					if len(list.Items) != 1 {
						t.Errorf("%s by number: %d found", r.Number, len(list.Items))
					}
					if slices.ContainsFunc(byText.Items, func(x desk.Request) bool { return x.ID == r.ID }) {
						found[r.Number] = true
					}
				}
				return found
			}
			if found := byNumber(); len(found) != len(all) {
				t.Fatalf("registered requests found by text: %d of %d", len(found), len(all))
			}

			if err := st.ForgetSearchIndex(ctx); err != nil {
				t.Fatal(err)
			}
			if found := byNumber(); len(found) != 0 {
				t.Fatalf("with the index forgotten, %d found by text", len(found))
			}
			// all is newest first: a batch of 3 indexes the three newest.
			n, more, err := st.IndexSearchBacklog(ctx, 3)
			if err != nil || n != 3 || !more {
				t.Fatalf("first batch: %d %v %v", n, more, err)
			}
			found := byNumber()
			for i, r := range all {
				if found[r.Number] != (i < 3) {
					t.Errorf("after one batch, %s (newest %d) found %v", r.Number, i+1, found[r.Number])
				}
			}
			rest, err := st.DrainSearchBacklog(ctx, 0)
			if err != nil || rest != len(all)-3 {
				t.Fatalf("drain: %d %v, want %d", rest, err, len(all)-3)
			}
			if found := byNumber(); len(found) != len(all) {
				t.Errorf("after the backlog, %d of %d found by text", len(found), len(all))
			}
			if n, more, err := st.IndexSearchBacklog(ctx, 3); n != 0 || more || err != nil {
				t.Errorf("an empty backlog: %d %v %v", n, more, err)
			}
			// A registration after the backlog is indexed at once.
			r, _, err := st.RegisterRequest(ctx, principalOf(t, st, "admin@alfa.example"), desk.NewRequest{ProductID: 1, Type: "fault", Subject: "Квитанции не формируются", Description: "x"}, "", app.Calendar.Current())
			if err != nil {
				t.Fatal(err)
			}
			list, err := st.ListRequests(ctx, agent, store.RequestFilter{Query: "квитанция"})
			if err != nil || !slices.ContainsFunc(list.Items, func(x desk.Request) bool { return x.ID == r.ID }) {
				t.Errorf("квитанция: %v %v, want %s", list.Items, err, r.Number)
			}
		})
	}
}

// A request from the triage queue (no customer yet) is found within its
// customer once it is linked: the index narrows a customer's search by the
// customer a request was registered for, or none.
func TestSearchFindsLinkedTriageRequest(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			ctx := context.Background()
			st := app.Store
			agent := principalOf(t, st, "agent@vendor.example")
			alfa := principalOf(t, st, "admin@alfa.example")
			r, _, err := st.RegisterRequest(ctx, agent, desk.NewRequest{Channel: desk.ChannelEmail, RequesterName: "Незнакомец", Type: "consultation", Subject: "Шлагбаум не поднимается", Description: "Письмо от незнакомого адреса."}, "", app.Calendar.Current())
			if err != nil {
				t.Fatal(err)
			}
			if r.CustomerID != 0 {
				t.Fatalf("triage request has customer %d", r.CustomerID)
			}
			find := func(p auth.Principal, customer int64) bool {
				t.Helper()
				list, err := st.ListRequests(ctx, p, store.RequestFilter{Query: "шлагбаумы", CustomerID: customer})
				if err != nil {
					t.Fatal(err)
				}
				return slices.ContainsFunc(list.Items, func(x desk.Request) bool { return x.ID == r.ID })
			}
			if !find(agent, 0) || find(agent, alfa.CustomerID) || find(alfa, 0) {
				t.Errorf("before linking: found by the agent %v, within alfa %v, by alfa %v; want true, false, false", find(agent, 0), find(agent, alfa.CustomerID), find(alfa, 0))
			}
			if _, err := st.AssignRequest(ctx, agent, r.ID, store.Assignment{CustomerID: alfa.CustomerID, ProductID: 1}); err != nil {
				t.Fatal(err)
			}
			if !find(agent, alfa.CustomerID) || !find(alfa, 0) {
				t.Errorf("after linking to alfa: found within alfa %v, by alfa %v", find(agent, alfa.CustomerID), find(alfa, 0))
			}
			if beta := principalOf(t, st, "admin@beta.example"); find(beta, 0) || find(agent, beta.CustomerID) {
				t.Error("beta finds alfa's linked request")
			}
		})
	}
}
