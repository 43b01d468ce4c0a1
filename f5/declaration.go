package f5

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// AS3 class names handled by the typed helpers.
const (
	ClassADC          = "ADC"
	ClassTenant       = "Tenant"
	ClassApplication  = "Application"
	ClassServiceHTTP  = "Service_HTTP"
	ClassServiceHTTPS = "Service_HTTPS"
	ClassServiceTCP   = "Service_TCP"
	ClassServiceUDP   = "Service_UDP"
	ClassPool         = "Pool"
	ClassMonitor      = "Monitor"
	ClassCertificate  = "Certificate"
	ClassTLSServer    = "TLS_Server"
)

// Declaration is an AS3 ADC declaration (class "ADC"). Tenants hold the
// configuration; Other keeps every other top-level property (constants,
// Common, target, $schema, ...) verbatim.
type Declaration struct {
	SchemaVersion string
	ID            string
	Label         string
	Remark        string
	UpdateMode    string // "selective" (AS3 default) or "complete"
	Controls      *Controls
	Tenants       map[string]*Tenant
	Other         map[string]json.RawMessage
}

// Controls is the Controls class (ADC- or tenant-level).
type Controls struct {
	DryRun        *bool  `json:"dryRun,omitempty"`
	Trace         *bool  `json:"trace,omitempty"`
	TraceResponse *bool  `json:"traceResponse,omitempty"`
	LogLevel      string `json:"logLevel,omitempty"`
	// ArchiveTimestamp is set by AS3 on stored declarations.
	ArchiveTimestamp string `json:"archiveTimestamp,omitempty"`
	// Class is "Controls"; AS3 accepts it omitted.
	Class string `json:"class,omitempty"`
	// UserAgent is recorded by AS3 telemetry.
	UserAgent string `json:"userAgent,omitempty"`
}

// Tenant is a Tenant class: a BIG-IP partition with its applications.
type Tenant struct {
	Label              string
	Remark             string
	Enable             *bool
	DefaultRouteDomain *int
	Applications       map[string]*Application
	Other              map[string]json.RawMessage
}

// Application is an Application class. Items maps object names to typed
// objects (*Pool, *Service, ...) or Raw for any other class.
type Application struct {
	Label    string
	Remark   string
	Template string
	Enable   *bool
	Items    map[string]Object
	Other    map[string]json.RawMessage
}

// Object is one AS3 object inside an Application.
type Object interface {
	// AS3Class returns the AS3 class name, e.g. "Pool".
	AS3Class() string
}

// Raw is any AS3 object kept as its JSON. Its JSON must be an object with a
// "class" property.
type Raw json.RawMessage

// AS3Class reads the class property.
func (r Raw) AS3Class() string {
	var c struct {
		Class string `json:"class"`
	}
	_ = json.Unmarshal(r, &c)
	return c.Class
}

// MarshalJSON returns the JSON as is.
func (r Raw) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return nil, errors.New("f5: empty Raw object")
	}
	return r, nil
}

// Ref is an AS3 reference: a plain name of an object in the same
// application ("web_pool", or a built-in like "http"), {"use": "pointer"}
// or {"bigip": "/Common/name"}. Exactly one field is set.
type Ref struct {
	Name  string
	Use   string
	BIGIP string
}

// MarshalJSON encodes the form that is set.
func (r Ref) MarshalJSON() ([]byte, error) {
	switch {
	case r.Use != "":
		return json.Marshal(map[string]string{"use": r.Use})
	case r.BIGIP != "":
		return json.Marshal(map[string]string{"bigip": r.BIGIP})
	default:
		return json.Marshal(r.Name)
	}
}

