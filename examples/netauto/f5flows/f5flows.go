// Package f5flows holds the netauto example's BIG-IP flows, ported from the
// original orchestrator: deploy an AS3 application, deploy LTM
// configuration and deploy certificates, each from an Infrahub artifact.
//
// Every flow takes [Params]: the environment (its configuration block,
// package envconfig, says where Infrahub and the BIG-IP are), and the artifact
// to deploy, either as the "infrahub.artifact.updated" webhook that started
// the run (Params.Event, the whole payload, as the trigger table passes it)
// or by id (Params.ArtifactID) for a run started by hand.
//
//   - [DeployAS3] ("f5-as3"): fetch the AS3 declaration, read the tenants it
//     touches as they are, declare, then check the result read back (every
//     pool has members: addresses, named servers, an FQDN, a node reference
//     or a discovery source). A failed check or declaration rolls back: tenants
//     that existed are declared again as they were, new ones are deleted.
//     Before declaring it computes the change (f5.Compare of the declaration
//     and the tenants read) and, when the environment's configuration block
//     requires approval (envconfig.Approval), shows it to a human through
//     flow.WaitForInput; a rejection ends the run Cancelled, nothing declared.
//     Once approved it reads the tenants again: when the change they need
//     now is not the one approved (a tenant changed by hand meanwhile), the
//     run fails with a [DriftError], nothing declared; else this read is
//     the rollback's snapshot.
//   - [DeployLTM] ("f5-ltm"): fetch an [LTMSpec] (JSON), create or update its
//     pools and members through iControl REST; on failure created pools are
//     deleted and members added to existing pools removed. When the
//     environment requires approval, the pools to create and members to add
//     are read first and shown (flow.WaitForInput) before anything changes;
//     once approved they are read again, and a plan that differs from the
//     one approved fails the run with a [DriftError], nothing changed.
//   - [DeployCertificates] ("f5-cert"): fetch the new certificate and key
//     PEMs, check the installed certificates' expiry, install key and
//     certificate, check again that the installed one no longer expires
//     within the threshold.
//
// The flows notify through the hooks of package events when given them.
package f5flows

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/trigger"
	"github.com/netauto-dev/netauto/task"
)

// Flow names.
const (
	FlowAS3  = "f5-as3"
	FlowLTM  = "f5-ltm"
	FlowCert = "f5-cert"
)

// Params are the parameters of every F5 flow.
type Params struct {
	// Environment selects the configuration block (required).
	Environment string `json:"environment" doc:"environment whose configuration block is used"`
	// ArtifactID is the CoreArtifact to deploy, for runs started by hand.
	ArtifactID string `json:"artifact_id,omitempty" doc:"CoreArtifact id (when no event)"`
	// Branch is the Infrahub branch (default: the event's, else the default branch).
	Branch string `json:"branch,omitempty"`
	// Event is the webhook that started the run, whole.
	Event *trigger.Event `json:"event,omitempty"`
	// ExpiryDays is the certificate flow's threshold (default 30).
	ExpiryDays int `json:"expiry_days,omitempty"`
}

// ParamsError is a bad parameter; runs fail at once, without retries.
type ParamsError struct{ Field, Reason string }

func (e *ParamsError) Error() string { return e.Field + ": " + e.Reason }

