package f5test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	tmPrefix    = "/mgmt/tm/"
	uploadDir   = "/var/config/rest/downloads/"
	coordHeader = "X-F5-REST-Coordination-Id"
)

// ltmState holds iControl REST objects by collection ("ltm/pool",
// "ltm/pool/~Common~web/members", "sys/file/ssl-cert", ...) and full path.
type ltmState struct {
	objects map[string]map[string]map[string]any
	uploads map[string][]byte
	txns    map[int64]*txn
	nextTxn atomic.Int64
	saves   int
}

type txn struct {
	ID    int64
	State string
	ops   []txnOp
}

type txnOp struct {
	method, path string
	body         map[string]any
}

func (l *ltmState) init() {
	l.objects = map[string]map[string]map[string]any{}
	l.uploads = map[string][]byte{}
	l.txns = map[int64]*txn{}
	l.nextTxn.Store(time.Now().UnixMilli())
}

// kinds names collections the fake knows, with the human name used in
// BIG-IP's error messages.
var kinds = map[string]string{
	"ltm/pool":          "Pool",
	"ltm/node":          "Node",
	"ltm/virtual":       "Virtual Server",
	"sys/file/ssl-cert": "Certificate",
	"sys/file/ssl-key":  "Key",
}

// collectionKind returns the kind for a collection path, or "".
func collectionKind(coll string) string {
	if k, ok := kinds[coll]; ok {
		return k
	}
	if strings.HasPrefix(coll, "ltm/monitor/") && strings.Count(coll, "/") == 2 {
		return "Monitor"
	}
	if strings.HasPrefix(coll, "ltm/pool/") && strings.HasSuffix(coll, "/members") && strings.Count(coll, "/") == 3 {
		return "Pool Member"
	}
	return ""
}

// SaveCount reports how often the configuration was saved.
func (s *Server) SaveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ltm.saves
}

func (s *Server) ltmRoutes() {
	s.mux.HandleFunc("POST /mgmt/shared/file-transfer/uploads/{name}", s.handleUpload)
	s.mux.HandleFunc("POST /mgmt/tm/transaction", s.handleTxnCreate)
	s.mux.HandleFunc("GET /mgmt/tm/transaction/{id}", s.handleTxnGet)
	s.mux.HandleFunc("PATCH /mgmt/tm/transaction/{id}", s.handleTxnCommit)
	s.mux.HandleFunc("DELETE /mgmt/tm/transaction/{id}", s.handleTxnDelete)
	s.mux.HandleFunc("/mgmt/tm/", s.handleTM)
}

