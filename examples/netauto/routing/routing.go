// Package routing holds the netauto example's routing deployment flow
// ("routing-deploy"), ported from the original orchestrator: make a
// device's BGP configuration match Infrahub's intent, check that the
// sessions came up, and roll back exactly what was pushed when anything
// fails.
//
// The flow's target is a NetautoRoutingConfig node (schema package
// examples/netauto/schema): its local_as and router_id, the NetworkDevice
// it belongs to, and that device's NetworkBGPNeighbor nodes are the
// intended state. An "infrahub.artifact.updated" event whose target kind is
// NetautoRoutingConfig starts it (Params.Event); Params.RoutingConfigID
// starts it by hand.
//
// Tasks: load-intent → diff → (approval) → push → post-check →
// confirm-commit (Junos). When the environment's configuration block
// requires approval (envconfig.Approval), the plan's lines (Prompt) wait
// for a human's answer before the push; a rejection ends the run
// Cancelled with nothing pushed.
// The diff reads the device's configuration and makes a Plan (NewPlan):
// intended neighbours the device lacks are added, differing ones changed
// (remote AS, description, enabled), and global neighbours Infrahub no
// longer lists are removed; each step carries the lines that undo it,
// computed from the device's own lines (a removed neighbour is restored
// line by line). The push sends the plan with device.Session.Configure; a
// push refused part-way is compensated for exactly the lines the device
// applied (device.ChangeError), a complete one is compensated when a later
// step fails.
//
// The post-check waits for every intended enabled neighbour to be
// Established in the BGP summary: a router brings a new session, or one
// whose remote AS, shutdown, password or update source changed, through
// Idle, Connect, Active, OpenSent and OpenConfirm, which takes from a few
// seconds to well over a minute (the connect-retry timer is commonly 120 s
// on IOS and 30 s on Junos and EOS), while a session only renamed stays
// up. It reads the summary every Deps.PostCheckInterval (5 s) on one SSH
// session until all are up or Deps.PostCheckTimeout (3 minutes) has
// passed, on the flow engine's clock (tests with a fake clock do not
// wait), logging each poll at debug level and the outcome at info (warning
// when it fails). Neighbours Infrahub has disabled are not waited for. A
// read that fails is tried again at the next poll; a summary the device
// refuses fails at once. When the time is up the run fails with a
// *CheckError naming each neighbour not up and its last state
// (CheckError.Sessions); it is not retried: the push's compensation runs,
// and the failure hooks (package events) notify. A cancelled run stops
// waiting at once and is rolled back too.
//
// Platforms: cisco_iosxe and arista_eos (one-line neighbour statements
// under "router bgp"), cisco_nxos (the "neighbor A" sub-mode), and
// juniper_junos (set/delete statements through a private candidate,
// "commit check" and "commit confirmed", confirmed after the post-check,
// so a change that cuts the device off rolls itself back; the post-check's
// timeout must leave a minute of the confirmation window). A device
// running another BGP AS, or a neighbour inheriting its remote AS from a
// group, is a *ConflictError: the flow does not change those by itself.
//
// The plan is persisted as a task result with its secrets masked
// (Plan.MarshalJSON); a run resumed from the store cannot restore a secret
// it never kept, and its compensation says so instead of pushing a mask.
package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/flow/retry"
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

// CheckError is a post-check that failed after the push: BGP sessions
// still not Established when its time was up, or a summary it could not
// read.
type CheckError struct {
	Device, Reason string
	// Sessions are the last states read of the intended enabled
	// neighbours that were not Established ("not listed" for one the
	// summary lacked), by address as Infrahub spells it.
	Sessions map[string]string
	// Waited is how long the post-check waited for them.
	Waited time.Duration
	// Err is why the summary could not be read, when the last read failed.
	Err error
}

func (e *CheckError) Error() string { return "post-check " + e.Device + ": " + e.Reason }

// Unwrap returns the error of the last failed read of the summary.
func (e *CheckError) Unwrap() error { return e.Err }

// The post-check's wait, when Deps leave it 0.
const (
	// DefaultPostCheckTimeout is how long the post-check waits for the
	// sessions: a session a device brings up takes from seconds to more
	// than a minute (the connect-retry timer is commonly 120 s on IOS and
	// 30 s on Junos and EOS, and the peer may answer only at its next
	// try).
	DefaultPostCheckTimeout = 3 * time.Minute
	// DefaultPostCheckInterval is the time between two reads of the BGP
	// summary.
	DefaultPostCheckInterval = 5 * time.Second
)

