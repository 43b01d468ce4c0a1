package f5test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// execute deploys a validated job tenant by tenant, as AS3's audit does
// (src/lib/audit.js auditTenant, src/lib/declarationHandler.js):
//
//   - "no change" is decided against the device: the tenant's stored
//     declaration (schema defaults filled in on both sides) and its live
//     objects (the pools, members, nodes, virtual servers and monitors
//     rendered into its partition, see live.go) must both match what the
//     declaration asks for. A change made by hand on the box (an iControl
//     REST write to an object of the partition) therefore makes the next
//     identical declaration "success" again, and the hand change is
//     overwritten. With ?unchecked=true AS3 compares with its previous
//     declaration instead of the device (audit.js
//     fetchCurrentConfigFromPrev), and so does the fake.
//   - a tenant the device refuses fails alone with code 422, message
//     "declaration failed" and the device's reason in "response"
//     (audit.js updateTenant); the others still deploy. The fake's device
//     refuses a virtual address:port already used by another tenant, a
//     pool monitor {"bigip": ...} that does not exist, and whatever
//     FailTenant injects.
//   - HTTP status: 200 when nothing failed, 422 when nothing succeeded, 207
//     otherwise.
//
// s.mu is taken here; the device lock is held by the caller.
func (s *Server) execute(j *job, filled map[string]any) (int, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	decl := j.decl
	remove := j.action == "remove"
	names := tenantNames(decl)
	if decl["updateMode"] == "complete" && j.action != "perApp" && j.action != "perAppRemove" {
		// mark the tenants it does not name for deletion (declarationHandler.js)
		for name := range s.as3.tenants {
			if _, ok := decl[name]; !ok {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	id, _ := decl["id"].(string)
	dryRun := j.dryRun
	if ctl, ok := decl["controls"].(map[string]any); ok && ctl["dryRun"] == true {
		dryRun = true
	}
	var results []result
	changed := false
	succeeded, failed := 0, 0
	for _, name := range names {
		res := result{Host: s.opts.Host, Tenant: name, DeclarationID: id}
		want, _ := decl[name].(map[string]any)
		wantFilled, _ := filled[name].(map[string]any)
		if remove || want == nil || isEmptyTenant(want) {
			want, wantFilled = nil, nil
		}
		_, stored := s.as3.tenants[name]
		if reason := s.refusal(name, want, wantFilled); reason != "" {
			res.Code, res.Message, res.Response = http.StatusUnprocessableEntity, "declaration failed", reason
			failed++
			res.RunTime = time.Since(start).Milliseconds()
			results = append(results, res)
			continue
		}
		res.Code = http.StatusOK
		succeeded++
		switch {
		case want == nil:
			res.Message = "no change"
			if stored || len(s.liveObjects(name)) > 0 {
				res.Message = "success"
				if !dryRun {
					delete(s.as3.tenants, name)
					delete(s.as3.filled, name)
					s.replaceLive(name, nil)
					s.as3.applied = append(s.as3.applied, Applied{Tenant: name, DeclarationID: id, Deleted: true})
					changed = true
				}
			}
		default:
			render := renderTenant(name, wantFilled)
			same := stored && sameJSON(s.as3.filled[name], wantFilled)
			if same && !j.unchecked {
				same = sameJSON(s.liveObjects(name), render)
			}
			if same {
				res.Message = "no change"
				break
			}
			res.Message = "success"
			res.LineCount = countProperties(want)
			if !dryRun {
				// want belongs to this request's declaration, which nothing
				// changes after processing: it is stored as is.
				s.as3.tenants[name] = want
				s.as3.filled[name] = wantFilled
				s.replaceLive(name, render)
				s.as3.applied = append(s.as3.applied, Applied{Tenant: name, DeclarationID: id})
				changed = true
			}
		}
		res.RunTime = time.Since(start).Milliseconds()
		results = append(results, res)
	}
	if changed {
		s.updateMeta(decl)
	}
	if len(results) == 0 {
		// audit.js allTenants with no tenant
		results = []result{{Code: http.StatusOK, Message: "no change", Host: s.opts.Host}}
		succeeded++
	}
	status := http.StatusMultiStatus
	switch {
	case succeeded == 0:
		status = http.StatusUnprocessableEntity
	case failed == 0:
		status = http.StatusOK
	}
	// Only the tenants of the results are echoed (declarationHandler.js).
	echoed := make([]string, 0, len(results))
	for _, r := range results {
		echoed = append(echoed, r.Tenant)
	}
	body := map[string]any{"results": results, "declaration": s.snapshotOf(echoed, j.show)}
	if dryRun {
		body["dryRun"] = true
	}
	return status, body
}

// refusal is the device's reason to refuse a tenant, or "" (s.mu held).
func (s *Server) refusal(name string, want, wantFilled map[string]any) string {
	if want == nil {
		return ""
	}
	if msg, ok := s.as3.failing[name]; ok {
		return msg
	}
	if msg := s.conflict(name, want); msg != "" {
		return msg
	}
	return s.missingMonitor(wantFilled)
}

// missingMonitor returns BIG-IP's refusal of a pool monitor {"bigip": ...}
// that the device does not have. AS3 does not check these before
// deploying (the schema's Pointer_Monitor has no bigComponent check);
// mcpd refuses them, worded as in
// /work/shared/fixtures/f5/responses/DERIVED-as3-task-tenant-failed-response.json.
func (s *Server) missingMonitor(t map[string]any) string {
	for _, av := range t {
		app, ok := av.(map[string]any)
		if !ok || app["class"] != "Application" {
			continue
		}
		for _, iv := range app {
			item, _ := iv.(map[string]any)
			if item["class"] != "Pool" {
				continue
			}
			mons, _ := item["monitors"].([]any)
			members, _ := item["members"].([]any)
			for _, m := range members {
				mm, _ := field(m, "monitors").([]any)
				mons = append(mons, mm...)
			}
			for _, m := range mons {
				if path, ok := field(m, "bigip").(string); ok && !s.objectExists("ltm/monitor", path) {
					return fmt.Sprintf("01020036:3: The requested monitor (%s) was not found.", path)
				}
			}
		}
	}
	return ""
}

// conflict reports a virtual server that would share its destination with
// one in another tenant, which BIG-IP refuses; "" when there is none.
func (s *Server) conflict(name string, want map[string]any) string {
	mine := destinations(name, want)
	for other, t := range s.as3.tenants {
		if other == name {
			continue
		}
		for dest, vs := range destinations(other, t) {
			if mineVS, ok := mine[dest]; ok {
				return fmt.Sprintf("01070333:3: Virtual Server %s illegally shares destination address, source address, service port, ip-protocol, and route domain with Virtual Server %s.", mineVS, vs)
			}
		}
	}
	return ""
}

// destinations maps "address:port" of every service in a tenant to its
// BIG-IP path.
func destinations(tenant string, t map[string]any) map[string]string {
	out := map[string]string{}
	for app, av := range t {
		a, ok := av.(map[string]any)
		if !ok || a["class"] != "Application" {
			continue
		}
		for obj, ov := range a {
			o, ok := ov.(map[string]any)
			if !ok {
				continue
			}
			class, _ := o["class"].(string)
			if !strings.HasPrefix(class, "Service_") {
				continue
			}
			port := fmt.Sprint(o["virtualPort"])
			if o["virtualPort"] == nil {
				port = defaultPort(class)
			}
			addrs, _ := o["virtualAddresses"].([]any)
			for _, ad := range addrs {
				if s, ok := ad.(string); ok {
					out[s+":"+port] = "/" + tenant + "/" + app + "/" + obj
				}
			}
		}
	}
	return out
}

func defaultPort(class string) string {
	if class == "Service_HTTPS" {
		return "443"
	}
	if class == "Service_HTTP" {
		return "80"
	}
	return "0"
}

// isEmptyTenant is AS3's way to delete a tenant: only its class (and
// descriptive properties), no applications.
func isEmptyTenant(t map[string]any) bool {
	for _, v := range t {
		if m, ok := v.(map[string]any); ok && m["class"] == "Application" {
			return false
		}
	}
	return true
}

func (s *Server) updateMeta(decl map[string]any) {
	meta := map[string]any{"class": "ADC"}
	for _, k := range []string{"schemaVersion", "id", "label", "remark", "updateMode"} {
		if v, ok := decl[k]; ok {
			meta[k] = v
		}
	}
	if meta["schemaVersion"] == nil { // a DELETE carries none: keep the last one
		meta["schemaVersion"] = s.as3.meta["schemaVersion"]
		if meta["schemaVersion"] == nil {
			meta["schemaVersion"] = "3.56.0"
		}
	}
	if meta["updateMode"] == nil {
		meta["updateMode"] = "selective"
	}
	if meta["id"] == nil {
		meta["id"] = "autogen_" + newID()
	}
	controls := map[string]any{}
	if c, ok := decl["controls"].(map[string]any); ok {
		controls = deepCopy(c).(map[string]any)
	}
	controls["archiveTimestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	meta["controls"] = controls
	s.as3.meta = meta
	full := s.snapshotLocked(nil, "")
	s.as3.history = append([]map[string]any{full}, s.as3.history...)
	if len(s.as3.history) > 15 {
		s.as3.history = s.as3.history[:15]
	}
}

// snapshot returns the stored declaration (all or some tenants).
func (s *Server) snapshot(only []string, show string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked(only, show)
}

func (s *Server) snapshotLocked(only []string, show string) map[string]any {
	if len(only) == 0 {
		only = slices.Collect(maps.Keys(s.as3.tenants))
	}
	return s.snapshotOf(only, show)
}

// snapshotOf returns the stored declaration with the named tenants only
// (s.mu held).
func (s *Server) snapshotOf(names []string, show string) map[string]any {
	out := deepCopy(s.as3.meta).(map[string]any)
	if len(out) == 0 {
		out = map[string]any{"class": "ADC", "schemaVersion": "3.56.0", "id": "autogen_" + newID(), "updateMode": "selective"}
	}
	for _, name := range names {
		if t, ok := s.as3.tenants[name]; ok {
			out[name] = deepCopy(t)
		}
	}
	if show == "full" || show == "expanded" {
		fillDefaults(out)
	}
	return out
}
