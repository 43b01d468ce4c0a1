package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// RunFailedError is a watched or executed run that did not complete;
// [App.Run] exits with [ExitFailed].
type RunFailedError = agent.RunFailedError

func cmdDeploy(e *env, args []string) error {
	fs := e.flags("deploy")
	af := newAPIFlags(fs)
	bf := newBuildFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	img, err := bf.spec(e.app.app)
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	if *bf.build {
		// The image first: deployments applied before a failed build
		// would start runs in an image that does not exist.
		if err := e.buildImage(img); err != nil {
			return err
		}
	}
	for _, name := range e.app.registry.Names() {
		def, _ := e.app.registry.Lookup(name)
		if _, err := c.RegisterFlow(e.ctx, storeFlow(def)); err != nil {
			return fmt.Errorf("register flow %q: %w", name, err)
		}
		fmt.Fprintf(e.stdout, "flow %s: registered\n", name)
	}
	for _, p := range e.app.pools {
		old, err := c.Pool(e.ctx, p.Name)
		switch {
		case client.IsNotFound(err):
			fmt.Fprintf(e.stdout, "pool %s: created\n", p.Name)
		case err != nil:
			return fmt.Errorf("read pool %q: %w", p.Name, err)
		case samePool(old, p):
			fmt.Fprintf(e.stdout, "pool %s: unchanged\n", p.Name)
			continue
		default:
			fmt.Fprintf(e.stdout, "pool %s: updated\n", p.Name)
		}
		if _, err := c.ApplyPool(e.ctx, p); err != nil {
			return fmt.Errorf("apply pool %q: %w", p.Name, err)
		}
	}
	for _, d := range e.app.deps {
		res, err := c.ApplyDeployment(e.ctx, d)
		if err != nil {
			return fmt.Errorf("apply deployment %q: %w", d.Name, err)
		}
		switch ch := res.Change; {
		case ch.Created:
			fmt.Fprintf(e.stdout, "deployment %s: created\n", d.Name)
		case ch.Unchanged():
			fmt.Fprintf(e.stdout, "deployment %s: unchanged\n", d.Name)
		default:
			fmt.Fprintf(e.stdout, "deployment %s: updated %s\n", d.Name, strings.Join(ch.Changed, ", "))
			for _, f := range ch.Fields {
				fmt.Fprintf(e.stdout, "  %s: %s → %s\n", f.Field, diffValue(f.Old), diffValue(f.New))
			}
		}
	}
	if len(e.app.app.TagLimits) > 0 {
		current, err := c.TagLimits(e.ctx)
		if err != nil {
			return fmt.Errorf("read tag limits: %w", err)
		}
		for _, tag := range slices.Sorted(maps.Keys(e.app.app.TagLimits)) {
			n := e.app.app.TagLimits[tag]
			if old, ok := current[tag]; ok && old == n {
				fmt.Fprintf(e.stdout, "tag limit %s: unchanged\n", tag)
				continue
			}
			if err := c.SetTagLimit(e.ctx, tag, n); err != nil {
				return fmt.Errorf("set tag limit %q: %w", tag, err)
			}
			fmt.Fprintf(e.stdout, "tag limit %s: %d\n", tag, n)
		}
	}
	return nil
}

