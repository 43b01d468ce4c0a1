package f5

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
)

// These tests hold the client to how AS3 really answers (AS3 3.51 and
// later), against the fake and against the DERIVED fixtures in
// testdata/responses (built from github.com/F5Networks/f5-appsvcs-extension
// src/lib/declarationHandler.js, asyncHandler.js, mutex.js and audit.js;
// see testdata/SOURCE.md).

func fixtureResponse(t *testing.T, name string) *Result {
	t.Helper()
	res, err := decodeResult(&response{status: http.StatusOK, body: readFixture(t, "responses/"+name)})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func TestDerivedFixturesDecode(t *testing.T) {
	// A failed task: "tenant" is an array (declarationHandler.js
	// body.tenant = tenants), the validation errors survive.
	res := fixtureResponse(t, "DERIVED-as3-task-422-invalid-tenant-array.json")
	r := res.Tenants[0]
	if !slices.Equal(r.Tenants, []string{"sample_02"}) || r.Code != 422 || r.Outcome() != OutcomeFailed ||
		!slices.Equal(r.Errors, []string{"/sample_02/app/service/pool: contains path to non-existent object testPool4"}) ||
		!strings.HasPrefix(r.DeclarationID, "autogen_") {
		t.Fatalf("422 task: %+v", r)
	}
	if msg := (&DeclareError{Result: res}).Error(); !strings.Contains(msg, `tenant "sample_02": code 422: declaration is invalid: /sample_02/app/service/pool: contains path`) {
		t.Fatalf("error text %q", msg)
	}
	// The lock met inside a task: code 503 in the record, HTTP 200: busy.
	res = fixtureResponse(t, "DERIVED-as3-task-503-locked-in-task.json")
	if b := taskBusy(res); b == nil || !b.Busy() || b.StatusCode != http.StatusOK || b.Code != 503 || !slices.Equal(res.Tenants[0].Tenants, []string{"T1"}) {
		t.Fatalf("503 in task: %+v, %+v", b, res.Tenants)
	}
	// A tenant failing on the device: "declaration failed" + the reason.
	res = fixtureResponse(t, "DERIVED-as3-task-tenant-failed-response.json")
	failed := res.Failed()
	if len(failed) != 1 || failed[0].Message != "declaration failed" || failed[0].Response != "01020036:3: The requested monitor (/Common/nope) was not found." {
		t.Fatalf("failed tenant: %+v", failed)
	}
	if msg := (&DeclareError{Result: res}).Error(); !strings.Contains(msg, `tenant "Bad": code 422: declaration failed: 01020036:3: The requested monitor (/Common/nope) was not found.`) {
		t.Fatalf("error text %q", msg)
	}
	// A cancelled task never completes.
	res = fixtureResponse(t, "DERIVED-as3-task-cancelled.json")
	if res.Tenants[0].Outcome() != OutcomeCancelled || !res.cancelled() {
		t.Fatalf("cancelled: %+v", res.Tenants)
	}
	// "T1, Common" (audit.js with a Common tenant) is two names.
	var tr TenantResult
	if err := json.Unmarshal([]byte(`{"code":200,"message":"success","tenant":"T1, Common"}`), &tr); err != nil || !slices.Equal(tr.Tenants, []string{"T1", "Common"}) {
		t.Fatalf("%+v %v", tr, err)
	}
}

// Validation runs inside the task (async): the 422 arrives as the task's
// result with the tenant array, and still becomes a *DeclareError with the
// validation errors.
func TestAsyncValidationFailureKeepsItsErrors(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	d := simpleDecl("T", "1", "192.0.2.10", "192.0.2.11")
	d.Tenants["T"].Applications["app"].Items["service"].(*Service).Pool = &Ref{Name: "missing_pool"}
	res, err := c.Declare(context.Background(), d, fastOpts)
	var de *DeclareError
	if !errors.As(err, &de) || res == nil || res.TaskID == "" {
		t.Fatalf("err = %v, res %+v: want a *DeclareError from the task", err, res)
	}
	if got := de.ValidationErrors(); !slices.Equal(got, []string{"/T/app/service/pool: contains path to non-existent object missing_pool"}) {
		t.Fatalf("validation errors %q", got)
	}
	if !slices.Equal(res.Tenants[0].Tenants, []string{"T"}) || res.HTTPStatus != http.StatusOK {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(err.Error(), "task record answered HTTP 200") || strings.Contains(err.Error(), "HTTP 422") {
		t.Fatalf("error %q must say what the device answered", err)
	}
	if len(srv.Applied()) != 0 {
		t.Fatal("applied")
	}
}

// The lock met inside a task (code 503 in the record) is waited out: the
// client submits again until the lock is free. The lock is held by the
// test until the fake has really answered a task with 503.
func TestInTaskLockIsWaitedOut(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	if _, err := c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	release := srv.HoldLock()
	done := make(chan error, 1)
	var res *Result
	go func() {
		var err error
		res, err = c.Declare(ctx, simpleDecl("T1", "1", "192.0.2.10", "192.0.2.11"), fastOpts)
		done <- err
	}()
	awaitLockedTask(t, c)
	release()
	if err := <-done; err != nil {
		t.Fatalf("declare after the lock was released: %v", err)
	}
	if res.Tenants[0].Outcome() != OutcomeSuccess || srv.Tenant("T1") == nil {
		t.Fatalf("result %+v", res)
	}
}

// awaitLockedTask polls the task list until a record ended with code 503.
func awaitLockedTask(t *testing.T, c *Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Items []Result `json:"items"`
		}
		if err := c.getJSON(context.Background(), as3Path+"/task", &list); err != nil {
			t.Fatal(err)
		}
		for _, it := range list.Items {
			if taskBusy(&it) != nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no task met the lock")
		}
		time.Sleep(time.Millisecond)
	}
}

