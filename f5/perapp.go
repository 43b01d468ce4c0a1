package f5

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// PerApp is a per-application declaration (AS3 3.50+): applications posted
// to one tenant without restating the rest of it. Applications of the
// tenant that are not named are left alone.
type PerApp struct {
	SchemaVersion string
	ID            string
	Controls      *Controls
	Applications  map[string]*Application
}

// MarshalJSON puts the applications at the top level, as AS3 expects.
func (p *PerApp) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Applications)+3)
	putString(m, "schemaVersion", p.SchemaVersion)
	putString(m, "id", p.ID)
	if p.Controls != nil {
		m["controls"] = p.Controls
	}
	for name, a := range p.Applications {
		if a == nil {
			return nil, fmt.Errorf("f5: application %q is nil", name)
		}
		m[name] = a
	}
	return json.Marshal(m)
}

// DeclareApplications posts a per-application declaration to
// /declare/{tenant}/applications (creating the tenant if needed). body is
// a *PerApp or any JSON of that shape. It is serialized with other
// declarations for the tenant and otherwise behaves like Declare.
func (c *Client) DeclareApplications(ctx context.Context, tenant string, body any, opts *DeclareOptions) (*Result, error) {
	if err := checkTenantNames([]string{tenant}); err != nil {
		return nil, fmt.Errorf("declare applications: %w", err)
	}
	if body == nil {
		return nil, errors.New("declare applications: body is nil")
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("declare applications: encode: %w", err)
	}
	o := opts.withDefaults()
	o.Tenants = nil
	path := as3Path + "/declare/" + tenant + "/applications" + o.query()
	res, err := c.submit(ctx, []string{tenant}, request{method: http.MethodPost, path: path, raw: payload}, o, "")
	if err != nil {
		return res, fmt.Errorf("declare applications in tenant %q: %w", tenant, err)
	}
	return res, nil
}