// diffValue shows one side of a deployment field's change (the store
// masks credential-like members), cut to a line.
func diffValue(v json.RawMessage) string {
	if len(v) == 0 {
		return "(none)"
	}
	s := string(v)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

func samePool(a, b store.Pool) bool {
	return a.Type == b.Type && a.Description == b.Description && a.Paused == b.Paused && jsonEqual(a.JobTemplate, b.JobTemplate)
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// paramFlags collects repeated --param k=v.
type paramFlags map[string]json.RawMessage

func (p paramFlags) String() string { return "" }

// Set parses k=v: v is taken as JSON when it is valid JSON (3, true,
// null, "quoted", {...}), otherwise as a string.
func (p paramFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want name=value", s)
	}
	if json.Valid([]byte(v)) && v != "" {
		p[k] = json.RawMessage(v)
		return nil
	}
	b, _ := json.Marshal(v)
	p[k] = b
	return nil
}

func cmdRun(e *env, args []string) error {
	if len(args) > 0 && args[0] == "show" {
		return cmdShow(e, args[1:])
	}
	fs := e.flags("run")
	af := newAPIFlags(fs)
	params := paramFlags{}
	fs.Var(params, "param", "a parameter name=value (value as JSON when valid JSON, else a string); repeatable")
	paramJSON := fs.String("param-json", "", "parameters as a JSON object; --param values override its keys")
	watch := fs.Bool("watch", false, "follow the run's states, task runs and logs until it ends; exit 1 unless it completes")
	key := fs.String("idempotency-key", "", "create at most one run per key in the deployment")
	name := fs.String("name", "", "run name")
	in := fs.Duration("in", 0, "schedule the run this long from now instead of now")
	pos, err := parse(fs, args, "DEPLOYMENT")
	if err != nil {
		return err
	}
	if *in < 0 {
		return usagef("--in %s: want a positive duration", *in)
	}
	var at time.Time
	if *in > 0 {
		at = time.Now().Add(*in)
	}
	merged := map[string]json.RawMessage{}
	if *paramJSON != "" {
		if err := json.Unmarshal([]byte(*paramJSON), &merged); err != nil || merged == nil {
			return usagef("--param-json: want a JSON object")
		}
	}
	for k, v := range params {
		merged[k] = v
	}
	body, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	run, created, err := c.CreateRun(e.ctx, pos[0], wire.CreateRun{Parameters: body, IdempotencyKey: *key, Name: *name, ScheduledAt: at})
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.Field != "" {
			return fmt.Errorf("create run of %q: %w (field %s)", pos[0], err, ae.Field)
		}
		return fmt.Errorf("create run of %q: %w", pos[0], err)
	}
	verb := "created"
	if !created {
		verb = "exists (idempotency key)"
	}
	fmt.Fprintf(e.stdout, "run %s %s: %s\n", run.ID, verb, run.State)
	if !*watch {
		return nil
	}
	return watchRun(e.ctx, c, run.ID, e.stdout)
}

// watchRun prints a run's states, its task runs' states and its logs as
// they happen, until the run is final. A run that did not complete is a
// *RunFailedError.
func watchRun(ctx context.Context, c *client.Client, id string, out io.Writer) error {
	var mu sync.Mutex
	pr := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	v := &progress{}
	poll := func(ctx context.Context) {
		d, err := c.Run(ctx, id)
		if err != nil {
			return
		}
		for _, line := range v.update(d) {
			pr("%s\n", line)
		}
	}
	poll(ctx)
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		// A change of the run's state shows at once (the API answers the
		// wait when it happens); task runs' progress every 300ms.
		last := ""
		for pctx.Err() == nil {
			wctx, cancel := context.WithTimeout(pctx, 300*time.Millisecond)
			st, _ := c.WaitRunState(wctx, id, func(s flow.State) bool { return last != "" && s.Name != last })
			cancel()
			if st.Name != "" {
				last = st.Name
			}
			if pctx.Err() == nil {
				poll(pctx)
			}
		}
	})
	final, err := c.FollowLogs(ctx, id, 0, func(le store.LogEntry) error {
		pr("  %s\n", formatLog(le))
		return nil
	})
	stop()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("follow run %s: %w (the run goes on; `logs %s -f` resumes)", id, err, id)
	}
	poll(ctx)
	if final.Type != flow.TypeCompleted {
		return &RunFailedError{RunID: id, State: final}
	}
	fmt.Fprintf(out, "run %s completed\n", id)
	return nil
}

// progress remembers what the watch printed.
type progress struct {
	states int
	tasks  map[string]string
}

func (p *progress) update(d wire.RunDetail) []string {
	var lines []string
	for _, s := range d.History[min(p.states, len(d.History)):] {
		lines = append(lines, "state "+s.String())
	}
	p.states = max(p.states, len(d.History))
	if p.tasks == nil {
		p.tasks = map[string]string{}
	}
	done := 0
	for _, tr := range d.TaskRuns {
		if tr.State.Final() {
			done++
		}
		if p.tasks[tr.ID] != tr.State.Name {
			p.tasks[tr.ID] = tr.State.Name
			lines = append(lines, fmt.Sprintf("  task %s %s", tr.Name, tr.State))
		}
	}
	if len(lines) > 0 && len(d.TaskRuns) > 0 {
		lines = append(lines, fmt.Sprintf("  tasks: %d/%d done", done, len(d.TaskRuns)))
	}
	return lines
}

func formatLog(le store.LogEntry) string {
	s := le.Time.Local().Format("15:04:05.000") + " " + fmt.Sprintf("%-5s", le.Level.String()) + " " + le.Message
	if len(le.Attrs) > 0 && string(le.Attrs) != "{}" && string(le.Attrs) != "null" {
		s += " " + string(le.Attrs)
	}
	return s
}