// Two declarations for different tenants, sent together, both succeed: the
// second meets the first's lock inside its task and waits it out.
func TestParallelTenantsWaitOutTheLock(t *testing.T) {
	srv, c := newPair(t, f5test.Options{TaskDuration: 300 * time.Millisecond})
	ctx := context.Background()
	if _, err := c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tenant := range []string{"T1", "T2"} {
		wg.Go(func() {
			_, errs[i] = c.Declare(ctx, simpleDecl(tenant, "1", "192.0.2."+string(rune('1'+i)), "198.51.100.1"), fastOpts)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("declaration %d: %v", i, err)
		}
	}
	if srv.Tenant("T1") == nil || srv.Tenant("T2") == nil {
		t.Fatal("a tenant is missing")
	}
	var list struct {
		Items []Result `json:"items"`
	}
	if err := c.getJSON(ctx, as3Path+"/task", &list); err != nil {
		t.Fatal(err)
	}
	locked := slices.ContainsFunc(list.Items, func(r Result) bool { return taskBusy(&r) != nil })
	if !locked {
		t.Fatal("no task met the lock: the test did not exercise waiting it out")
	}
}

// A tenant refused by the device carries the device's reason in the
// result and in the error text.
func TestDeviceReasonInResultAndError(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	d := simpleDecl("Bad", "1", "192.0.2.10", "192.0.2.11")
	d.Tenants["Bad"].Applications["app"].Items["web_pool"].(*Pool).Monitors = []Ref{{BIGIP: "/Common/nope"}}
	res, err := c.Declare(context.Background(), d, fastOpts)
	var de *DeclareError
	want := "01020036:3: The requested monitor (/Common/nope) was not found."
	if !errors.As(err, &de) || res.Tenants[0].Message != "declaration failed" || res.Tenants[0].Response != want {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if !strings.Contains(err.Error(), "declaration failed: "+want) {
		t.Fatalf("error text %q lacks the device's reason", err)
	}
}

// A cancelled task ("task cancelled", code 0, for ever) is not polled until
// the timeout: a declaration is submitted once more, a JSON Patch is not.
func TestCancelledTask(t *testing.T) {
	ctx := context.Background()
	opts := *fastOpts
	opts.Timeout = time.Minute // a poll until the timeout would fail the test's own deadline
	t.Run("resubmitted once", func(t *testing.T) {
		srv, c := newPair(t, f5test.Options{})
		srv.CancelTasks(1)
		res, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
		if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess || len(srv.Applied()) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
	})
	t.Run("cancelled twice", func(t *testing.T) {
		srv, c := newPair(t, f5test.Options{})
		srv.CancelTasks(2)
		start := time.Now()
		_, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
		var ce *TaskCancelledError
		if !errors.As(err, &ce) || len(ce.TaskIDs) != 2 || ce.TaskIDs[0] == ce.TaskIDs[1] || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a TaskCancelledError naming two tasks", err)
		}
		if !strings.Contains(err.Error(), "task cancelled") || time.Since(start) > 30*time.Second {
			t.Fatalf("error %q after %v", err, time.Since(start))
		}
		if len(srv.Applied()) != 0 {
			t.Fatal("applied")
		}
	})
	t.Run("patch not resubmitted", func(t *testing.T) {
		srv, c := newPair(t, f5test.Options{})
		if _, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts); err != nil {
			t.Fatal(err)
		}
		srv.CancelTasks(1)
		_, err := c.Patch(ctx, []PatchOp{{Op: "add", Path: "/T/app/web_pool/members/0/serverAddresses/-", Value: "192.0.2.12"}}, &opts)
		var ce *TaskCancelledError
		if !errors.As(err, &ce) || len(ce.TaskIDs) != 1 || !strings.Contains(ce.NotResubmitted, "not idempotent") {
			t.Fatalf("err = %v", err)
		}
		if len(srv.Applied()) != 1 {
			t.Fatal("the cancelled patch was applied")
		}
	})
}