// Deps are what the flows need from the program.
type Deps struct {
	// Config loads an environment's configuration (required).
	Config envconfig.Loader
	// Now is the clock of expiry checks (default time.Now).
	Now func() time.Time
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// artifactRef says which artifact content to fetch.
type artifactRef struct {
	Environment string `json:"environment"`
	ArtifactID  string `json:"artifact_id,omitempty"`
	StorageID   string `json:"storage_id,omitempty"`
	Branch      string `json:"branch,omitempty"`
	TargetKind  string `json:"target_kind,omitempty"`
}

// resolve turns p into the artifact to fetch, checking its fields. An
// event must be about an artifact of kind (the flow's target kind): the
// trigger table routes by kind, and an event of another kind reaching a
// flow (by hand, by a wrong trigger) would deploy the wrong content, or,
// for LTM, "complete" having deployed nothing.
func resolve(p Params, kind string) (artifactRef, error) {
	if err := envconfig.CheckEnvironment(p.Environment); err != nil {
		return artifactRef{}, &ParamsError{"environment", err.Error()}
	}
	ref := artifactRef{Environment: p.Environment, ArtifactID: p.ArtifactID, Branch: p.Branch}
	if p.Event != nil {
		ev, err := infrahub.DecodeEvent(p.Event.Payload)
		if err != nil {
			return ref, &ParamsError{"event.payload", err.Error()}
		}
		ad, ok := ev.Data.(*infrahub.ArtifactData)
		if !ok {
			return ref, &ParamsError{"event.payload", fmt.Sprintf("event %s carries no artifact", ev.Type)}
		}
		if ad.TargetKind != kind {
			return ref, &ParamsError{"event.payload.data.target_kind", fmt.Sprintf("%q is not %s", ad.TargetKind, kind)}
		}
		ref.ArtifactID, ref.StorageID, ref.TargetKind = ad.NodeID, ad.StorageID, ad.TargetKind
		if ref.Branch == "" {
			ref.Branch = ev.Branch
		}
	}
	if ref.ArtifactID == "" && ref.StorageID == "" {
		return ref, &ParamsError{"artifact_id", "empty, and no artifact event"}
	}
	return ref, nil
}

func retryable(err error) bool {
	var pe *ParamsError
	return !errors.As(err, &pe)
}

// Flows builds the three flows on d; opts (hooks) are added to each.
type Flows struct {
	AS3  *flow.Flow[Params, AS3Result]
	LTM  *flow.Flow[Params, LTMResult]
	Cert *flow.Flow[Params, CertResult]
}

// New returns the F5 flows wired to d. opts are added to every flow's own
// options (notification hooks, for instance).
func New(d Deps, opts ...flow.Option) Flows {
	fetch := task.New("fetch-artifact", func(ctx context.Context, ref artifactRef) (string, error) {
		cfg, err := d.Config(ctx, ref.Environment)
		if err != nil {
			return "", err
		}
		c, err := envconfig.Infrahub(cfg)
		if err != nil {
			return "", err
		}
		var b []byte
		if ref.StorageID != "" {
			b, err = c.StorageObject(ctx, ref.StorageID)
		} else {
			b, err = c.ArtifactContent(ctx, ref.ArtifactID, ref.Branch)
		}
		if err != nil {
			return "", fmt.Errorf("artifact %s: %w", orStr(ref.ArtifactID, ref.StorageID), err)
		}
		flow.Logger(ctx).Info("artifact fetched", "artifact", ref.ArtifactID, "bytes", len(b))
		return string(b), nil
	}, task.WithRetries(3), task.WithBackoff(retry.Exponential(time.Second, 2, 10*time.Second)),
		// Certificate artifacts hold private keys: never store the content
		// as a task result; a retried run fetches it again.
		task.WithoutResultPersistence())
	return Flows{AS3: newAS3(d, fetch, opts), LTM: newLTM(d, fetch, opts), Cert: newCert(d, fetch, opts)}
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func flowOpts(name, desc string, extra []flow.Option) []flow.Option {
	return append([]flow.Option{
		flow.WithDescription(desc), flow.WithRunName(name + "-{{.Environment}}"),
		flow.WithRetryIf(retryable), flow.WithTimeout(15 * time.Minute),
	}, extra...)
}

// closeBigIP revokes the task's login token when the task ends: BIG-IP
// refuses a user's 101st live token, and every task makes a client of its
// own (see bigip.Client.Close). It runs on a context of its own so that a
// cancelled task still revokes; a failure is logged, not returned (the
// token then expires on its own after 20 minutes).
func closeBigIP(ctx context.Context, c *f5.Client) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		flow.Logger(ctx).Warn("f5: token not revoked; it expires on its own", "error", err)
	}
}

// bigipFor returns a client for the environment's BIG-IP; the caller
// defers closeBigIP.
func bigipFor(ctx context.Context, d Deps, env string) (*f5.Client, error) {
	cfg, err := d.Config(ctx, env)
	if err != nil {
		return nil, err
	}
	return envconfig.BigIP(cfg)
}

// ---- AS3 ----------------------------------------------------------------

// AS3Result is what an AS3 deployment did.
type AS3Result struct {
	Tenants []string `json:"tenants"`
	Changed bool     `json:"changed"`
	TaskID  string   `json:"task_id,omitempty"`
}

type declareIn struct {
	Environment string          `json:"environment"`
	Body        json.RawMessage `json:"body"`
	Tenants     []string        `json:"tenants"`
	// Before is the device's declaration of Tenants before the change
	// (those that existed), for the rollback.
	Before json.RawMessage `json:"before"`
	// Complete is set when Body has "updateMode": "complete": AS3 then
	// removes every tenant Body does not name, so Before holds them all.
	Complete bool `json:"complete,omitempty"`
}

// completeMode reports whether an AS3 body (an ADC declaration or an AS3
// request wrapping one) has "updateMode": "complete".
func completeMode(body []byte) bool {
	var v struct {
		Class       string          `json:"class"`
		UpdateMode  string          `json:"updateMode"`
		Declaration json.RawMessage `json:"declaration"`
	}
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	if v.Class == "AS3" && len(v.Declaration) > 0 {
		return completeMode(v.Declaration)
	}
	return v.UpdateMode == "complete"
}

