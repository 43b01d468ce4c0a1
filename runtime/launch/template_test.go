package launch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
)

// jobTemplate is a template of another launcher than Docker's: the
// machinery knows its fields from its JSON tags.
type jobTemplate struct {
	Namespace string            `json:"namespace,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Resources
	Allow *Policy `json:"allow,omitempty"`
}

func TestLayerMergesByField(t *testing.T) {
	var jt jobTemplate
	err := Layer(&jt,
		json.RawMessage(`{"namespace":"a","env":{"A":"1","B":"1"},"cpu_limit":"2","allow":{"override":["env"]}}`),
		json.RawMessage(`{"env":{"B":"2","C":"2"},"cpu_limit":"500m"}`),
		json.RawMessage(`null`),
		json.RawMessage(`{"env":{"A":null},"namespace":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if jt.Namespace != "b" || len(jt.Env) != 2 || jt.Env["B"] != "2" || jt.Env["C"] != "2" || jt.CPULimit.String() != "500m" {
		t.Errorf("layered %+v", jt)
	}
	if jt.Allow == nil || jt.Allow.Override == nil || len(*jt.Allow.Override) != 1 {
		t.Errorf("allow %+v", jt.Allow)
	}
	if got := strings.Join(Fields(jt), ","); got != "namespace,env,cpu_limit,cpu_request,memory_limit,memory_request" {
		t.Errorf("Fields = %s", got)
	}
}

func TestLayerErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		layers []string
		field  string
	}{
		{[]string{`{"namespce":"x"}`}, "namespce"},
		{[]string{`{}`, `{"allow":{}}`}, "allow"},
		{[]string{`{"allow":{"max_cpus":"1"}}`}, "allow"},
		{[]string{`{"env":["x"]}`}, "env"},
		{[]string{`{"memory_limit":true}`}, "memory_limit"},
		{[]string{`{"cpu_limit":""}`}, "cpu_limit"},
		{[]string{`[1]`}, "job_template"},
		{[]string{`{}`, `"x"`}, "job_variables"},
	} {
		var jt jobTemplate
		raw := make([]json.RawMessage, len(c.layers))
		for i, l := range c.layers {
			raw[i] = json.RawMessage(l)
		}
		err := Layer(&jt, raw...)
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%v: %v, want an error naming %s", c.layers, err, c.field)
		}
	}
	if err := Layer(jobTemplate{}); err == nil {
		t.Error("a non-pointer template was accepted")
	}
}

func TestPolicyChecksVariables(t *testing.T) {
	fields := Fields(jobTemplate{})
	var p Policy
	for _, c := range []struct{ vars, field string }{
		{`{"namespace":"kube-system"}`, "namespace"},
		{`{"allow":{"override":["namespace"]}}`, "allow"},
		{`{"env":{"NETAUTO_API_URL":"http://evil"}}`, "env.NETAUTO_API_URL"},
	} {
		err := p.CheckVariables(fields, json.RawMessage(c.vars))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want an error naming %s", c.vars, err, c.field)
		}
	}
	if err := p.CheckVariables(fields, json.RawMessage(`{"env":{"X":"{{ secrets.y }}"},"memory_limit":"1Gi"}`)); err != nil {
		t.Errorf("allowed variables: %v", err)
	}
	none := []string{}
	if err := (Policy{Override: &none}).CheckVariables(fields, json.RawMessage(`{"env":{"X":"1"}}`)); err == nil {
		t.Error("an empty override let env through")
	}
	if err := (Policy{Override: &[]string{"image"}}).Check(fields); err == nil {
		t.Error("an override naming no field of the template was accepted")
	}
}

func TestPolicyBoundsResources(t *testing.T) {
	p := Policy{MaxMemory: ParseQuantity("4Gi")}
	base := Resources{CPULimit: ParseQuantity("2")}
	r := Resources{}
	if err := p.Bound(base, &r); err == nil || !strings.Contains(err.Error(), "cpu_limit") {
		t.Errorf("removed CPU limit: %v", err)
	}
	r = Resources{CPULimit: ParseQuantity("1")}
	if err := p.Bound(base, &r); err != nil || r.MemoryLimit.String() != "4Gi" {
		t.Errorf("max memory becomes the limit: %v %v", err, r.MemoryLimit)
	}
	r = Resources{CPULimit: ParseQuantity("3")}
	if err := p.Bound(base, &r); err == nil {
		t.Error("a CPU limit above the template's was accepted")
	}
	r = Resources{CPULimit: ParseQuantity("1"), MemoryRequest: ParseQuantity("8Gi")}
	if err := p.Bound(base, &r); err == nil || !strings.Contains(err.Error(), "memory_request") {
		t.Errorf("memory request above the maximum: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	r := Registry{TypeInProcess: InProcess(), TypeProcess: Process()}
	_, err := r.Lookup("docker")
	var ue *UnknownTypeError
	if !errors.As(err, &ue) || strings.Join(ue.Known, ",") != "in-process,process" {
		t.Errorf("unknown type: %v", err)
	}
	if f, err := r.Lookup("process"); err != nil || !f.Remote() {
		t.Errorf("process: %v", err)
	}
	if err := r.CheckJobTemplate(store.Pool{Type: "nomad", JobTemplate: json.RawMessage(`{"anything":1}`)}); err != nil {
		t.Errorf("an unregistered type was checked: %v", err)
	}
}
