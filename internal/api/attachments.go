package api

// attachmentRoutes: files on requests and comments.
func (s *Server) attachmentRoutes() []route { return nil }
