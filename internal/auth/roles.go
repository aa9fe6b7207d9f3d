// Package auth knows who is calling and decides what they may do: accounts
// and roles, password hashes, API tokens, and Authorize, the one function
// every read and write of tend's data passes through.
package auth

import "slices"

// Role is what an account does. Staff roles belong to the vendor; customer
// roles belong to a contact of a customer organisation (R1).
type Role string

const (
	RoleAgent          Role = "agent"
	RoleDeveloper      Role = "developer"
	RoleTester         Role = "tester"
	RoleReleaseManager Role = "release_manager"
	RoleAdmin          Role = "admin"

	RoleCustomerAdmin Role = "customer_admin"
	RoleOperator      Role = "operator"
	RoleIntegrator    Role = "integrator"
)

// StaffRoles and CustomerRoles list the roles in the order forms show them.
var (
	StaffRoles    = []Role{RoleAgent, RoleDeveloper, RoleTester, RoleReleaseManager, RoleAdmin}
	CustomerRoles = []Role{RoleCustomerAdmin, RoleOperator, RoleIntegrator}
)

func (r Role) IsStaff() bool    { return slices.Contains(StaffRoles, r) }
func (r Role) IsCustomer() bool { return slices.Contains(CustomerRoles, r) }
func (r Role) Valid() bool      { return r.IsStaff() || r.IsCustomer() }

// Department groups vendor staff (R1.1).
type Department string

const (
	DeptSupport     Department = "support"
	DeptDevelopment Department = "development"
	DeptTesting     Department = "testing"
)

var Departments = []Department{DeptSupport, DeptDevelopment, DeptTesting}

func (d Department) Valid() bool { return slices.Contains(Departments, d) }

// DefaultDepartment is where a staff role usually sits.
func DefaultDepartment(r Role) Department {
	switch r {
	case RoleDeveloper:
		return DeptDevelopment
	case RoleTester:
		return DeptTesting
	}
	return DeptSupport
}
