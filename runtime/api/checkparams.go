package api

import (
	"errors"
	"fmt"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// CheckParameters validates a deployment's parameters, and those of each
// of its schedules, against flow f's parameter schema as PUT
// /api/v1/deployments/{name} does: a required parameter may be missing
// (a run request completes it), a wrong one may not. A bad one is a
// *[store.InvalidError] naming the field ("parameters.vlan",
// "schedules[1].parameters.vlan"), so that a program can refuse its
// deployments before it applies any of them.
func CheckParameters(f store.Flow, d store.Deployment) error {
	sch, err := newSchemaCache(1).validator(f)
	if err != nil {
		return err
	}
	check := func(field string, raw []byte) error {
		if len(strings.TrimSpace(string(raw))) == 0 {
			return nil
		}
		if _, err := paramObject(field, raw); err != nil {
			return asInvalid(err, field)
		}
		if err := validateParams(sch, raw, true); err != nil {
			return asInvalid(err, field)
		}
		return nil
	}
	if err := check("parameters", d.Parameters); err != nil {
		return err
	}
	for i, sc := range d.Schedules {
		if err := check(fmt.Sprintf("schedules[%d].parameters", i), sc.Parameters); err != nil {
			return err
		}
	}
	return nil
}

// asInvalid turns an answer error about parameters into a store
// InvalidError whose field starts with prefix.
func asInvalid(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return &store.InvalidError{Field: prefix + strings.TrimPrefix(e.Field, "parameters"), Reason: e.Msg}
}