// CheckError is a post-deployment check that failed.
type CheckError struct{ Reason string }

func (e *CheckError) Error() string { return "post-check: " + e.Reason }

func newAS3(d Deps, fetch *task.Task[artifactRef, string], opts []flow.Option) *flow.Flow[Params, AS3Result] {
	readTenants := func(ctx context.Context, in declareIn) (json.RawMessage, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return nil, err
		}
		defer closeBigIP(ctx, c)
		cur, err := c.Read(ctx, "base")
		if err != nil {
			return nil, fmt.Errorf("read current declaration: %w", err)
		}
		keep := &f5.Declaration{SchemaVersion: cur.SchemaVersion, Tenants: map[string]*f5.Tenant{}}
		for t, tt := range cur.Tenants {
			if in.Complete || slices.Contains(in.Tenants, t) {
				keep.Tenants[t] = tt
			}
		}
		return json.Marshal(keep)
	}
	// Whole tenants, private keys of certificates included.
	snapshot := task.New("read-tenants", readTenants, task.WithRetries(2), task.WithSensitiveResult())
	// reread reads the tenants again once a change was approved: what the
	// device holds then is what the change is checked against and what a
	// rollback restores. (A task of its own: on resume the first read is
	// reused from the store, this one must not be.)
	reread := task.New("re-read-tenants", readTenants, task.WithRetries(2), task.WithSensitiveResult())

	declare := task.New("declare", func(ctx context.Context, in declareIn) (AS3Result, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return AS3Result{}, err
		}
		defer closeBigIP(ctx, c)
		res, err := c.Declare(ctx, in.Body, nil)
		if err != nil {
			// A failed declaration may still have changed tenants: AS3
			// answers 207 when some deployed and others failed, and a
			// timeout leaves it unknown. A failed step registers no
			// compensation, so the tenants are put back here.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			if rerr := restoreTenants(rctx, d, in); rerr != nil {
				return AS3Result{}, errors.Join(fmt.Errorf("declare: %w", err), rerr)
			}
			return AS3Result{}, fmt.Errorf("declare: %w", err)
		}
		flow.Logger(ctx).Info("declared", "tenants", strings.Join(in.Tenants, ","), "changed", res.Changed())
		return AS3Result{Tenants: in.Tenants, Changed: res.Changed(), TaskID: res.TaskID}, nil
	}, task.WithTagsFrom(func(in declareIn) []string { return []string{"bigip:" + in.Environment} }),
		task.WithCompensation(func(ctx context.Context, in declareIn, _ AS3Result) error {
			return restoreTenants(ctx, d, in)
		}))

	check := task.New("post-check", func(ctx context.Context, in declareIn) (int, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return 0, err
		}
		defer closeBigIP(ctx, c)
		got, err := c.Read(ctx, "base")
		if err != nil {
			return 0, fmt.Errorf("read back: %w", err)
		}
		pools := 0
		for _, tn := range in.Tenants {
			t, ok := got.Tenants[tn]
			if !ok {
				return 0, flow.NonRetryable(&CheckError{fmt.Sprintf("tenant %s missing after declare", tn)})
			}
			n, empty, err := emptyPools(t)
			if err != nil {
				return 0, err
			}
			pools += n
			if empty != "" {
				return pools, flow.NonRetryable(&CheckError{fmt.Sprintf("/%s/%s has no members", tn, empty)})
			}
		}
		flow.Logger(ctx).Info("post-check passed", "pools", pools)
		return pools, nil
	})

	return flow.New(FlowAS3, func(ctx context.Context, p Params) (AS3Result, error) {
		ref, err := resolve(p, schema.KindNetautoFlexApplication)
		if err != nil {
			return AS3Result{}, err
		}
		body, err := fetch.Run(ctx, ref)
		if err != nil {
			return AS3Result{}, err
		}
		tenants, err := f5.TenantsOf([]byte(body))
		if err != nil || len(tenants) == 0 {
			return AS3Result{}, flow.NonRetryable(fmt.Errorf("artifact %s: not an AS3 declaration with tenants: %v", ref.ArtifactID, err))
		}
		in := declareIn{Environment: p.Environment, Body: json.RawMessage(body), Tenants: tenants, Complete: completeMode([]byte(body))}
		if in.Before, err = snapshot.Run(ctx, in); err != nil {
			return AS3Result{}, err
		}
		cfg, err := d.Config(ctx, p.Environment)
		if err != nil {
			return AS3Result{}, err
		}
		diff, err := as3Diff(in)
		if err != nil {
			return AS3Result{}, flow.NonRetryable(fmt.Errorf("artifact %s: %w", ref.ArtifactID, err))
		}
		flow.Logger(ctx).Info("planned", "tenants", strings.Join(in.Tenants, ","), "changes", len(diff))
		if !diff.Empty() && cfg.Approval.Required {
			prompt := flow.Prompt{
				Text:    fmt.Sprintf("Declare AS3 tenant(s) %s on the BIG-IP of %s (%d change(s)).", strings.Join(in.Tenants, ", "), p.Environment, len(diff)),
				Diff:    diff.String(),
				Devices: append([]string{deviceName(cfg.F5URL)}, in.Tenants...),
			}
			if err := envconfig.Gate(ctx, cfg, prompt); err != nil {
				return AS3Result{}, err
			}
			// The wait may have lasted hours: read the tenants again. They
			// must still need exactly the change approved, and this read,
			// not the one shown, is what a rollback restores.
			if in.Before, err = reread.Run(ctx, in); err != nil {
				return AS3Result{}, err
			}
			now, err := as3Diff(in)
			if err != nil {
				return AS3Result{}, flow.NonRetryable(fmt.Errorf("artifact %s: %w", ref.ArtifactID, err))
			}
			if derr := as3Drift(p.Environment, diff, now); derr != nil {
				return AS3Result{}, flow.NonRetryable(derr)
			}
		}
		res, err := declare.Run(ctx, in)
		if err != nil {
			return res, err
		}
		if _, err := check.Run(ctx, in); err != nil {
			return res, err
		}
		return res, nil
	}, flowOpts(FlowAS3, "deploys an AS3 application declaration from an Infrahub artifact to BIG-IP", opts)...)
}

