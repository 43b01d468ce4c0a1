package f5test_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/netauto-dev/netauto/f5/f5test"
)

// The fake answers invalid declarations the way AS3 does: synchronously
// here, with the tenants as an array (AS3 3.51 and later).
func ExampleNew() {
	srv, err := f5test.New(f5test.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	body := `{"class":"ADC","schemaVersion":"3.50.0","id":"example","T":{"class":"Tenant","A":{"class":"Application",
	  "web_pool":{"class":"Pool","colour":"blue"}}}}`
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mgmt/shared/appsvcs/declare", bytes.NewBufferString(body))
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(out))
	// Output:
	// 422 {"code":422,"declarationId":"example","errors":["/T/A/web_pool: should NOT have additional properties (additionalProperty: \"colour\")"],"host":"localhost","message":"declaration is invalid","tenant":["T"]}
}
