package netsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/task"
)

// Validation statuses written to NetworkDevice.validation_status.
const (
	StatusPassed = "passed"
	StatusFailed = "failed"
	StatusError  = "error"
)

// Mismatch is one difference between a device's intended state (in
// Infrahub) and what the device reports.
type Mismatch struct {
	Device string `json:"device"`
	// Object is what differs: "interface Ethernet1", "bgp neighbor
	// 10.0.0.1".
	Object string `json:"object"`
	// Field is the attribute that differs ("enabled", "remote_as",
	// "session", "ip_address", ...), or "presence" for an object missing
	// on one side.
	Field    string `json:"field"`
	Intended string `json:"intended"`
	Observed string `json:"observed"`
}

// String is the mismatch in one line:
// "atl1-edge1: bgp neighbor 10.0.0.1: remote_as: intended 65002, observed 65003".
func (m Mismatch) String() string {
	return fmt.Sprintf("%s: %s: %s: intended %s, observed %s", m.Device, m.Object, m.Field, m.Intended, m.Observed)
}

// DeviceValidation is one device's validation outcome.
type DeviceValidation struct {
	Device string `json:"device"`
	ID     string `json:"id"`
	// Status is StatusPassed, StatusFailed (mismatches) or StatusError
	// (the device could not be read).
	Status     string     `json:"status"`
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	Error      string     `json:"error,omitempty"`
	// Checked counts the intended objects compared.
	Checked int `json:"checked"`
}

// summary is the text written to validation_summary.
func (v DeviceValidation) summary() string {
	switch v.Status {
	case StatusError:
		return v.Error
	case StatusPassed:
		return fmt.Sprintf("%d intended objects match the device", v.Checked)
	}
	lines := make([]string, len(v.Mismatches))
	for i, m := range v.Mismatches {
		lines[i] = strings.TrimPrefix(m.String(), m.Device+": ")
	}
	return strings.Join(lines, "\n")
}

// ValidationReport is the result of a validation run.
type ValidationReport struct {
	Environment string             `json:"environment"`
	Skipped     string             `json:"skipped,omitempty"`
	Devices     []DeviceValidation `json:"devices"`
	Passed      int                `json:"passed"`
	Failed      int                `json:"failed"`
	Errors      int                `json:"errors"`
}

// Mismatches returns every mismatch of the report, by device.
func (r ValidationReport) Mismatches() []Mismatch {
	var out []Mismatch
	for _, d := range r.Devices {
		out = append(out, d.Mismatches...)
	}
	return out
}

// ValidationError is the error of a validation run that found mismatches
// or could not read devices; it carries the whole report (also written to
// Infrahub). Its message lists the mismatches, at most 20.
type ValidationError struct {
	Report ValidationReport
}

// Error summarizes the report and lists up to 20 mismatches or unread
// devices, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "validation: %d of %d devices failed, %d could not be read", e.Report.Failed, len(e.Report.Devices), e.Report.Errors)
	n := 0
	for _, d := range e.Report.Devices {
		var lines []string
		switch d.Status {
		case StatusFailed:
			for _, m := range d.Mismatches {
				lines = append(lines, m.String())
			}
		case StatusError:
			lines = append(lines, d.Device+": "+d.Error)
		}
		for _, l := range lines {
			if n == 20 {
				b.WriteString("\n  ...")
				return b.String()
			}
			b.WriteString("\n  ")
			b.WriteString(l)
			n++
		}
	}
	return b.String()
}

type stateInput struct {
	Environment string   `json:"environment"`
	Devices     []Device `json:"devices"`
}

type writeValidationInput struct {
	Environment string             `json:"environment"`
	Branch      string             `json:"branch,omitempty"`
	Results     []DeviceValidation `json:"results"`
	CheckedAt   string             `json:"checked_at"`
}