// Errors name the status the device really answered.
func TestErrorsNameTheRealStatus(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	srv.FailTenant("Bad", "boom")
	d := simpleDecl("Good", "1", "192.0.2.10", "192.0.2.11")
	d.Tenants["Bad"] = simpleDecl("Bad", "1", "192.0.2.20", "192.0.2.21").Tenants["Bad"]
	_, err := c.Declare(context.Background(), d, fastOpts) // a task: the record answers 200
	if err == nil || !strings.Contains(err.Error(), "(task record answered HTTP 200)") || strings.Contains(err.Error(), "207") {
		t.Fatalf("async: %v", err)
	}
	d.ID = "2"
	d.Tenants["Good"] = simpleDecl("Good", "2", "192.0.2.10", "192.0.2.12").Tenants["Good"]
	_, err = c.Declare(context.Background(), d, &DeclareOptions{Sync: true})
	if err == nil || !strings.Contains(err.Error(), "AS3 answered HTTP 207") {
		t.Fatalf("sync: %v", err)
	}
}

// JSON Patch "test" is refused before anything is sent: AS3 refuses it
// whatever it tests (declarationHandler.js handlePatch).
func TestPatchTestOpRefusedBeforeSending(t *testing.T) {
	var requests atomic.Int32
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Username: "a", Retry: fastRetry, HTTPClient: &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
		requests.Add(1)
		return nil, errors.New("no request may be sent")
	})}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patch(context.Background(), []PatchOp{{Op: "add", Path: "/T/a", Value: 1}, {Op: "test", Path: "/T/a", Value: 1}}, nil)
	if err == nil || !strings.Contains(err.Error(), `ops[1].op "test" is not supported by AS3`) || requests.Load() != 0 {
		t.Fatalf("err = %v after %d requests", err, requests.Load())
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// AS3 skips a URL tenant the body does not declare without a word
// (declareHandler.js parsePerTenantPath): the client refuses the call.
func TestDeclareTenantsMustBeInTheBody(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	_, err := c.Declare(context.Background(), simpleDecl("T1", "1", "192.0.2.10"), &DeclareOptions{Tenants: []string{"T1", "T2"}})
	if err == nil || !strings.Contains(err.Error(), `"T2", which the declaration does not declare`) {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Applied()) != 0 {
		t.Fatal("sent anyway")
	}
	res, err := c.Declare(context.Background(), simpleDecl("T1", "1", "192.0.2.10", "192.0.2.11"), &DeclareOptions{Tenants: []string{"T1"}, PollInterval: time.Millisecond})
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("named tenant: %v %+v", err, res)
	}
}

