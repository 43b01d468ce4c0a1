package f5

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const tmPath = "/mgmt/tm/"

// LTMPool is an LTM pool (/mgmt/tm/ltm/pool). Monitor is BIG-IP's monitor
// rule, e.g. "/Common/http" or "/Common/http and /Common/tcp".
type LTMPool struct {
	Name              string `json:"name"`
	Partition         string `json:"partition,omitempty"`
	FullPath          string `json:"fullPath,omitempty"`
	Description       string `json:"description,omitempty"`
	LoadBalancingMode string `json:"loadBalancingMode,omitempty"`
	Monitor           string `json:"monitor,omitempty"`
	MinActiveMembers  *int   `json:"minActiveMembers,omitempty"`
}

// LTMPoolMember is a pool member; Name is "address:port" (or "node:port").
// Session and State carry its administrative state; see MemberState.
type LTMPoolMember struct {
	Name            string `json:"name"`
	Partition       string `json:"partition,omitempty"`
	FullPath        string `json:"fullPath,omitempty"`
	Address         string `json:"address,omitempty"`
	Description     string `json:"description,omitempty"`
	Session         string `json:"session,omitempty"`
	State           string `json:"state,omitempty"`
	Ratio           *int   `json:"ratio,omitempty"`
	PriorityGroup   *int   `json:"priorityGroup,omitempty"`
	ConnectionLimit *int   `json:"connectionLimit,omitempty"`
	Monitor         string `json:"monitor,omitempty"`
}

// Node is an LTM node (/mgmt/tm/ltm/node).
type Node struct {
	Name        string `json:"name"`
	Partition   string `json:"partition,omitempty"`
	FullPath    string `json:"fullPath,omitempty"`
	Address     string `json:"address,omitempty"`
	Description string `json:"description,omitempty"`
	Session     string `json:"session,omitempty"`
	State       string `json:"state,omitempty"`
	Monitor     string `json:"monitor,omitempty"`
}

// VirtualServer is an LTM virtual server (/mgmt/tm/ltm/virtual).
// Destination is "/Partition/address:port"; Pool a pool's full path.
type VirtualServer struct {
	Name        string `json:"name"`
	Partition   string `json:"partition,omitempty"`
	FullPath    string `json:"fullPath,omitempty"`
	Description string `json:"description,omitempty"`
	Destination string `json:"destination,omitempty"`
	Source      string `json:"source,omitempty"`
	Mask        string `json:"mask,omitempty"`
	IPProtocol  string `json:"ipProtocol,omitempty"`
	Pool        string `json:"pool,omitempty"`
	// SourceAddressTranslation is e.g. {"type": "automap"}.
	SourceAddressTranslation *SNAT `json:"sourceAddressTranslation,omitempty"`
}

// SNAT is a virtual server's source address translation.
type SNAT struct {
	Type string `json:"type"`
	Pool string `json:"pool,omitempty"`
}

// LTMMonitor is a health monitor of one type (/mgmt/tm/ltm/monitor/<type>).
type LTMMonitor struct {
	Name         string `json:"name"`
	Partition    string `json:"partition,omitempty"`
	FullPath     string `json:"fullPath,omitempty"`
	DefaultsFrom string `json:"defaultsFrom,omitempty"`
	Send         string `json:"send,omitempty"`
	Recv         string `json:"recv,omitempty"`
	Interval     *int   `json:"interval,omitempty"`
	Timeout      *int   `json:"timeout,omitempty"`
	Destination  string `json:"destination,omitempty"`
}

// MemberState is the administrative state of a pool member or node.
type MemberState int

// Administrative states. BIG-IP encodes them in two fields: Enabled is
// session "user-enabled" and state "user-up"; Disabled is session
// "user-disabled" and state "user-up" (existing and persistent connections
// continue, no new ones; the state is written too so that a forced-offline
// member really comes back to disabled); ForcedOffline is session
// "user-disabled" and state "user-down" (only active connections continue).
const (
	Enabled MemberState = iota
	Disabled
	ForcedOffline
)

