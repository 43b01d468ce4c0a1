package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpus reads testdata/secrets/<platform>.txt: the lines under "## secret"
// (each holds "LEAK" in every secret value) and under "## benign"; lines of
// the secret part without "LEAK" (a sub-mode's header giving context) count
// as benign.
func corpus(t testing.TB, platform string) (secret, benign []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "secrets", platform+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	var dst *[]string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "## secret":
			dst = &secret
		case l == "## benign":
			dst = &benign
		case strings.TrimSpace(l) == "" || strings.HasPrefix(l, "# "):
		case dst == &secret && !strings.Contains(l, "LEAK"):
			benign = append(benign, l)
		case dst != nil:
			*dst = append(*dst, l)
		}
	}
	if len(secret) == 0 || len(benign) == 0 {
		t.Fatalf("%s corpus: %d secret, %d benign lines", platform, len(secret), len(benign))
	}
	return secret, benign
}

var corpusPlatforms = []string{"cisco_iosxe", "cisco_iosxr", "cisco_nxos", "arista_eos", "juniper_junos"}

// Every secret form of the corpus is masked, alone and inside a whole
// configuration, and every benign look-alike comes out unchanged.
func TestSanitizeCorpus(t *testing.T) {
	for _, p := range corpusPlatforms {
		t.Run(p, func(t *testing.T) {
			secret, benign := corpus(t, p)
			san := DefaultSanitizer(p)
			for _, l := range secret {
				got := strings.TrimSuffix(san.Clean(l), "\n")
				if strings.Contains(got, "LEAK") || !strings.Contains(got, SecretMask) {
					t.Errorf("secret kept:\n  in:  %q\n  out: %q", l, got)
				}
				if again := strings.TrimSuffix(san.Clean(got), "\n"); again != got {
					t.Errorf("not idempotent: %q -> %q", got, again)
				}
			}
			// Benign lines in their order, so each has its section (" key 1"
			// is a key chain's index only under "key chain").
			in := strings.Join(benign, "\n")
			if got := strings.TrimSuffix(san.Clean(in), "\n"); got != in {
				t.Errorf("benign lines changed:\n%s", UnifiedDiff("in", "out", in, got))
			}
			whole := san.Clean(strings.Join(append(secret, benign...), "\n"))
			if strings.Contains(whole, "LEAK") {
				t.Errorf("whole configuration leaks: %q", whole)
			}
		})
	}
}

// Every built-in rule names a keyword its matches must hold, the
// prefilter that skips lines without secrets.
func TestRulesNeedKeywords(t *testing.T) {
	for _, set := range [][]Replacement{urlSecrets, ciscoSecrets, junosSecrets} {
		for _, r := range set {
			if len(r.need) == 0 {
				t.Errorf("rule %s has no keyword to prefilter on", r.Pattern)
			}
		}
	}
}