// UnmarshalJSON accepts all three forms.
func (r *Ref) UnmarshalJSON(b []byte) error {
	*r = Ref{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.Name)
	}
	var m struct {
		Use   string `json:"use"`
		BIGIP string `json:"bigip"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	if (m.Use == "") == (m.BIGIP == "") {
		return errors.New(`reference must have exactly one of "use" or "bigip"`)
	}
	r.Use, r.BIGIP = m.Use, m.BIGIP
	return nil
}

// Service is a virtual server: Class is one of Service_HTTP, Service_HTTPS,
// Service_TCP, Service_UDP.
type Service struct {
	Class              string   `json:"class"`
	Label              string   `json:"label,omitempty"`
	Remark             string   `json:"remark,omitempty"`
	VirtualAddresses   []string `json:"virtualAddresses,omitempty"`
	VirtualPort        *int     `json:"virtualPort,omitempty"`
	Pool               *Ref     `json:"pool,omitempty"`
	ServerTLS          *Ref     `json:"serverTLS,omitempty"`
	ClientTLS          *Ref     `json:"clientTLS,omitempty"`
	Redirect80         *bool    `json:"redirect80,omitempty"`
	PersistenceMethods []string `json:"persistenceMethods,omitempty"`
	ProfileHTTP        *Ref     `json:"profileHTTP,omitempty"`
	SNAT               string   `json:"snat,omitempty"`
	IRules             []Ref    `json:"iRules,omitempty"`
	Enable             *bool    `json:"enable,omitempty"`
	AdminState         string   `json:"adminState,omitempty"`
}

// AS3Class returns s.Class.
func (s *Service) AS3Class() string { return s.Class }

// Pool is a Pool class.
type Pool struct {
	Label                string       `json:"label,omitempty"`
	Remark               string       `json:"remark,omitempty"`
	LoadBalancingMode    string       `json:"loadBalancingMode,omitempty"`
	Monitors             []Ref        `json:"monitors,omitempty"`
	MinimumMonitors      any          `json:"minimumMonitors,omitempty"` // int or "all"
	Members              []PoolMember `json:"members,omitempty"`
	MinimumMembersActive *int         `json:"minimumMembersActive,omitempty"`
	ReselectTries        *int         `json:"reselectTries,omitempty"`
	ServiceDownAction    string       `json:"serviceDownAction,omitempty"`
	SlowRampTime         *int         `json:"slowRampTime,omitempty"`
	AllowNATEnabled      *bool        `json:"allowNATEnabled,omitempty"`
	AllowSNATEnabled     *bool        `json:"allowSNATEnabled,omitempty"`
}

// AS3Class returns "Pool".
func (*Pool) AS3Class() string { return ClassPool }

// MarshalJSON adds the class.
func (p *Pool) MarshalJSON() ([]byte, error) {
	type plain Pool
	return withClass(ClassPool, (*plain)(p))
}

// PoolMember is one entry of Pool.members: a port and the addresses (or
// named servers, or an FQDN) that serve it.
type PoolMember struct {
	ServicePort      int         `json:"servicePort"`
	ServerAddresses  []string    `json:"serverAddresses,omitempty"`
	Servers          []NamedNode `json:"servers,omitempty"`
	AddressDiscovery string      `json:"addressDiscovery,omitempty"`
	Hostname         string      `json:"hostname,omitempty"`
	ShareNodes       *bool       `json:"shareNodes,omitempty"`
	Enable           *bool       `json:"enable,omitempty"`
	AdminState       string      `json:"adminState,omitempty"` // enable, disable, offline
	Ratio            *int        `json:"ratio,omitempty"`
	PriorityGroup    *int        `json:"priorityGroup,omitempty"`
	ConnectionLimit  *int        `json:"connectionLimit,omitempty"`
	RateLimit        *int        `json:"rateLimit,omitempty"`
	DynamicRatio     *int        `json:"dynamicRatio,omitempty"`
	Monitors         []Ref       `json:"monitors,omitempty"`
	Remark           string      `json:"remark,omitempty"`
}

// NamedNode is a static pool member with a node name.
type NamedNode struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Monitor is a Monitor class (http, https, tcp, udp, icmp, ...).
type Monitor struct {
	Label       string `json:"label,omitempty"`
	Remark      string `json:"remark,omitempty"`
	MonitorType string `json:"monitorType"`
	Send        string `json:"send,omitempty"`
	Receive     string `json:"receive,omitempty"`
	Interval    *int   `json:"interval,omitempty"`
	Timeout     *int   `json:"timeout,omitempty"`
	TargetPort  *int   `json:"targetPort,omitempty"`
}

// AS3Class returns "Monitor".
func (*Monitor) AS3Class() string { return ClassMonitor }

// MarshalJSON adds the class.
func (m *Monitor) MarshalJSON() ([]byte, error) {
	type plain Monitor
	return withClass(ClassMonitor, (*plain)(m))
}

// Certificate is a Certificate class: PEM certificate and key. The key and
// passphrase are masked by String.
type Certificate struct {
	Label       string  `json:"label,omitempty"`
	Remark      string  `json:"remark,omitempty"`
	Certificate string  `json:"certificate"`
	PrivateKey  string  `json:"privateKey,omitempty"`
	ChainCA     string  `json:"chainCA,omitempty"`
	Passphrase  *Secret `json:"passphrase,omitempty"`
}

// AS3Class returns "Certificate".
func (*Certificate) AS3Class() string { return ClassCertificate }

// MarshalJSON adds the class.
func (c *Certificate) MarshalJSON() ([]byte, error) {
	type plain Certificate
	return withClass(ClassCertificate, (*plain)(c))
}

// String describes the certificate without the key or passphrase.
func (c *Certificate) String() string {
	key := ""
	if c.PrivateKey != "" {
		key = "****"
	}
	return fmt.Sprintf("Certificate{certificate: %d bytes, privateKey: %q}", len(c.Certificate), key)
}

// GoString is String.
func (c *Certificate) GoString() string { return c.String() }

// Secret is AS3's JWE-like secret (passphrase) object.
type Secret struct {
	Ciphertext    string `json:"ciphertext"`
	Protected     string `json:"protected,omitempty"`
	MiniJWE       *bool  `json:"miniJWE,omitempty"`
	AllowReuse    *bool  `json:"allowReuse,omitempty"`
	IgnoreChanges *bool  `json:"ignoreChanges,omitempty"`
}

// String masks the ciphertext.
func (s *Secret) String() string { return "Secret{****}" }

// GoString is String.
func (s *Secret) GoString() string { return s.String() }

// TLSServer is a TLS_Server class (client-side TLS profile).
type TLSServer struct {
	Label        string       `json:"label,omitempty"`
	Remark       string       `json:"remark,omitempty"`
	Certificates []TLSCertRef `json:"certificates"`
	RequireSNI   *bool        `json:"requireSNI,omitempty"`
	Ciphers      string       `json:"ciphers,omitempty"`
	TLS13Enabled *bool        `json:"tls1_3Enabled,omitempty"`
}

// TLSCertRef names a Certificate used by a TLS profile.
type TLSCertRef struct {
	Certificate string `json:"certificate"`
	MatchToSNI  string `json:"matchToSNI,omitempty"`
	SNIDefault  *bool  `json:"sniDefault,omitempty"`
}

// AS3Class returns "TLS_Server".
func (*TLSServer) AS3Class() string { return ClassTLSServer }

// MarshalJSON adds the class.
func (t *TLSServer) MarshalJSON() ([]byte, error) {
	type plain TLSServer
	return withClass(ClassTLSServer, (*plain)(t))
}

// withClass marshals v (a struct) and prepends "class".
func withClass(class string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	head := `{"class":"` + class + `"`
	if len(b) == 2 { // "{}"
		return []byte(head + "}"), nil
	}
	return append([]byte(head+","), b[1:]...), nil
}

// typedConstructors lists the classes decoded into Go types.
var typedConstructors = map[string]func() Object{
	ClassServiceHTTP:  func() Object { return &Service{} },
	ClassServiceHTTPS: func() Object { return &Service{} },
	ClassServiceTCP:   func() Object { return &Service{} },
	ClassServiceUDP:   func() Object { return &Service{} },
	ClassPool:         func() Object { return &Pool{} },
	ClassMonitor:      func() Object { return &Monitor{} },
	ClassCertificate:  func() Object { return &Certificate{} },
	ClassTLSServer:    func() Object { return &TLSServer{} },
}

// decodeObject decodes one application item. A known class becomes its Go
// type only when that type reproduces the JSON exactly; otherwise (unknown
// fields, other shapes) the object stays Raw, so nothing is ever lost.
func decodeObject(b json.RawMessage) (Object, error) {
	var head struct {
		Class string `json:"class"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	newObj, ok := typedConstructors[head.Class]
	if !ok {
		return Raw(slices.Clone(b)), nil
	}
	obj := newObj()
	stripped, err := withoutClass(b, head.Class)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(stripped))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return Raw(slices.Clone(b)), nil
	}
	again, err := json.Marshal(obj)
	if err != nil || !jsonEqual(again, b) {
		return Raw(slices.Clone(b)), nil
	}
	return obj, nil
}