// Deps are what the flow needs from the program.
type Deps struct {
	// Config loads an environment's configuration (required).
	Config envconfig.Loader
	// Secrets resolves DeviceDefaults' secret references.
	Secrets device.SecretResolver
	// DeviceDefaults are the session parameters of every device; the
	// platform, address and port come from Infrahub.
	DeviceDefaults device.Params
	// CommitConfirmMinutes is how long a Junos change stays in force
	// without the confirmation sent after the post-check ("commit
	// confirmed N"); 0 means 10, a negative value commits without
	// confirmation.
	CommitConfirmMinutes int
	// PostCheckTimeout is how long the post-check waits, after the push,
	// for every intended enabled neighbour to be Established before the
	// run fails and the change is rolled back; 0 means
	// DefaultPostCheckTimeout (3 minutes). On Junos it must end at least a
	// minute before the commit-confirmed window does.
	PostCheckTimeout time.Duration
	// PostCheckInterval is the time between two reads of the BGP summary
	// while waiting; 0 means DefaultPostCheckInterval (5 seconds).
	PostCheckInterval time.Duration
}

// postCheckWait returns the post-check's timeout and interval.
func (d Deps) postCheckWait() (timeout, interval time.Duration) {
	timeout, interval = d.PostCheckTimeout, d.PostCheckInterval
	if timeout == 0 {
		timeout = DefaultPostCheckTimeout
	}
	if interval == 0 {
		interval = DefaultPostCheckInterval
	}
	return timeout, interval
}

