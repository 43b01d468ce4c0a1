package device

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// A device that starts sessions at the exec level ("host>") asks for the
// enable secret. IOS asks three times before "% Bad secrets" (Cisco Press,
// CCIE Security Exam Certification Guide, Example 4-17), so a client that
// sends one secret and waits for a prompt (scrapligo v1's escalate) hangs
// on the second "Password:" until the operation timeout, and one without a
// secret hangs on the first: an operator sees "timed out" where the truth
// is an enable secret missing or wrong. Both must fail at once as
// AuthFailed, naming enable_secret.
func TestEnableSecretMissingOrWrongFailsFast(t *testing.T) {
	for _, platform := range []string{"cisco_iosxe", "arista_eos"} {
		spec := devicetest.GeneratedSpec("e1")
		spec.Platform = platform
		spec.EnableSecret = "en-secret"
		lab := startLab(t, spec)
		for _, tc := range []struct {
			name, secret string
			want         Class
		}{
			{"none", "", AuthFailed},
			{"wrong", "wrong", AuthFailed},
			{"right", "enable", Unchanged},
		} {
			t.Run(platform+"/"+tc.name, func(t *testing.T) {
				h := hostFor(t, lab, "e1")
				h.EnableSecret = tc.secret
				h.OperationTimeout = 20 * time.Second
				start := time.Now()
				err := With(context.Background(), h, testSecrets, func(s *Session) error {
					_, err := s.Send(context.Background(), "show version")
					return err
				})
				if ClassOf(err) != tc.want {
					t.Fatalf("class %s, want %s: %v", ClassOf(err), tc.want, err)
				}
				if tc.want == AuthFailed {
					if !strings.Contains(err.Error(), "enable_secret") {
						t.Errorf("error does not name enable_secret: %v", err)
					}
					if strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "en-secret") {
						t.Errorf("error quotes a secret: %v", err)
					}
					if d := time.Since(start); d >= h.OperationTimeout {
						t.Errorf("refusal took %s: the client waited for the operation timeout", d)
					}
				}
			})
		}
	}
}
