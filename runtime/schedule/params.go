package schedule

// MergeParameters merges flow parameters given lowest precedence first —
// for a run, in the runtime's order:
//
//	MergeParameters(deploymentDefaults, scheduleParameters, eventParameters, requestParameters)
//
// The merge is shallow: a key set by a later layer replaces the earlier
// value whole, even when both are JSON objects, so a layer can always state
// a parameter completely (a device list or a nested options object is never
// a mix of two layers). A key set to nil (JSON null) is set to null, not
// removed. Nil and empty layers are skipped.
//
// The result is a new map, never nil, and shares nothing with the layers:
// nested map[string]any and []any values are copied, so callers may modify
// it. Other values are copied as they are.
func MergeParameters(layers ...map[string]any) map[string]any {
	n := 0
	for _, l := range layers {
		n += len(l)
	}
	out := make(map[string]any, n)
	for _, l := range layers {
		for k, v := range l {
			out[k] = cloneJSON(v)
		}
	}
	return out
}

// cloneJSON copies the containers of a decoded JSON value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = cloneJSON(e)
		}
		return s
	}
	return v
}
