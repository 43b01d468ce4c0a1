package backup

import (
	"context"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// IOS with "exec prompt timestamp" on its vty lines starts every show
// output with its CPU load and clock ("Load for five secs: 4%/0%; ...",
// "Time source is NTP, 12:08:56.318 JST Sat Aug 27 2016": recorded in
// networktocode/ntc-templates tests/cisco_ios). Both change on every read:
// kept, they make a commit per device per backup run.
func TestBackupDropsIOSExecTimestampHeader(t *testing.T) {
	for _, ntp := range []bool{true, false} {
		spec := devicetest.GeneratedSpec("r1")
		extra := " exec prompt timestamp\n"
		if ntp {
			extra += "!\nntp server 192.0.2.123\n"
		}
		spec.RunningConfig = strings.Replace(spec.RunningConfig, " transport input ssh\n", " transport input ssh\n"+extra, 1)
		lab := startLab(t, spec)
		inv, err := device.NewInventory([]device.Host{hostFor(t, lab, "r1")}, nil, device.Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		b := &Backup{Dir: dir, Secrets: testSecrets}
		ctx := context.Background()
		run, err := b.Run(ctx, inv, "run-1")
		if err != nil || run.Commits != 1 {
			t.Fatalf("first run: err %v, %d commits", err, run.Commits)
		}
		stored, err := Config(dir, "r1", run.Results[0].Value.Commit)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "Load for five secs") || strings.Contains(stored, "time source") || strings.Contains(stored, "Time source") {
			t.Errorf("timestamp header stored:\n%s", stored)
		}
		if !strings.Contains(stored, "hostname r1") {
			t.Errorf("configuration not stored:\n%s", stored)
		}
		run, err = b.Run(ctx, inv, "run-2")
		if err != nil || run.Commits != 0 || run.Results.Count(device.Unchanged) != 1 {
			t.Fatalf("ntp %v: unchanged device: err %v, %d commits, %v", ntp, err, run.Commits, run.Results.Summary())
		}
	}
}
