// Command fakelab runs fake network devices on 127.0.0.1 until interrupted
// or until its standard input closes, and prints one line per device:
// "name platform 127.0.0.1:port".
//
//	go run ./device/devicetest/cmd/fakelab -n 500 -latency 50ms
//	go run ./device/devicetest/cmd/fakelab -sim cisco_iosxe=ios.yaml -sim arista_eos=eos.yaml
//
// With -n, it starts n Cisco IOS-XE devices (dev0001, dev0002, ...) with a
// small running configuration; with -sim, one device per simulation file.
// Credentials are admin / admin (override with -user and -password).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

type sims []string

func (s *sims) String() string     { return strings.Join(*s, ",") }
func (s *sims) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var files sims
	n := flag.Int("n", 0, "number of generated cisco_iosxe devices")
	latency := flag.Duration("latency", 0, "delay before every answer")
	user := flag.String("user", "admin", "accepted username")
	password := flag.String("password", "admin", "accepted password")
	flag.Var(&files, "sim", "platform=simulation.yaml (repeatable)")
	flag.Parse()
	if err := run(*n, files, *latency, *user, *password); err != nil {
		fmt.Fprintln(os.Stderr, "fakelab:", err)
		os.Exit(1)
	}
}

func run(n int, files []string, latency time.Duration, user, password string) error {
	var specs []devicetest.Spec
	for i := 1; i <= n; i++ {
		specs = append(specs, devicetest.GeneratedSpec(fmt.Sprintf("dev%04d", i)))
	}
	for _, f := range files {
		platform, path, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("-sim %q: want platform=file", f)
		}
		spec, err := devicetest.LoadSimulation(platform, path)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return fmt.Errorf("nothing to run: give -n or -sim")
	}
	for i := range specs {
		specs[i].Latency, specs[i].Username, specs[i].Password = latency, user, password
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	lab, err := devicetest.Start(ctx, specs)
	if err != nil {
		return err
	}
	defer lab.Close()
	w := bufio.NewWriter(os.Stdout)
	for _, d := range lab.Devices() {
		fmt.Fprintf(w, "%s %s %s\n", d.Name(), d.Platform(), d.Addr())
	}
	fmt.Fprintln(w, "ready")
	if err := w.Flush(); err != nil {
		return err
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	return nil
}