// Credentials never follow a redirect to another host (issue #19). A
// device that redirects to a second server (another port of 127.0.0.1,
// which net/http treats as the same host for Authorization, and to which
// it sends any other header, the token included, and a 307's body, the
// login password included) must not leak them there.
func TestCredentialsNeverFollowARedirectToAnotherHost(t *testing.T) {
	var leaked []string
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-F5-Auth-Token") != "" || r.Header.Get("Authorization") != "" || strings.Contains(string(body), "s3cret") {
			leaked = append(leaked, r.Method+" "+r.URL.Path)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"token":{"token":"stolen","timeout":1200},"version":"3.56.0"}`)
	}))
	defer other.Close()
	srv, err := f5test.New(f5test.Options{Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var redirectLogin atomic.Bool
	device := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == as3Path+"/info" || (r.URL.Path == loginPath && redirectLogin.Load()) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == as3Path+"/declare" && r.Method == http.MethodGet {
			http.Redirect(w, r, as3Path+"/declare/", http.StatusFound) // same host: followed
			return
		}
		if r.URL.Path == as3Path+"/declare/" {
			r.URL.Path = as3Path + "/declare"
		}
		srv.ServeHTTP(w, r)
	}))
	defer device.Close()
	for _, basic := range []bool{false, true} {
		c, err := New(Config{BaseURL: device.URL, Username: "admin", Password: "s3cret", BasicAuth: basic, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Info(context.Background())
		var re *RedirectError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), other.URL) {
			t.Fatalf("basic=%v: err = %v, want a RedirectError naming %s", basic, err, other.URL)
		}
		var te *TimeoutError
		if errors.As(err, &te) {
			t.Fatalf("basic=%v: a refused redirect was retried: %v", basic, err)
		}
		// Redirects within the device are still followed.
		if _, err := c.Read(context.Background(), ""); err != nil {
			t.Fatalf("basic=%v: same-host redirect: %v", basic, err)
		}
	}
	// A login answered by a redirect must not resend the password.
	redirectLogin.Store(true)
	c, err := New(Config{BaseURL: device.URL, Username: "admin", Password: "s3cret", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(context.Background(), ""); err == nil {
		t.Fatal("login through a cross-host redirect succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) > 0 {
		t.Fatalf("credentials reached the other host: %v", leaked)
	}
}

// AS3 keeps only the 25 most recent finished task records
// (src/lib/asyncHandler.js cleanRecords): a record can be gone, answering
// 404 "No record found with ID of ..." (testdata/responses/as3-task-404.json),
// before its outcome is read. A declaration is sent again (what the lost
// task applied then answers "no change"); a JSON Patch is not.
func TestLostTaskRecord(t *testing.T) {
	ctx := context.Background()
	gone := string(readFixture(t, "responses/as3-task-404.json"))
	srv, c := newPair(t, f5test.Options{})
	if _, err := c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(http.MethodGet, as3Path+"/task/", 1, http.StatusNotFound, gone)
	res, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), fastOpts)
	if err != nil || len(srv.Applied()) != 1 {
		t.Fatalf("declare: %v, applied %d", err, len(srv.Applied()))
	}
	if o := res.Tenants[0].Outcome(); o != OutcomeSuccess && o != OutcomeNoChange {
		t.Fatalf("outcome %v", o)
	}
	srv.FailNext(http.MethodGet, as3Path+"/task/", 1, http.StatusNotFound, gone)
	_, err = c.Patch(ctx, []PatchOp{{Op: "add", Path: "/T/app/web_pool/members/0/serverAddresses/-", Value: "192.0.2.12"}}, fastOpts)
	var apiErr *Error
	if !errors.As(err, &apiErr) || !apiErr.NotFound() || !strings.Contains(err.Error(), "not resubmitted") {
		t.Fatalf("patch: %v", err)
	}
}

// Synchronous error bodies are read as leniently as task results: a field
// in another shape never costs the code and message.
func TestErrorBodiesDecodeLeniently(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Error
	}{
		{`{"code":422,"message":"declaration is invalid","errors":"/T/A/p: bad","tenant":["T"]}`, Error{Code: 422, Message: "declaration is invalid", Errors: []string{"/T/A/p: bad"}}},
		{`{"code":503,"message":"Error: Configuration operation in progress on device localhost, please try again in 2 minutes","host":"localhost","tenant":["T1"],"declarationId":"x"}`,
			Error{Code: 503, Message: "Error: Configuration operation in progress on device localhost, please try again in 2 minutes"}},
		{`{"code":400,"message":{"detail":"odd"},"errorStack":"at x"}`, Error{Code: 400, Message: `{"detail":"odd"}`, ErrorStack: []string{"at x"}}},
	} {
		got := decodeError(http.MethodPost, "/p", tc.want.Code, []byte(tc.body))
		if got.Code != tc.want.Code || got.Message != tc.want.Message || !slices.Equal(got.Errors, tc.want.Errors) || !slices.Equal(got.ErrorStack, tc.want.ErrorStack) || got.Body != "" {
			t.Errorf("%s: %+v", tc.body, got)
		}
	}
}