func (s MemberState) fields() (map[string]string, error) {
	switch s {
	case Enabled:
		return map[string]string{"session": "user-enabled", "state": "user-up"}, nil
	case Disabled:
		return map[string]string{"session": "user-disabled", "state": "user-up"}, nil
	case ForcedOffline:
		return map[string]string{"session": "user-disabled", "state": "user-down"}, nil
	}
	return nil, fmt.Errorf("unknown member state %d", int(s))
}

// String names the state ("enabled", "disabled", "forced offline").
func (s MemberState) String() string {
	switch s {
	case Enabled:
		return "enabled"
	case Disabled:
		return "disabled"
	case ForcedOffline:
		return "forced offline"
	}
	return "MemberState(" + strconv.Itoa(int(s)) + ")"
}

// StateOf reads the administrative state from BIG-IP's session and state
// fields.
func StateOf(session, state string) MemberState {
	switch {
	case session == "user-disabled" && state == "user-down":
		return ForcedOffline
	case session == "user-disabled":
		return Disabled
	default:
		return Enabled
	}
}

// TildePath turns a BIG-IP name into its URL form: "/Common/web" and "web"
// become "~Common~web"; "/Tenant/App/web" becomes "~Tenant~App~web".
// Names with characters that cannot appear in a BIG-IP object name are
// refused.
func TildePath(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty object name")
	}
	if strings.ContainsAny(name, "~?#% \t\n\"'") {
		return "", fmt.Errorf("object name %q contains a character BIG-IP does not allow", name)
	}
	if !strings.HasPrefix(name, "/") {
		if strings.Contains(name, "/") {
			return "", fmt.Errorf("object name %q must be a plain name or a full path /Partition/name", name)
		}
		name = "/Common/" + name
	}
	parts := strings.Split(name[1:], "/")
	if len(parts) < 2 || slicesContainsEmpty(parts) {
		return "", fmt.Errorf("object name %q must be a full path /Partition/name", name)
	}
	return "~" + strings.Join(parts, "~"), nil
}

func slicesContainsEmpty(s []string) bool {
	for _, p := range s {
		if p == "" {
			return true
		}
	}
	return false
}

// itemPath builds /mgmt/tm/<coll>/<~tilde~name>.
func itemPath(coll, name string) (string, error) {
	t, err := TildePath(name)
	if err != nil {
		return "", err
	}
	return tmPath + coll + "/" + url.PathEscape(t), nil
}

func listItems[T any](ctx context.Context, c *Client, coll string) ([]T, error) {
	var body struct {
		Items []T `json:"items"`
	}
	if err := c.getJSON(ctx, tmPath+coll, &body); err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return body.Items, nil
}

func getItem[T any](ctx context.Context, c *Client, coll, name string) (*T, error) {
	p, err := itemPath(coll, name)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", coll, err)
	}
	var v T
	if err := c.getJSON(ctx, p, &v); err != nil {
		return nil, fmt.Errorf("get %s %s: %w", coll, name, err)
	}
	return &v, nil
}

// createItem POSTs v to the collection and decodes the stored object back
// into v.
func (c *Client) createItem(ctx context.Context, coll, name string, v any) error {
	if name == "" {
		return fmt.Errorf("create %s: Name is required", coll)
	}
	r, err := c.do(ctx, request{method: http.MethodPost, path: tmPath + coll, body: v})
	if err != nil {
		return fmt.Errorf("create %s %s: %w", coll, name, err)
	}
	return decodeBody(r, tmPath+coll, v)
}

// patchItem PATCHes fields onto an object.
func (c *Client) patchItem(ctx context.Context, coll, name string, fields any) error {
	p, err := itemPath(coll, name)
	if err != nil {
		return fmt.Errorf("update %s: %w", coll, err)
	}
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: p, body: fields}); err != nil {
		return fmt.Errorf("update %s %s: %w", coll, name, err)
	}
	return nil
}

func (c *Client) deleteItem(ctx context.Context, coll, name string) error {
	p, err := itemPath(coll, name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", coll, err)
	}
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: p}); err != nil {
		return fmt.Errorf("delete %s %s: %w", coll, name, err)
	}
	return nil
}

// Pools lists the LTM pools of all partitions.
func (c *Client) Pools(ctx context.Context) ([]LTMPool, error) {
	return listItems[LTMPool](ctx, c, "ltm/pool")
}

