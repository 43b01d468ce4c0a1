// Package fielderr is the one error type for bad input: it names the
// field that holds it, with a path such as "deployments[1].schedules[0].cron"
// or "job_template.env.TOKEN". Every layer of the runtime returns it (the
// store as store.InvalidError, schedules, triggers, job templates), and
// the API turns it into a 400 response naming the field. It imports
// nothing of netauto, so any package may use it.
package fielderr

import "errors"

// Error is bad input, naming the field.
type Error struct {
	// Field is the path of the offending field ("schedules[0].timezone",
	// "env.TOKEN"); empty when the value itself is bad (a field path is
	// then added by the caller, see [Under]).
	Field string
	// Reason says what is wrong; it never holds a secret value.
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// New returns an *[Error] for field.
func New(field, reason string) *Error { return &Error{Field: field, Reason: reason} }

// Under prefixes the field path of err with parent when err is (or wraps)
// an *[Error]: Under("deployments[2]", {Field: "flow"}) names
// "deployments[2].flow". Other errors are returned unchanged.
func Under(parent string, err error) error {
	var fe *Error
	if !errors.As(err, &fe) {
		return err
	}
	field := parent
	switch {
	case fe.Field == "":
	case parent == "" || fe.Field[0] == '[':
		field += fe.Field
	default:
		field += "." + fe.Field
	}
	return &Error{Field: field, Reason: fe.Reason}
}
