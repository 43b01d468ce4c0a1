package f5test

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// The live configuration of an AS3 tenant: the iControl REST objects that
// BIG-IP holds in the tenant's partition once AS3 has deployed it. AS3
// compares a declaration with these, not with the declaration it stored
// (src/lib/audit.js auditTenant: fetch.getTenantConfig reads the
// partition's configuration from the device), so a change made by hand is
// seen and undone by the next declaration.
//
// The fake renders the classes it models; they can be read and changed by
// hand through its /mgmt/tm REST API:
//
//   - Pool /T/A/p: ltm/pool /T/A/p (loadBalancingMode, monitor,
//     description) and its members /T/<address>:<port> (session and state
//     from adminState), with a node /T/<address> per address; servers'
//     names name their nodes. Members with shareNodes (nodes in /Common),
//     FQDN and service-discovery members are not rendered.
//   - Service_HTTP, _HTTPS, _TCP, _UDP, _L4, _Generic /T/A/s: ltm/virtual
//     /T/A/s with destination /T/<first virtual address>:<port>, ipProtocol,
//     pool and description (one virtual server, even when the Service lists
//     several addresses).
//   - Monitor /T/A/m: ltm/monitor/<type> /T/A/m (interval, timeout, send,
//     recv, destination).
//
// Everything else in a tenant has no live form here: it is compared through
// the stored declaration only.

// liveObjects returns the objects of the tenant's partition, by collection
// and full path (s.mu held). Members of the tenant's pools count as the
// tenant's.
func (s *Server) liveObjects(tenant string) map[string]any {
	out := map[string]any{}
	for coll, objs := range s.ltm.objects {
		for fp, obj := range objs {
			if ownedBy(coll, obj, tenant) {
				m, _ := out[coll].(map[string]any)
				if m == nil {
					m = map[string]any{}
					out[coll] = m
				}
				m[fp] = obj
			}
		}
	}
	return out
}

func ownedBy(coll string, obj map[string]any, tenant string) bool {
	if obj["partition"] == tenant {
		return true
	}
	return strings.HasPrefix(coll, "ltm/pool/~"+tenant+"~") && strings.HasSuffix(coll, "/members")
}

// replaceLive removes the tenant's live objects and puts render in their
// place (s.mu held).
func (s *Server) replaceLive(tenant string, render map[string]any) {
	for coll, objs := range s.ltm.objects {
		for fp, obj := range objs {
			if ownedBy(coll, obj, tenant) {
				delete(objs, fp)
			}
		}
		if len(objs) == 0 {
			delete(s.ltm.objects, coll)
		}
	}
	for coll, objs := range render {
		if s.ltm.objects[coll] == nil {
			s.ltm.objects[coll] = map[string]map[string]any{}
		}
		for fp, obj := range objs.(map[string]any) {
			// render is built afresh for each deployment and its
			// values are scalars: it can be stored as is.
			s.ltm.objects[coll][fp] = obj.(map[string]any)
		}
	}
}

// renderTenant renders a tenant (schema defaults filled in) as live
// objects, by collection and full path.
func renderTenant(tenant string, t map[string]any) map[string]any {
	out := map[string]any{}
	put := func(coll, fp string, obj map[string]any) {
		m, _ := out[coll].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[coll] = m
		}
		m[fp] = obj
	}
	for _, app := range slices.Sorted(maps.Keys(t)) {
		a, ok := t[app].(map[string]any)
		if !ok || a["class"] != "Application" {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(a)) {
			item, ok := a[name].(map[string]any)
			if !ok {
				continue
			}
			fp := "/" + tenant + "/" + app + "/" + name
			base := map[string]any{"name": name, "partition": tenant, "subPath": app, "fullPath": fp}
			class, _ := item["class"].(string)
			switch {
			case class == "Pool":
				renderPool(tenant, app, name, item, base, put)
			case strings.HasPrefix(class, "Service_"):
				if obj := renderVirtual(tenant, app, class, item, base); obj != nil {
					put("ltm/virtual", fp, obj)
				}
			case class == "Monitor":
				typ := monitorCollection(fmt.Sprint(item["monitorType"]))
				obj := base
				obj["kind"] = "tm:ltm:monitor:" + typ + ":" + typ + "state"
				copyProps(obj, item, map[string]string{"interval": "interval", "timeout": "timeout", "send": "send", "receive": "recv", "remark": "description"})
				if p, ok := item["targetPort"]; ok {
					obj["destination"] = fmt.Sprintf("*:%v", p)
				}
				put("ltm/monitor/"+typ, fp, obj)
			}
		}
	}
	return out
}

