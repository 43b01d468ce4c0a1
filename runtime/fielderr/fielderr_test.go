package fielderr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		parent string
		err    error
		want   string
	}{
		{"deployments[2]", fielderr.New("flow", "empty"), "deployments[2].flow: empty"},
		{"env", fielderr.New("[1]", "bad"), "env[1]: bad"},
		{"cpu_limit", &fielderr.Error{Reason: "zero"}, "cpu_limit: zero"},
		{"", fielderr.New("name", "empty"), "name: empty"},
		{"job_template", fmt.Errorf("parse: %w", fielderr.New("image", "white space")), "job_template.image: white space"},
	} {
		got := fielderr.Under(c.parent, c.err)
		var fe *fielderr.Error
		if !errors.As(got, &fe) || got.Error() != c.want {
			t.Errorf("Under(%q, %v) = %v, want %s", c.parent, c.err, got, c.want)
		}
	}
	plain := errors.New("io")
	if fielderr.Under("x", plain) != plain {
		t.Error("a plain error changed")
	}
}

func ExampleUnder() {
	err := fielderr.Under("schedules[0]", fielderr.New("timezone", `unknown time zone "Europe/Berln"`))
	fmt.Println(err)
	// Output: schedules[0].timezone: unknown time zone "Europe/Berln"
}
