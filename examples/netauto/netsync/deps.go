package netsync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/trigger"
	"github.com/netauto-dev/netauto/task"
)

// Flow names, as the runtime registers them and deployments refer to them.
const (
	FlowInventorySync = "inventory-sync"
	FlowConfigBackup  = "config-backup"
	FlowValidation    = "validation-processor"
)

// Deps are what the flows need from the program that wires them: how to
// reach Infrahub for an environment, how to log in to devices, where the
// backups go. Only Infrahub is required by every flow; ConfigBackup also
// needs BackupDir. The zero values of the other fields are usable.
type Deps struct {
	// Infrahub returns the client for an environment ("production",
	// "staging", ...), typically built from that environment's config
	// block. It is called once per task that talks to Infrahub; cache the
	// client if building one is costly. Errors are retried with the task's
	// retry policy; wrap one a retry cannot fix (an unknown environment)
	// in flow.NonRetryable. Required.
	Infrahub func(ctx context.Context, environment string) (*infrahub.Client, error)

	// Secrets resolves the credential references of DeviceDefaults
	// (PasswordSecret, EnableSecret, PrivateKeySecret, ...) and of
	// BackupPush when sessions open.
	Secrets device.SecretResolver
	// DeviceDefaults are the session parameters every device gets:
	// Username, secret references, host key policy (KnownHostsFile or
	// InsecureIgnoreHostKey), timeouts. The platform, address and SSH port
	// of each device come from Infrahub and override these.
	DeviceDefaults device.Params
	// FanOut bounds how many devices are worked on at once, each device's
	// deadline and the failure threshold (device.FanOut; default 10 at
	// once). Its Limiter, when nil, is the flow engine's, so the tag
	// "device:<name>" keeps two flows off one device.
	FanOut device.FanOut

	// BackupDir is the directory of the configuration backup Git
	// repository (a bare repository, created when missing). The text
	// "{environment}" in it is replaced by the run's environment, so one
	// setting serves every environment. Required by ConfigBackup.
	BackupDir string
	// BackupPush, when set, pushes the backup repository after every run
	// (a run without commits catches up a push that failed).
	BackupPush *backup.Push
	// BackupAuthor signs the backup commits (default
	// "netauto backup <backup@netauto>").
	BackupAuthor string
	// BackupEmail is the author's e-mail (with BackupAuthor).
	BackupEmail string

	// Now returns the time written to last_seen and validated_at (default
	// time.Now).
	Now func() time.Time
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) client(ctx context.Context, env string) (*infrahub.Client, error) {
	if d.Infrahub == nil {
		return nil, flow.NonRetryable(errors.New("sync: Deps.Infrahub is nil"))
	}
	c, err := d.Infrahub(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("infrahub client for environment %q: %w", env, err)
	}
	if c == nil {
		return nil, flow.NonRetryable(fmt.Errorf("sync: Deps.Infrahub returned no client for environment %q", env))
	}
	return c, nil
}

// settled marks Infrahub's answers that a retry cannot change as
// flow.NonRetryable, so the task and its flow fail at once with the
// reason instead of repeating the same refused request: credentials
// refused or a permission missing (infrahub.ErrUnauthorized, which
// infrahub.ErrPermissionDenied matches too), a node gone
// (infrahub.ErrNotFound), a uniqueness violation
// (infrahub.ErrAlreadyExists). Transport failures, 5xx and timeouts stay
// retryable; the client has already retried them within its own policy.
func settled(err error) error {
	if err != nil && (errors.Is(err, infrahub.ErrUnauthorized) || errors.Is(err, infrahub.ErrNotFound) ||
		errors.Is(err, infrahub.ErrAlreadyExists)) {
		return flow.NonRetryable(err)
	}
	return err
}

// writeTask is a task writing a flow's results to the environment's
// Infrahub with write: retried twice with backoff on transport failures,
// never on a refusal a retry cannot change (see settled).
func writeTask[In any](d Deps, name string, env func(In) string, write func(context.Context, *infrahub.Client, In) (int, error)) *task.Task[In, int] {
	return task.New(name, func(ctx context.Context, in In) (int, error) {
		c, err := d.client(ctx, env(in))
		if err != nil {
			return 0, err
		}
		n, err := write(ctx, c, in)
		return n, settled(err)
	}, task.WithRetries(2), task.WithBackoff(retry.Exponential(time.Second, 2, 10*time.Second)), task.WithTimeout(10*time.Minute))
}

