package f5

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedResponses adds every fixture response body to the corpus.
func seedResponses(f *testing.F) {
	for _, dir := range []string{"responses", "results"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"results":[{"code":0}],"id":""}`))
	f.Add([]byte(`{"code":"422","errors":"x"}`))
	f.Add([]byte(`{"results":[{"code":503,"tenant":["T1","T2"],"message":"Error: busy"}]}`))
	f.Add([]byte(`{"results":[{"code":200,"tenant":"T1, Common","message":"success"}]}`))
	f.Add([]byte(`{"results":[{"code":422,"tenant":null,"response":{"x":1},"errors":[1,"a",null]}]}`))
}

func FuzzDecodeResult(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusUnprocessableEntity} {
			res, err := decodeResult(&response{status: status, body: b})
			if err != nil {
				continue
			}
			for _, tr := range res.Tenants {
				_ = tr.Outcome().String()
			}
			_ = res.Failed()
			_ = taskBusy(res)
			_ = res.cancelled()
			if len(res.Tenants) > 0 {
				_ = (&DeclareError{Result: res}).Error()
			}
			for _, tr := range res.Tenants {
				for _, name := range tr.Tenants {
					if name == "" || strings.Contains(name, ",") || strings.TrimSpace(name) != name {
						t.Fatalf("tenant name %q from %s", name, b)
					}
				}
				// What decoded encodes again and decodes to the same entry.
				out, err := json.Marshal(tr)
				if err != nil {
					t.Fatalf("encode %+v: %v", tr, err)
				}
				var again TenantResult
				if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(again, tr) {
					t.Fatalf("round trip of %s: %+v, %v; want %+v", out, again, err, tr)
				}
			}
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e := decodeError(http.MethodGet, "/p", http.StatusServiceUnavailable, b)
		if e.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}

// FuzzDeclaration decodes arbitrary JSON as a declaration; whatever
// decodes must encode again and decode to the same value.
func FuzzDeclaration(f *testing.F) {
	seedResponses(f)
	for _, dir := range []string{"declarations", "userguide"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Declaration
		if json.Unmarshal(b, &d) != nil {
			return
		}
		out, err := json.Marshal(&d)
		if err != nil {
			t.Fatalf("decoded declaration does not encode: %v", err)
		}
		var again Declaration
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		out2, err := json.Marshal(&again)
		if err != nil || !jsonEqual(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
		_, _ = TenantsOf(b)
	})
}
