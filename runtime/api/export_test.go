package api

// Followers returns how many runs have log followers, for tests.
func (s *Server) Followers() int {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	return len(s.notify.subs)
}