// as3Diff is what declaring in.Body would change relative to in.Before:
// f5.Compare for the tenants the body names and, in complete mode, the
// removal of every other tenant. Secrets are masked in its String.
func as3Diff(in declareIn) (f5.Diff, error) {
	body := []byte(in.Body)
	var wrap struct {
		Class       string          `json:"class"`
		Declaration json.RawMessage `json:"declaration"`
	}
	if json.Unmarshal(body, &wrap) == nil && wrap.Class == "AS3" && len(wrap.Declaration) > 0 {
		body = wrap.Declaration
	}
	var desired, before f5.Declaration
	if err := json.Unmarshal(body, &desired); err != nil {
		return nil, fmt.Errorf("diff: desired declaration: %w", err)
	}
	if err := json.Unmarshal(in.Before, &before); err != nil {
		return nil, fmt.Errorf("diff: current tenants: %w", err)
	}
	diff, err := f5.Compare(&desired, &before)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if in.Complete {
		for _, t := range before.TenantNames() {
			if _, ok := desired.Tenants[t]; !ok {
				diff = append(diff, f5.Change{Path: "/" + t, Kind: "remove", Current: "tenant (updateMode complete removes it)"})
			}
		}
	}
	return diff, nil
}

// DriftError refuses a change whose approval no longer holds: the BIG-IP
// changed while the change waited for approval (a tenant or pool changed
// by hand, another run), so that applying it now would do something else
// than what was shown. Nothing was applied; run the flow again to show
// and approve the change as it now is.
type DriftError struct {
	// Environment is the run's environment.
	Environment string
	// Kind is what Names are: "tenant" (AS3) or "pool" (LTM).
	Kind string
	// Names are the tenants or pools whose planned change differs.
	Names []string
	// Approved are the lines of the approved diff no longer planned, Now
	// the lines planned now that were not approved (secrets masked). A
	// masked value that changed appears in both, with the same text.
	Approved, Now []string
}

func (e *DriftError) Error() string {
	list := func(lines []string) string {
		if len(lines) == 0 {
			return "none"
		}
		return strconv.Quote(strings.Join(lines, "; "))
	}
	return fmt.Sprintf("%s(s) %s on the BIG-IP of %s changed while the change waited for approval (approved but no longer planned: %s; planned now but not approved: %s); nothing applied, run again to approve the change as it now is",
		e.Kind, strings.Join(e.Names, ", "), e.Environment, list(e.Approved), list(e.Now))
}

// driftLine is one line of a diff: its key compares (secrets included),
// its text is shown (secrets masked), name is its tenant or pool.
type driftLine struct{ key, text, name string }

// drift compares the lines approved with those planned now, in order;
// nil when they are the same.
func drift(env, kind string, approved, now []driftLine) *DriftError {
	keys := func(ls []driftLine) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.key
		}
		return out
	}
	if slices.Equal(keys(approved), keys(now)) {
		return nil
	}
	e := &DriftError{Environment: env, Kind: kind}
	only := func(a, b []driftLine) (lines []string) {
		in := keys(b)
		for _, l := range a {
			if !slices.Contains(in, l.key) {
				lines = append(lines, l.text)
				if !slices.Contains(e.Names, l.name) {
					e.Names = append(e.Names, l.name)
				}
			}
		}
		return lines
	}
	e.Approved, e.Now = only(approved, now), only(now, approved)
	if len(e.Names) == 0 {
		// Same lines, in another order: name them all.
		for _, l := range slices.Concat(approved, now) {
			if !slices.Contains(e.Names, l.name) {
				e.Names = append(e.Names, l.name)
			}
		}
	}
	slices.Sort(e.Names)
	return e
}

