package runtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// Approval gates on the command line: `approvals` lists the runs waiting
// for input with their prompts, `approve RUN [--input JSON | --param k=v]`
// answers, `reject RUN --reason TEXT` rejects (the run ends Cancelled).

func approvalCommands() []command {
	return []command{
		{"approvals", "[--deployment D] [--json]", "list the runs waiting for approval, with what they will change", cmdApprovals},
		{"approve", "RUN [--input JSON | --param k=v...] [--key GATE]", "approve a run waiting for input (the input is checked against the gate's schema)", cmdApprove},
		{"reject", "RUN --reason TEXT [--key GATE]", "reject a run waiting for input: it ends Cancelled, nothing more is applied", cmdReject},
	}
}

func cmdApprovals(e *env, args []string) error {
	fs := e.flags("approvals")
	af := newAPIFlags(fs)
	dep := fs.String("deployment", "", "only the runs of this deployment")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	items, err := c.Approvals(e.ctx, *dep)
	if err != nil {
		return fmt.Errorf("list approvals: %w", err)
	}
	if *asJSON {
		return printJSON(e.stdout, items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "no run waits for approval")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tDEPLOYMENT\tGATE\tWAITING SINCE\tDEADLINE\tCREATED BY\tWHO MAY ANSWER\tPROMPT")
	for _, in := range items {
		deadline := "-"
		if !in.Deadline.IsZero() {
			deadline = in.Deadline.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.RunID, orDash(in.Deployment), in.Key, in.Created.UTC().Format(time.RFC3339),
			deadline, orDash(in.Creator), answerers(in), oneLine(in.Prompt.Text))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, in := range items {
		printPrompt(e, in)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func answerers(in store.InputInfo) string {
	var parts []string
	if len(in.Answerers.Roles) > 0 {
		parts = append(parts, "roles "+strings.Join(in.Answerers.Roles, ","))
	}
	if len(in.Answerers.Keys) > 0 {
		parts = append(parts, "keys "+strings.Join(in.Answerers.Keys, ","))
	}
	if in.Answerers.NotCreator {
		parts = append(parts, "not the creator")
	}
	if len(parts) == 0 {
		return "any approver"
	}
	return strings.Join(parts, "; ")
}

// printPrompt prints what a gate shows beyond its text: devices, diff and
// declaration change.
func printPrompt(e *env, in store.InputInfo) {
	p := in.Prompt
	if len(p.Devices) == 0 && p.Diff == "" && len(p.Declaration) == 0 {
		return
	}
	fmt.Fprintf(e.stdout, "\n%s %s:\n", in.RunID, in.Key)
	if len(p.Devices) > 0 {
		fmt.Fprintf(e.stdout, "  devices: %s\n", strings.Join(p.Devices, ", "))
	}
	if p.Diff != "" {
		for _, l := range strings.Split(strings.TrimRight(p.Diff, "\n"), "\n") {
			fmt.Fprintf(e.stdout, "  %s\n", l)
		}
	}
	if len(p.Declaration) > 0 {
		fmt.Fprintf(e.stdout, "  declaration change: %s\n", p.Declaration)
	}
}

func cmdApprove(e *env, args []string) error {
	fs := e.flags("approve")
	af := newAPIFlags(fs)
	input := fs.String("input", "", "the answer as JSON (checked against the gate's schema)")
	params := paramFlags{}
	fs.Var(params, "param", "an answer field name=value (value as JSON when valid JSON, else a string); repeatable")
	key := fs.String("key", "", "the gate (default: the run's oldest waiting one)")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	var body json.RawMessage
	switch {
	case *input != "" && len(params) > 0:
		return usagef("--input and --param: give one")
	case *input != "":
		if !json.Valid([]byte(*input)) {
			return usagef("--input: not valid JSON")
		}
		body = json.RawMessage(*input)
	case len(params) > 0:
		if body, err = json.Marshal(map[string]json.RawMessage(params)); err != nil {
			return err
		}
	default:
		body = json.RawMessage(`{}`)
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	info, err := c.Approve(e.ctx, pos[0], *key, body)
	if err != nil {
		return fmt.Errorf("approve %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "run %s: %s approved by %s; run %s\n", info.RunID, info.Key, info.Answer.By, info.State.Name)
	return nil
}

func cmdReject(e *env, args []string) error {
	fs := e.flags("reject")
	af := newAPIFlags(fs)
	reason := fs.String("reason", "", "why (required; recorded on the run)")
	key := fs.String("key", "", "the gate (default: the run's oldest waiting one)")
	pos, err := parse(fs, args, "RUN")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("--reason: required")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	info, err := c.Reject(e.ctx, pos[0], *key, *reason)
	if err != nil {
		return fmt.Errorf("reject %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "run %s: %s rejected by %s; run %s\n", info.RunID, info.Key, info.Answer.By, info.State.Name)
	return nil
}
