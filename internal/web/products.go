package web

import (
	"fmt"
	"net/http"
	"net/url"

	"tend/internal/lifecycle"
	"tend/internal/store"
)

// Products: the vendor's products that requests, licenses and instances
// name. Staff see them; admins and release managers change them (the
// store's access rules).

func (s *Server) productRoutes() {
	s.mux.HandleFunc("GET /admin/products", s.page(false, s.adminProducts))
	s.mux.HandleFunc("POST /admin/products", s.page(false, s.adminCreateProduct))
	s.mux.HandleFunc("GET /admin/products/{id}", s.page(false, s.adminProduct))
	s.mux.HandleFunc("POST /admin/products/{id}", s.page(false, s.adminUpdateProduct))
}

func productValues(p lifecycle.Product) url.Values {
	return url.Values{"code": {p.Code}, "name": {p.Name}, "delivery": {string(p.Delivery)}, "description": {p.Description}}
}

func productFrom(vals url.Values) lifecycle.Product {
	return lifecycle.Product{Code: vals.Get("code"), Name: vals.Get("name"), Delivery: lifecycle.Delivery(vals.Get("delivery")), Description: vals.Get("description")}
}

func productForm(v *view, id, action, submit string, vals url.Values) *admForm {
	code := admTextField("code", v.T("admin.product.code"), vals)
	code.Required, code.Hint, code.Autocomplete = true, v.T("admin.product.code_hint"), "off"
	name := admTextField("name", v.T("admin.product.name"), vals)
	name.Required, name.Autocomplete = true, "off"
	delivery := admRadioField("delivery", v.T("admin.product.delivery"), []admOption{
		{Value: string(lifecycle.OnPremises), Label: v.T("admin.product.delivery.on_premises"), Hint: v.T("admin.product.delivery.on_premises_hint")},
		{Value: string(lifecycle.Hosted), Label: v.T("admin.product.delivery.hosted"), Hint: v.T("admin.product.delivery.hosted_hint")},
	}, vals.Get("delivery"))
	delivery.Required, delivery.Wide = true, true
	descr := admTextField("description", v.T("admin.product.description"), vals)
	descr.Type, descr.Wide = "textarea", true
	return (&admForm{ID: id, Action: action, Submit: submit, Sections: []admSection{{Fields: []admField{code, name, delivery, descr}}}}).done(v)
}

func (s *Server) adminProducts(w http.ResponseWriter, r *http.Request, v *view) error {
	f := productForm(v, "new-product", "/admin/products", v.T("admin.product.create"), url.Values{"delivery": {string(lifecycle.OnPremises)}})
	return s.productsPage(w, r, v, http.StatusOK, f)
}

func (s *Server) productsPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	list, err := s.deps.Store.ListProducts(r.Context(), v.User, store.Page{After: admAfterParam(r), Limit: 50})
	if err != nil {
		return err
	}
	t := &admTable{Caption: v.T("admin.products.caption", "N", list.Total), Empty: v.T("admin.empty"), Next: admNextHref(r, list.Next), More: v.T("admin.more"),
		Cols: []string{v.T("admin.product.code"), v.T("admin.product.name"), v.T("admin.product.delivery"), v.T("admin.product.description")}}
	for _, p := range list.Items {
		t.Rows = append(t.Rows, []admCell{{Text: p.Code, Href: fmt.Sprintf("/admin/products/%d", p.ID)}, {Text: p.Name},
			{Text: v.T("admin.product.delivery." + string(p.Delivery))}, {Text: excerpt(p.Description, 160)}})
	}
	pg := adminPage{Section: "products", Heading: v.T("admin.nav.products"), Intro: v.T("admin.products.intro"), Blocks: []admBlock{
		{ID: "products", Table: t},
		{ID: "new-product-block", Heading: v.T("admin.product.new"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminCreateProduct(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	p, err := s.deps.Store.CreateProduct(r.Context(), v.User, productFrom(r.PostForm))
	if err != nil {
		f := productForm(v, "new-product", "/admin/products", v.T("admin.product.create"), r.PostForm)
		if !admFailed(v, f, "admin.product", err) {
			return err
		}
		return s.productsPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/products/%d", p.ID), v.T("admin.flash.created", "Name", p.Name))
}

func (s *Server) adminProduct(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.productPage(w, r, v, http.StatusOK, nil)
}

func (s *Server) productPage(w http.ResponseWriter, r *http.Request, v *view, status int, f *admForm) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	p, err := s.deps.Store.GetProduct(r.Context(), v.User, id)
	if err != nil {
		return err
	}
	if f == nil {
		f = productForm(v, "product", fmt.Sprintf("/admin/products/%d", id), v.T("admin.save"), productValues(p))
	}
	pg := adminPage{Section: "products", Heading: p.Name, Back: &admLink{"/admin/products", v.T("admin.back.products")}, Blocks: []admBlock{
		{ID: "product-facts", Facts: []admFact{
			{Term: v.T("admin.product.code"), Value: p.Code},
			{Term: v.T("admin.account.created"), Value: admMskTime(p.CreatedAt)},
		}, Links: []admLink{{fmt.Sprintf("/desk?product=%d", id), v.T("admin.product.requests")}}},
		{ID: "product-block", Heading: v.T("admin.product.edit"), Form: f},
	}}
	return s.renderAdmin(w, r, v, status, pg)
}

func (s *Server) adminUpdateProduct(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := adminGuard(v); err != nil {
		return err
	}
	id, err := admPathID(r, v)
	if err != nil {
		return err
	}
	in := productFrom(r.PostForm)
	p, err := s.deps.Store.UpdateProduct(r.Context(), v.User, id, func(p *lifecycle.Product) error {
		p.Code, p.Name, p.Delivery, p.Description = in.Code, in.Name, in.Delivery, in.Description
		return nil
	})
	if err != nil {
		f := productForm(v, "product", fmt.Sprintf("/admin/products/%d", id), v.T("admin.save"), r.PostForm)
		if !admFailed(v, f, "admin.product", err) {
			return err
		}
		return s.productPage(w, r, v, http.StatusUnprocessableEntity, f)
	}
	return s.redirect(w, r, fmt.Sprintf("/admin/products/%d", id), v.T("admin.flash.saved", "Name", p.Name))
}
