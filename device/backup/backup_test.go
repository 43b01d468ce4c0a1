package backup

import (
	"context"
	"github.com/netauto-dev/netauto/device"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/netauto-dev/netauto/device/devicetest"
)

func backupLab(t *testing.T) (*devicetest.Lab, *device.Inventory) {
	t.Helper()
	lab := startLab(t,
		devicetest.GeneratedSpec("r1"),
		devicetest.GeneratedSpec("r2"),
		simSpec(t, "n1", "cisco_nxos", "oxidized_nxos_C93180YC_10.4.5_simulation.yaml"),
	)
	var hosts []device.Host
	for _, d := range lab.Devices() {
		h := hostFor(t, lab, d.Name())
		h.Groups = []string{map[string]string{"r1": "edge", "r2": "edge", "n1": "core"}[d.Name()]}
		hosts = append(hosts, h)
	}
	inv, err := device.NewInventory(hosts, []device.Group{{Name: "edge"}, {Name: "core"}}, device.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	return lab, inv
}

func commitsOf(t *testing.T, dir string) []*object.Commit {
	t.Helper()
	g, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.Reference(plumbing.ReferenceName("refs/heads/main"), true)
	if err != nil {
		t.Fatal(err)
	}
	it, err := g.Log(&git.LogOptions{From: ref.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	var out []*object.Commit
	_ = it.ForEach(func(c *object.Commit) error { out = append(out, c); return nil })
	return out
}

func TestBackupCommitsOnlyChanges(t *testing.T) {
	lab, inv := backupLab(t)
	dir := t.TempDir()
	b := &Backup{Dir: dir, Secrets: testSecrets, FanOut: device.FanOut{Concurrency: 3}}
	ctx := context.Background()

	run, err := b.Run(ctx, inv, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Commits != 3 || run.Results.Count(device.Changed) != 3 {
		t.Fatalf("first run: %d commits, %v", run.Commits, run.Results.Summary())
	}
	commits := commitsOf(t, dir)
	if len(commits) != 3 {
		t.Fatalf("%d commits in the repository", len(commits))
	}
	for _, c := range commits {
		stats, err := c.Stats()
		if err != nil {
			t.Fatal(err)
		}
		tr := trailers(c.Message)
		if len(stats) != 1 || stats[0].Name != tr["Device"]+".cfg" || tr["Run-Id"] != "run-1" || tr["Platform"] == "" {
			t.Errorf("commit %s: files %v, trailers %v", c.Hash, stats, tr)
		}
	}
	stored, err := Config(dir, "r1", run.Results[1].Value.Commit)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"fakeSecretHash", "adminHash", "c0mm-r1"} {
		if strings.Contains(stored, secret) {
			t.Errorf("secret %q stored in the backup", secret)
		}
	}

	// Nothing changed; NX-OS prints a new "!Time:" on every read (noise).
	run, err = b.Run(ctx, inv, "run-2")
	if err != nil || run.Commits != 0 || run.Results.Count(device.Unchanged) != 3 {
		t.Fatalf("unchanged run: err %v, %d commits, %v", err, run.Commits, run.Results.Summary())
	}

	// r1 changes; r2 now fails authentication; n1 unchanged.
	cfg := lab.Device("r1").RunningConfig()
	lab.Device("r1").SetRunningConfig(strings.Replace(cfg, " description uplink", " description uplink to core", 1))
	hosts := inv.Hosts()
	for i := range hosts {
		if hosts[i].Name == "r2" {
			hosts[i].PasswordSecret = "wrong"
		}
	}
	inv3, err := device.NewInventory(hosts, []device.Group{{Name: "edge"}, {Name: "core"}}, device.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	before := commitsOf(t, dir)[0]
	r2Before, err := Config(dir, "r2", before.Hash.String())
	if err != nil {
		t.Fatal(err)
	}
	run, err = b.Run(ctx, inv3, "run-3")
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]device.HostResult[*Result]{}
	for _, r := range run.Results {
		byHost[r.Host] = r
	}
	if run.Commits != 1 || byHost["r1"].Class != device.Changed || byHost["r2"].Class != device.AuthFailed || byHost["n1"].Class != device.Unchanged {
		t.Fatalf("third run: %d commits, %v", run.Commits, run.Results.Summary())
	}
	wantDiff := "- description uplink\n+ description uplink to core\n"
	if !strings.Contains(byHost["r1"].Diff, wantDiff) || strings.Count(byHost["r1"].Diff, "\n-") != 1 {
		t.Errorf("r1 diff:\n%s", byHost["r1"].Diff)
	}
	head := commitsOf(t, dir)[0]
	if r2After, _ := Config(dir, "r2", head.Hash.String()); r2After != r2Before {
		t.Error("failed device's previous backup was modified")
	}

	hist, err := History(dir, "r1", 0)
	if err != nil || len(hist) != 2 || hist[0].RunID != "run-3" || hist[1].RunID != "run-1" {
		t.Fatalf("history: %v %+v", err, hist)
	}
	diff, err := DiffVersions(dir, "r1", hist[1].Commit, hist[0].Commit)
	if err != nil || !strings.Contains(diff, wantDiff) {
		t.Errorf("diff between versions: %v\n%s", err, diff)
	}
	if h, _ := History(dir, "n1", 0); len(h) != 1 {
		t.Errorf("n1 history: %+v", h)
	}

	// Compact packs everything; history still reads.
	if err := b.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	loose, _ := filepath.Glob(filepath.Join(dir, "objects", "??", "*"))
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(loose) != 0 || len(packs) != 1 {
		t.Errorf("after compact: %d loose objects, %d packs", len(loose), len(packs))
	}
	if hist2, err := History(dir, "r1", 1); err != nil || len(hist2) != 1 || hist2[0] != hist[0] {
		t.Errorf("history after compact: %v %+v", err, hist2)
	}
}

func TestBackupPerGroupAndPush(t *testing.T) {
	lab, inv := backupLab(t)
	dir := t.TempDir()
	remotes := t.TempDir()
	for _, g := range []string{"edge", "core"} {
		if _, err := git.PlainInit(filepath.Join(remotes, g+".git"), true); err != nil {
			t.Fatal(err)
		}
	}
	b := &Backup{Dir: dir, PerGroup: true, Secrets: testSecrets, Push: &Push{URL: filepath.Join(remotes, "{group}.git")}}
	run, err := b.Run(context.Background(), inv, "run-1")
	if err != nil || run.PushErr != nil {
		t.Fatalf("run: %v push: %v", err, run.PushErr)
	}
	for group, want := range map[string]int{"edge": 2, "core": 1} {
		local := commitsOf(t, filepath.Join(dir, group+".git"))
		remote := commitsOf(t, filepath.Join(remotes, group+".git"))
		if len(local) != want || len(remote) != want || local[0].Hash != remote[0].Hash {
			t.Errorf("%s: %d local, %d pushed commits, want %d", group, len(local), len(remote), want)
		}
	}
	// A later run fast-forwards the remote.
	r1 := lab.Device("r1")
	r1.SetRunningConfig(strings.Replace(r1.RunningConfig(), "hostname r1", "hostname r1-b", 1))
	if run, err = b.Run(context.Background(), inv, "run-2"); err != nil || run.PushErr != nil || run.Commits != 1 {
		t.Fatalf("second run: %v push: %v commits %d", err, run.PushErr, run.Commits)
	}
	if remote := commitsOf(t, filepath.Join(remotes, "edge.git")); len(remote) != 3 {
		t.Errorf("remote edge has %d commits after the second push", len(remote))
	}
	// The index travels with the push: history reads on the remote.
	if h, err := History(filepath.Join(remotes, "edge.git"), "r1", 0); err != nil || len(h) != 2 || h[0].RunID != "run-2" {
		t.Errorf("history on the remote: %v %+v", err, h)
	}
}

func TestBackupRejectsBadInput(t *testing.T) {
	inv, err := device.NewInventory([]device.Host{{Name: "a/b", Address: "x"}}, nil, device.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		b     *Backup
		runID string
		want  string
	}{
		{&Backup{}, "r", "Dir is empty"},
		{&Backup{Dir: t.TempDir()}, "r\nx", "runID"},
		{&Backup{Dir: t.TempDir()}, "r", `host "a/b"`},
	} {
		if _, err := c.b.Run(context.Background(), inv, c.runID); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want mention of %q", err, c.want)
		}
	}
}

// A push credential that cannot be resolved fails the push, names the
// reference, and keeps the commits.
func TestPushCredentialsFromSecrets(t *testing.T) {
	_, inv := backupLab(t)
	b := &Backup{Dir: t.TempDir(), Secrets: testSecrets, Push: &Push{URL: "https://git.invalid/backup.git", Username: "bot", PasswordSecret: "git/token"}}
	run, err := b.Run(context.Background(), inv, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if run.PushErr == nil || !strings.Contains(run.PushErr.Error(), `push.password_secret: resolve secret "git/token"`) {
		t.Errorf("push error: %v", run.PushErr)
	}
	if run.Commits != 3 {
		t.Errorf("a push failure must not undo the commits: %d", run.Commits)
	}
}