// checkWait refuses a wait that cannot work on platform, before anything
// is pushed.
func (d Deps) checkWait(platform string) error {
	timeout, _ := d.postCheckWait()
	switch {
	case d.PostCheckTimeout < 0:
		return &ParamsError{"PostCheckTimeout", fmt.Sprintf("%s is negative", d.PostCheckTimeout)}
	case d.PostCheckInterval < 0:
		return &ParamsError{"PostCheckInterval", fmt.Sprintf("%s is negative", d.PostCheckInterval)}
	case platform == "juniper_junos" && d.confirmMinutes() > 0 && timeout+time.Minute > time.Duration(d.confirmMinutes())*time.Minute:
		return &ParamsError{"PostCheckTimeout", fmt.Sprintf("%s leaves less than a minute of the %d-minute commit-confirmed window (CommitConfirmMinutes) to confirm the Junos commit", timeout, d.confirmMinutes())}
	}
	return nil
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
	Device string `json:"device"`
	// Pushed are the lines sent, secrets masked.
	Pushed []string `json:"pushed,omitempty"`
	// Diff is the device's configuration change (sanitized).
	Diff    string `json:"diff,omitempty"`
	Changed bool   `json:"changed"`
	// Added, Updated and Removed name the neighbours the run added,
	// changed and removed.
	Added   []string `json:"added,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Removed []string `json:"removed,omitempty"`
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
	Environment string `json:"environment"`
	Intent      Intent `json:"intent"`
	Plan        Plan   `json:"plan"`
}

// checkOut is what the post-check saw.
type checkOut struct {
	// Established are the intended enabled neighbours, all Established.
	Established []string `json:"established,omitempty"`
	// Polls is how many times the summary was read.
	Polls int `json:"polls"`
	// Waited is how long it took them to come up.
	Waited time.Duration `json:"waited"`
}

// pushOut is what the push did.
type pushOut struct {
	Diff           string `json:"diff,omitempty"`
	Lines          int    `json:"lines"`
	ConfirmPending bool   `json:"confirm_pending,omitempty"`
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

// confirmMinutes is how long a Junos change waits for its confirmation.
func (d Deps) confirmMinutes() int {
	switch {
	case d.CommitConfirmMinutes < 0:
		return 0
	case d.CommitConfirmMinutes == 0:
		return 10
	}
	return d.CommitConfirmMinutes
}

// rollback pushes the steps undoing a push (or its applied part).
func (d Deps) rollback(ctx context.Context, in pushIn, steps []Step) error {
	lines, _ := render(steps)
	if len(lines) == 0 {
		return nil
	}
	if l, lost := hasSecretMask(lines); lost {
		// A plan read back from the store: never push a mask as a secret.
		return flow.NonRetryable(fmt.Errorf("rollback %s: %q was persisted with its secret masked and cannot be restored: restore it from the configuration backup", in.Intent.Device, l))
	}
	return d.session(ctx, in.Intent, func(s *device.Session) error {
		if _, err := s.Configure(ctx, lines); err != nil {
			return fmt.Errorf("rollback %s: %w", in.Intent.Device, err)
		}
		flow.Logger(ctx).Warn("rolled back", "device", in.Intent.Device, "lines", len(lines))
		return nil
	})
}

// New returns the routing-deploy flow wired to d; opts (hooks) are added.
func New(d Deps, opts ...flow.Option) *flow.Flow[Params, Result] {
	load := task.New("load-intent", func(ctx context.Context, t target) (Intent, error) {
		cfg, err := d.Config(ctx, t.Environment)
		if err != nil {
			return Intent{}, err
		}
		c, err := envconfig.Infrahub(cfg)
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
	}, task.WithRetries(3), task.WithBackoff(retry.Exponential(time.Second, 2, 10*time.Second)))

	deviceTag := task.WithTagsFrom(func(in pushIn) []string { return []string{device.DeviceTag(in.Intent.Device)} })

	diffFn := func(ctx context.Context, in pushIn) (Plan, error) {
		if err := in.Intent.validate(); err != nil {
			return Plan{}, flow.NonRetryable(err)
		}
		var plan Plan
		err := d.session(ctx, in.Intent, func(s *device.Session) error {
			running, err := s.RunningConfig(ctx)
			if err != nil {
				return err
			}
			display := ""
			if in.Intent.Platform == "juniper_junos" {
				res, err := s.Send(ctx, "show configuration | display set")
				if err != nil {
					return err
				}
				display = res[0].Output
			}
			plan, err = NewPlan(in.Intent, running, display)
			return err
		})
		var ce *ConflictError
		var pe *ParamsError
		if errors.As(err, &ce) || errors.As(err, &pe) {
			err = flow.NonRetryable(err)
		}
		return plan, err
	}
	// The plan holds the device's lines, neighbour passwords included
	// (masked by Plan.MarshalJSON; sealed at rest as well).
	diff := task.New("diff", diffFn, task.WithRetries(2), deviceTag, task.WithSensitiveResult())
	// replan reads the device again after an approval that suspended the
	// run: the plan read back from the store lost its secrets.
	replan := task.New("re-plan", diffFn, task.WithRetries(2), deviceTag, task.WithSensitiveResult())

	push := task.New("push", func(ctx context.Context, in pushIn) (pushOut, error) {
		lines := in.Plan.Lines()
		var opts []device.ConfigureOption
		if in.Intent.Platform == "juniper_junos" && d.confirmMinutes() > 0 {
			opts = append(opts, device.WithCommitConfirmed(d.confirmMinutes()))
		}
		out := pushOut{Lines: len(lines)}
		err := d.session(ctx, in.Intent, func(s *device.Session) error {
			ch, err := s.Configure(ctx, lines, opts...)
			if ch != nil {
				out.Diff, out.ConfirmPending = ch.Diff, ch.ConfirmPending
			}
			if err != nil && ch != nil && len(ch.Applied) > 0 {
				// Refused part-way: the lines before the refusal are in
				// force. The task fails, so its own compensation is not
				// registered: register the undo of exactly those.
				applied := len(ch.Applied)
				undo := in.Plan.undo(applied)
				rec := flow.RunFrom(ctx).Record()
				flowext.AddCompensation(ctx, flowext.Compensation{
					Key: rec.TaskKey + "/partial", Name: "push.compensate", RunName: rec.RunName + ".compensate",
					Tags: rec.Tags, Fn: func(ctx context.Context) error { return d.rollback(ctx, in, undo) },
				})
				flow.Logger(ctx).Warn("push refused part-way", "device", in.Intent.Device, "applied", applied, "lines", len(lines))
			}
			return err
		})
		if err == nil {
			flow.Logger(ctx).Info("pushed", "device", in.Intent.Device, "lines", len(lines),
				"added", len(in.Plan.Added), "updated", len(in.Plan.Updated), "removed", len(in.Plan.Removed))
		}
		return out, err
	}, deviceTag, task.WithCompensation(func(ctx context.Context, in pushIn, out pushOut) error {
		return d.rollback(ctx, in, in.Plan.undo(out.Lines))
	}))

	check := task.New("post-check", func(ctx context.Context, in pushIn) (checkOut, error) {
		return d.postCheck(ctx, in.Intent)
	}, deviceTag)

	confirm := task.New("confirm-commit", func(ctx context.Context, in pushIn) (bool, error) {
		err := d.session(ctx, in.Intent, func(s *device.Session) error { return s.ConfirmCommit(ctx) })
		return err == nil, err
	}, deviceTag, task.WithRetries(2))

	return flow.New(FlowName, func(ctx context.Context, p Params) (Result, error) {
		t, err := resolve(p)
		if err != nil {
			return Result{}, flow.NonRetryable(err)
		}
		intent, err := load.Run(ctx, t)
		if err != nil {
			return Result{}, err
		}
		if err := intent.validate(); err != nil {
			return Result{}, flow.NonRetryable(err)
		}
		if err := d.checkWait(intent.Platform); err != nil {
			return Result{}, flow.NonRetryable(err)
		}
		in := pushIn{Environment: p.Environment, Intent: intent}
		plan, err := diff.Run(ctx, in)
		if err != nil {
			return Result{}, err
		}
		res := Result{Device: intent.Device}
		if plan.Empty() {
			flow.Logger(ctx).Info("no change", "device", intent.Device)
			return res, nil
		}
		in.Plan = plan
		cfg, err := d.Config(ctx, p.Environment)
		if err != nil {
			return res, err
		}
		if err := envconfig.Gate(ctx, cfg, Prompt(p.Environment, intent, plan)); err != nil {
			return res, err
		}
		if _, lost := hasSecretMask(append(append(plan.Lines(), plan.UndoLines(len(plan.Lines()))...), plan.Before...)); lost {
			// Resumed after a long approval wait: the plan is the
			// store's, its secrets masked (a removed neighbour's password,
			// needed by the rollback). Read the device again: it must
			// still need exactly the change approved.
			fresh, err := replan.Run(ctx, pushIn{Environment: p.Environment, Intent: intent})
			if err != nil {
				return res, err
			}
			if Prompt(p.Environment, intent, fresh).Diff != Prompt(p.Environment, intent, plan).Diff {
				return res, flow.NonRetryable(fmt.Errorf("device %s changed while the change waited for approval; run again to approve the new change", intent.Device))
			}
			plan, in.Plan = fresh, fresh
		}
		out, err := push.Run(ctx, in)
		if err != nil {
			return res, err
		}
		res.Diff, res.Changed = out.Diff, true
		for _, l := range plan.Lines() {
			res.Pushed = append(res.Pushed, device.MaskLine(intent.Platform, l))
		}
		res.Added, res.Updated, res.Removed = plan.Added, plan.Updated, plan.Removed
		if _, err := check.Run(ctx, in); err != nil {
			return res, err
		}
		if out.ConfirmPending {
			if _, err := confirm.Run(ctx, in); err != nil {
				return res, err
			}
		}
		return res, nil
	}, append([]flow.Option{
		flow.WithDescription("makes a device's BGP neighbours match Infrahub (adds, changes, removes) over SSH, checks sessions, rolls back what was applied on failure"),
		flow.WithRunName("routing-{{.Environment}}"), flow.WithTimeout(15 * time.Minute),
		flow.WithRetryIf(func(err error) bool {
			var pe *ParamsError
			var ce *ConflictError
			return !errors.As(err, &pe) && !errors.As(err, &ce)
		}),
	}, opts...)...)
}

// Prompt is what an approver of plan sees: the neighbours added, changed
// and removed, and the lines the push will type on the device (secrets
// masked; "-" marks the "no"/"delete" lines, those that remove).
func Prompt(env string, in Intent, plan Plan) flow.Prompt {
	var b strings.Builder
	for _, g := range []struct {
		what  string
		addrs []string
	}{{"add", plan.Added}, {"change", plan.Updated}, {"remove", plan.Removed}} {
		if len(g.addrs) > 0 {
			fmt.Fprintf(&b, "# %s neighbour(s): %s\n", g.what, strings.Join(g.addrs, ", "))
		}
	}
	for _, l := range plan.Lines() {
		l = device.MaskLine(in.Platform, l)
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "no ") || strings.HasPrefix(t, "delete ") {
			b.WriteString("- " + l + "\n")
		} else {
			b.WriteString("+ " + l + "\n")
		}
	}
	return flow.Prompt{
		Text: fmt.Sprintf("Push BGP changes to %s (%s, %s): %d neighbour(s) added, %d changed, %d removed.",
			in.Device, in.Platform, env, len(plan.Added), len(plan.Updated), len(plan.Removed)),
		Diff:    b.String(),
		Devices: []string{in.Device},
	}
}

func resolve(p Params) (target, error) {
	if err := envconfig.CheckEnvironment(p.Environment); err != nil {
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
