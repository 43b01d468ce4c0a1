package netsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/task"
)

// DeviceFacts is one device's outcome in an inventory sync.
type DeviceFacts struct {
	Device string `json:"device"`
	ID     string `json:"id"`
	// Reachable is true when an SSH session opened and logged in.
	Reachable bool `json:"reachable"`
	// Class is the device package's outcome class: unchanged (facts
	// read), unreachable, auth_failed, command_failed, timed_out, failed,
	// skipped.
	Class device.Class `json:"class"`
	// Error says why the facts could not be read; empty on success.
	Error string          `json:"error,omitempty"`
	Facts confparse.Facts `json:"facts"`
}

// InventoryReport is the result of an inventory sync run.
type InventoryReport struct {
	Environment string `json:"environment"`
	// Skipped says why the run did nothing (a deleted device's event).
	Skipped string `json:"skipped,omitempty"`
	// Devices are the devices worked on, sorted by name.
	Devices []DeviceFacts `json:"devices"`
	// Reachable and Unreachable count them (a device skipped by the
	// fan-out is neither); Failed lists the names of devices whose facts
	// could not be read (unreachable and skipped ones included).
	Reachable   int      `json:"reachable"`
	Unreachable int      `json:"unreachable"`
	Failed      []string `json:"failed,omitempty"`
	// Updated counts the NetworkDevice nodes written back.
	Updated int `json:"updated"`
}

type loadInput struct {
	Selection selection `json:"selection"`
}

type factsInput struct {
	Environment string   `json:"environment"`
	Devices     []Device `json:"devices"`
}

type writeFactsInput struct {
	Environment string        `json:"environment"`
	Branch      string        `json:"branch,omitempty"`
	Results     []DeviceFacts `json:"results"`
	// SeenAt is the time written to last_seen (RFC 3339), fixed before the
	// task so a retry writes the same value.
	SeenAt string `json:"seen_at"`
}

// loadTask reads the selected devices from Infrahub.
func loadTask(d Deps) *task.Task[loadInput, []Device] {
	return task.New("load-devices", func(ctx context.Context, in loadInput) ([]Device, error) {
		c, err := d.client(ctx, in.Selection.Environment)
		if err != nil {
			return nil, err
		}
		devs, err := loadDevices(ctx, c, in.Selection)
		var pe *ParamsError
		if errors.As(err, &pe) {
			return nil, flow.NonRetryable(err)
		}
		return devs, settled(err)
	}, task.WithRetries(2), task.WithBackoff(retry.Exponential(time.Second, 2, 10*time.Second)), task.WithTimeout(2*time.Minute))
}

// InventorySync returns the inventory sync flow ("inventory-sync"): it
// reads the active NetworkDevice nodes of the environment's Infrahub
// (narrowed by Params), opens an SSH session to each (fan-out bounded by
// Deps.FanOut), reads its facts with FactCommands, and writes them back:
// serial, os_version, model, hostname, reachable=true, last_seen and an
// empty sync_error. A device that cannot be reached or read (output
// holding none of the facts counts as not read) gets reachable=false
// (when the session failed) and sync_error, keeps its previous facts,
// and does not stop the others; the run completes and its report lists
// it. A device the fan-out never started (its failure threshold was
// exceeded) gets only sync_error. The run fails when Infrahub cannot be
// read or written, or when its context ends before every device was
// worked on.
//
// opts are added to the flow's own options (hooks, for instance).
func InventorySync(d Deps, opts ...flow.Option) *flow.Flow[Params, InventoryReport] {
	load := loadTask(d)
	collect := task.New("collect-facts", func(ctx context.Context, in factsInput) ([]DeviceFacts, error) {
		return collectFacts(ctx, d, in.Devices)
	}, task.WithTimeout(30*time.Minute))
	write := writeTask(d, "write-facts", func(in writeFactsInput) string { return in.Environment }, writeFacts)

	options := append([]flow.Option{
		flow.WithDescription("Infrahub → device inventory: reach every active NetworkDevice over SSH and write its facts back"),
		flow.WithTags("sync", "inventory"),
		flow.WithTimeout(time.Hour),
		flow.WithRetries(1),
		flow.WithRunName("inventory-sync-{{.Environment}}"),
	}, opts...)
	return flow.New(FlowInventorySync, func(ctx context.Context, p Params) (InventoryReport, error) {
		sel, err := p.resolve()
		rep := InventoryReport{Environment: sel.Environment, Devices: []DeviceFacts{}}
		if err != nil {
			return rep, flow.NonRetryable(err)
		}
		log := flow.Logger(ctx)
		if sel.Skip {
			rep.Skipped = sel.SkipReason
			log.Info("inventory sync: nothing to do", "reason", sel.SkipReason)
			return rep, nil
		}
		devs, err := load.Run(ctx, loadInput{Selection: sel})
		if err != nil {
			return rep, err
		}
		if len(devs) == 0 {
			log.Warn("inventory sync: no active devices selected")
			return rep, nil
		}
		results, err := collect.Run(ctx, factsInput{Environment: sel.Environment, Devices: devs})
		if err != nil {
			return rep, err
		}
		rep.Devices = results
		for _, r := range results {
			switch {
			case r.Reachable:
				rep.Reachable++
			case r.Class != device.Skipped: // a skipped device was not tried
				rep.Unreachable++
			}
			if r.Error != "" {
				rep.Failed = append(rep.Failed, r.Device)
				log.Warn("inventory sync: device failed", "device", r.Device, "class", string(r.Class), "error", r.Error)
			}
		}
		rep.Updated, err = write.Run(ctx, writeFactsInput{
			Environment: sel.Environment, Branch: sel.Branch, Results: results,
			SeenAt: d.now().UTC().Format(time.RFC3339),
		})
		if err != nil {
			return rep, err
		}
		log.Info("inventory sync done", "devices", len(results), "reachable", rep.Reachable, "unreachable", rep.Unreachable, "updated", rep.Updated)
		return rep, nil
	}, options...)
}

