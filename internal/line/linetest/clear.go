package linetest

// ClearFaults drops every scripted fault not yet used, so that requests succeed again.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}
