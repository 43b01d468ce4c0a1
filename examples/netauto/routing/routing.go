// Package routing holds the netauto example's routing deployment flow
// ("routing-deploy"), ported from the original orchestrator: render a
// device's BGP configuration from Infrahub data, diff it with the device's
// running configuration, push what is missing over SSH, check that the
// sessions came up, and roll the push back when anything after it fails.
//
// The flow's target is a NetautoRoutingConfig node (schema package
// examples/netauto/schema): its local_as and router_id, the NetworkDevice
// it belongs to, and that device's NetworkBGPNeighbor nodes are the
// intended state. An "infrahub.artifact.updated" event whose target kind is
// NetautoRoutingConfig starts it (Params.Event); Params.RoutingConfigID
// starts it by hand.
//
// Tasks: load-intent → render → diff (running configuration read over SSH)
// → push (compensated: the inverse lines, newest first, then the section's
// previous lines again, restore the configuration the device had) → post-check (every intended enabled
// neighbour Established in the BGP summary). A post-check that fails is not
// retried: the run fails, the push's compensation runs, and the failure
// hooks (package events) notify.
//
// Platforms: arista_eos and cisco_iosxe (one-line neighbour statements);
// others fail the run with a *ParamsError naming the platform.
package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/common"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/trigger"
	"github.com/netauto-dev/netauto/task"
)

// FlowName is the flow's name.
const FlowName = "routing-deploy"

// Params are the flow's parameters.
type Params struct {
	Environment string `json:"environment" doc:"environment whose configuration block is used"`
	// RoutingConfigID is the NetautoRoutingConfig node, for runs by hand.
	RoutingConfigID string `json:"routing_config_id,omitempty"`
	Branch          string `json:"branch,omitempty"`
	// Event is the artifact webhook that started the run, whole.
	Event *trigger.Event `json:"event,omitempty"`
}

// ParamsError is a bad parameter or an unsupported target; not retried.
type ParamsError struct{ Field, Reason string }

func (e *ParamsError) Error() string { return e.Field + ": " + e.Reason }

// CheckError is a post-check that failed after the push.
type CheckError struct{ Device, Reason string }

func (e *CheckError) Error() string { return "post-check " + e.Device + ": " + e.Reason }

// Deps are what the flow needs from the program.
type Deps struct {
	// Config loads an environment's configuration (required).
	Config common.Loader
	// Secrets resolves DeviceDefaults' secret references.
	Secrets device.SecretResolver
	// DeviceDefaults are the session parameters of every device; the
	// platform, address and port come from Infrahub.
	DeviceDefaults device.Params
}

