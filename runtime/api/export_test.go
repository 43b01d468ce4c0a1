package api

// Followers returns how many runs have log followers, for tests.
func (s *Server) Followers() int {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	return len(s.notify.subs)
}

// OpenStreams returns how many log streams are open, for tests.
func (s *Server) OpenStreams() int {
	s.follow.mu.Lock()
	defer s.follow.mu.Unlock()
	return s.follow.total
}

// Patterns returns the patterns of every route, for tests that drive them
// all.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }
