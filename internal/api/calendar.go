package api

// calendarRoutes: the production calendar and working-time answers.
func (s *Server) calendarRoutes() []route { return nil }