func renderPool(tenant, app, name string, item, obj map[string]any, put func(string, string, map[string]any)) {
	fp := obj["fullPath"].(string)
	obj["kind"] = "tm:ltm:pool:poolstate"
	obj["loadBalancingMode"] = "round-robin"
	copyProps(obj, item, map[string]string{"loadBalancingMode": "loadBalancingMode", "remark": "description"})
	var mons []string
	monitors, _ := item["monitors"].([]any)
	for _, m := range monitors {
		if p := monitorPath(tenant, app, m); p != "" {
			mons = append(mons, p)
		}
	}
	if len(mons) > 0 {
		obj["monitor"] = strings.Join(mons, " and ")
	}
	put("ltm/pool", fp, obj)
	membersColl := "ltm/pool/" + strings.ReplaceAll(fp, "/", "~") + "/members"
	members, _ := item["members"].([]any)
	for _, mv := range members {
		m, _ := mv.(map[string]any)
		if m == nil || m["enable"] == false || m["shareNodes"] == true {
			continue
		}
		if d, _ := m["addressDiscovery"].(string); d != "" && d != "static" {
			continue
		}
		port := fmt.Sprint(m["servicePort"])
		session, state := "user-enabled", "unchecked"
		switch m["adminState"] {
		case "disable":
			session = "user-disabled"
		case "offline":
			session, state = "user-disabled", "user-down"
		}
		type node struct{ name, address string }
		var nodes []node
		for _, a := range toStrings(m["serverAddresses"]) {
			nodes = append(nodes, node{a, a})
		}
		servers, _ := m["servers"].([]any)
		for _, sv := range servers {
			n, _ := field(sv, "name").(string)
			a, _ := field(sv, "address").(string)
			if n != "" && a != "" {
				nodes = append(nodes, node{n, a})
			}
		}
		for _, n := range nodes {
			mname := n.name + ":" + port
			if ip, err := netip.ParseAddr(strings.Split(n.name, "%")[0]); err == nil && ip.Is6() {
				mname = n.name + "." + port
			}
			put(membersColl, "/"+tenant+"/"+mname, map[string]any{"kind": "tm:ltm:pool:members:membersstate", "name": mname, "partition": tenant,
				"fullPath": "/" + tenant + "/" + mname, "address": n.address, "session": session, "state": state})
			put("ltm/node", "/"+tenant+"/"+n.name, map[string]any{"kind": "tm:ltm:node:nodestate", "name": n.name, "partition": tenant,
				"fullPath": "/" + tenant + "/" + n.name, "address": n.address, "session": "user-enabled", "state": "unchecked"})
		}
	}
}

func renderVirtual(tenant, app, class string, item, obj map[string]any) map[string]any {
	addrs, _ := item["virtualAddresses"].([]any)
	if len(addrs) == 0 {
		return nil
	}
	addr, _ := addrs[0].(string)
	if pair, ok := addrs[0].([]any); ok && len(pair) > 0 {
		addr, _ = pair[0].(string)
	}
	if addr == "" {
		return nil
	}
	addr, _, _ = strings.Cut(addr, "/")
	port := fmt.Sprint(item["virtualPort"])
	if item["virtualPort"] == nil {
		port = defaultPort(class)
	}
	sep := ":"
	if ip, err := netip.ParseAddr(strings.Split(addr, "%")[0]); err == nil && ip.Is6() {
		sep = "."
	}
	obj["kind"] = "tm:ltm:virtual:virtualstate"
	obj["destination"] = "/" + tenant + "/" + addr + sep + port
	obj["ipProtocol"] = "tcp"
	if class == "Service_UDP" {
		obj["ipProtocol"] = "udp"
	}
	if p := refPath(tenant, app, item["pool"]); p != "" {
		obj["pool"] = p
	}
	copyProps(obj, item, map[string]string{"remark": "description"})
	return obj
}

// refPath is the BIG-IP path of an AS3 reference: a name in the same
// application, {"use": pointer} or {"bigip": path}. Pointers with "@" or
// a relative JSON pointer prefix are not followed ("" then).
func refPath(tenant, app string, ref any) string {
	var p string
	switch r := ref.(type) {
	case string:
		p = r
	case map[string]any:
		if b, ok := r["bigip"].(string); ok {
			return b
		}
		p, _ = r["use"].(string)
	}
	switch {
	case p == "" || p[0] == '@' || (p[0] >= '0' && p[0] <= '9'):
		return ""
	case p[0] == '/':
		return p
	}
	return "/" + tenant + "/" + app + "/" + p
}

// monitorPath is the BIG-IP path of a pool monitor: the schema's names map
// to /Common monitors (src/lib/map_as3.js setMonitors).
func monitorPath(tenant, app string, m any) string {
	if name, ok := m.(string); ok {
		if name == "icmp" {
			name = "gateway_icmp"
		}
		return "/Common/" + strings.ReplaceAll(name, "-", "_")
	}
	return refPath(tenant, app, m)
}

// monitorCollection is the iControl REST collection of an AS3 monitorType.
func monitorCollection(t string) string {
	if t == "icmp" {
		return "gateway-icmp"
	}
	return t
}

// copyProps copies the AS3 properties present in from to their BIG-IP
// names.
func copyProps(to, from map[string]any, names map[string]string) {
	for as3, bigip := range names {
		if v, ok := from[as3]; ok {
			to[bigip] = v
		}
	}
}