// handleTM serves objects, crypto install commands and config save; with
// X-F5-REST-Coordination-Id the write is queued in the transaction.
func (s *Server) handleTM(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		v, ok := readJSON(w, r)
		if !ok {
			return
		}
		if body, ok = v.(map[string]any); !ok {
			writeError(w, http.StatusBadRequest, "body must be a JSON object")
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, tmPrefix)
	if id := r.Header.Get(coordHeader); id != "" && r.Method != http.MethodGet {
		n, _ := strconv.ParseInt(id, 10, 64)
		s.mu.Lock()
		t, ok := s.ltm.txns[n]
		if ok && t.State == "STARTED" {
			t.ops = append(t.ops, txnOp{method: r.Method, path: path, body: body})
		}
		s.mu.Unlock()
		if !ok || t.State != "STARTED" {
			writeError(w, http.StatusBadRequest, "Transaction "+id+" does not exist or is not open.")
			return
		}
		out := maps.Clone(body)
		if out == nil {
			out = map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.mu.Lock()
	status, out := s.tmOp(r.Method, path, body)
	s.mu.Unlock()
	if status == http.StatusOK && out == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, status, out)
}

// tmOp performs one iControl REST operation; s.mu is held.
func (s *Server) tmOp(method, path string, body map[string]any) (int, map[string]any) {
	switch {
	case path == "sys/config" && method == http.MethodPost:
		if body["command"] != "save" {
			return errBody(http.StatusBadRequest, "unsupported command")
		}
		s.ltm.saves++
		return http.StatusOK, map[string]any{"kind": "tm:sys:config:savestate", "command": "save"}
	case (path == "sys/crypto/cert" || path == "sys/crypto/key") && method == http.MethodPost:
		return s.install(path, body)
	}
	coll, item := splitTMPath(path)
	kind := collectionKind(coll)
	if kind == "" {
		return errBody(http.StatusNotFound, "URI path /mgmt/tm/"+path+" not registered.  Please verify URI is supported and wait for /available suffix to be responsive.")
	}
	if kind == "Pool Member" {
		pool := strings.TrimSuffix(strings.TrimPrefix(coll, "ltm/pool/"), "/members")
		if _, ok := s.ltm.objects["ltm/pool"][fullPath(pool)]; !ok {
			return errBody(http.StatusNotFound, fmt.Sprintf("01020036:3: The requested Pool (%s) was not found.", fullPath(pool)))
		}
	}
	objs := s.ltm.objects[coll]
	if item == "" {
		switch method {
		case http.MethodGet:
			items := make([]any, 0, len(objs))
			for _, k := range slices.Sorted(maps.Keys(objs)) {
				items = append(items, objs[k])
			}
			return http.StatusOK, map[string]any{"kind": "tm:" + strings.ReplaceAll(coll, "/", ":") + ":collectionstate", "items": items}
		case http.MethodPost:
			return s.create(coll, kind, body)
		}
		return errBody(http.StatusMethodNotAllowed, "method not allowed on a collection")
	}
	fp := fullPath(item)
	obj, ok := objs[fp]
	if !ok {
		return errBody(http.StatusNotFound, fmt.Sprintf("01020036:3: The requested %s (%s) was not found.", kind, fp))
	}
	switch method {
	case http.MethodGet:
		return http.StatusOK, obj
	case http.MethodPatch, http.MethodPut:
		if err := checkObject(kind, body); err != "" {
			return errBody(http.StatusBadRequest, err)
		}
		if method == http.MethodPut {
			keep := map[string]any{"name": obj["name"], "partition": obj["partition"], "fullPath": obj["fullPath"], "kind": obj["kind"]}
			obj = keep
		}
		for k, v := range body {
			if k != "name" && k != "partition" && k != "fullPath" {
				obj[k] = v
			}
		}
		objs[fp] = obj
		return http.StatusOK, obj
	case http.MethodDelete:
		if user := s.inUse(kind, fp); user != "" {
			return errBody(http.StatusBadRequest, user)
		}
		delete(objs, fp)
		if kind == "Pool" {
			delete(s.ltm.objects, "ltm/pool/"+item+"/members")
		}
		return http.StatusOK, nil
	}
	return errBody(http.StatusMethodNotAllowed, "method not allowed")
}

// splitTMPath splits "ltm/pool/~Common~p/members/~Common~a:80" into the
// collection and item; item is "" for a collection.
func splitTMPath(p string) (coll, item string) {
	p = strings.Trim(p, "/")
	segs := strings.Split(p, "/")
	last := segs[len(segs)-1]
	if collectionKind(p) != "" {
		return p, ""
	}
	return strings.Join(segs[:len(segs)-1], "/"), last
}

// fullPath turns "~Common~web" (or "web") into "/Common/web".
func fullPath(item string) string {
	if strings.HasPrefix(item, "~") {
		return strings.ReplaceAll(item, "~", "/")
	}
	return "/Common/" + item
}

func (s *Server) create(coll, kind string, body map[string]any) (int, map[string]any) {
	name, _ := body["name"].(string)
	if name == "" {
		return errBody(http.StatusBadRequest, "name is required")
	}
	partition, _ := body["partition"].(string)
	if partition == "" {
		partition = "Common"
	}
	if err := checkObject(kind, body); err != "" {
		return errBody(http.StatusBadRequest, err)
	}
	fp := "/" + partition + "/" + name
	if s.ltm.objects[coll] == nil {
		s.ltm.objects[coll] = map[string]map[string]any{}
	}
	if _, dup := s.ltm.objects[coll][fp]; dup {
		return errBody(http.StatusConflict, fmt.Sprintf("01020066:3: The requested %s (%s) already exists in partition %s.", kind, fp, partition))
	}
	obj := maps.Clone(body)
	obj["name"], obj["partition"], obj["fullPath"] = name, partition, fp
	obj["kind"] = "tm:" + strings.ReplaceAll(coll, "/", ":") + ":" + strings.ReplaceAll(strings.ToLower(kind), " ", "") + "state"
	switch kind {
	case "Pool Member":
		host, ok := memberHost(name)
		if !ok {
			return errBody(http.StatusBadRequest, fmt.Sprintf("01070587:3: The requested pool member name (%s) is invalid; it must be address:port or node:port.", name))
		}
		if _, ok := obj["address"]; !ok {
			obj["address"] = host
		}
		defaults(obj, map[string]any{"session": "user-enabled", "state": "unchecked"})
		nodes := s.ltm.objects["ltm/node"]
		if nodes == nil {
			nodes = map[string]map[string]any{}
			s.ltm.objects["ltm/node"] = nodes
		}
		nfp := "/" + partition + "/" + host
		if _, ok := nodes[nfp]; !ok {
			nodes[nfp] = map[string]any{"name": host, "partition": partition, "fullPath": nfp, "address": obj["address"], "session": "user-enabled", "state": "unchecked", "kind": "tm:ltm:node:nodestate"}
		}
	case "Node":
		defaults(obj, map[string]any{"session": "user-enabled", "state": "unchecked"})
	case "Pool":
		defaults(obj, map[string]any{"loadBalancingMode": "round-robin"})
	case "Virtual Server":
		if pool, ok := obj["pool"].(string); ok && pool != "" {
			if _, exists := s.ltm.objects["ltm/pool"][pool]; !exists {
				return errBody(http.StatusBadRequest, fmt.Sprintf("01070226:3: Pool Member %s does not exist.", pool))
			}
		}
	}
	s.ltm.objects[coll][fp] = obj
	return http.StatusOK, obj
}

// checkObject enforces the few field rules that matter to callers.
func checkObject(kind string, body map[string]any) string {
	if kind != "Pool Member" && kind != "Node" {
		return ""
	}
	if v, ok := body["session"]; ok && v != "user-enabled" && v != "user-disabled" {
		return fmt.Sprintf("invalid session %q: want user-enabled or user-disabled", fmt.Sprint(v))
	}
	if v, ok := body["state"]; ok && v != "user-up" && v != "user-down" && v != "unchecked" {
		return fmt.Sprintf("invalid state %q: want user-up or user-down", fmt.Sprint(v))
	}
	return ""
}

// inUse returns BIG-IP's refusal when fp is still referenced.
func (s *Server) inUse(kind, fp string) string {
	switch kind {
	case "Pool":
		for vfp, vs := range s.ltm.objects["ltm/virtual"] {
			if vs["pool"] == fp {
				return fmt.Sprintf("01070265:3: The Pool (%s) cannot be deleted because it is in use by a Virtual Server (%s).", fp, vfp)
			}
		}
	case "Node":
		for coll, members := range s.ltm.objects {
			if collectionKind(coll) != "Pool Member" {
				continue
			}
			for mfp, m := range members {
				host, _, _ := cutLast(m["name"].(string), ":")
				if "/"+m["partition"].(string)+"/"+host == fp {
					return fmt.Sprintf("01070110:3: Node address '%s' is referenced by a member of pool '%s'.", fp, mfp)
				}
			}
		}
	}
	return ""
}

// memberHost returns the address or node name of a pool member's name.
// BIG-IP separates the port with a colon for IPv4 addresses and node
// names ("192.0.2.10:80") and with a period for IPv6 addresses
// ("2001:db8::10.80"). Provenance: the IPv4 form is in the members
// listings of iControl REST (ltm/pool/~P~p/members, "name": "addr:port");
// the IPv6 period is tmsh's documented member syntax as operators use it,
// NOT checked here against a captured device answer or an F5 document in
// ../shared/fixtures. Refusing "2001:db8::10:80" with 01070587 is this
// fake's reading of that syntax (the name is itself an IPv6 address with
// no port); the message is the one BIG-IP gives for other bad member
// names. Client and fake share this belief: confirm it on a device.
func memberHost(name string) (string, bool) {
	sep := ":"
	if strings.Count(name, ":") > 1 {
		sep = "."
	}
	host, port, ok := cutLast(name, sep)
	if !ok || host == "" {
		return "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", false
	}
	if sep == "." {
		a, err := netip.ParseAddr(strings.SplitN(host, "%", 2)[0])
		if err != nil || !a.Is6() {
			return "", false
		}
	}
	return host, true
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func defaults(obj, d map[string]any) {
	for k, v := range d {
		if _, ok := obj[k]; !ok {
			obj[k] = v
		}
	}
}

func errBody(status int, msg string) (int, map[string]any) {
	return status, map[string]any{"code": status, "message": msg, "errorStack": []string{}, "apiError": 3}
}

// handleUpload stores one chunk; Content-Range "start-end/total" must
// continue the file where the previous chunk ended.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var start, end, total int64
	if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "%d-%d/%d", &start, &end, &total); err != nil || start > end || end >= total {
		writeError(w, http.StatusBadRequest, "Content-Range must be start-end/total")
		return
	}
	chunk, err := io.ReadAll(io.LimitReader(r.Body, end-start+2))
	if err != nil || int64(len(chunk)) != end-start+1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("chunk length %d does not match Content-Range %d-%d", len(chunk), start, end))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.ltm.uploads[name]
	if start == 0 {
		cur = nil
	}
	if int64(len(cur)) != start {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("chunk starts at %d but %d bytes were received", start, len(cur)))
		return
	}
	cur = append(cur, chunk...)
	s.ltm.uploads[name] = cur
	writeJSON(w, http.StatusOK, map[string]any{
		"remainingByteCount": total - int64(len(cur)),
		"usedChunks":         map[string]any{"0": len(cur)},
		"totalByteCount":     total,
		"localFilePath":      uploadDir + name,
		"temporaryFilePath":  uploadDir + "tmp/" + name,
		"generation":         0,
		"lastUpdateMicros":   time.Now().UnixMicro(),
	})
}