// as3Drift compares the AS3 change approved with the one planned now,
// change by change, values compared unmasked.
func as3Drift(env string, approved, now f5.Diff) *DriftError {
	lines := func(d f5.Diff) []driftLine {
		out := make([]driftLine, 0, len(d))
		for _, c := range d {
			key, err := json.Marshal(c)
			if err != nil {
				key = []byte(fmt.Sprintf("%#v", c))
			}
			tenant, _, _ := strings.Cut(strings.TrimPrefix(c.Path, "/"), "/")
			out = append(out, driftLine{key: string(key), text: strings.TrimSuffix(f5.Diff{c}.String(), "\n"), name: tenant})
		}
		return out
	}
	return drift(env, "tenant", lines(approved), lines(now))
}

// ltmDrift compares the LTM plan lines approved with those planned now.
func ltmDrift(env string, approved, now []string) *DriftError {
	lines := func(ls []string) []driftLine {
		out := make([]driftLine, 0, len(ls))
		for _, l := range ls {
			pool, _, _ := strings.Cut(strings.TrimPrefix(l, "+ pool "), " ")
			out = append(out, driftLine{key: l, text: l, name: pool})
		}
		return out
	}
	return drift(env, "pool", lines(approved), lines(now))
}

// deviceName is the host of a BIG-IP's management URL, as an approver
// knows the device.
func deviceName(mgmtURL string) string {
	if u, err := url.Parse(mgmtURL); err == nil && u.Host != "" {
		return "bigip " + u.Host
	}
	return "bigip"
}

// restoreTenants puts in.Tenants back as in.Before holds them: declared
// again when they existed, deleted when they did not.
func restoreTenants(ctx context.Context, d Deps, in declareIn) error {
	c, err := bigipFor(ctx, d, in.Environment)
	if err != nil {
		return err
	}
	defer closeBigIP(ctx, c)
	var before f5.Declaration
	if err := json.Unmarshal(in.Before, &before); err != nil {
		return fmt.Errorf("rollback: snapshot: %w", err)
	}
	var gone []string
	for _, t := range in.Tenants {
		if _, ok := before.Tenants[t]; !ok {
			gone = append(gone, t)
		}
	}
	if len(before.Tenants) > 0 {
		if before.SchemaVersion == "" {
			before.SchemaVersion = "3.50.0"
		}
		if _, err := c.Declare(ctx, &before, nil); err != nil {
			return fmt.Errorf("rollback: declare previous tenants: %w", err)
		}
	}
	if len(gone) > 0 {
		if _, err := c.DeleteTenants(ctx, nil, gone...); err != nil {
			return fmt.Errorf("rollback: delete new tenants: %w", err)
		}
	}
	flow.Logger(ctx).Warn("rolled back", "restored", len(before.Tenants), "deleted", strings.Join(gone, ","))
	return nil
}

// ---- LTM ----------------------------------------------------------------

// LTMSpec is the content of an LTM artifact: pools and their members.
type LTMSpec struct {
	Pools []LTMPoolSpec `json:"pools"`
}

// LTMPoolSpec is one pool of an LTMSpec.
type LTMPoolSpec struct {
	Name        string `json:"name"`
	Partition   string `json:"partition,omitempty"`
	Monitor     string `json:"monitor,omitempty"`
	LoadBalance string `json:"load_balancing_mode,omitempty"`
	// Members are "address:port", "[IPv6]:port" or BIG-IP's "IPv6.port"
	// (see f5.ParseMember).
	Members []string `json:"members"`
}