// Validation returns the validation flow ("validation-processor"): for
// each selected active NetworkDevice it reads the running configuration
// over SSH (and, when Infrahub lists BGP neighbours for it, the BGP
// summaries: "show ip bgp summary", Junos "show bgp summary", IOS-XR "show
// bgp ipv4 unicast summary", and the IPv6 summary when an IPv6 neighbour
// is intended), compares
// them with the device's NetworkInterface and NetworkBGPNeighbor nodes,
// and writes validation_status (passed, failed, error),
// validation_summary (one line per mismatch) and validated_at back to the
// device.
//
// Compared: every intended interface exists; its enabled state (no
// "shutdown"), and description, ip_address (against the interface's
// address of the same family) and mtu (an interface without an "mtu"
// line has the platform's default) when set in Infrahub.
// Every intended BGP neighbour is configured with its remote AS and
// enabled state, and an enabled one is Established; a neighbour the
// device has but Infrahub does not is a mismatch too (global neighbours
// only: those configured in a VRF are not compared). Interfaces the
// device has but Infrahub does not model are ignored. Interface names are
// compared case-insensitively, abbreviated or not ("Gi1/0/1" is
// GigabitEthernet1/0/1, NX-OS "Eth1/1" Ethernet1/1: confparse's
// Config.Interface), and a Junos logical unit is "<interface>.<unit>"
// ("ge-0/0/0.0", "irb.100"), where Junos holds the addresses.
//
// When any device failed or could not be read the run fails, after the
// results were written, with a *ValidationError listing the mismatches
// (not retried: a retry would find the same). opts are added to the
// flow's own options.
func Validation(d Deps, opts ...flow.Option) *flow.Flow[Params, ValidationReport] {
	load := loadTask(d)
	collect := task.New("validate-devices", func(ctx context.Context, in stateInput) ([]DeviceValidation, error) {
		return validateDevices(ctx, d, in.Devices)
	}, task.WithTimeout(30*time.Minute))
	write := writeTask(d, "write-validation", func(in writeValidationInput) string { return in.Environment }, writeValidation)

	options := append([]flow.Option{
		flow.WithDescription("Compare devices' interfaces and BGP neighbours with Infrahub's intended state and write the result back"),
		flow.WithTags("sync", "validation"),
		flow.WithTimeout(time.Hour),
		flow.WithRetries(1),
		flow.WithRunName("validation-{{.Environment}}"),
	}, opts...)
	return flow.New(FlowValidation, func(ctx context.Context, p Params) (ValidationReport, error) {
		sel, err := p.resolve()
		rep := ValidationReport{Environment: sel.Environment, Devices: []DeviceValidation{}}
		if err != nil {
			return rep, flow.NonRetryable(err)
		}
		log := flow.Logger(ctx)
		if sel.Skip {
			rep.Skipped = sel.SkipReason
			return rep, nil
		}
		devs, err := load.Run(ctx, loadInput{Selection: sel})
		if err != nil {
			return rep, err
		}
		if len(devs) == 0 && sel.ValidatorID != "" {
			rep.Skipped = fmt.Sprintf("validator %s (%s) names no active %s", sel.ValidatorID, sel.ValidatorKind, kindDevice)
			log.Info("validation: " + rep.Skipped)
			return rep, nil
		}
		if len(devs) == 0 {
			log.Warn("validation: no active devices selected")
			return rep, nil
		}
		results, err := collect.Run(ctx, stateInput{Environment: sel.Environment, Devices: devs})
		if err != nil {
			return rep, err
		}
		rep.Devices = results
		for _, r := range results {
			switch r.Status {
			case StatusPassed:
				rep.Passed++
			case StatusFailed:
				rep.Failed++
				for _, m := range r.Mismatches {
					log.Warn("validation mismatch", "device", m.Device, "object", m.Object, "field", m.Field, "intended", m.Intended, "observed", m.Observed)
				}
			default:
				rep.Errors++
				log.Warn("validation: device not read", "device", r.Device, "error", r.Error)
			}
		}
		if _, err := write.Run(ctx, writeValidationInput{
			Environment: sel.Environment, Branch: sel.Branch, Results: results,
			CheckedAt: d.now().UTC().Format(time.RFC3339),
		}); err != nil {
			return rep, err
		}
		log.Info("validation done", "devices", len(results), "passed", rep.Passed, "failed", rep.Failed, "errors", rep.Errors)
		if rep.Failed > 0 || rep.Errors > 0 {
			return rep, flow.NonRetryable(&ValidationError{Report: rep})
		}
		return rep, nil
	}, options...)
}

// validateDevices reads every device's state and compares it.
func validateDevices(ctx context.Context, d Deps, devs []Device) ([]DeviceValidation, error) {
	inv, err := inventory(devs, d.DeviceDefaults)
	if err != nil {
		return nil, flow.NonRetryable(err)
	}
	byName := map[string]Device{}
	for _, dev := range devs {
		byName[dev.Name] = dev
	}
	results := device.Run(ctx, inv, d.FanOut, func(ctx context.Context, h device.Host) (*observed, error) {
		intended := byName[h.Name]
		var obs *observed
		err := device.With(ctx, h, d.Secrets, func(s *device.Session) error {
			cfg, err := s.RunningConfig(ctx)
			if err != nil {
				return err
			}
			if err := checkConfig(h.Platform, cfg); err != nil {
				// Not a configuration in which everything is missing.
				return &device.Error{Host: h.Name, Op: "validate", Class: device.Failed, Err: err}
			}
			if obs, err = parseConfig(h.Platform, cfg); err != nil {
				return &device.Error{Host: h.Name, Op: "validate", Class: device.Failed, Err: err}
			}
			if len(intended.BGPNeighbors) > 0 {
				out, err := s.Send(ctx, bgpSummaryCommands(h.Platform, intended.BGPNeighbors)...)
				if err != nil {
					return err
				}
				obs.Sessions = map[string]string{}
				for _, o := range out {
					maps.Copy(obs.Sessions, confparse.ParseBGPSummary(o.Output))
				}
			}
			return nil
		})
		return obs, err
	})
	out := make([]DeviceValidation, 0, len(results))
	for _, r := range results {
		dev := byName[r.Host]
		if failed(r.Class) || r.Value == nil {
			msg := string(r.Class)
			if r.Err != nil {
				msg = r.Err.Error()
			}
			out = append(out, DeviceValidation{Device: r.Host, ID: dev.ID, Status: StatusError, Error: msg})
			continue
		}
		out = append(out, compare(dev, r.Value))
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("validation interrupted: %w", context.Cause(ctx))
	}
	return out, nil
}