// Neighbor is an intended BGP neighbour.
type Neighbor struct {
	Address     string `json:"address"`
	RemoteAS    int64  `json:"remote_as"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// Intent is the routing configuration Infrahub holds for one device.
type Intent struct {
	Device    string     `json:"device"`
	Address   string     `json:"address"`
	Port      int        `json:"port,omitempty"`
	Platform  string     `json:"platform"`
	LocalAS   int64      `json:"local_as"`
	RouterID  string     `json:"router_id,omitempty"`
	Neighbors []Neighbor `json:"neighbors"`
}

// Result is what a run did.
type Result struct {
	Device  string   `json:"device"`
	Pushed  []string `json:"pushed,omitempty"`
	Diff    string   `json:"diff,omitempty"`
	Changed bool     `json:"changed"`
}

type routingNode struct {
	ID       string                `json:"id"`
	Name     infrahub.Attr[string] `json:"name"`
	LocalAS  infrahub.Attr[int64]  `json:"local_as"`
	RouterID infrahub.Attr[string] `json:"router_id"`
	Device   struct {
		Node *struct {
			ID string `json:"id"`
		} `json:"node"`
	} `json:"device"`
}

type deviceNode struct {
	ID                string                `json:"id"`
	Name              infrahub.Attr[string] `json:"name"`
	ManagementAddress infrahub.Attr[string] `json:"management_address"`
	SSHPort           infrahub.Attr[int]    `json:"ssh_port"`
	Platform          infrahub.Attr[string] `json:"platform"`
	BGPNeighbors      struct {
		Edges []struct {
			Node struct {
				PeerAddress infrahub.Attr[string] `json:"peer_address"`
				RemoteAS    infrahub.Attr[int64]  `json:"remote_as"`
				Description infrahub.Attr[string] `json:"description"`
				Enabled     infrahub.Attr[bool]   `json:"enabled"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"bgp_neighbors"`
}

type target struct {
	Environment string `json:"environment"`
	ID          string `json:"id"`
	Branch      string `json:"branch,omitempty"`
}

type pushIn struct {
	Environment string   `json:"environment"`
	Intent      Intent   `json:"intent"`
	Lines       []string `json:"lines"`
	// Before is the section's lines before the push, for the rollback;
	// NewSection says the device had no such section at all.
	Before     []string `json:"before,omitempty"`
	NewSection bool     `json:"new_section,omitempty"`
}

// diffOut is what the diff step found: the lines to push and the section
// as the device has it.
type diffOut struct {
	Missing    []string `json:"missing"`
	Before     []string `json:"before,omitempty"`
	NewSection bool     `json:"new_section,omitempty"`
}

// Render returns the configuration lines of in for its platform: the
// "router bgp" section with the router id and every neighbour.
func Render(in Intent) ([]string, error) {
	switch in.Platform {
	case "arista_eos", "cisco_iosxe":
	default:
		return nil, &ParamsError{"platform", fmt.Sprintf("%q is not supported by routing-deploy (arista_eos, cisco_iosxe)", in.Platform)}
	}
	if in.LocalAS <= 0 {
		return nil, &ParamsError{"local_as", "missing"}
	}
	// Values become configuration lines: a line break (or any control
	// character) would push a command of its own; addresses are one word.
	if in.RouterID != "" && !isToken(in.RouterID) {
		return nil, &ParamsError{"router_id", fmt.Sprintf("%q is not one word", in.RouterID)}
	}
	for i, n := range in.Neighbors {
		if !isToken(n.Address) {
			return nil, &ParamsError{fmt.Sprintf("neighbors[%d].peer_address", i), fmt.Sprintf("%q is not one word", n.Address)}
		}
		if strings.ContainsFunc(n.Description, unicode.IsControl) {
			return nil, &ParamsError{fmt.Sprintf("neighbors[%d].description", i), "holds a line break or control character"}
		}
	}
	lines := []string{fmt.Sprintf("router bgp %d", in.LocalAS)}
	if in.RouterID != "" {
		lines = append(lines, "router-id "+in.RouterID)
	}
	for _, n := range in.Neighbors {
		lines = append(lines, fmt.Sprintf("neighbor %s remote-as %d", n.Address, n.RemoteAS))
		if n.Description != "" {
			lines = append(lines, fmt.Sprintf("neighbor %s description %s", n.Address, n.Description))
		}
		if !n.Enabled {
			lines = append(lines, fmt.Sprintf("neighbor %s shutdown", n.Address))
		}
	}
	return lines, nil
}

// isToken reports whether s is one printable word.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// section returns the trimmed lines under the top-level line head of a
// running configuration.
func section(running, head string) []string {
	var out []string
	in := false
	for l := range strings.SplitSeq(running, "\n") {
		l = strings.TrimRight(l, "\r ")
		switch {
		case l == head:
			in = true
		case in && (l == "" || !strings.HasPrefix(l, " ")):
			in = false
		case in:
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// Missing returns the lines of rendered (a section head followed by its
// children) that running lacks, with the head first when any is missing.
func Missing(running string, rendered []string) []string {
	if len(rendered) == 0 {
		return nil
	}
	have := section(running, rendered[0])
	var miss []string
	for _, l := range rendered[1:] {
		if !slices.Contains(have, l) {
			miss = append(miss, l)
		}
	}
	if len(miss) == 0 {
		return nil
	}
	return append([]string{rendered[0]}, miss...)
}

// Inverse returns the lines that undo pushed (a head and its children):
// the head, then "no <child>" newest first.
func Inverse(pushed []string) []string {
	if len(pushed) < 2 {
		return nil
	}
	out := []string{pushed[0]}
	for i := len(pushed) - 1; i >= 1; i-- {
		out = append(out, "no "+pushed[i])
	}
	return out
}

// Restore returns the lines that put a section back as running (the
// device's configuration before the push) had it: [Inverse] of pushed,
// then every line the section had, again. A pushed line that changed a
// value (router-id, a neighbour's description or remote AS) replaced the
// device's line, and "no <new line>" alone would leave the setting absent;
// lines that are still in place are set again unchanged.
//
// When running has no such section at all, the push created it: the
// section is removed ("no <head>"), since an empty one (an empty "router
// bgp") is not the configuration the device had.
func Restore(running string, pushed []string) []string {
	if len(pushed) < 2 {
		return nil
	}
	return restoreLines(section(running, pushed[0]), !hasSection(running, pushed[0]), pushed)
}

// restoreLines is [Restore] with the section's lines already read.
func restoreLines(before []string, newSection bool, pushed []string) []string {
	if len(pushed) < 2 {
		return nil
	}
	if newSection {
		return []string{"no " + pushed[0]}
	}
	return append(Inverse(pushed), before...)
}

// hasSection reports whether running has the top-level line head.
func hasSection(running, head string) bool {
	for l := range strings.SplitSeq(running, "\n") {
		if strings.TrimRight(l, "\r ") == head {
			return true
		}
	}
	return false
}

func (d Deps) host(in Intent) device.Host {
	p := d.DeviceDefaults
	p.Platform, p.Port = in.Platform, in.Port
	return device.Host{Name: in.Device, Address: in.Address, Params: p}
}

func (d Deps) session(ctx context.Context, in Intent, fn func(*device.Session) error) error {
	s, err := device.Open(ctx, d.host(in), d.Secrets)
	if err != nil {
		return fmt.Errorf("device %s: %w", in.Device, err)
	}
	defer s.Close()
	return fn(s)
}

// New returns the routing-deploy flow wired to d; opts (hooks) are added.
func New(d Deps, opts ...flow.Option) *flow.Flow[Params, Result] {
	load := task.New("load-intent", func(ctx context.Context, t target) (Intent, error) {
		cfg, err := d.Config(ctx, t.Environment)
		if err != nil {
			return Intent{}, err
		}
		c, err := common.Infrahub(cfg)
		if err != nil {
			return Intent{}, err
		}
		rc, err := infrahub.Get[routingNode](ctx, c, schema.KindNetautoRoutingConfig, t.ID, t.Branch)
		if err != nil {
			return Intent{}, fmt.Errorf("routing config %s: %w", t.ID, err)
		}
		if rc.Device.Node == nil {
			return Intent{}, flow.NonRetryable(&ParamsError{"device", "routing config " + t.ID + " has no device"})
		}
		dev, err := infrahub.Get[deviceNode](ctx, c, schema.KindNetworkDevice, rc.Device.Node.ID, t.Branch)
		if err != nil {
			return Intent{}, fmt.Errorf("device %s: %w", rc.Device.Node.ID, err)
		}
		in := Intent{
			Device: dev.Name.Value, Address: dev.ManagementAddress.Value, Port: dev.SSHPort.Value,
			Platform: dev.Platform.Value, LocalAS: rc.LocalAS.Value, RouterID: rc.RouterID.Value,
		}
		for _, e := range dev.BGPNeighbors.Edges {
			in.Neighbors = append(in.Neighbors, Neighbor{
				Address: e.Node.PeerAddress.Value, RemoteAS: e.Node.RemoteAS.Value,
				Description: e.Node.Description.Value, Enabled: e.Node.Enabled.Value,
			})
		}
		slices.SortFunc(in.Neighbors, func(a, b Neighbor) int { return strings.Compare(a.Address, b.Address) })
		return in, nil
	}, task.WithRetries(3), task.WithBackoff(flow.Exponential(time.Second, 2, 10*time.Second)))

	diff := task.New("diff", func(ctx context.Context, in pushIn) (diffOut, error) {
		var out diffOut
		err := d.session(ctx, in.Intent, func(s *device.Session) error {
			running, err := s.RunningConfig(ctx)
			if err != nil {
				return err
			}
			out.Missing = Missing(running, in.Lines)
			if len(in.Lines) > 0 {
				out.Before = section(running, in.Lines[0])
				out.NewSection = !hasSection(running, in.Lines[0])
			}
			return nil
		})
		return out, err
	}, task.WithRetries(2), task.WithTagsFrom(func(in pushIn) []string { return []string{device.DeviceTag(in.Intent.Device)} }),
		// The section's running configuration holds neighbour passwords.
		task.WithSensitiveResult())

	push := task.New("push", func(ctx context.Context, in pushIn) (string, error) {
		var out string
		err := d.session(ctx, in.Intent, func(s *device.Session) error {
			ch, err := s.Configure(ctx, in.Lines)
			if err != nil {
				return err
			}
			out = ch.Diff
			return nil
		})
		if err == nil {
			flow.Logger(ctx).Info("pushed", "device", in.Intent.Device, "lines", len(in.Lines)-1)
		}
		return out, err
	}, task.WithTagsFrom(func(in pushIn) []string { return []string{device.DeviceTag(in.Intent.Device)} }),
		task.WithCompensation(func(ctx context.Context, in pushIn, _ string) error {
			undo := restoreLines(in.Before, in.NewSection, in.Lines)
			return d.session(ctx, in.Intent, func(s *device.Session) error {
				if _, err := s.Configure(ctx, undo); err != nil {
					return fmt.Errorf("rollback %s: %w", in.Intent.Device, err)
				}
				flow.Logger(ctx).Warn("rolled back", "device", in.Intent.Device, "lines", len(undo)-1)
				return nil
			})
		}))

	check := task.New("post-check", func(ctx context.Context, in pushIn) (int, error) {
		var up int
		err := d.session(ctx, in.Intent, func(s *device.Session) error {
			res, err := s.Send(ctx, "show ip bgp summary")
			if err != nil {
				return err
			}
			out := ""
			if len(res) > 0 {
				out = res[0].Output
			}
			for _, n := range in.Intent.Neighbors {
				if !n.Enabled {
					continue
				}
				if !established(out, n.Address) {
					return flow.NonRetryable(&CheckError{in.Intent.Device, "BGP neighbour " + n.Address + " not Established"})
				}
				up++
			}
			return nil
		})
		return up, err
	}, task.WithTagsFrom(func(in pushIn) []string { return []string{device.DeviceTag(in.Intent.Device)} }))

	return flow.New(FlowName, func(ctx context.Context, p Params) (Result, error) {
		t, err := resolve(p)
		if err != nil {
			return Result{}, flow.NonRetryable(err)
		}
		intent, err := load.Run(ctx, t)
		if err != nil {
			return Result{}, err
		}
		lines, err := Render(intent)
		if err != nil {
			return Result{}, flow.NonRetryable(err)
		}
		in := pushIn{Environment: p.Environment, Intent: intent, Lines: lines}
		dout, err := diff.Run(ctx, in)
		if err != nil {
			return Result{}, err
		}
		miss := dout.Missing
		res := Result{Device: intent.Device}
		if len(miss) == 0 {
			flow.Logger(ctx).Info("no change", "device", intent.Device)
			return res, nil
		}
		in.Lines, in.Before, in.NewSection = miss, dout.Before, dout.NewSection
		if res.Diff, err = push.Run(ctx, in); err != nil {
			return res, err
		}
		res.Pushed, res.Changed = miss[1:], true
		if _, err := check.Run(ctx, in); err != nil {
			return res, err
		}
		return res, nil
	}, append([]flow.Option{
		flow.WithDescription("renders BGP configuration from Infrahub, pushes the difference over SSH, checks sessions, rolls back on failure"),
		flow.WithRunName("routing-{{.Environment}}"), flow.WithTimeout(15 * time.Minute),
		flow.WithRetryIf(func(err error) bool { var pe *ParamsError; return !errors.As(err, &pe) }),
	}, opts...)...)
}

// established reports whether a BGP summary shows addr's session up: its
// row ends in a prefix count rather than a state name.
func established(summary, addr string) bool {
	for l := range strings.SplitSeq(summary, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != addr {
			continue
		}
		for _, s := range f[1:] {
			switch strings.ToLower(s) {
			case "idle", "active", "connect", "opensent", "openconfirm", "(admin)":
				return false
			case "estab", "established":
				return true
			}
		}
		last := f[len(f)-1]
		return strings.Trim(last, "0123456789") == ""
	}
	return false
}

func resolve(p Params) (target, error) {
	if err := common.CheckEnvironment(p.Environment); err != nil {
		return target{}, &ParamsError{"environment", err.Error()}
	}
	t := target{Environment: p.Environment, ID: p.RoutingConfigID, Branch: p.Branch}
	if p.Event != nil {
		ev, err := infrahub.DecodeEvent(p.Event.Payload)
		if err != nil {
			return t, &ParamsError{"event.payload", err.Error()}
		}
		ad, ok := ev.Data.(*infrahub.ArtifactData)
		if !ok {
			return t, &ParamsError{"event.payload", "event " + ev.Type + " carries no artifact"}
		}
		if ad.TargetKind != schema.KindNetautoRoutingConfig {
			return t, &ParamsError{"event.payload.data.target_kind", ad.TargetKind + " is not " + schema.KindNetautoRoutingConfig}
		}
		t.ID = ad.TargetID
		if t.Branch == "" {
			t.Branch = ev.Branch
		}
	}
	if t.ID == "" {
		return t, &ParamsError{"routing_config_id", "empty, and no artifact event"}
	}
	return t, nil
}
