package web

// portalRoutes registers the portal pages.
func (s *Server) portalRoutes() {}
