package device

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// When "terminal length 0" is refused (command authorization answering
// "% Authorization failed." to a restricted backup account), the device
// keeps paging: every output longer than a screen stops at " --More-- "
// and waits for a key. scrapligo v1 waits for a prompt and hung there
// until the operation timeout; the transport now answers the pager and
// removes it and its erasure from the output, so the configuration read
// is the device's, whole.
func TestPagerAnsweredWhenPagingCannotBeDisabled(t *testing.T) {
	spec := simSpec(t, "sw1", "cisco_iosxe", "oxidized_ios_C9200L_17.09.04a_simulation.yaml")
	spec.Faults = []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: "terminal length 0", Reply: "% Authorization failed."}}
	lab := startLab(t, spec)
	want := lab.Device("sw1").RunningConfig()
	if n := strings.Count(want, "\n"); n < 60 {
		t.Fatalf("configuration of %d lines: too short to page", n)
	}
	h := hostFor(t, lab, "sw1")
	h.OperationTimeout = 15 * time.Second
	var got string
	start := time.Now()
	err := With(context.Background(), h, testSecrets, func(s *Session) error {
		var err error
		got, err = s.RunningConfig(context.Background())
		return err
	})
	if err != nil {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if strings.ContainsAny(got, "\b") || strings.Contains(got, "--More--") {
		t.Errorf("pager left in the output:\n%q", got)
	}
	// scrapligo trims the blanks ending each line (channel.processOut).
	trim := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " ")
		}
		return strings.Join(lines, "\n")
	}
	if trim(got) != trim(want) {
		t.Errorf("configuration read through the pager differs:\n got %q\nwant %q", got, want)
	}
}

// The pager prompt is recognised at the end of a read, alone on its line,
// and its erasure removed from the next read; the same text inside a line
// is output.
func TestPagerFilter(t *testing.T) {
	var p pager
	steps := []struct {
		in, out string
		answer  bool
	}{
		{"line 1\r\nline 2\r\n --More-- ", "line 1\r\nline 2\r\n", true},
		{"\b\b\b\b\b\b\b\b\b        \b\b\b\b\b\b\b\b\b indented\r\n", " indented\r\n", false},
		{" --More-- ", "", true},
		{"\b\b\b\b\b\b\b\b\b        \b\b\b\b\b\b\b\b\bend\r\nhost#", "end\r\nhost#", false},
		{"description --More--", "description --More--", false},
		{strings.Repeat("x", 40) + " --More--", strings.Repeat("x", 40) + " --More--", false},
		{"\r\n---(more 45%)---", "\r\n", true},
		{"\r                \rnext\r\n", "next\r\n", false},
	}
	for i, s := range steps {
		out, answer := p.filter([]byte(s.in))
		if string(out) != s.out || answer != s.answer {
			t.Errorf("step %d: %q → %q %v, want %q %v", i, s.in, out, answer, s.out, s.answer)
		}
	}
}
