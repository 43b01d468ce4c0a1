package api

import (
	"net/http"
	"strings"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// listSecrets answers the stored secrets' names and times, never their
// values.
func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.st.ListSecrets(r.Context())
	if err != nil {
		return err
	}
	if infos == nil {
		infos = []store.SecretInfo{}
	}
	return writeJSON(w, http.StatusOK, infos)
}

// putSecret stores the secret in the body under the name of the path,
// sealed with the store's key. The answer does not repeat the value.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	var req wire.SecretValue
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Value) == "" {
		return badRequest("value", "empty")
	}
	name := r.PathValue("name")
	if err := s.st.PutSecret(r.Context(), name, store.NewSecret(req.Value)); err != nil {
		return err
	}
	by, _ := Identity(r.Context())
	s.log.Info("secret set", "secret", name, "by", by)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.st.DeleteSecret(r.Context(), name); err != nil {
		return err
	}
	by, _ := Identity(r.Context())
	s.log.Info("secret deleted", "secret", name, "by", by)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
