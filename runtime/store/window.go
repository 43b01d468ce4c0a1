package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/window"
)

// CalendarMember is the member of a config block's data that holds a change
// calendar ([window.Calendar] JSON): a deployment whose Calendar.Block
// names the block adds its windows and freezes to its own.
const CalendarMember = "change_calendar"

// EffectiveCalendar returns deployment d's change calendar compiled: its
// own windows and freezes plus, when Calendar.Block is set, those of the
// block's [CalendarMember] (blockData is that block's data; nil when the
// block does not exist, which is an error: a missing calendar must not
// open every window). It returns nil, nil for a deployment without a
// calendar. Errors are *fielderr.Error values naming the field
// ("calendar.windows[0].start", "blocks.NAME.change_calendar...").
func EffectiveCalendar(d Deployment, blockData json.RawMessage) (*window.Compiled, error) {
	if d.Calendar == nil || d.Calendar.IsZero() {
		return nil, nil
	}
	cal := *d.Calendar
	if _, err := window.Compile(cal); err != nil {
		return nil, fielderr.Under("calendar", err)
	}
	if cal.Block != "" {
		field := "blocks." + cal.Block + "." + CalendarMember
		if blockData == nil {
			return nil, fielderr.New("calendar.block", fmt.Sprintf("block %q does not exist", cal.Block))
		}
		var data map[string]json.RawMessage
		if err := json.Unmarshal(blockData, &data); err != nil {
			return nil, fielderr.New("blocks."+cal.Block, "data is not a JSON object")
		}
		if raw, ok := data[CalendarMember]; ok && string(raw) != "null" {
			b, err := window.Parse(raw)
			if err != nil {
				return nil, fielderr.Under(field, err)
			}
			cal = cal.Merge(b.Calendar())
		}
	}
	return window.Compile(cal)
}

// WindowOverrider is implemented by a [Store] whose runs can be let out of
// their change window: both SQL drivers. Find it with [As].
type WindowOverrider interface {
	// OverrideWindow lets run id, waiting for its change window
	// (AwaitingWindow), start at once: it moves to Scheduled
	// (WindowOverridden) due now, with a message naming by and reason,
	// which the run's history keeps; the claim then starts it whatever
	// its calendar says. reason must not be empty (a *[InvalidError] for
	// "reason"). A run in another state gets an error matching
	// [ErrNotAwaitingWindow].
	OverrideWindow(ctx context.Context, id, by, reason string) (FlowRun, error)
}

// ErrNotAwaitingWindow is matched by the error of an override of a run
// that does not wait for its window.
var ErrNotAwaitingWindow = errors.New("run does not await its change window")