// withoutClass removes "class" unless the type carries it (Service).
func withoutClass(b []byte, class string) ([]byte, error) {
	if _, ok := typedConstructors[class]().(*Service); ok {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "class")
	return json.Marshal(m)
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// MarshalJSON encodes the ADC declaration.
func (d *Declaration) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(d.Tenants)+len(d.Other)+6)
	for k, v := range d.Other {
		m[k] = v
	}
	m["class"] = ClassADC
	putString(m, "schemaVersion", d.SchemaVersion)
	putString(m, "id", d.ID)
	putString(m, "label", d.Label)
	putString(m, "remark", d.Remark)
	putString(m, "updateMode", d.UpdateMode)
	if d.Controls != nil {
		m["controls"] = d.Controls
	}
	for name, t := range d.Tenants {
		if t == nil {
			return nil, fmt.Errorf("f5: tenant %q is nil", name)
		}
		m[name] = t
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes an ADC declaration. Objects with class "Tenant"
// become Tenants; everything else not modelled goes to Other.
func (d *Declaration) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("declaration: %w", err)
	}
	*d = Declaration{}
	if err := takeClass(m, ClassADC, "declaration"); err != nil {
		return err
	}
	fields := []struct {
		key string
		dst *string
	}{{"schemaVersion", &d.SchemaVersion}, {"id", &d.ID}, {"label", &d.Label}, {"remark", &d.Remark}, {"updateMode", &d.UpdateMode}}
	for _, f := range fields {
		if err := takeString(m, f.key, f.dst, "declaration"); err != nil {
			return err
		}
	}
	if raw, ok := m["controls"]; ok {
		var c Controls
		if strictDecode(raw, &c) == nil {
			d.Controls = &c
			delete(m, "controls")
		}
	}
	for k, v := range m {
		if classOf(v) != ClassTenant {
			continue
		}
		t := &Tenant{}
		if err := json.Unmarshal(v, t); err != nil {
			return fmt.Errorf("declaration: tenant %q: %w", k, err)
		}
		if d.Tenants == nil {
			d.Tenants = make(map[string]*Tenant)
		}
		d.Tenants[k] = t
		delete(m, k)
	}
	if len(m) > 0 {
		d.Other = m
	}
	return nil
}