// Pool returns one pool by name ("/Common/web" or "web").
func (c *Client) Pool(ctx context.Context, name string) (*LTMPool, error) {
	return getItem[LTMPool](ctx, c, "ltm/pool", name)
}

// CreatePool creates p and fills in what the device set.
func (c *Client) CreatePool(ctx context.Context, p *LTMPool) error {
	return c.createItem(ctx, "ltm/pool", p.Name, p)
}

// UpdatePool changes the given fields of a pool (PATCH), e.g.
// map[string]any{"monitor": "/Common/http"}.
func (c *Client) UpdatePool(ctx context.Context, name string, fields map[string]any) error {
	return c.patchItem(ctx, "ltm/pool", name, fields)
}

// DeletePool deletes a pool; BIG-IP refuses while a virtual server uses it.
func (c *Client) DeletePool(ctx context.Context, name string) error {
	return c.deleteItem(ctx, "ltm/pool", name)
}

func membersColl(pool string) (string, error) {
	t, err := TildePath(pool)
	if err != nil {
		return "", fmt.Errorf("pool: %w", err)
	}
	return "ltm/pool/" + t + "/members", nil
}

// PoolMembers lists a pool's members with their session and state.
func (c *Client) PoolMembers(ctx context.Context, pool string) ([]LTMPoolMember, error) {
	coll, err := membersColl(pool)
	if err != nil {
		return nil, err
	}
	return listItems[LTMPoolMember](ctx, c, coll)
}

// PoolMember returns one member, e.g. PoolMember(ctx, "/Common/web", "/Common/192.0.2.10:80").
func (c *Client) PoolMember(ctx context.Context, pool, member string) (*LTMPoolMember, error) {
	coll, err := membersColl(pool)
	if err != nil {
		return nil, err
	}
	return getItem[LTMPoolMember](ctx, c, coll, member)
}

// AddPoolMember adds m ("address:port" name) to a pool; BIG-IP creates the
// node when needed.
func (c *Client) AddPoolMember(ctx context.Context, pool string, m *LTMPoolMember) error {
	coll, err := membersColl(pool)
	if err != nil {
		return err
	}
	return c.createItem(ctx, coll, m.Name, m)
}

// RemovePoolMember removes a member from a pool (the node stays).
func (c *Client) RemovePoolMember(ctx context.Context, pool, member string) error {
	coll, err := membersColl(pool)
	if err != nil {
		return err
	}
	return c.deleteItem(ctx, coll, member)
}

// SetPoolMemberState enables, disables or forces offline a pool member,
// writing the session/state pair BIG-IP expects.
func (c *Client) SetPoolMemberState(ctx context.Context, pool, member string, s MemberState) error {
	f, err := s.fields()
	if err != nil {
		return err
	}
	coll, err := membersColl(pool)
	if err != nil {
		return err
	}
	return c.patchItem(ctx, coll, member, f)
}

// Nodes lists LTM nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	return listItems[Node](ctx, c, "ltm/node")
}

// CreateNode creates a node.
func (c *Client) CreateNode(ctx context.Context, n *Node) error {
	return c.createItem(ctx, "ltm/node", n.Name, n)
}

// DeleteNode deletes a node; BIG-IP refuses while a pool member uses it.
func (c *Client) DeleteNode(ctx context.Context, name string) error {
	return c.deleteItem(ctx, "ltm/node", name)
}

// SetNodeState enables, disables or forces offline a node (every pool
// member on it follows).
func (c *Client) SetNodeState(ctx context.Context, name string, s MemberState) error {
	f, err := s.fields()
	if err != nil {
		return err
	}
	return c.patchItem(ctx, "ltm/node", name, f)
}

// VirtualServers lists LTM virtual servers.
func (c *Client) VirtualServers(ctx context.Context) ([]VirtualServer, error) {
	return listItems[VirtualServer](ctx, c, "ltm/virtual")
}

// VirtualServer returns one virtual server.
func (c *Client) VirtualServer(ctx context.Context, name string) (*VirtualServer, error) {
	return getItem[VirtualServer](ctx, c, "ltm/virtual", name)
}