// install is "tmsh install sys crypto cert|key": it reads an uploaded
// file and creates the ssl-cert or ssl-key object.
func (s *Server) install(path string, body map[string]any) (int, map[string]any) {
	if body["command"] != "install" {
		return errBody(http.StatusBadRequest, "unsupported command")
	}
	name, _ := body["name"].(string)
	from, _ := body["from-local-file"].(string)
	if name == "" || from == "" {
		return errBody(http.StatusBadRequest, "install needs name and from-local-file")
	}
	data, ok := s.ltm.uploads[strings.TrimPrefix(from, uploadDir)]
	if !ok || !strings.HasPrefix(from, uploadDir) {
		return errBody(http.StatusBadRequest, fmt.Sprintf("01070712:3: File object by name (%s) is missing.", from))
	}
	partition := "Common"
	if p, n, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/"); ok && strings.HasPrefix(name, "/") {
		partition, name = p, n
	}
	fp := "/" + partition + "/" + name
	block, _ := pem.Decode(data)
	var obj map[string]any
	coll := "sys/file/ssl-key"
	if path == "sys/crypto/cert" {
		coll = "sys/file/ssl-cert"
		if block == nil || block.Type != "CERTIFICATE" {
			return errBody(http.StatusBadRequest, "01070712:3: Values (cert) specified for certificate: not a PEM certificate.")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return errBody(http.StatusBadRequest, "01070712:3: Invalid certificate: "+err.Error())
		}
		sum := sha256.Sum256(cert.Raw)
		obj = map[string]any{
			"kind": "tm:sys:file:ssl-cert:ssl-certstate", "name": name, "partition": partition, "fullPath": fp,
			"expirationDate":   cert.NotAfter.Unix(),
			"expirationString": cert.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
			"subject":          cert.Subject.String(),
			"issuer":           cert.Issuer.String(),
			"fingerprint":      "SHA256/" + strings.ToUpper(hex.EncodeToString(sum[:])),
			"keyType":          strings.ToLower(cert.PublicKeyAlgorithm.String()),
		}
	} else {
		if block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
			return errBody(http.StatusBadRequest, "01070313:3: Error reading key PEM file: not a PEM private key.")
		}
		obj = map[string]any{"kind": "tm:sys:file:ssl-key:ssl-keystate", "name": name, "partition": partition, "fullPath": fp, "keyType": "rsa-private", "securityType": "normal"}
	}
	if s.ltm.objects[coll] == nil {
		s.ltm.objects[coll] = map[string]map[string]any{}
	}
	s.ltm.objects[coll][fp] = obj
	return http.StatusOK, map[string]any{"command": "install", "name": name, "from-local-file": from}
}

