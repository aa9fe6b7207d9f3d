package auth

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
)

// Account is anyone who signs in: vendor staff or a customer's contact.
// Contacts carry the organisation they belong to; staff carry a department.
type Account struct {
	ID         int64      `json:"id"`
	Login      string     `json:"login"` // an e-mail address, stored lower-case
	Name       string     `json:"name"`
	Phone      string     `json:"phone"`
	Role       Role       `json:"role"`
	Department Department `json:"department,omitempty"`
	CustomerID int64      `json:"customer_id,omitempty"`
	Lang       string     `json:"lang"`
	Disabled   bool       `json:"disabled"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// NormalizeLogin trims and lower-cases a login so lookups are exact.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Validate checks an account before it is stored.
func (a *Account) Validate() error {
	a.Login = NormalizeLogin(a.Login)
	a.Name = strings.TrimSpace(a.Name)
	a.Phone = strings.TrimSpace(a.Phone)
	if a.Login == "" {
		return apperr.Field("login", "login is required")
	}
	if addr, err := mail.ParseAddress(a.Login); err != nil || addr.Address != a.Login {
		return apperr.Field("login", "login must be an e-mail address such as name@example.com")
	}
	if a.Name == "" {
		return apperr.Field("name", "name is required")
	}
	if utf8.RuneCountInString(a.Name) > 200 {
		return apperr.Field("name", "name is longer than 200 characters")
	}
	if len(a.Phone) > 50 {
		return apperr.Field("phone", "phone is longer than 50 characters")
	}
	if !a.Role.Valid() {
		return apperr.Field("role", "unknown role %q; staff roles: agent, developer, tester, release_manager, admin; customer roles: customer_admin, operator, integrator", a.Role)
	}
	if a.Lang == "" {
		a.Lang = "ru"
	}
	if a.Lang != "ru" && a.Lang != "en" {
		return apperr.Field("lang", "language must be ru or en")
	}
	if a.Role.IsStaff() {
		if a.CustomerID != 0 {
			return apperr.Field("customer_id", "staff accounts belong to the vendor, not to a customer")
		}
		if a.Department == "" {
			a.Department = DefaultDepartment(a.Role)
		}
		if !a.Department.Valid() {
			return apperr.Field("department", "department must be support, development or testing")
		}
	} else {
		if a.CustomerID == 0 {
			return apperr.Field("customer_id", "a contact must belong to a customer organisation")
		}
		a.Department = ""
	}
	return nil
}

// ValidatePassword sets the floor for passwords people choose.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < 8 {
		return apperr.Field("password", "password must be at least 8 characters long")
	}
	if len(pw) > 1024 {
		return apperr.Field("password", "password is longer than 1024 bytes")
	}
	return nil
}
