package backup

import (
	"bufio"
	"context"
	"fmt"
	"github.com/netauto-dev/netauto/device"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// The backup benchmark runs its fake devices in a separate process: the
// test binary re-executed with NETAUTO_FAKELAB_N set serves that many
// devices until its standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("NETAUTO_FAKELAB_N") != "" {
		if err := serveFakeLab(); err != nil {
			fmt.Fprintln(os.Stderr, "fakelab:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveFakeLab() error {
	n, err := strconv.Atoi(os.Getenv("NETAUTO_FAKELAB_N"))
	if err != nil {
		return err
	}
	latency, err := time.ParseDuration(os.Getenv("NETAUTO_FAKELAB_LATENCY"))
	if err != nil {
		return err
	}
	specs := make([]devicetest.Spec, n)
	for i := range specs {
		specs[i] = devicetest.GeneratedSpec(fmt.Sprintf("dev%04d", i))
		specs[i].Latency = latency
	}
	lab, err := devicetest.Start(context.Background(), specs)
	if err != nil {
		return err
	}
	defer lab.Close()
	if err := os.WriteFile(os.Getenv("NETAUTO_FAKELAB_KNOWN_HOSTS"), []byte(lab.KnownHosts()), 0o600); err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for _, d := range lab.Devices() {
		fmt.Fprintf(w, "%s %d\n", d.Name(), d.Port())
	}
	fmt.Fprintln(w, "ready")
	if err := w.Flush(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// startFakeLabProcess starts n fake devices answering after latency in a
// child process and returns an inventory for them and the child's pid.
func startFakeLabProcess(b *testing.B, n int, latency time.Duration) (*device.Inventory, int) {
	kh := filepath.Join(b.TempDir(), "known_hosts")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "NETAUTO_FAKELAB_N="+strconv.Itoa(n), "NETAUTO_FAKELAB_LATENCY="+latency.String(), "NETAUTO_FAKELAB_KNOWN_HOSTS="+kh)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	var hosts []device.Host
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		name, port, _ := strings.Cut(sc.Text(), " ")
		p, err := strconv.Atoi(port)
		if err != nil {
			b.Fatalf("fakelab said %q", sc.Text())
		}
		hosts = append(hosts, device.Host{Name: name, Address: "127.0.0.1", Params: device.Params{Platform: "cisco_iosxe", Port: p}})
	}
	if len(hosts) != n {
		b.Fatalf("fakelab started %d of %d devices", len(hosts), n)
	}
	inv, err := device.NewInventory(hosts, nil, device.Defaults{Params: device.Params{
		Username: "admin", PasswordSecret: "pw", KnownHostsFile: kh,
		ConnectTimeout: 10 * time.Second, OperationTimeout: 30 * time.Second,
	}})
	if err != nil {
		b.Fatal(err)
	}
	return inv, cmd.Process.Pid
}

// peakRSSMB returns the peak resident set size (VmHWM) of process pid
// ("self" for this one) in MiB.
func peakRSSMB(pid string) float64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return -1
}

// BenchmarkBackup500Devices backs up 500 fake IOS-XE devices (in a separate
// process, every answer delayed 50 ms) with concurrency 100 into a fresh
// repository: 500 sessions, 500 commits per op.
//
//	go test ./device/backup -run '^$' -bench BenchmarkBackup500Devices -benchtime 1x -count 5
func BenchmarkBackup500Devices(b *testing.B) {
	const devices = 500
	inv, child := startFakeLabProcess(b, devices, 50*time.Millisecond)
	var commits int
	var commitTime, wall time.Duration
	b.ResetTimer()
	for range b.N {
		bk := &Backup{Dir: b.TempDir(), Secrets: testSecrets, FanOut: device.FanOut{Concurrency: 100}}
		run, err := bk.Run(context.Background(), inv, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if run.Commits != devices || run.Results.Count(device.Changed) != devices {
			b.Fatalf("%d commits, results %v, first failure %v", run.Commits, run.Results.Summary(), firstErr(run.Results))
		}
		commits += run.Commits
		commitTime += run.CommitTime
		wall += run.Wall
	}
	b.StopTimer()
	b.ReportMetric(float64(commits)/float64(b.N), "commits/op")
	b.ReportMetric(100*commitTime.Seconds()/wall.Seconds(), "commit-%")
	b.ReportMetric(peakRSSMB("self"), "peak-RSS-MB")
	b.ReportMetric(peakRSSMB(strconv.Itoa(child)), "fakes-peak-RSS-MB")
}

func firstErr[T any](r device.Results[T]) error {
	if f := r.Failed(); len(f) > 0 {
		return f[0].Err
	}
	return nil
}