// TenantNames returns the declared tenant names, sorted.
func (d *Declaration) TenantNames() []string {
	return slices.Sorted(maps.Keys(d.Tenants))
}

// MarshalJSON encodes the tenant.
func (t *Tenant) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(t.Applications)+len(t.Other)+5)
	for k, v := range t.Other {
		m[k] = v
	}
	m["class"] = ClassTenant
	putString(m, "label", t.Label)
	putString(m, "remark", t.Remark)
	if t.Enable != nil {
		m["enable"] = *t.Enable
	}
	if t.DefaultRouteDomain != nil {
		m["defaultRouteDomain"] = *t.DefaultRouteDomain
	}
	for name, a := range t.Applications {
		if a == nil {
			return nil, fmt.Errorf("f5: application %q is nil", name)
		}
		m[name] = a
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes a tenant; objects with class "Application"
// (including "Shared") become Applications.
func (t *Tenant) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*t = Tenant{}
	if err := takeClass(m, ClassTenant, "tenant"); err != nil {
		return err
	}
	if err := takeString(m, "label", &t.Label, "tenant"); err != nil {
		return err
	}
	if err := takeString(m, "remark", &t.Remark, "tenant"); err != nil {
		return err
	}
	if raw, ok := m["enable"]; ok {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("tenant: enable: %w", err)
		}
		t.Enable = &v
		delete(m, "enable")
	}
	if raw, ok := m["defaultRouteDomain"]; ok {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("tenant: defaultRouteDomain: %w", err)
		}
		t.DefaultRouteDomain = &v
		delete(m, "defaultRouteDomain")
	}
	for k, v := range m {
		if classOf(v) != ClassApplication {
			continue
		}
		a := &Application{}
		if err := json.Unmarshal(v, a); err != nil {
			return fmt.Errorf("application %q: %w", k, err)
		}
		if t.Applications == nil {
			t.Applications = make(map[string]*Application)
		}
		t.Applications[k] = a
		delete(m, k)
	}
	if len(m) > 0 {
		t.Other = m
	}
	return nil
}