// defaultMTU is the MTU of an Ethernet interface without an "mtu" line:
// IOS-XR and Junos count the layer-2 header.
func defaultMTU(platform string) int {
	switch platform {
	case "cisco_iosxr", "juniper_junos":
		return 1514
	}
	return 1500
}

func yesNo(b bool) string { return strconv.FormatBool(b) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// compare checks a device's observed state against its intended state.
func compare(dev Device, obs *observed) DeviceValidation {
	v := DeviceValidation{Device: dev.Name, ID: dev.ID}
	add := func(object, field, intended, observed string) {
		v.Mismatches = append(v.Mismatches, Mismatch{Device: dev.Name, Object: object, Field: field, Intended: intended, Observed: observed})
	}
	for _, want := range dev.Interfaces {
		v.Checked++
		obj := "interface " + want.Name
		got := obs.Interface(want.Name)
		if got == nil {
			add(obj, "presence", "configured", "missing")
			continue
		}
		if got.Enabled != want.Enabled {
			add(obj, "enabled", yesNo(want.Enabled), yesNo(got.Enabled))
		}
		if want.Description != "" && got.Description != want.Description {
			add(obj, "description", want.Description, orNone(got.Description))
		}
		if want.IPAddress != "" {
			have := got.IPAddress
			if p, err := netip.ParsePrefix(want.IPAddress); err == nil && p.Addr().Is6() && !p.Addr().Is4In6() {
				have = got.IPv6Address
			}
			if canonAddr(want.IPAddress) != have {
				add(obj, "ip_address", canonAddr(want.IPAddress), orNone(have))
			}
		}
		if want.MTU > 0 {
			have, shown := got.MTU, strconv.Itoa(got.MTU)
			if have == 0 {
				// No "mtu" line: the platform's default.
				have = defaultMTU(dev.Platform)
				shown = strconv.Itoa(have) + " (default)"
			}
			if have != want.MTU {
				add(obj, "mtu", strconv.Itoa(want.MTU), shown)
			}
		}
	}
	intended := map[string]bool{}
	for _, want := range dev.BGPNeighbors {
		v.Checked++
		addr := canonAddr(want.PeerAddress)
		intended[addr] = true
		obj := "bgp neighbor " + addr
		got := obs.Neighbors[addr]
		if got == nil {
			add(obj, "presence", "configured", "missing")
			continue
		}
		if got.RemoteAS != want.RemoteAS {
			add(obj, "remote_as", strconv.FormatInt(want.RemoteAS, 10), strconv.FormatInt(got.RemoteAS, 10))
		}
		if got.Enabled != want.Enabled {
			add(obj, "enabled", yesNo(want.Enabled), yesNo(got.Enabled))
		}
		if want.Enabled && got.Enabled && obs.Sessions != nil {
			if st := obs.Sessions[addr]; st != "Established" {
				add(obj, "session", "Established", orNone(st))
			}
		}
	}
	var extra []string
	for addr := range obs.Neighbors {
		if !intended[addr] {
			extra = append(extra, addr)
		}
	}
	slices.Sort(extra)
	for _, addr := range extra {
		add("bgp neighbor "+addr, "presence", "absent", "configured")
	}
	v.Status = StatusPassed
	if len(v.Mismatches) > 0 {
		v.Status = StatusFailed
	}
	return v
}

// writeValidation writes each device's result to its NetworkDevice node.
func writeValidation(ctx context.Context, c *infrahub.Client, in writeValidationInput) (int, error) {
	n := 0
	var errs []error
	for _, r := range in.Results {
		data := infrahub.Data{
			"validation_status":  infrahub.Value(r.Status),
			"validation_summary": infrahub.Value(r.summary()),
			"validated_at":       infrahub.Value(in.CheckedAt),
		}
		if _, err := c.Update(ctx, kindDevice, r.ID, data, infrahub.WriteOptions{Branch: in.Branch}); err != nil {
			errs = append(errs, fmt.Errorf("write validation of %s: %w", r.Device, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
