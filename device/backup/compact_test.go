package backup

import (
	"context"
	"fmt"
	"github.com/netauto-dev/netauto/device"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/netauto-dev/netauto/device/devicetest"
)

func packBytes(t *testing.T, dir string) int64 {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range packs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// Two months of daily runs on 30 devices, each day one device changing one
// line: after Compact, a change costs a small delta, not a config copy.
func TestBackupStaysCompact(t *testing.T) {
	const devices, days = 30, 60
	dir := t.TempDir()
	configs := make([]string, devices)
	for i := range configs {
		configs[i] = devicetest.GeneratedSpec(fmt.Sprintf("d%02d", i)).RunningConfig + strings.Repeat("\ninterface Loopback1\n description filler line to reach a realistic size", 40)
	}
	day := func(n int) {
		r, err := openRepo(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range configs {
			h := device.Host{Name: fmt.Sprintf("d%02d", i), Params: device.Params{Platform: "cisco_iosxe"}}
			if _, err := r.commit(h, c, fmt.Sprintf("day-%d", n), object.Signature{Name: "b", Email: "b@x", When: time.Unix(int64(n)*86400, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.flush(); err != nil {
			t.Fatal(err)
		}
		if packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack")); len(packs) > maxPacks {
			t.Fatalf("day %d: %d packs, runs should have repacked", n, len(packs))
		}
	}
	day(0)
	b := &Backup{Dir: dir}
	if err := b.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := packBytes(t, dir)
	for n := 1; n <= days; n++ {
		i := n % devices
		configs[i] = strings.Replace(configs[i], "hostname ", fmt.Sprintf("! change %d\nhostname ", n), 1)
		day(n)
	}
	if err := b.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	year := packBytes(t, dir)
	perChange := float64(year-first) / days
	if packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack")); len(packs) != 1 {
		t.Errorf("%d packs after Compact", len(packs))
	}
	t.Logf("first day %d bytes (%d devices), after %d changes %d bytes: %.0f bytes per change, config size %d", first, devices, days, year, perChange, len(configs[0]))
	if perChange > float64(len(configs[0]))/2 {
		t.Errorf("each change costs %.0f bytes, more than half a config (%d bytes): no delta compression", perChange, len(configs[0]))
	}
	changes := 0
	for n := 1; n <= days; n++ {
		if n%devices == 7 {
			changes++
		}
	}
	if h, err := History(dir, "d07", 0); err != nil || len(h) != 1+changes {
		t.Errorf("history: %v, %d versions, want %d", err, len(h), 1+changes)
	}
}