// CreateVirtualServer creates v.
func (c *Client) CreateVirtualServer(ctx context.Context, v *VirtualServer) error {
	return c.createItem(ctx, "ltm/virtual", v.Name, v)
}

// UpdateVirtualServer changes the given fields (PATCH).
func (c *Client) UpdateVirtualServer(ctx context.Context, name string, fields map[string]any) error {
	return c.patchItem(ctx, "ltm/virtual", name, fields)
}

// DeleteVirtualServer deletes a virtual server.
func (c *Client) DeleteVirtualServer(ctx context.Context, name string) error {
	return c.deleteItem(ctx, "ltm/virtual", name)
}

func monitorColl(typ string) (string, error) {
	if typ == "" || strings.ContainsAny(typ, "/~?# ") {
		return "", fmt.Errorf("monitor type %q is invalid (want e.g. http, https, tcp)", typ)
	}
	return "ltm/monitor/" + typ, nil
}

// Monitors lists monitors of one type ("http", "https", "tcp", ...).
func (c *Client) Monitors(ctx context.Context, typ string) ([]LTMMonitor, error) {
	coll, err := monitorColl(typ)
	if err != nil {
		return nil, err
	}
	return listItems[LTMMonitor](ctx, c, coll)
}

// CreateMonitor creates a monitor of the given type.
func (c *Client) CreateMonitor(ctx context.Context, typ string, m *LTMMonitor) error {
	coll, err := monitorColl(typ)
	if err != nil {
		return err
	}
	return c.createItem(ctx, coll, m.Name, m)
}

// DeleteMonitor deletes a monitor of the given type.
func (c *Client) DeleteMonitor(ctx context.Context, typ, name string) error {
	coll, err := monitorColl(typ)
	if err != nil {
		return err
	}
	return c.deleteItem(ctx, coll, name)
}

// Transaction groups iControl REST writes so that BIG-IP applies all or
// none. Use its Client for the writes: they carry the
// X-F5-REST-Coordination-Id header and are only queued; Commit (sent
// without that header) applies them.
type Transaction struct {
	ID int64
	// Client sends requests inside the transaction. Reads through it are
	// not part of the transaction.
	Client *Client
	parent *Client
}

// BeginTransaction starts a transaction (POST /mgmt/tm/transaction).
func (c *Client) BeginTransaction(ctx context.Context) (*Transaction, error) {
	r, err := c.do(ctx, request{method: http.MethodPost, path: tmPath + "transaction", body: struct{}{}})
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	var body struct {
		TransID json.Number `json:"transId"`
	}
	if err := decodeBody(r, tmPath+"transaction", &body); err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	id, err := body.TransID.Int64()
	if err != nil {
		return nil, fmt.Errorf("begin transaction: bad transId %q", body.TransID)
	}
	view := *c
	view.header = http.Header{"X-F5-Rest-Coordination-Id": {strconv.FormatInt(id, 10)}}
	return &Transaction{ID: id, Client: &view, parent: c}, nil
}

// Commit applies the queued writes. If one fails, BIG-IP applies none and
// the error says which.
func (t *Transaction) Commit(ctx context.Context) error {
	p := fmt.Sprintf("%stransaction/%d", tmPath, t.ID)
	r, err := t.parent.do(ctx, request{method: http.MethodPatch, path: p, body: map[string]string{"state": "VALIDATING"}})
	if err != nil {
		return fmt.Errorf("commit transaction %d: %w", t.ID, err)
	}
	var body struct {
		State         string `json:"state"`
		FailureReason string `json:"failureReason"`
	}
	if err := decodeBody(r, p, &body); err != nil {
		return fmt.Errorf("commit transaction %d: %w", t.ID, err)
	}
	if body.State != "COMPLETED" && body.State != "VALIDATING" {
		return fmt.Errorf("commit transaction %d: state %s: %s", t.ID, body.State, body.FailureReason)
	}
	return nil
}

// Discard drops the transaction without applying anything.
func (t *Transaction) Discard(ctx context.Context) error {
	p := fmt.Sprintf("%stransaction/%d", tmPath, t.ID)
	if _, err := t.parent.do(ctx, request{method: http.MethodDelete, path: p}); err != nil {
		return fmt.Errorf("discard transaction %d: %w", t.ID, err)
	}
	return nil
}
