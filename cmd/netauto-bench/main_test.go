package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Both load models complete every run they start and report the figures.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	for _, args := range [][]string{
		{"--clients", "4", "--duration", "500ms", "--idle", "100ms"},
		{"--rate", "20", "--duration", "500ms", "--idle", "0"},
	} {
		t.Run(strings.Join(args[:2], "="), func(t *testing.T) {
			t.Setenv("NETAUTO_API_KEYS", "") // set by run for its server
			var out, errOut bytes.Buffer
			if err := run(context.Background(), append(args, "--db", t.TempDir()+"/bench.db"), &out, &errOut); err != nil {
				t.Fatalf("bench: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			want := []string{"completed: ", "start→complete: p50 ", "create→Running: p50 ", "CPU per completed run"}
			if args[0] == "--clients" {
				want = append(want, "idle server CPU")
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "failed:") {
				t.Errorf("runs failed:\n%s", out.String())
			}
		})
	}
}

// Bad command lines are refused before anything starts.
func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--rate", "10", "--clients", "2"},
		{"--clients", "-1"},
		{"--launcher", "docker"},
		{"--duration", "0s"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
