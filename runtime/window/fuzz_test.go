package window_test

import (
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/window"
)

// FuzzParse feeds outside input to Parse: it returns a calendar or a field
// error, never panics, and a calendar it accepts answers Open and Next
// consistently (Next's start is open, and open at t means Next starts at t).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"windows":[{"start":"0 22 * * 1-5","duration":"4h","timezone":"Europe/Berlin"}]}`,
		`{"freezes":[{"start":"2026-12-20","end":"2027-01-04","reason":"x"}]}`,
		`{"windows":[{"start":"*/5 * * * *","duration":"1m"}],"freezes":[{"start":"2026-01-01T00:00","end":"2026-01-01T00:03"}]}`,
		`{"windows":[{"start":"@daily","duration":"744h"}]}`,
		`{"block":"netauto-config-production"}`,
		`[]`, `null`, `{"windows":[{}]}`,
	} {
		f.Add([]byte(s), int64(1780000000))
	}
	f.Fuzz(func(t *testing.T, data []byte, unix int64) {
		c, err := window.Parse(data)
		if err != nil {
			var fe *fielderr.Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %v (%T) is no field error", err, err)
			}
			return
		}
		at := time.Unix(unix%4e9, 0).UTC()
		st := c.Open(at)
		o, ok := c.Next(at)
		if !ok {
			return
		}
		if st.Open != o.Start.Equal(at) {
			t.Fatalf("Open(%v) = %v but Next starts %v", at, st, o.Start)
		}
		if s := c.Open(o.Start); !s.Open {
			t.Fatalf("Next(%v) = %+v, closed there: %v", at, o, s)
		}
		if !o.End.IsZero() && !o.End.After(o.Start) {
			t.Fatalf("empty opening %+v", o)
		}
	})
}
