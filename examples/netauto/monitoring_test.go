package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// promtool returns Prometheus' promtool: the test skips without it but
// fails under NETAUTO_CI=1.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("NETAUTO_CI") == "1" {
			t.Fatal("promtool not found (apt-get install prometheus); NETAUTO_CI=1 forbids skipping")
		}
		t.Skip("promtool not found: apt-get install prometheus")
	}
	return p
}

// TestMonitoringFiles checks the shipped alert rules (promtool check and
// test rules), the Prometheus configuration (promtool check config), the
// Grafana dashboard (JSON with a query per panel), and that every netauto
// metric they name is one the server serves.
func TestMonitoringFiles(t *testing.T) {
	pt := promtool(t)
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(pt, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("monitoring", "check", "rules", "alerts.yml")
	run("monitoring", "test", "rules", "alerts_test.yml")

	// The configuration names the paths of the container: check a copy
	// pointing at a directory like the mounted one.
	dir := t.TempDir()
	cfg, err := os.ReadFile("monitoring/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.ReplaceAll(string(cfg), "/etc/prometheus/netauto/", dir+"/")
	for name, data := range map[string]string{"prometheus.yml": local, "alerts.yml": string(rules), "prometheus.key": "na_placeholder"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(dir, "check", "config", "prometheus.yml")

	served := servedMetrics(t)
	used := map[string]bool{}
	metricRe := regexp.MustCompile(`netauto_[a-z_]+`)
	for _, m := range metricRe.FindAllString(string(rules), -1) {
		used[m] = true
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard without panels")
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricRe.FindAllString(tg.Expr, -1) {
				used[m] = true
			}
		}
	}
	for m := range used {
		base := m
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suf); ok && served[b] == "histogram" {
				base = b
			}
		}
		if served[base] == "" {
			t.Errorf("%s is used by the alerts or the dashboard but not served by /metrics", m)
		}
	}
}

// servedMetrics returns the metric families of a server's /metrics, by
// name, with their type.
func servedMetrics(t *testing.T) map[string]string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := api.New(st, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	if !slices.Contains([]string{"gauge"}, out["netauto_runs"]) {
		t.Fatalf("/metrics families: %v", out)
	}
	return out
}
