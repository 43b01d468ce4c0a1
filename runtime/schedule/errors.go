package schedule

// FieldError reports bad input and names the field that holds it, with a
// path such as "schedules[1].cron" or "timezone". Callers that answer API
// requests use errors.As to turn it into a 4xx response naming the field.
type FieldError struct {
	Field string // path of the offending field, e.g. "schedules[0].timezone"
	Msg   string // what is wrong, e.g. `unknown time zone "Europe/Berln"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// under prefixes the field path of err with parent when err is a *FieldError.
func under(parent string, err error) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return err
	}
	field := parent
	if fe.Field != "" {
		field += "." + fe.Field
	}
	return &FieldError{Field: field, Msg: fe.Msg}
}
