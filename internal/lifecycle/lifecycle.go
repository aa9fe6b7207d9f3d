// Package lifecycle holds the vendor's products and the customers'
// instances of them; releases and rollouts build on these (R6).
package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"tend/internal/apperr"
)

// Delivery says how a product reaches its users.
type Delivery string

const (
	OnPremises Delivery = "on_premises" // shipped to the customer's servers (docker services)
	Hosted     Delivery = "hosted"      // run by the vendor; updated for all users at once
)

// Product is something the vendor licenses.
type Product struct {
	ID          int64     `json:"id"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Delivery    Delivery  `json:"delivery"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (p *Product) Validate() error {
	p.Code = strings.ToLower(strings.TrimSpace(p.Code))
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return apperr.Field("name", "name is required")
	}
	if p.Code == "" || len(p.Code) > 32 || strings.Trim(p.Code, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return apperr.Field("code", "code must be 1–32 characters: latin letters, digits and hyphens")
	}
	if p.Delivery != OnPremises && p.Delivery != Hosted {
		return apperr.Field("delivery", "delivery must be on_premises or hosted")
	}
	return nil
}

// Environment is what an instance is used for.
type Environment string

var Environments = []Environment{"production", "staging", "test", "pilot"}

// Component is one part of an installation, such as a docker service.
type Component struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Instance is one installation of a product at a customer (R6.2).
type Instance struct {
	ID          int64       `json:"id"`
	CustomerID  int64       `json:"customer_id"`
	ProductID   int64       `json:"product_id"`
	Name        string      `json:"name"`
	Environment Environment `json:"environment"`
	Version     string      `json:"version"`
	Components  []Component `json:"components"`
	ContactID   int64       `json:"contact_id,omitempty"` // the customer's person responsible for it
	Location    string      `json:"location"`             // host, URL or data centre, free text
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

func (in *Instance) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Version = strings.TrimSpace(in.Version)
	if in.CustomerID == 0 {
		return apperr.Field("customer_id", "customer is required")
	}
	if in.ProductID == 0 {
		return apperr.Field("product_id", "product is required")
	}
	if in.Name == "" {
		return apperr.Field("name", "name is required")
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return apperr.Field("name", "name is longer than 200 characters")
	}
	if in.Environment == "" {
		in.Environment = "production"
	}
	if !slices.Contains(Environments, in.Environment) {
		return apperr.Field("environment", "environment must be production, staging, test or pilot")
	}
	if len(in.Version) > 64 {
		return apperr.Field("version", "version is longer than 64 characters")
	}
	if in.Components == nil {
		in.Components = []Component{}
	}
	seen := map[string]bool{}
	for i, c := range in.Components {
		c.Name = strings.TrimSpace(c.Name)
		if c.Name == "" {
			return apperr.Field(fmt.Sprintf("components[%d].name", i), "component name is required")
		}
		if seen[c.Name] {
			return apperr.Field(fmt.Sprintf("components[%d].name", i), "component %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		in.Components[i] = c
	}
	return nil
}
