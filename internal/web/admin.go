package web

// adminRoutes registers the admin pages.
func (s *Server) adminRoutes() {}
