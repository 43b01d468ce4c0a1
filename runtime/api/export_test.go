package api

// Followers returns how many runs have log followers, for tests.
func (s *Server) Followers() int {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	return len(s.notify.subs)
}

// Patterns returns the patterns of every route, for tests that drive them
// all.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }
