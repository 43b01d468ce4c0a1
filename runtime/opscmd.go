package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// This file holds the operator's read and bulk commands: deployments,
// results, blocks, variables, secrets over the API, version, and
// `runs cancel|retry` over a filter.

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// subcommand splits `NAME SUB args...` into SUB and args, with def when
// args is empty or starts with a flag.
func subcommand(args []string, def string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return def, args
	}
	return args[0], args[1:]
}

// resolveRun returns the full ID of the run that ref names: a full ID,
// or a unique prefix or suffix of one among the most recent runs (the
// short IDs `runs` prints are suffixes). An ambiguous ref is an error
// listing the candidates.
func resolveRun(ctx context.Context, c *client.Client, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", usagef("empty run ID")
	}
	if len(ref) == 36 {
		return ref, nil
	}
	_, notFound := c.RunState(ctx, ref)
	if notFound == nil {
		return ref, nil
	} else if !client.IsNotFound(notFound) {
		return "", notFound
	}
	var matches []string
	f := store.RunFilter{Limit: 1000}
	for range resolveScanPages {
		page, err := c.Runs(ctx, f)
		if err != nil {
			return "", fmt.Errorf("find run %q: %w", ref, err)
		}
		for _, r := range page.Runs {
			if strings.HasPrefix(r.ID, ref) || strings.HasSuffix(r.ID, ref) {
				matches = append(matches, r.ID)
			}
		}
		if page.Next == "" || len(matches) > 1 {
			break
		}
		f.Cursor = page.Next
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w (nor is %q the prefix or suffix of one of the %d most recent runs)", notFound, ref, resolveScanPages*1000)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("run %q is ambiguous: %s, …; give more characters", ref, strings.Join(matches[:min(len(matches), 5)], ", "))
}

// resolveScanPages bounds the pages of recent runs a short run ID is
// looked for in.
const resolveScanPages = 10

// shortIDs returns for each ID its shortest suffix of at least 8
// characters that no other ID of ids ends with: UUIDv7 run IDs made
// together share their time prefix, their random tails differ.
func shortIDs(ids []string) map[string]string {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		n := min(8, len(id))
	grow:
		for ; n < len(id); n++ {
			suf := id[len(id)-n:]
			if strings.HasPrefix(suf, "-") {
				continue
			}
			for _, other := range ids {
				if other != id && strings.HasSuffix(other, suf) {
					continue grow
				}
			}
			break
		}
		out[id] = id[len(id)-n:]
	}
	return out
}

func cmdRunsBulk(e *env, action wire.BulkAction, args []string) error {
	fs := e.flags("runs " + string(action))
	af := newAPIFlags(fs)
	states := fs.String("state", "", "state types or names, comma-separated")
	var f wire.BulkFilter
	fs.StringVar(&f.Deployment, "deployment", "", "only runs of this deployment")
	fs.StringVar(&f.Flow, "flow", "", "only runs of this flow")
	fs.StringVar(&f.Tag, "tag", "", "only runs with this tag")
	fs.StringVar(&f.Origin, "origin", "", "only runs created by: schedule, trigger, api, subflow or flow")
	reason := fs.String("reason", "", "why (kept in each run's history)")
	limit := fs.Int("limit", 0, "at most this many runs (default and maximum 1000 a call)")
	dry := fs.Bool("dry-run", false, "list the runs it would act on and change nothing")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	refs, err := parseAny(fs, args)
	if err != nil {
		return err
	}
	for _, s := range splitList(*states) {
		t, ok := stateType(s)
		if !ok {
			return usagef("--state %q: not a state", s)
		}
		f.States = append(f.States, t)
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	req := wire.BulkRuns{Action: action, Filter: f, Reason: *reason, Limit: *limit, DryRun: *dry}
	for _, ref := range refs {
		id, err := resolveRun(e.ctx, c, ref)
		if err != nil {
			return err
		}
		req.IDs = append(req.IDs, id)
	}
	if *reason == "" && action == wire.BulkCancel {
		req.Reason = "cancelled from the command line"
	}
	res, err := c.BulkRuns(e.ctx, req)
	if err != nil {
		return fmt.Errorf("runs %s: %w", action, err)
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	verb := map[wire.BulkAction]string{wire.BulkCancel: "cancelled", wire.BulkRetry: "retried"}[action]
	if res.DryRun {
		verb = "would be " + verb
	}
	for _, it := range res.Changed {
		if it.State != nil {
			fmt.Fprintf(e.stdout, "%s  %s\n", it.ID, it.State.Name)
		} else {
			fmt.Fprintf(e.stdout, "%s\n", it.ID)
		}
	}
	for _, it := range res.Skipped {
		fmt.Fprintf(e.stdout, "%s  skipped: %s\n", it.ID, it.Error)
	}
	fmt.Fprintf(e.stdout, "%d matched, %d %s, %d skipped\n", res.Matched, len(res.Changed), verb, len(res.Skipped))
	if res.Truncated {
		fmt.Fprintln(e.stdout, "more runs match: run the command again")
	}
	return nil
}

// parseAny is parse with any number of positionals.
func parseAny(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// resourceCommand starts a `GROUP [list] | GROUP SUB ARG` command
// (deployments, variables, blocks): it picks the subcommand (default
// "list"), parses the flags with --json and the one positional ARG that
// every subcommand but list takes, and returns an API client.
func resourceCommand(e *env, args []string, group, arg string, subs ...string) (sub string, pos []string, c *client.Client, asJSON bool, err error) {
	sub, args = subcommand(args, "list")
	fs := e.flags(group + " " + sub)
	af := newAPIFlags(fs)
	jsonFlag := fs.Bool("json", false, "print as JSON")
	var want []string
	switch {
	case sub == "list":
	case slices.Contains(subs, sub):
		want = []string{arg}
	default:
		return "", nil, nil, false, usagef("unknown %s command %q: want list, %s or %s", group, sub,
			strings.Join(subs[:len(subs)-1], ", "), subs[len(subs)-1])
	}
	if pos, err = parse(fs, args, want...); err != nil {
		return "", nil, nil, false, err
	}
	if c, err = af.client(); err != nil {
		return "", nil, nil, false, err
	}
	return sub, pos, c, *jsonFlag, nil
}

// cmdDeployments is `deployments [list]`, `deployments show NAME`,
// `deployments pause NAME`, `deployments resume NAME`.
func cmdDeployments(e *env, args []string) error {
	sub, pos, c, asJSON, err := resourceCommand(e, args, "deployments", "DEPLOYMENT", "show", "pause", "resume")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		deps, err := c.Deployments(e.ctx)
		if err != nil {
			return fmt.Errorf("list deployments: %w", err)
		}
		if asJSON {
			return printJSON(e.stdout, deps)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEPLOYMENT\tFLOW\tPOOL\tSCHEDULES\tPAUSED\tUPDATED")
		for _, d := range deps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\n", d.Name, d.Flow, orDash(d.Pool), orDash(scheduleSummary(d)), d.Paused, stamp(d.Updated))
		}
		return tw.Flush()
	case "show":
		d, err := c.Deployment(e.ctx, pos[0])
		if err != nil {
			return fmt.Errorf("deployment %q: %w", pos[0], err)
		}
		return printJSON(e.stdout, d) // a deployment is structured: JSON is its clearest form
	default:
		paused := sub == "pause"
		if err := c.PauseDeployment(e.ctx, pos[0], paused); err != nil {
			return fmt.Errorf("%s deployment %q: %w", sub, pos[0], err)
		}
		if asJSON {
			return printJSON(e.stdout, map[string]any{"deployment": pos[0], "paused": paused})
		}
		fmt.Fprintf(e.stdout, "deployment %s: paused=%t\n", pos[0], paused)
		return nil
	}
}

// scheduleSummary lists a deployment's schedules in one cell.
func scheduleSummary(d store.Deployment) string {
	var parts []string
	for _, s := range d.Schedules {
		var p string
		switch {
		case s.Cron != "":
			p = s.Cron
			if s.Timezone != "" {
				p += " " + s.Timezone
			}
		case s.Interval > 0:
			p = "every " + s.Interval.String()
		}
		if s.Inactive {
			p += " (inactive)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// cmdResults prints a run's result and its task runs' results.
func cmdResults(e *env, args []string) error {
	fs := e.flags("results")
	af := newAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	id, err := resolveRun(e.ctx, c, pos[0])
	if err != nil {
		return err
	}
	res, err := c.RunResult(e.ctx, id)
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("result of %s: %w", id, err)
	}
	tasks, err := c.RunResults(e.ctx, id)
	if err != nil {
		return fmt.Errorf("task results of %s: %w", id, err)
	}
	if *asJSON {
		return printJSON(e.stdout, map[string]any{"run": id, "result": res, "tasks": tasks})
	}
	if len(res) == 0 {
		fmt.Fprintf(e.stdout, "run %s: no result (not completed)\n", id)
	} else {
		fmt.Fprintf(e.stdout, "run %s result: %s\n", id, res)
	}
	for _, k := range slices.Sorted(mapsKeys(tasks)) {
		fmt.Fprintf(e.stdout, "  %s: %s\n", k, tasks[k])
	}
	return nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readValue reads a value to set from stdin (never a flag: flags show
// in ps and shell history), without its final newline.
func readValue(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read value from stdin: %w", err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", usagef("empty value on stdin")
	}
	return s, nil
}

// stdin is where `set` commands read values; a test replaces it.
var stdin io.Reader = os.Stdin

// cmdVariables is `variables [list]`, `variables get|set|delete NAME`;
// set reads the JSON value from stdin (text that is not JSON is stored
// as a string).
func cmdVariables(e *env, args []string) error {
	sub, pos, c, asJSON, err := resourceCommand(e, args, "variables", "NAME", "get", "set", "delete")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		vars, err := c.Variables(e.ctx)
		if err != nil {
			return fmt.Errorf("list variables: %w", err)
		}
		if asJSON {
			return printJSON(e.stdout, vars)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VARIABLE\tVALUE")
		for _, k := range slices.Sorted(mapsKeys(vars)) {
			fmt.Fprintf(tw, "%s\t%s\n", k, diffValue(vars[k]))
		}
		return tw.Flush()
	case "get":
		v, err := c.Variable(e.ctx, pos[0])
		if err != nil {
			return fmt.Errorf("variable %q: %w", pos[0], err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", v)
		return err
	case "set":
		s, err := readValue(stdin)
		if err != nil {
			return err
		}
		v := json.RawMessage(s)
		if !json.Valid(v) {
			v, _ = json.Marshal(s)
		}
		if err := c.SetVariable(e.ctx, pos[0], v); err != nil {
			return fmt.Errorf("set variable %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "variable %s: set\n", pos[0])
	case "delete":
		if err := c.DeleteVariable(e.ctx, pos[0]); err != nil {
			return fmt.Errorf("delete variable %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "variable %s: deleted\n", pos[0])
	}
	return nil
}

// cmdBlocks is `blocks [list]`, `blocks show|set|delete NAME`; set reads
// the block as JSON from stdin: {"type": ..., "data": {...}, "secrets":
// {"field": "value"}}. Secret values are never printed.
func cmdBlocks(e *env, args []string) error {
	sub, pos, c, asJSON, err := resourceCommand(e, args, "blocks", "NAME", "show", "set", "delete")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		blocks, err := c.Blocks(e.ctx)
		if err != nil {
			return fmt.Errorf("list blocks: %w", err)
		}
		if asJSON {
			return printJSON(e.stdout, blocks)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BLOCK\tTYPE\tSECRET FIELDS\tUPDATED")
		for _, b := range blocks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Name, b.Type, orDash(strings.Join(b.SecretFields, ",")), stamp(b.Updated))
		}
		return tw.Flush()
	case "show":
		b, err := c.Block(e.ctx, pos[0])
		if err != nil {
			return fmt.Errorf("block %q: %w", pos[0], err)
		}
		return printJSON(e.stdout, b)
	case "set":
		s, err := readValue(stdin)
		if err != nil {
			return err
		}
		var in struct {
			Type    string            `json:"type"`
			Data    json.RawMessage   `json:"data"`
			Secrets map[string]string `json:"secrets"`
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return usagef("block on stdin: want {\"type\": ..., \"data\": {...}, \"secrets\": {...}}: %v", err)
		}
		b := store.Block{Name: pos[0], Type: in.Type, Data: in.Data}
		if len(in.Secrets) > 0 {
			b.Secrets = map[string]store.Secret{}
			for k, v := range in.Secrets {
				b.Secrets[k] = store.NewSecret(v)
			}
		}
		if err := c.SaveBlock(e.ctx, b); err != nil {
			return fmt.Errorf("set block %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "block %s: set\n", pos[0])
	case "delete":
		if err := c.DeleteBlock(e.ctx, pos[0]); err != nil {
			return fmt.Errorf("delete block %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "block %s: deleted\n", pos[0])
	}
	return nil
}

// cmdSecretsAPI is `secrets [list]`, `secrets set|delete NAME` over the
// API; set reads the value from stdin. Values are never printed.
func cmdSecretsAPI(e *env, sub string, args []string) error {
	fs := e.flags("secrets " + sub)
	af := newAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	var want []string
	if sub != "list" {
		want = []string{"NAME"}
	}
	pos, err := parse(fs, args, want...)
	if err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		infos, err := c.Secrets(e.ctx)
		if err != nil {
			return fmt.Errorf("list secrets: %w", err)
		}
		if *asJSON {
			return printJSON(e.stdout, infos)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SECRET\tUPDATED")
		for _, s := range infos {
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, stamp(s.Updated))
		}
		return tw.Flush()
	case "set":
		v, err := readValue(stdin)
		if err != nil {
			return err
		}
		if err := c.PutSecret(e.ctx, pos[0], store.NewSecret(v)); err != nil {
			return fmt.Errorf("set secret %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "secret %s: set\n", pos[0])
	case "delete":
		if err := c.DeleteSecret(e.ctx, pos[0]); err != nil {
			return fmt.Errorf("delete secret %q: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "secret %s: deleted\n", pos[0])
	}
	return nil
}

// cmdVersion prints this binary's library version and, when a server
// answers, the server's.
func cmdVersion(e *env, args []string) error {
	fs := e.flags("version")
	af := newAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	local := wire.Version{Protocol: wire.Protocol, Library: wire.LibraryVersion()}
	out := map[string]any{"client": local}
	var serverErr error
	if c, err := af.client(); err == nil {
		sv, err := c.Version(e.ctx)
		if err == nil {
			out["server"] = sv
		} else {
			serverErr = err
		}
	}
	if *asJSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "%s: netauto %s, protocol %d\n", e.app.name(), local.Library, local.Protocol)
	if sv, ok := out["server"].(wire.Version); ok {
		fmt.Fprintf(e.stdout, "server %s: netauto %s, protocol %d\n", *af.url, sv.Library, sv.Protocol)
	} else {
		fmt.Fprintf(e.stdout, "server %s: %v\n", *af.url, hint(e.app.name(), serverErr))
	}
	return nil
}

// hint adds to err what to do about it, for the common mistakes: a
// server that is not running, a deployment not deployed, a missing or
// wrong API key, a role that does not allow the request.
func hint(prog string, err error) string {
	if err == nil {
		return "no answer"
	}
	msg := err.Error()
	var ae *client.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ae):
		switch {
		case ae.Status == 401:
			return msg + "\n  hint: set " + EnvAPIKey + " to an API key the server accepts (`" + prog + " keys new NAME` makes one)"
		case ae.Status == 403:
			return msg + "\n  hint: this key's role does not allow it; use a key with a role that does"
		case ae.Status == 404 && ae.Field == "deployment":
			return msg + "\n  hint: did you run `" + prog + " deploy`? `" + prog + " deployments` lists those the server has"
		case ae.Status == 404 && ae.Field == "run":
			return msg + "\n  hint: `" + prog + " runs` lists the runs"
		}
	case errors.Is(err, syscall.ECONNREFUSED) || isDialError(err):
		where := ""
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				where = " at " + u.Scheme + "://" + u.Host
			}
		}
		return msg + "\n  hint: server not reachable" + where + ": is `" + prog + " server` running? (set " + EnvAPIURL + " or --api to its URL)"
	}
	return msg
}

func isDialError(err error) bool {
	var oe *net.OpError
	var dnsErr *net.DNSError
	return (errors.As(err, &oe) && oe.Op == "dial") || errors.As(err, &dnsErr)
}
