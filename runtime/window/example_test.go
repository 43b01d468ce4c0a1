package window_test

import (
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/runtime/window"
)

// A calendar of weeknight windows with a year-end freeze: when may a
// change start, and when next?
func Example() {
	cal, err := window.Parse([]byte(`{
		"windows": [{"name": "weeknights", "start": "0 22 * * 1-5", "duration": "4h", "timezone": "Europe/Berlin"}],
		"freezes": [{"name": "year-end", "start": "2026-12-21", "end": "2027-01-03", "timezone": "Europe/Berlin", "reason": "no changes over the holidays"}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 18, 15, 0, 0, 0, berlin) // a Friday afternoon
	fmt.Println(cal.Open(now))
	for _, o := range cal.Openings(now, 2) {
		fmt.Println(o.Start.In(berlin).Format("Mon 02 Jan 15:04"), "to", o.End.In(berlin).Format("Mon 02 Jan 15:04"))
	}
	fmt.Println(cal.Open(time.Date(2026, 12, 22, 23, 0, 0, 0, berlin)))

	_, err = window.Parse([]byte(`{"windows": [{"start": "0 22 * * 1-5", "duration": "0s"}]}`))
	fmt.Println(err)
	// Output:
	// outside every change window
	// Fri 18 Dec 22:00 to Sat 19 Dec 02:00
	// Mon 04 Jan 22:00 to Tue 05 Jan 02:00
	// frozen by year-end: no changes over the holidays
	// windows[0].duration: 0s: must be positive
}