func cmdRuns(e *env, args []string) error {
	if len(args) > 0 && (args[0] == "cancel" || args[0] == "retry") {
		return cmdRunsBulk(e, wire.BulkAction(args[0]), args[1:])
	}
	if len(args) > 0 && args[0] == "override-window" {
		return cmdOverrideWindow(e, args[1:]) // windowscmd.go
	}
	fs := e.flags("runs")
	af := newAPIFlags(fs)
	states := fs.String("state", "", "state types, comma-separated (COMPLETED,FAILED or names such as Completed)")
	var f store.RunFilter
	fs.StringVar(&f.Deployment, "deployment", "", "only runs of this deployment")
	fs.StringVar(&f.Flow, "flow", "", "only runs of this flow")
	fs.StringVar(&f.Tag, "tag", "", "only runs with this tag")
	origin := fs.String("origin", "", "only runs created by: schedule, trigger, api, subflow or flow")
	fs.IntVar(&f.Limit, "limit", 20, "page size (at most 1000)")
	fs.StringVar(&f.Cursor, "cursor", "", "page cursor printed by a previous call")
	asJSON := fs.Bool("json", false, "print the runs as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	for _, s := range splitList(*states) {
		t, ok := stateType(s)
		if !ok {
			return usagef("--state %q: not a state", s)
		}
		f.States = append(f.States, t)
	}
	f.Origin = store.OriginKind(*origin)
	c, err := af.client()
	if err != nil {
		return err
	}
	page, err := c.Runs(e.ctx, f)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	if *asJSON {
		return printJSON(e.stdout, page)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	ids := make([]string, len(page.Runs))
	for i, r := range page.Runs {
		ids[i] = r.ID
	}
	short := shortIDs(ids)
	fmt.Fprintln(tw, "ID\tNAME\tDEPLOYMENT\tSTATE\tATTEMPT\tSCHEDULED\tUPDATED\tCREATED BY")
	for _, r := range page.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", short[r.ID], r.Name, r.Deployment, r.State.Name, r.Attempt,
			stamp(r.ScheduledAt), stamp(r.Updated), createdBy(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(e.stdout, "more: --cursor %s\n", page.Next)
	}
	if len(page.Runs) > 0 {
		fmt.Fprintln(e.stdout, "(IDs are the runs' unique tails: `show`, `logs`, `cancel` and `results` take them, or any unique prefix)")
	}
	return nil
}

// createdBy says in one line what created a run: its origin, with the
// event of a trigger's run and the parent of a subflow.
func createdBy(r store.FlowRun) string {
	s := r.Origin.String()
	if r.EventID != "" {
		s += " (event " + r.EventID + ")"
	}
	if r.ParentID != "" {
		s += " (parent run " + r.ParentID + ")"
	}
	return s
}

// cmdShow prints one run: where it stands and where it comes from.
func cmdShow(e *env, args []string) error {
	fs := e.flags("show")
	af := newAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print the run, its history and task runs as JSON")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	if pos[0], err = resolveRun(e.ctx, c, pos[0]); err != nil {
		return err
	}
	d, err := c.Run(e.ctx, pos[0])
	if err != nil {
		return fmt.Errorf("show run %s: %w", pos[0], err)
	}
	if *asJSON {
		return printJSON(e.stdout, d)
	}
	r := d.Run
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, orDash(v)) }
	row("run", r.ID)
	row("name", r.Name)
	row("flow", strings.TrimSuffix(r.Flow+" "+r.FlowVersion, " "))
	row("deployment", r.Deployment)
	row("state", r.State.String())
	row("attempt", fmt.Sprint(r.Attempt))
	row("scheduled", stamp(r.ScheduledAt))
	row("created", stamp(r.Created))
	row("created by", r.Origin.String())
	if len(r.Origin.Schedules) > 0 {
		row("schedule", strings.Join(r.Origin.Schedules, " + "))
	}
	if r.Origin.Trigger != "" {
		row("trigger", r.Origin.Trigger)
	}
	if r.EventID != "" {
		row("event", r.EventID)
	}
	if r.Origin.APIKey != "" {
		row("api key", r.Origin.APIKey)
	}
	if r.ParentID != "" {
		row("parent run", r.ParentID)
	}
	row("source commit", r.SourceCommit)
	row("infrastructure", r.InfrastructureID)
	row("worker", r.Worker)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "history:")
	for _, st := range d.History {
		fmt.Fprintf(e.stdout, "  %s  %s\n", stamp(st.Timestamp), st)
	}
	if len(d.TaskRuns) > 0 {
		fmt.Fprintf(e.stdout, "task runs: %d\n", len(d.TaskRuns))
		for _, tr := range d.TaskRuns {
			fmt.Fprintf(e.stdout, "  %s  %s\n", tr.Name, tr.State)
		}
	}
	return nil
}