// Params are the parameters of every flow of this package. Scheduled
// deployments pass {"environment": "production"}; the webhook trigger
// table adds the event.
type Params struct {
	// Environment selects the configuration (Infrahub instance, device
	// credentials) the run uses: a plain name (letters, digits, '.', '_',
	// '-'), as it also names the backup repository's directory.
	Environment string `json:"environment" doc:"Environment whose configuration the run uses: production, staging, dev, ..."`
	// Branch is the Infrahub branch read and written; empty means the
	// triggering event's branch, else Infrahub's default branch.
	Branch string `json:"branch,omitempty" doc:"Infrahub branch to read and write (default: the event's branch, else the default branch)"`
	// Devices limits the run to these NetworkDevice names.
	Devices []string `json:"devices,omitempty" doc:"Only these devices (NetworkDevice names); empty means all active devices"`
	// Role limits the run to devices with this role, one of the
	// NetworkDevice role choices of the schema.
	Role string `json:"role,omitempty" doc:"Only devices with this role (edge, core, spine, leaf, access, firewall)"`
	// Site limits the run to devices at the site with this short name.
	Site string `json:"site,omitempty" doc:"Only devices at this site (LocationSite shortname)"`
	// Event is the Infrahub webhook event that started the run, when a
	// trigger started it. A node event about a NetworkDevice limits the
	// run to that device; its branch is used when Branch is empty.
	Event *trigger.Event `json:"event,omitempty" doc:"The Infrahub webhook event that triggered the run, if any"`
}

// ParamsError is a bad parameter; Field names it as in the JSON
// parameters ("environment", "devices[2]").
type ParamsError struct {
	Field string
	Msg   string
}

// Error names the parameter and the problem.
func (e *ParamsError) Error() string { return "parameter " + e.Field + ": " + e.Msg }

// selection is what a run works on, resolved from Params.
type selection struct {
	Environment string   `json:"environment"`
	Branch      string   `json:"branch,omitempty"`
	Names       []string `json:"names,omitempty"`
	IDs         []string `json:"ids,omitempty"`
	Role        string   `json:"role,omitempty"`
	Site        string   `json:"site,omitempty"`
	// ValidatorID and ValidatorKind are the Infrahub validator of the
	// event that started the run: the run works on the devices its checks
	// name (see validatorDevices).
	ValidatorID   string `json:"validator_id,omitempty"`
	ValidatorKind string `json:"validator_kind,omitempty"`
	// Skip is set when the event says there is nothing to do (the device
	// was deleted); SkipReason says why.
	Skip       bool   `json:"skip,omitempty"`
	SkipReason string `json:"skip_reason,omitempty"`
}

// envName is what an environment name may be: it is substituted into
// Deps.BackupDir, so nothing that could leave that directory.
var envName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// resolve validates p and derives the selection, decoding the event.
func (p Params) resolve() (selection, error) {
	s := selection{Environment: strings.TrimSpace(p.Environment), Branch: p.Branch, Role: p.Role, Site: p.Site}
	if s.Environment == "" {
		return s, &ParamsError{Field: "environment", Msg: "required"}
	}
	if !envName.MatchString(s.Environment) || strings.Contains(s.Environment, "..") {
		// It becomes part of a path (Deps.BackupDir's "{environment}").
		return s, &ParamsError{Field: "environment", Msg: fmt.Sprintf("%q is not a plain name (letters, digits, '.', '_', '-')", s.Environment)}
	}
	if roles := schema.Choices(kindDevice, "role"); s.Role != "" && !slices.Contains(roles, s.Role) {
		// A typo would select no device and the run would "succeed".
		return s, &ParamsError{Field: "role", Msg: fmt.Sprintf("%q is not a role (one of %s)", s.Role, strings.Join(roles, ", "))}
	}
	for i, n := range p.Devices {
		if strings.TrimSpace(n) == "" {
			return s, &ParamsError{Field: fmt.Sprintf("devices[%d]", i), Msg: "empty device name"}
		}
		s.Names = append(s.Names, n)
	}
	if p.Event == nil || len(p.Event.Payload) == 0 {
		return s, nil
	}
	ev, err := infrahub.DecodeEvent(p.Event.Payload)
	if err != nil {
		return s, &ParamsError{Field: "event.payload", Msg: err.Error()}
	}
	if s.Branch == "" {
		s.Branch = ev.Branch
	}
	switch d := ev.Data.(type) {
	case *infrahub.NodeData:
		if d.Kind != kindDevice {
			break
		}
		if ev.Type == infrahub.EventNodeDeleted || d.Action == "deleted" {
			s.Skip, s.SkipReason = true, fmt.Sprintf("device %s was deleted", d.NodeID)
			break
		}
		if d.NodeID == "" {
			return s, &ParamsError{Field: "event.payload.data.node_id", Msg: "empty for a " + kindDevice + " event"}
		}
		s.IDs = []string{d.NodeID}
	case *infrahub.ArtifactData:
		if d.TargetKind == kindDevice && d.TargetID != "" {
			s.IDs = []string{d.TargetID}
		}
	case *infrahub.ValidatorData:
		if d.NodeID == "" {
			return s, &ParamsError{Field: "event.payload.data.node_id", Msg: "empty for a validator event"}
		}
		s.ValidatorID, s.ValidatorKind = d.NodeID, d.Kind
	}
	return s, nil
}
