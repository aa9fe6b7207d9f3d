package web

// deskRoutes registers the desk pages.
func (s *Server) deskRoutes() {}