// stateType accepts a state type (COMPLETED) or name (Completed, Late).
func stateType(s string) (flow.StateType, bool) {
	if t, ok := flow.NameType(s); ok {
		return t, true
	}
	for _, t := range []flow.StateType{flow.TypeScheduled, flow.TypePending, flow.TypeRunning, flow.TypePaused,
		flow.TypeCancelling, flow.TypeCompleted, flow.TypeFailed, flow.TypeCancelled, flow.TypeCrashed} {
		if strings.EqualFold(string(t), s) {
			return t, true
		}
	}
	return "", false
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func cmdLogs(e *env, args []string) error {
	fs := e.flags("logs")
	af := newAPIFlags(fs)
	follow := fs.Bool("f", false, "follow the logs until the run ends")
	asJSON := fs.Bool("json", false, "print each log entry as a JSON line")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	if pos[0], err = resolveRun(e.ctx, c, pos[0]); err != nil {
		return err
	}
	if *follow {
		final, err := c.FollowLogs(e.ctx, pos[0], 0, func(le store.LogEntry) error {
			return printLog(e.stdout, le, *asJSON)
		})
		if err != nil {
			return fmt.Errorf("follow logs of %s: %w", pos[0], err)
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "run %s ended %s\n", pos[0], final)
		}
		return nil
	}
	var after int64
	for {
		page, err := c.Logs(e.ctx, store.LogQuery{FlowRunID: pos[0], After: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("logs of %s: %w", pos[0], err)
		}
		for _, le := range page.Logs {
			if err := printLog(e.stdout, le, *asJSON); err != nil {
				return err
			}
		}
		if len(page.Logs) == 0 || page.Next <= after {
			return nil
		}
		after = page.Next
	}
}

// printLog prints a log entry as a line of text or of JSON.
func printLog(w io.Writer, le store.LogEntry, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(le)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w, formatLog(le))
	return err
}

func cmdCancel(e *env, args []string) error {
	fs := e.flags("cancel")
	af := newAPIFlags(fs)
	reason := fs.String("reason", "cancelled from the command line", "why")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	if pos[0], err = resolveRun(e.ctx, c, pos[0]); err != nil {
		return err
	}
	st, err := c.CancelRun(e.ctx, pos[0], *reason)
	if err != nil {
		return fmt.Errorf("cancel %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "run %s: %s\n", pos[0], st)
	return nil
}

func cmdFlows(e *env, args []string) error {
	fs := e.flags("flows")
	asJSON := fs.Bool("json", false, "print the flows' descriptions (parameter schemas included) as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON {
		var descs []any
		for _, name := range e.app.registry.Names() {
			def, _ := e.app.registry.Lookup(name)
			descs = append(descs, def.Describe())
		}
		return printJSON(e.stdout, descs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW\tVERSION\tDEPLOYMENTS\tDESCRIPTION")
	for _, name := range e.app.registry.Names() {
		def, _ := e.app.registry.Lookup(name)
		d := def.Describe()
		var deps []string
		for _, dep := range e.app.deps {
			if dep.Flow == name {
				deps = append(deps, dep.Name)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, orDash(d.Version), orDash(strings.Join(deps, ",")), d.Description)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cmdExecute is the child side of the process launcher: it executes one
// claimed run with the compiled flow and reports it over the API with its
// run token, through the same code as a flow binary's `execute`
// ([agent.Execute]). With --warm it is started ahead of demand and
// waits for its run on standard input (see wire.WarmArg). Exit 0: the run completed; 1: it did not, or could
// not be reported (the worker then records Crashed with this output).
func cmdExecute(e *env, args []string) error {
	fs := e.flags("execute")
	runID := fs.String("run-id", os.Getenv(worker.EnvRunID), "the run to execute (env "+worker.EnvRunID+")")
	apiURL := fs.String("api", os.Getenv(EnvAPIURL), "API base URL (env "+EnvAPIURL+")")
	warm := fs.Bool(wire.WarmArg[2:], false, "wait on standard input for the run to execute: a warm child of the process launcher, started ahead of demand")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var warmStart *agent.WarmStart
	if *warm {
		var set []string
		fs.Visit(func(f *flag.Flag) { set = append(set, f.Name) })
		var err error
		if *runID, *apiURL, warmStart, err = agent.AwaitAssignment(set); errors.Is(err, agent.ErrNoRun) {
			return nil // the worker stopped before it needed this child
		} else if err != nil {
			return err
		}
	}
	if *runID == "" {
		return usagef("--run-id is required")
	}
	return agent.Execute(e.ctx, agent.ExecuteConfig{RunID: *runID, APIURL: *apiURL, Lookup: e.app.registry.Lookup, Warm: warmStart})
}
