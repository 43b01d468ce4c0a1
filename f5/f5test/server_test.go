package f5test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSchemaCompiledOnce(t *testing.T) {
	a, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := loadSchemas()
	if a != b {
		t.Fatal("schemas compiled twice")
	}
	for doc, sch := range a.byDoc {
		if sch == nil {
			t.Fatalf("%s not compiled", doc)
		}
	}
}

// TestFormats shows that every format used by the AS3 schema is checked:
// F5's own (registered here) and the standard ones (the validator's).
// None is relaxed; see the package doc.
func TestFormats(t *testing.T) {
	tests := []struct {
		format string
		good   []string
		bad    []string
	}{
		{"f5ip", []string{"", "192.0.2.1", "192.0.2.1%2", "192.0.2.0/24", "10.0.0.1%10/8", "2001:db8::1", "2001:db8::/32", "2001:db8::1%3/64", "0.0.0.0"},
			[]string{"192.0.2.300", "192.0.2", "192.0.2.1/33", "192.0.2.1%x", "192.0.2.1/", "host.example.net", "2001:db8::1/129", "fe80::1%eth0", "192.0.2.1/08"}},
		{"f5ipv4", []string{"192.0.2.1", "192.0.2.1%1/24"}, []string{"2001:db8::1"}},
		{"f5ipv6", []string{"2001:db8::1"}, []string{"192.0.2.1"}},
		{"f5bigip", []string{"/Common/http", "/Common/app/pool_1", "/Common/a b"}, []string{"Common/http", "/", "/Common/<x>", "/Common/a*b", "/Common/{x}"}},
		{"f5pointer", []string{"", "web_pool", "/T/A/web_pool", "@/A/pool", "1/pool", "pool#"}, []string{"web-pool", "/T/A/", "a b"}},
	}
	for _, tc := range tests {
		var f func(any) error
		for _, fm := range f5Formats {
			if fm.Name == tc.format {
				f = fm.Validate
			}
		}
		if f == nil {
			t.Fatalf("format %s not registered", tc.format)
		}
		for _, v := range tc.good {
			if err := f(v); err != nil {
				t.Errorf("%s rejects %q: %v", tc.format, v, err)
			}
		}
		for _, v := range tc.bad {
			if f(v) == nil {
				t.Errorf("%s accepts %q", tc.format, v)
			}
		}
	}
	// Standard formats are asserted too (draft-07 asserts formats).
	std := []struct {
		doc string
		ok  bool
	}{
		{`{"class":"ADC","schemaVersion":"3.50.0","$schema":"https://example.net/as3.json"}`, true},
		{`{"class":"ADC","schemaVersion":"3.50.0","$schema":"not a uri"}`, false},
		{`{"class":"ADC","schemaVersion":"3.50.0","controls":{"class":"Controls","archiveTimestamp":"2018-07-03T17:36:42.795Z"}}`, true},
		{`{"class":"ADC","schemaVersion":"3.50.0","controls":{"class":"Controls","archiveTimestamp":"yesterday"}}`, false},
	}
	for _, tc := range std {
		var v any
		if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
			t.Fatal(err)
		}
		errs, err := validate(docADC, v)
		if err != nil || (errs == nil) != tc.ok {
			t.Errorf("%s: errors %v, want ok=%v", tc.doc, errs, tc.ok)
		}
	}
}