func (s *Server) handleTxnCreate(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(coordHeader) != "" {
		writeError(w, http.StatusBadRequest, "a transaction cannot be created inside a transaction")
		return
	}
	id := s.ltm.nextTxn.Add(1)
	t := &txn{ID: id, State: "STARTED"}
	s.mu.Lock()
	s.ltm.txns[id] = t
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, txnBody(t))
}

func txnBody(t *txn) map[string]any {
	return map[string]any{"transId": t.ID, "state": t.State, "timeoutSeconds": 120, "kind": "tm:transactionstate", "selfLink": fmt.Sprintf("https://localhost/mgmt/tm/transaction/%d", t.ID)}
}

func (s *Server) txn(w http.ResponseWriter, r *http.Request) *txn {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	t, ok := s.ltm.txns[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Transaction "+r.PathValue("id")+" not found")
		return nil
	}
	return t
}

func (s *Server) handleTxnGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.txn(w, r); t != nil {
		writeJSON(w, http.StatusOK, txnBody(t))
	}
}

func (s *Server) handleTxnDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.txn(w, r); t != nil {
		delete(s.ltm.txns, t.ID)
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// handleTxnCommit applies every queued operation atomically: on the first
// failure all objects are restored and the transaction is FAILED. BIG-IP
// refuses the commit when it carries the coordination header itself.
func (s *Server) handleTxnCommit(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(coordHeader) != "" {
		writeError(w, http.StatusBadRequest, "Transaction commit must not carry the "+coordHeader+" header")
		return
	}
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.txn(w, r)
	if t == nil {
		return
	}
	if field(v, "state") != "VALIDATING" || t.State != "STARTED" {
		writeError(w, http.StatusBadRequest, "transaction state can only go from STARTED to VALIDATING")
		return
	}
	saved := deepCopy(toAny(s.ltm.objects))
	for i, op := range t.ops {
		status, out := s.tmOp(op.method, op.path, op.body)
		if status >= 300 {
			s.ltm.objects = fromAny(saved)
			t.State = "FAILED"
			body := txnBody(t)
			body["failureReason"] = fmt.Sprintf("operation %d (%s /mgmt/tm/%s): %v", i+1, op.method, op.path, out["message"])
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": body["failureReason"], "errorStack": []string{}})
			return
		}
	}
	t.State = "COMPLETED"
	writeJSON(w, http.StatusOK, txnBody(t))
}

func toAny(objs map[string]map[string]map[string]any) any {
	b, _ := json.Marshal(objs)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func fromAny(v any) map[string]map[string]map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]map[string]map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// Upload returns the bytes received so far for an uploaded file name.
func (s *Server) Upload(name string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ltm.uploads[name])
}
