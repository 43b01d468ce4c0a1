package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// cmdSim runs `netauto sim [--devices N]`: the fakes alone (Infrahub seeded
// with the demo data, BIG-IP, SSH devices) until Ctrl-C, printing their
// addresses, for the other commands (and a server's configuration blocks)
// to be pointed at.
func cmdSim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	devices := fs.Int("devices", 30, "number of fake SSH devices")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "netauto-sim-")
	if err != nil {
		fmt.Fprintln(stderr, "sim:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := StartSystem(ctx, SystemOptions{Dir: dir, Devices: *devices, FakesOnly: true})
	if err != nil {
		fmt.Fprintln(stderr, "sim:", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintf(stdout, "infrahub  %s  (X-INFRAHUB-KEY infrahubtest-api-token)\n", s.InfrahubURL)
	fmt.Fprintf(stdout, "big-ip    %s  (admin/admin)\n", s.BigIPURL)
	fmt.Fprintf(stdout, "notify    %s  (a notification webhook receiver)\n", s.NotifyURL)
	for _, d := range s.Lab.Devices.Devices() {
		fmt.Fprintf(stdout, "device    %-10s %-14s %s  (admin/admin)\n", d.Name(), d.Platform(), d.Addr())
	}
	fmt.Fprintln(stdout, "Ctrl-C to stop.")
	<-ctx.Done()
	return 0
}
