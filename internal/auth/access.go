package auth

import (
	"context"

	"tend/internal/apperr"
)

// Principal is the caller of one operation, as authentication found it.
type Principal struct {
	AccountID  int64
	Name       string
	Role       Role
	CustomerID int64      // the contact's organisation; 0 for staff
	Scope      TokenScope // ScopeRead for read-only tokens; sessions may write
}

// System acts for tend itself: the demo loader, timers, the CLI.
var System = Principal{Name: "tend", Role: RoleAdmin, Scope: ScopeWrite}

func (p Principal) IsStaff() bool    { return p.Role.IsStaff() }
func (p Principal) IsCustomer() bool { return p.Role.IsCustomer() }

// Action is what a caller wants to do with a resource.
type Action string

const (
	Read   Action = "read" // also list and count
	Create Action = "create"
	Update Action = "update" // includes revoking and disabling: nothing is hard-deleted
)

// Kind names a kind of resource.
type Kind string

const (
	KindCustomer Kind = "customer"
	KindContact  Kind = "contact"
	KindStaff    Kind = "staff"
	KindProduct  Kind = "product"
	KindPlan     Kind = "plan"
	KindLicense  Kind = "license"
	KindInstance Kind = "instance"
	KindToken    Kind = "token"
	KindCalendar Kind = "calendar"
	KindSLATool  Kind = "sla_tool"
	KindJournal  Kind = "journal"
	KindRequest  Kind = "request"
	KindProblem  Kind = "problem"
	KindMailbox  Kind = "mailbox" // the support mailboxes tend reads (their passwords)
	// KindMail is one message in or out on a request. Its CustomerID is
	// the organisation of the person it came from or went to: 0 for staff,
	// strangers, bounces and notes, which only staff see.
	KindMail Kind = "mail"
)

// Resource is what an action touches: its kind, the customer it belongs to
// (0 for vendor-wide data) and the account that owns it, where one does.
type Resource struct {
	Kind       Kind
	CustomerID int64
	OwnerID    int64
}

// reach says how far a role's right extends.
type reach uint8

const (
	none reach = iota
	self       // resources the caller owns (OwnerID == caller)
	org        // resources of the caller's own customer organisation
	all        // every resource of the kind
)

// rules is the whole access policy: for each kind and action, how far each
// role reaches. A role missing from an entry has no right at all.
var rules = map[Kind]map[Action]map[Role]reach{
	KindCustomer: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: org, RoleIntegrator: org},
		Create: {RoleAgent: all, RoleAdmin: all},
		Update: {RoleAgent: all, RoleAdmin: all},
	},
	KindContact: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: self, RoleIntegrator: self},
		Create: {RoleAgent: all, RoleAdmin: all, RoleCustomerAdmin: org},
		Update: {RoleAgent: all, RoleAdmin: all, RoleCustomerAdmin: org},
	},
	KindStaff: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all},
		Create: {RoleAdmin: all},
		Update: {RoleAdmin: all},
	},
	KindProduct: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: all, RoleOperator: all, RoleIntegrator: all},
		Create: {RoleAdmin: all, RoleReleaseManager: all},
		Update: {RoleAdmin: all, RoleReleaseManager: all},
	},
	KindPlan: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all},
		Create: {RoleAdmin: all},
		Update: {RoleAdmin: all},
	},
	KindLicense: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: org, RoleIntegrator: org},
		Create: {RoleAdmin: all},
		Update: {RoleAdmin: all},
	},
	KindInstance: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: org, RoleIntegrator: org},
		Create: {RoleAgent: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org},
		Update: {RoleAgent: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org},
	},
	KindToken: {
		Read:   {RoleAgent: self, RoleDeveloper: self, RoleTester: self, RoleReleaseManager: self, RoleAdmin: all, RoleCustomerAdmin: self, RoleOperator: self, RoleIntegrator: self},
		Create: {RoleAgent: self, RoleDeveloper: self, RoleTester: self, RoleReleaseManager: self, RoleAdmin: self, RoleCustomerAdmin: self, RoleOperator: self, RoleIntegrator: self},
		Update: {RoleAgent: self, RoleDeveloper: self, RoleTester: self, RoleReleaseManager: self, RoleAdmin: all, RoleCustomerAdmin: self, RoleOperator: self, RoleIntegrator: self},
	},
	KindCalendar: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: all, RoleOperator: all, RoleIntegrator: all},
		Update: {RoleAdmin: all},
	},
	// Requests: a customer admin sees the whole organisation's, an operator
	// or integrator those they registered. Staff register on a customer's
	// behalf (a phone call, an e-mail). What may be done to a request beyond
	// commenting is the workflow's rule (desk.Allowed), applied after this.
	KindRequest: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: self, RoleIntegrator: self},
		Create: {RoleAgent: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: org, RoleIntegrator: org},
		Update: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: self, RoleIntegrator: self},
	},
	KindProblem: {
		Read:   {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all},
		Create: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleAdmin: all},
		Update: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleAdmin: all},
	},
	KindMail: {
		Read: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org, RoleOperator: org, RoleIntegrator: org},
	},
	KindMailbox: {
		Read:   {RoleAdmin: all, RoleAgent: none, RoleDeveloper: none, RoleTester: none, RoleReleaseManager: none},
		Create: {RoleAdmin: all},
		Update: {RoleAdmin: all},
	},
	KindJournal: {
		Read: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all, RoleCustomerAdmin: org},
	},
	KindSLATool: {
		Read: {RoleAgent: all, RoleDeveloper: all, RoleTester: all, RoleReleaseManager: all, RoleAdmin: all},
	},
}

