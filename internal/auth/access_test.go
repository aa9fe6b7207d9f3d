package auth

import (
	"testing"

	"tend/internal/apperr"
)

func TestAuthorize(t *testing.T) {
	alfaAdmin := Principal{AccountID: 10, Role: RoleCustomerAdmin, CustomerID: 1}
	alfaOperator := Principal{AccountID: 11, Role: RoleOperator, CustomerID: 1}
	agent := Principal{AccountID: 2, Role: RoleAgent}
	admin := Principal{AccountID: 1, Role: RoleAdmin}
	readOnlyAdmin := Principal{AccountID: 1, Role: RoleAdmin, Scope: ScopeRead}
	alfaLicense := Resource{Kind: KindLicense, CustomerID: 1}
	betaLicense := Resource{Kind: KindLicense, CustomerID: 2}
	tests := []struct {
		name string
		p    Principal
		act  Action
		r    Resource
		want apperr.Code // "" for allowed
	}{
		{"customer reads own license", alfaOperator, Read, alfaLicense, ""},
		{"customer cannot see another's license", alfaAdmin, Read, betaLicense, apperr.NotFound},
		{"customer cannot change own license", alfaAdmin, Update, alfaLicense, apperr.Forbidden},
		{"agent reads any license", agent, Read, betaLicense, ""},
		{"agent cannot issue licenses", agent, Create, betaLicense, apperr.Forbidden},
		{"admin issues licenses", admin, Create, betaLicense, ""},
		{"read-only token cannot write", readOnlyAdmin, Create, betaLicense, apperr.Forbidden},
		{"read-only token reads", readOnlyAdmin, Read, betaLicense, ""},
		{"customer admin adds own contacts", alfaAdmin, Create, Resource{Kind: KindContact, CustomerID: 1}, ""},
		{"operator cannot add contacts", alfaOperator, Create, Resource{Kind: KindContact, CustomerID: 1}, apperr.Forbidden},
		{"operator reads own contact record", alfaOperator, Read, Resource{Kind: KindContact, CustomerID: 1, OwnerID: 11}, ""},
		{"operator cannot read a colleague", alfaOperator, Read, Resource{Kind: KindContact, CustomerID: 1, OwnerID: 10}, apperr.Forbidden},
		{"customer cannot see staff", alfaAdmin, Read, Resource{Kind: KindStaff, OwnerID: 2}, apperr.Forbidden},
		{"customer cannot create a customer", alfaAdmin, Create, Resource{Kind: KindCustomer}, apperr.Forbidden},
		{"token owner revokes", alfaOperator, Update, Resource{Kind: KindToken, OwnerID: 11}, ""},
		{"someone else's token", agent, Update, Resource{Kind: KindToken, OwnerID: 11}, apperr.Forbidden},
		{"anonymous", Principal{}, Read, Resource{Kind: KindProduct}, apperr.Unauthenticated},
		{"operator reads mail with own organisation", alfaOperator, Read, Resource{Kind: KindMail, CustomerID: 1}, ""},
		{"customer cannot read mail to staff", alfaAdmin, Read, Resource{Kind: KindMail}, apperr.Forbidden},
		{"customer cannot read mail with another organisation", alfaAdmin, Read, Resource{Kind: KindMail, CustomerID: 2}, apperr.NotFound},
		{"agent reads all mail", agent, Read, Resource{Kind: KindMail}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.p, tt.act, tt.r)
			var got apperr.Code
			if err != nil {
				got = apperr.CodeOf(err)
			}
			if got != tt.want {
				t.Errorf("Authorize = %v, want %q", err, tt.want)
			}
		})
	}
}

// Every role must be named in every read rule, so a new role cannot
// silently get no access (or a new kind be forgotten).
func TestRulesNameEveryStaffRoleForReads(t *testing.T) {
	for kind, acts := range rules {
		for _, r := range StaffRoles {
			if kind == KindToken {
				continue
			}
			if _, ok := acts[Read][r]; !ok {
				t.Errorf("%s: staff role %s has no read rule", kind, r)
			}
		}
	}
}

func TestListScopeMatchesAuthorize(t *testing.T) {
	p := Principal{AccountID: 11, Role: RoleOperator, CustomerID: 1}
	sc, err := ListScope(p, KindInstance)
	if err != nil || sc.CustomerID != 1 || sc.All {
		t.Errorf("operator instances scope = %+v, %v", sc, err)
	}
	if _, err := ListScope(p, KindPlan); apperr.CodeOf(err) != apperr.Forbidden {
		t.Errorf("operator may list plans: %v", err)
	}
	sc, _ = ListScope(p, KindToken)
	if sc.OwnerID != 11 {
		t.Errorf("token scope = %+v, want own tokens", sc)
	}
}