// MarshalJSON encodes the application.
func (a *Application) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(a.Items)+len(a.Other)+5)
	for k, v := range a.Other {
		m[k] = v
	}
	m["class"] = ClassApplication
	putString(m, "label", a.Label)
	putString(m, "remark", a.Remark)
	putString(m, "template", a.Template)
	if a.Enable != nil {
		m["enable"] = *a.Enable
	}
	for name, o := range a.Items {
		if o == nil || reflect.ValueOf(o).IsNil() {
			return nil, fmt.Errorf("f5: object %q is nil", name)
		}
		if o.AS3Class() == "" {
			return nil, fmt.Errorf("f5: object %q has no class", name)
		}
		m[name] = o
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes an application; every property that is an object
// with a "class" becomes an item.
func (a *Application) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = Application{}
	if err := takeClass(m, ClassApplication, "application"); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"label", &a.Label}, {"remark", &a.Remark}, {"template", &a.Template}} {
		if err := takeString(m, f.key, f.dst, "application"); err != nil {
			return err
		}
	}
	if raw, ok := m["enable"]; ok {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("application: enable: %w", err)
		}
		a.Enable = &v
		delete(m, "enable")
	}
	for k, v := range m {
		if classOf(v) == "" {
			continue
		}
		o, err := decodeObject(v)
		if err != nil {
			return fmt.Errorf("object %q: %w", k, err)
		}
		if a.Items == nil {
			a.Items = make(map[string]Object)
		}
		a.Items[k] = o
		delete(m, k)
	}
	if len(m) > 0 {
		a.Other = m
	}
	return nil
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// classOf returns the "class" of a JSON object, or "".
func classOf(b json.RawMessage) string {
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	var c struct {
		Class any `json:"class"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	s, _ := c.Class.(string)
	return s
}

func takeClass(m map[string]json.RawMessage, want, what string) error {
	raw, ok := m["class"]
	if !ok {
		return fmt.Errorf("%s: missing property \"class\" (want %q)", what, want)
	}
	var c string
	if err := json.Unmarshal(raw, &c); err != nil || c != want {
		return fmt.Errorf("%s: class is %s, want %q", what, raw, want)
	}
	delete(m, "class")
	return nil
}

func takeString(m map[string]json.RawMessage, key string, dst *string, what string) error {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: %s: %w", what, key, err)
	}
	if *dst != "" { // an explicit "" stays in Other so that it round-trips
		delete(m, key)
	}
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	again, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !jsonEqual(again, b) {
		return errors.New("does not round-trip")
	}
	return nil
}