// Authorize is the one decision on every read and write. It answers nil or
// an error to return as is: NotFound when the caller may not even know the
// resource exists (another customer's data), Forbidden otherwise.
func Authorize(p Principal, act Action, r Resource) error {
	if p.Role == "" {
		return apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if act != Read && p.Scope == ScopeRead {
		return apperr.New(apperr.Forbidden, "this API token may only read")
	}
	switch rules[r.Kind][act][p.Role] {
	case all:
		return nil
	case org:
		if p.CustomerID != 0 && r.CustomerID == p.CustomerID {
			return nil
		}
	case self:
		if p.AccountID != 0 && r.OwnerID == p.AccountID {
			return nil
		}
	}
	// A customer must not learn that another customer's record exists.
	if p.IsCustomer() && r.CustomerID != 0 && r.CustomerID != p.CustomerID {
		return apperr.New(apperr.NotFound, "no such %s", r.Kind)
	}
	return apperr.New(apperr.Forbidden, "your role (%s) may not %s this %s", p.Role, act, r.Kind)
}

// Scope restricts a list query to what the caller may read.
type Scope struct {
	All        bool  // no restriction
	CustomerID int64 // only rows of this customer
	OwnerID    int64 // only rows owned by this account
}

// ListScope says which rows of a kind the caller may list and count; it is
// derived from the same rules as Authorize.
func ListScope(p Principal, kind Kind) (Scope, error) {
	if p.Role == "" {
		return Scope{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	switch rules[kind][Read][p.Role] {
	case all:
		return Scope{All: true}, nil
	case org:
		return Scope{CustomerID: p.CustomerID}, nil
	case self:
		return Scope{OwnerID: p.AccountID}, nil
	}
	return Scope{}, apperr.New(apperr.Forbidden, "your role (%s) may not list %ss", p.Role, kind)
}

// Can is Authorize as a yes/no, for deciding what to show.
func Can(p Principal, act Action, r Resource) bool { return Authorize(p, act, r) == nil }

// Principal is the account acting with its full rights (a session).
func (a Account) Principal() Principal {
	return Principal{AccountID: a.ID, Name: a.Name, Role: a.Role, CustomerID: a.CustomerID, Scope: ScopeWrite}
}

type principalKey struct{}

// WithPrincipal stores the authenticated caller in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored in ctx, or the zero Principal.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
