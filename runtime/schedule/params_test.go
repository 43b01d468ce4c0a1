package schedule

import (
	"reflect"
	"testing"
)

func TestMergeParametersPrecedence(t *testing.T) {
	deployment := map[string]any{"env": "prod", "retries": 1.0, "opts": map[string]any{"a": 1.0, "b": 2.0}, "devices": []any{"r1"}}
	schedule := map[string]any{"retries": 3.0, "opts": map[string]any{"a": 9.0}}
	event := map[string]any{"node": "n1", "devices": nil}
	request := map[string]any{"node": "n2"}
	got := MergeParameters(deployment, schedule, event, request)
	want := map[string]any{
		"env":     "prod",                   // only the deployment sets it
		"retries": 3.0,                      // schedule over deployment
		"opts":    map[string]any{"a": 9.0}, // shallow: the whole object is replaced
		"devices": nil,                      // an explicit null is kept, not removed
		"node":    "n2",                     // request over event
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeParameters = %v, want %v", got, want)
	}
	got["opts"].(map[string]any)["a"] = 0.0
	got2 := MergeParameters(deployment)
	got2["devices"].([]any)[0] = "changed"
	if schedule["opts"].(map[string]any)["a"] != 9.0 || deployment["devices"].([]any)[0] != "r1" {
		t.Error("modifying the result changed a layer")
	}
	if m := MergeParameters(nil, map[string]any{}); m == nil || len(m) != 0 {
		t.Errorf("MergeParameters(nil, {}) = %#v, want an empty map", m)
	}
}