func startPlain(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, addr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	// Wait until it answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fake did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, "http://" + addr
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

const simpleApp = `{"class":"ADC","schemaVersion":"3.50.0","id":"x","T":{"class":"Tenant","A":{"class":"Application",
 "service":{"class":"Service_HTTP","virtualAddresses":["192.0.2.10"],"pool":"web_pool"},
 "web_pool":{"class":"Pool","monitors":["http"],"members":[{"servicePort":80,"serverAddresses":["192.0.2.11"]}]}}}}`

func TestServeStandaloneAndShowFull(t *testing.T) {
	_, base := startPlain(t, Options{})
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", simpleApp)
	if status != http.StatusOK {
		t.Fatalf("declare: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, base+as3Prefix+"/declare", simpleApp)
	if status != http.StatusOK || body["results"].([]any)[0].(map[string]any)["message"] != "no change" {
		t.Fatalf("re-post: %d %v", status, body)
	}
	_, full := call(t, http.MethodGet, base+as3Prefix+"/declare?show=full", "")
	app := full["T"].(map[string]any)["A"].(map[string]any)
	svc := app["service"].(map[string]any)
	pool := app["web_pool"].(map[string]any)
	member := pool["members"].([]any)[0].(map[string]any)
	checks := []struct {
		got  any
		want string
	}{
		{svc["virtualPort"], "80"}, {svc["snat"], "auto"}, {pool["loadBalancingMode"], "round-robin"},
		{member["adminState"], "enable"}, {app["template"], "generic"}, {full["updateMode"], "selective"},
	}
	for i, c := range checks {
		if b, _ := json.Marshal(c.got); strings.Trim(string(b), `"`) != c.want {
			t.Errorf("default %d = %s, want %s", i, b, c.want)
		}
	}
	_, base2 := call(t, http.MethodGet, base+as3Prefix+"/declare", "")
	if _, ok := base2["T"].(map[string]any)["A"].(map[string]any)["template"]; ok {
		t.Error("show=base must not add defaults")
	}
}

func TestStrictValidationAnswers422WithPath(t *testing.T) {
	s, base := startPlain(t, Options{})
	tests := []struct{ body, want string }{
		{strings.Replace(simpleApp, `"monitors"`, `"colour":"blue","monitors"`, 1), `/T/A/web_pool: should NOT have additional properties`},
		{strings.Replace(simpleApp, `192.0.2.10`, `192.0.2.256`, 1), `/T/A/service/virtualAddresses/0: should match format "f5ip"`},
		{strings.Replace(simpleApp, `"class":"Pool",`, ``, 1), `/T/A/web_pool: should have required property 'class'`},
		{`{"class":"ADC"}`, `/: should have required property 'schemaVersion'`},
	}
	for _, tc := range tests {
		status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", tc.body)
		errs, _ := body["errors"].([]any)
		if status != http.StatusUnprocessableEntity || body["message"] != "declaration is invalid" || len(errs) != 1 || !strings.HasPrefix(errs[0].(string), tc.want) {
			t.Errorf("status %d body %v, want 422 with %q", status, body, tc.want)
		}
	}
	if len(s.Applied()) != 0 {
		t.Fatal("invalid declaration applied")
	}
	if status, _ := call(t, http.MethodPost, base+as3Prefix+"/declare", `{"class":`); status != http.StatusBadRequest {
		t.Fatalf("broken JSON: %d", status)
	}
}

func TestBurstQueue(t *testing.T) {
	s, base := startPlain(t, Options{BurstQueueSize: 1})
	if status, _ := call(t, http.MethodPost, base+as3Prefix+"/settings", `{"burstHandlingEnabled":true}`); status != http.StatusOK {
		t.Fatalf("settings: %d", status)
	}
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/settings", `{"burstHandling":true}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown setting: %d %v", status, body)
	}
	release := s.HoldLock()
	queued := make(chan int)
	go func() {
		status, _ := call(t, http.MethodPost, base+as3Prefix+"/declare", simpleApp)
		queued <- status
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		w := s.waiting
		s.mu.Unlock()
		if w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("request never queued")
		}
		time.Sleep(time.Millisecond)
	}
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", simpleApp)
	if status != http.StatusServiceUnavailable || !strings.Contains(body["message"].(string), "Too many configuration operations") {
		t.Fatalf("queue full: %d %v", status, body)
	}
	release()
	if status := <-queued; status != http.StatusOK {
		t.Fatalf("queued request: %d", status)
	}
}

func TestTokenLoginExtendAndExpire(t *testing.T) {
	s, base := startPlain(t, Options{})
	resp, err := http.Post(base+"/mgmt/shared/authn/login", "application/json", bytes.NewReader([]byte(`{"username":"admin","password":"admin","loginProviderName":"tmos"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var lr struct {
		Token struct {
			Token   string `json:"token"`
			Timeout int    `json:"timeout"`
		} `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil || lr.Token.Token == "" || lr.Token.Timeout != 1200 {
		t.Fatalf("login: %v %+v", err, lr)
	}
	resp.Body.Close()
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, base+as3Prefix+"/info", nil)
		req.Header.Set("X-F5-Auth-Token", lr.Token.Token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if get() != http.StatusOK {
		t.Fatal("token refused")
	}
	s.ExpireTokens()
	if get() != http.StatusUnauthorized {
		t.Fatal("expired token accepted")
	}
	if status, _ := call(t, http.MethodGet, base+as3Prefix+"/task/nope", ""); status != http.StatusNotFound {
		t.Fatalf("unknown task: %d", status)
	}
}

func TestTaskRecordsKeepRunningTasks(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	running := s.newTask()
	for range maxTaskRecords + 5 {
		done := s.newTask()
		s.finishTask(done, nil, map[string]any{"results": []result{{Code: http.StatusOK, Message: "success"}}, "declaration": map[string]any{}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.as3.tasks[running.ID] == nil {
		t.Fatal("a running task's record was dropped")
	}
	if n := len(s.as3.order); n != maxTaskRecords || len(s.as3.tasks) != n {
		t.Fatalf("%d records (%d in the map), want %d", n, len(s.as3.tasks), maxTaskRecords)
	}
}
