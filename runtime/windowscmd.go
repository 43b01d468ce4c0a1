package runtime

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Change windows on the command line: `windows [DEPLOYMENT]` shows the
// deployments' next change windows and freezes, `runs override-window RUN
// --reason TEXT` lets a run waiting for its window start at once.

func windowCommands() []command {
	return []command{
		{"windows", "[DEPLOYMENT] [--count N] [--json]", "show the change windows of the deployments that have a calendar: open now or not and why, the next openings, the freezes", cmdWindows},
	}
}

func cmdWindows(e *env, args []string) error {
	fs := e.flags("windows")
	af := newAPIFlags(fs)
	count := fs.Int("count", 3, "how many openings to show per deployment (at most 20)")
	asJSON := fs.Bool("json", false, "print JSON")
	// One optional positional: parse as if it were there, then without.
	pos, err := parse(fs, args, "DEPLOYMENT")
	if err != nil {
		if pos, err = parse(fs, args); err != nil {
			return err
		}
	}
	dep := ""
	if len(pos) > 0 {
		dep = pos[0]
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	items, err := c.Windows(e.ctx, dep, *count)
	if err != nil {
		return fmt.Errorf("windows: %w", err)
	}
	if *asJSON {
		return printJSON(e.stdout, items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "no deployment has a change calendar")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPLOYMENT\tNOW\tOPENS\tCLOSES\tWINDOW")
	for _, it := range items {
		now := it.Status.String()
		switch {
		case it.Error != "":
			now = "held: " + it.Error
		case it.Calendar == nil:
			now = "open (no change calendar)"
		}
		if len(it.Next) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\n", it.Deployment, now)
			continue
		}
		for i, o := range it.Next {
			name, state := it.Deployment, now
			if i > 0 {
				name, state = "", ""
			}
			closes := "-"
			if !o.End.IsZero() {
				closes = o.End.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, state, o.Start.UTC().Format(time.RFC3339), closes, orDash(o.Window))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, it := range items {
		for _, f := range it.Freezes {
			label := f.Freeze.Name
			if label == "" {
				label = "(unnamed)"
			}
			active := ""
			if f.Active {
				active = " (active)"
			}
			fmt.Fprintf(e.stdout, "freeze %s of %s%s: %s to %s", label, it.Deployment, active, f.From.UTC().Format(time.RFC3339), f.Until.UTC().Format(time.RFC3339))
			if f.Freeze.Reason != "" {
				fmt.Fprintf(e.stdout, ": %s", oneLine(f.Freeze.Reason))
			}
			fmt.Fprintln(e.stdout)
		}
	}
	return nil
}

// cmdOverrideWindow is `runs override-window RUN --reason TEXT`.
func cmdOverrideWindow(e *env, args []string) error {
	fs := e.flags("runs override-window")
	af := newAPIFlags(fs)
	reason := fs.String("reason", "", "why the run may start outside its change window (required; recorded on the run with your key's name)")
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
	run, err := c.OverrideWindow(e.ctx, pos[0], *reason)
	if err != nil {
		return fmt.Errorf("override the change window of %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "run %s: %s\n", run.ID, run.State)
	return nil
}