// LTMResult is what an LTM deployment did.
type LTMResult struct {
	Created []string `json:"created,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Members int      `json:"members"`
}

// ltmPlanIn is what the LTM plan reads: the spec's pools.
type ltmPlanIn struct {
	Environment string        `json:"environment"`
	Pools       []LTMPoolSpec `json:"pools"`
}

type ltmIn struct {
	Environment string      `json:"environment"`
	Pool        LTMPoolSpec `json:"pool"`
}

func (p LTMPoolSpec) path() string {
	part := p.Partition
	if part == "" {
		part = "Common"
	}
	return "/" + part + "/" + p.Name
}

func newLTM(d Deps, fetch *task.Task[artifactRef, string], opts []flow.Option) *flow.Flow[Params, LTMResult] {
	type poolOut struct {
		Created bool `json:"created"`
		Members int  `json:"members"`
		// Added are the members this run added to a pool that existed,
		// removed again by the compensation.
		Added []string `json:"added,omitempty"`
	}
	// undo puts a pool back as it was before out's changes: deleted when
	// out created it, else without the members out added.
	undo := func(ctx context.Context, c *f5.Client, path string, out poolOut) error {
		if out.Created {
			if err := c.DeletePool(ctx, path); err != nil {
				return fmt.Errorf("rollback: delete pool %s: %w", path, err)
			}
			return nil
		}
		var errs []error
		for _, m := range slices.Backward(out.Added) {
			if err := c.RemovePoolMember(ctx, path, m); err != nil {
				errs = append(errs, fmt.Errorf("rollback: pool %s member %s: %w", path, m, err))
			}
		}
		return errors.Join(errs...)
	}
	apply := task.New("apply-pool", func(ctx context.Context, in ltmIn) (poolOut, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return poolOut{}, err
		}
		defer closeBigIP(ctx, c)
		var out poolOut
		// An attempt that fails part-way undoes its own changes, so that a
		// retry starts from the pool as it was and the compensation (of a
		// later successful attempt) knows everything the run changed.
		fail := func(err error) (poolOut, error) {
			if uerr := undo(context.WithoutCancel(ctx), c, in.Pool.path(), out); uerr != nil {
				err = errors.Join(err, uerr)
			}
			return poolOut{}, err
		}
		if _, err := c.Pool(ctx, in.Pool.path()); err != nil {
			var be *f5.Error
			if !errors.As(err, &be) || be.StatusCode != 404 {
				return out, fmt.Errorf("pool %s: %w", in.Pool.path(), err)
			}
			if err := c.CreatePool(ctx, &f5.LTMPool{Name: in.Pool.Name, Partition: in.Pool.Partition, Monitor: in.Pool.Monitor, LoadBalancingMode: in.Pool.LoadBalance}); err != nil {
				return out, fmt.Errorf("create pool %s: %w", in.Pool.path(), err)
			}
			out.Created = true
		}
		have, err := c.PoolMembers(ctx, in.Pool.path())
		if err != nil {
			return fail(fmt.Errorf("pool %s members: %w", in.Pool.path(), err))
		}
		for _, m := range in.Pool.Members {
			if slices.ContainsFunc(have, func(h f5.LTMPoolMember) bool { return h.Name == m }) {
				continue
			}
			addr, _, err := f5.ParseMember(m) // checked by the flow
			if err != nil {
				return fail(flow.NonRetryable(err))
			}
			if err := c.AddPoolMember(ctx, in.Pool.path(), &f5.LTMPoolMember{Name: m, Address: addr}); err != nil {
				return fail(fmt.Errorf("pool %s member %s: %w", in.Pool.path(), m, err))
			}
			out.Members++
			if !out.Created {
				out.Added = append(out.Added, m)
			}
		}
		return out, nil
	}, task.WithRetries(2), task.WithCompensation(func(ctx context.Context, in ltmIn, out poolOut) error {
		if !out.Created && len(out.Added) == 0 {
			return nil
		}
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return err
		}
		defer closeBigIP(ctx, c)
		return undo(ctx, c, in.Pool.path(), out)
	}))
	planFn := func(ctx context.Context, in ltmPlanIn) ([]string, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return nil, err
		}
		defer closeBigIP(ctx, c)
		var lines []string
		for _, pl := range in.Pools {
			var have []f5.LTMPoolMember
			if _, err := c.Pool(ctx, pl.path()); err != nil {
				var be *f5.Error
				if !errors.As(err, &be) || be.StatusCode != 404 {
					return nil, fmt.Errorf("pool %s: %w", pl.path(), err)
				}
				lines = append(lines, "+ pool "+pl.path())
			} else if have, err = c.PoolMembers(ctx, pl.path()); err != nil {
				return nil, fmt.Errorf("pool %s members: %w", pl.path(), err)
			}
			for _, m := range pl.Members {
				if !slices.ContainsFunc(have, func(h f5.LTMPoolMember) bool { return h.Name == m }) {
					lines = append(lines, "+ pool "+pl.path()+" member "+m)
				}
			}
		}
		return lines, nil
	}
	plan := task.New("plan-ltm", planFn, task.WithRetries(2))
	// replan reads the pools again once the change was approved (a task of
	// its own: on resume the first plan is reused from the store).
	replan := task.New("re-plan-ltm", planFn, task.WithRetries(2))

	return flow.New(FlowLTM, func(ctx context.Context, p Params) (LTMResult, error) {
		ref, err := resolve(p, schema.KindNetautoLTMConfig)
		if err != nil {
			return LTMResult{}, err
		}
		body, err := fetch.Run(ctx, ref)
		if err != nil {
			return LTMResult{}, err
		}
		var spec LTMSpec
		if err := json.Unmarshal([]byte(body), &spec); err != nil {
			return LTMResult{}, flow.NonRetryable(fmt.Errorf("artifact %s: LTM spec: %w", ref.ArtifactID, err))
		}
		var res LTMResult
		// The whole spec is checked before anything is applied: a bad
		// member of the last pool must not leave the first ones changed.
		for i, pl := range spec.Pools {
			if pl.Name == "" {
				return res, flow.NonRetryable(&ParamsError{fmt.Sprintf("pools[%d].name", i), "empty"})
			}
			for j, m := range pl.Members {
				addr, port, err := f5.ParseMember(m)
				if err != nil {
					return res, flow.NonRetryable(&ParamsError{fmt.Sprintf("pools[%d].members[%d]", i, j), err.Error()})
				}
				// BIG-IP's own name: "2001:db8::10.80" for IPv6.
				spec.Pools[i].Members[j] = f5.MemberName(addr, port)
			}
		}
		cfg, err := d.Config(ctx, p.Environment)
		if err != nil {
			return res, err
		}
		if cfg.Approval.Required {
			pin := ltmPlanIn{Environment: p.Environment, Pools: spec.Pools}
			lines, err := plan.Run(ctx, pin)
			if err != nil {
				return res, err
			}
			if len(lines) > 0 {
				prompt := flow.Prompt{
					Text:    fmt.Sprintf("Create LTM pools and add members on the BIG-IP of %s (%d change(s)).", p.Environment, len(lines)),
					Diff:    strings.Join(lines, "\n") + "\n",
					Devices: []string{deviceName(cfg.F5URL)},
				}
				if err := envconfig.Gate(ctx, cfg, prompt); err != nil {
					return res, err
				}
				// The pools may have changed while the change waited: they
				// must still need exactly the change approved.
				now, err := replan.Run(ctx, pin)
				if err != nil {
					return res, err
				}
				if derr := ltmDrift(p.Environment, lines, now); derr != nil {
					return res, flow.NonRetryable(derr)
				}
			}
		}
		for _, pl := range spec.Pools {
			out, err := apply.Run(ctx, ltmIn{Environment: p.Environment, Pool: pl})
			if err != nil {
				return res, err
			}
			if out.Created {
				res.Created = append(res.Created, pl.path())
			} else {
				res.Updated = append(res.Updated, pl.path())
			}
			res.Members += out.Members
		}
		return res, nil
	}, flowOpts(FlowLTM, "deploys LTM pools and members from an Infrahub artifact to BIG-IP", opts)...)
}

// ---- certificates ---------------------------------------------------------

// CertResult is what a certificate deployment did.
type CertResult struct {
	Name string `json:"name"`
	// ExpiringBefore lists certificates expiring within the threshold
	// before the deployment.
	ExpiringBefore []string  `json:"expiring_before,omitempty"`
	Expires        time.Time `json:"expires"`
}

type certIn struct {
	Environment string `json:"environment"`
	Name        string `json:"name"`
	CertPEM     string `json:"cert_pem"`
	// KeyPEM is not recorded: task inputs are not stored.
	KeyPEM string `json:"key_pem"`
}

// SplitPEM returns the certificate blocks and the private key block of a
// PEM bundle, and the certificate's CN-derived name.
func SplitPEM(bundle []byte) (certPEM, keyPEM []byte, err error) {
	rest := bundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			certPEM = append(certPEM, pem.EncodeToMemory(b)...)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keyPEM = pem.EncodeToMemory(b)
		}
	}
	if len(certPEM) == 0 {
		return nil, nil, errors.New("no CERTIFICATE block")
	}
	if len(keyPEM) == 0 {
		return nil, nil, errors.New("no PRIVATE KEY block")
	}
	return certPEM, keyPEM, nil
}

func newCert(d Deps, fetch *task.Task[artifactRef, string], opts []flow.Option) *flow.Flow[Params, CertResult] {
	expiring := task.New("check-expiry", func(ctx context.Context, in struct {
		Environment string `json:"environment"`
		Days        int    `json:"days"`
	}) ([]f5.CertificateInfo, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return nil, err
		}
		defer closeBigIP(ctx, c)
		certs, err := c.Certificates(ctx)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		return f5.ExpiringWithin(certs, in.Days, d.now()), nil
	}, task.WithRetries(2), task.WithoutResultPersistence())
	install := task.New("install-certificate", func(ctx context.Context, in certIn) (string, error) {
		c, err := bigipFor(ctx, d, in.Environment)
		if err != nil {
			return "", err
		}
		defer closeBigIP(ctx, c)
		if err := c.InstallKey(ctx, in.Name+".key", []byte(in.KeyPEM)); err != nil {
			return "", fmt.Errorf("install key %s: %w", in.Name, err)
		}
		if err := c.InstallCertificate(ctx, in.Name+".crt", []byte(in.CertPEM)); err != nil {
			return "", fmt.Errorf("install certificate %s: %w", in.Name, err)
		}
		return in.Name + ".crt", nil
	}, task.WithRetries(2), task.WithoutResultPersistence())
	return flow.New(FlowCert, func(ctx context.Context, p Params) (CertResult, error) {
		ref, err := resolve(p, schema.KindNetautoCertificate)
		if err != nil {
			return CertResult{}, err
		}
		days := p.ExpiryDays
		if days <= 0 {
			days = 30
		}
		body, err := fetch.Run(ctx, ref)
		if err != nil {
			return CertResult{}, err
		}
		certPEM, keyPEM, err := SplitPEM([]byte(body))
		if err != nil {
			return CertResult{}, flow.NonRetryable(fmt.Errorf("artifact %s: %w", ref.ArtifactID, err))
		}
		blk, _ := pem.Decode(certPEM)
		cert, err := parseCert(blk.Bytes)
		if err != nil {
			return CertResult{}, flow.NonRetryable(fmt.Errorf("artifact %s: %w", ref.ArtifactID, err))
		}
		if err := keyMatches(certPEM, keyPEM); err != nil {
			return CertResult{}, flow.NonRetryable(fmt.Errorf("artifact %s: %w", ref.ArtifactID, err))
		}
		name := certName(cert)
		if now := d.now(); cert.NotBefore.After(now) {
			return CertResult{}, flow.NonRetryable(&CheckError{fmt.Sprintf("new certificate %s is not valid before %s", name, cert.NotBefore.UTC().Format(time.RFC3339))})
		}
		if !cert.NotAfter.After(d.now().AddDate(0, 0, days)) {
			return CertResult{}, flow.NonRetryable(&CheckError{fmt.Sprintf("new certificate %s expires %s, within %d days", name, cert.NotAfter.Format(time.DateOnly), days)})
		}
		chk := struct {
			Environment string `json:"environment"`
			Days        int    `json:"days"`
		}{p.Environment, days}
		before, err := expiring.Run(ctx, chk)
		if err != nil {
			return CertResult{}, err
		}
		res := CertResult{Name: name, Expires: cert.NotAfter}
		for _, c := range before {
			res.ExpiringBefore = append(res.ExpiringBefore, c.Name)
		}
		if _, err := install.Run(ctx, certIn{Environment: p.Environment, Name: name, CertPEM: string(certPEM), KeyPEM: string(keyPEM)}); err != nil {
			return res, err
		}
		after, err := expiring.Run(ctx, chk)
		if err != nil {
			return res, err
		}
		for _, c := range after {
			if c.Name == name+".crt" || c.Name == name {
				return res, flow.NonRetryable(&CheckError{fmt.Sprintf("%s still expires within %d days after install", c.Name, days)})
			}
		}
		flow.Logger(ctx).Info("certificate deployed", "name", name, "expires", cert.NotAfter.Format(time.DateOnly))
		return res, nil
	}, flowOpts(FlowCert, "deploys a certificate and key from an Infrahub artifact to BIG-IP, checking expiry before and after", opts)...)
}

// emptyPools counts the Pool objects of a tenant and names the first one
// without members ("application/pool").
func emptyPools(t *f5.Tenant) (pools int, empty string, err error) {
	b, err := json.Marshal(t)
	if err != nil {
		return 0, "", err
	}
	var apps map[string]json.RawMessage
	if err := json.Unmarshal(b, &apps); err != nil {
		return 0, "", err
	}
	for _, an := range slices.Sorted(maps.Keys(apps)) {
		var items map[string]json.RawMessage
		if json.Unmarshal(apps[an], &items) != nil {
			continue
		}
		for _, on := range slices.Sorted(maps.Keys(items)) {
			var obj struct {
				Class   string `json:"class"`
				Members []struct {
					ServerAddresses  []string          `json:"serverAddresses"`
					Servers          []json.RawMessage `json:"servers"`
					AddressDiscovery string            `json:"addressDiscovery"`
					Hostname         string            `json:"hostname"`
					BigIP            string            `json:"bigip"`
				} `json:"members"`
			}
			if json.Unmarshal(items[on], &obj) != nil || obj.Class != "Pool" {
				continue
			}
			pools++
			n := 0
			for _, m := range obj.Members {
				n += len(m.ServerAddresses) + len(m.Servers)
				switch {
				case m.BigIP != "", m.Hostname != "":
					// A reference to an existing node, or an FQDN member.
					n++
				case m.AddressDiscovery != "" && m.AddressDiscovery != "static":
					// Discovered (fqdn, event, consul, cloud): members come
					// and go; the declaration names where they come from.
					n++
				}
			}
			if n == 0 && empty == "" {
				empty = an + "/" + on
			}
		}
	}
	return pools, empty, nil
}
