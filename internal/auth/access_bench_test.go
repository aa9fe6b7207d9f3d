package auth

import "testing"

// Access checks run on every read and write (several per API call), so
// they must cost nothing next to a query. Figures: bench/RESULTS.md.

var benchSink error

func BenchmarkAuthorize(b *testing.B) {
	staff := Principal{AccountID: 2, Name: "agent", Role: RoleAgent, Scope: ScopeWrite}
	alfaAdmin := Principal{AccountID: 10, Name: "alfa admin", Role: RoleCustomerAdmin, CustomerID: 1, Scope: ScopeWrite}
	alfaOperator := Principal{AccountID: 11, Name: "alfa operator", Role: RoleOperator, CustomerID: 1, Scope: ScopeWrite}
	cases := []struct {
		name string
		p    Principal
		act  Action
		r    Resource
	}{
		{"staff reads a request", staff, Read, Resource{Kind: KindRequest, CustomerID: 7, OwnerID: 70}},
		{"customer admin reads own organisation's request", alfaAdmin, Read, Resource{Kind: KindRequest, CustomerID: 1, OwnerID: 12}},
		{"operator reads own request", alfaOperator, Update, Resource{Kind: KindRequest, CustomerID: 1, OwnerID: 11}},
		// A refusal builds the error a caller gets: the slow path.
		{"customer refused another customer's request", alfaAdmin, Read, Resource{Kind: KindRequest, CustomerID: 2, OwnerID: 20}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				benchSink = Authorize(c.p, c.act, c.r)
			}
		})
	}
}

func BenchmarkListScope(b *testing.B) {
	alfaAdmin := Principal{AccountID: 10, Role: RoleCustomerAdmin, CustomerID: 1, Scope: ScopeWrite}
	for b.Loop() {
		_, benchSink = ListScope(alfaAdmin, KindRequest)
	}
}
