package api

// problemRoutes: problems that link several requests (R3.8).
func (s *Server) problemRoutes() []route { return nil }