// collectFacts reads every device's facts over SSH.
func collectFacts(ctx context.Context, d Deps, devs []Device) ([]DeviceFacts, error) {
	inv, err := inventory(devs, d.DeviceDefaults)
	if err != nil {
		return nil, flow.NonRetryable(err)
	}
	byName := map[string]Device{}
	for _, dev := range devs {
		byName[dev.Name] = dev
	}
	type read struct {
		facts     confparse.Facts
		reachable bool
	}
	results := device.Run(ctx, inv, d.FanOut, func(ctx context.Context, h device.Host) (read, error) {
		cmds, err := confparse.FactCommands(h.Platform)
		if err != nil {
			return read{}, &device.Error{Host: h.Name, Op: "facts", Class: device.Failed, Err: err}
		}
		var r read
		err = device.With(ctx, h, d.Secrets, func(s *device.Session) error {
			r.reachable = true
			out, err := s.Send(ctx, cmds...)
			if err != nil {
				return err
			}
			var all strings.Builder
			for _, o := range out {
				all.WriteString(o.Output)
				all.WriteString("\n")
			}
			r.facts = confparse.ParseFacts(h.Platform, all.String())
			if r.facts == (confparse.Facts{}) {
				// An answer the driver did not flag as an error (a refused
				// command authorization): nothing was learnt.
				first, _, _ := strings.Cut(strings.TrimSpace(all.String()), "\n")
				if len(first) > 200 {
					first = first[:200] + "..."
				}
				return &device.Error{Host: h.Name, Op: "facts", Class: device.CommandFailed,
					Err: fmt.Errorf("no facts in the output of %q: %q", cmds, first)}
			}
			return nil
		})
		return r, err
	})
	out := make([]DeviceFacts, 0, len(results))
	for _, res := range results {
		df := DeviceFacts{Device: res.Host, ID: byName[res.Host].ID, Class: res.Class, Reachable: res.Value.reachable, Facts: res.Value.facts}
		if failed(res.Class) {
			df.Error = string(res.Class)
			if res.Err != nil {
				df.Error = res.Err.Error()
			}
		}
		out = append(out, df)
	}
	if err := ctx.Err(); err != nil {
		// Devices not reached yet were skipped: the sync is incomplete.
		return out, fmt.Errorf("inventory sync interrupted: %w", context.Cause(ctx))
	}
	return out, nil
}

// failed reports whether a device's outcome is not a success: a failure,
// or skipped (never started: failure threshold, or the run's context
// ended first).
func failed(c device.Class) bool { return c.IsFailure() || c == device.Skipped }

// writeFacts writes each device's result to its NetworkDevice node and
// returns how many nodes were updated.
func writeFacts(ctx context.Context, c *infrahub.Client, in writeFactsInput) (int, error) {
	n := 0
	var errs []error
	for _, r := range in.Results {
		data := infrahub.Data{"sync_error": infrahub.Value(r.Error)}
		if r.Class != device.Skipped {
			// A device the fan-out never started was not tried: what is
			// known of its reachability stays as it was.
			data["reachable"] = infrahub.Value(r.Reachable)
		}
		if r.Error == "" {
			data["last_seen"] = infrahub.Value(in.SeenAt)
			for field, v := range map[string]string{
				"hostname": r.Facts.Hostname, "model": r.Facts.Model, "serial": r.Facts.Serial, "os_version": r.Facts.OSVersion,
			} {
				if v != "" {
					data[field] = infrahub.Value(v)
				}
			}
		}
		if _, err := c.Update(ctx, kindDevice, r.ID, data, infrahub.WriteOptions{Branch: in.Branch}); err != nil {
			errs = append(errs, fmt.Errorf("write facts of %s: %w", r.Device, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
