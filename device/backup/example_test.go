package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// exampleLab starts fake IOS-XE devices and returns an inventory for them
// with strict host key checking.
func exampleLab(names ...string) (*devicetest.Lab, *device.Inventory, func()) {
	var specs []devicetest.Spec
	for _, n := range names {
		specs = append(specs, devicetest.GeneratedSpec(n))
	}
	lab, err := devicetest.Start(context.Background(), specs)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(lab.KnownHosts()), 0o600); err != nil {
		panic(err)
	}
	var hosts []device.Host
	for _, d := range lab.Devices() {
		hosts = append(hosts, device.Host{Name: d.Name(), Address: "127.0.0.1", Params: device.Params{Platform: "cisco_iosxe", Port: d.Port()}})
	}
	inv, err := device.NewInventory(hosts, nil, device.Defaults{Params: device.Params{
		Username: "admin", PasswordSecret: "lab/password", KnownHostsFile: knownHosts,
		ConnectTimeout: 30 * time.Second, OperationTimeout: 30 * time.Second,
	}})
	if err != nil {
		panic(err)
	}
	return lab, inv, func() { lab.Close(); os.RemoveAll(dir) }
}

var secrets = device.StaticSecrets{"lab/password": "admin"}

// Back up every device into a Git repository: the first run commits each
// device, a run with nothing changed commits nothing, and a change on one
// device makes exactly one commit.
func ExampleBackup_Run() {
	lab, inv, stop := exampleLab("r1", "r2")
	defer stop()
	dir, _ := os.MkdirTemp("", "backup")
	defer os.RemoveAll(dir)

	b := &backup.Backup{Dir: dir, Secrets: secrets, FanOut: device.FanOut{Concurrency: 50}}
	for i, change := range []bool{false, false, true} {
		if change {
			r2 := lab.Device("r2")
			r2.SetRunningConfig(strings.Replace(r2.RunningConfig(), "hostname r2", "hostname r2-renamed", 1))
		}
		run, err := b.Run(context.Background(), inv, fmt.Sprintf("run-%d", i+1))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(run.RunID, "commits:", run.Commits, run.Results.Summary())
	}
	history, _ := backup.History(dir, "r2", 0)
	diff, _ := backup.DiffVersions(dir, "r2", history[1].Commit, history[0].Commit)
	fmt.Println(len(history), "versions of r2, latest from", history[0].RunID)
	fmt.Println(strings.Join(strings.Split(diff, "\n")[3:8], "\n"))
	// Output:
	// run-1 commits: 2 map[changed:2]
	// run-2 commits: 0 map[unchanged:2]
	// run-3 commits: 1 map[changed:1 unchanged:1]
	// 2 versions of r2, latest from run-3
	//  version 17.9
	//  service timestamps log datetime msec
	//  !
	// -hostname r2
	// +hostname r2-renamed
}
