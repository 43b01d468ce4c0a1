package f5_test

import (
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/netauto-dev/netauto/f5"
)

// Compare ignores what AS3 rewrites (id, label, schemaVersion, ...) and
// masks secrets in its output.
func ExampleCompare() {
	var current, desired f5.Declaration
	must(json.Unmarshal([]byte(`{"class":"ADC","schemaVersion":"3.0.0","id":"autogen_1","updateMode":"selective",
	  "T":{"class":"Tenant","A":{"class":"Application",
	    "cert":{"class":"Certificate","certificate":"-----BEGIN CERTIFICATE-----old","privateKey":"old-key"},
	    "pool":{"class":"Pool","members":[{"servicePort":80,"serverAddresses":["192.0.2.1"]}]}}}}`), &current))
	must(json.Unmarshal([]byte(`{"class":"ADC","schemaVersion":"3.56.0","id":"v2",
	  "T":{"class":"Tenant","A":{"class":"Application",
	    "cert":{"class":"Certificate","certificate":"-----BEGIN CERTIFICATE-----new","privateKey":"new-key"},
	    "pool":{"class":"Pool","members":[{"servicePort":80,"serverAddresses":["192.0.2.1"]}]}}}}`), &desired))
	diff, err := f5.Compare(&desired, &current)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(diff)
	// Output:
	// ~ /T/A/cert/certificate: "-----BEGIN CERTIFICATE-----old" -> "-----BEGIN CERTIFICATE-----new"
	// ~ /T/A/cert/privateKey: "****" -> "****"
}

// ExpiringWithin flags certificates due within N days, soonest first.
func ExampleExpiringWithin() {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	certs := []f5.CertificateInfo{
		{FullPath: "/Common/api.crt", Expiration: now.AddDate(0, 0, 20)},
		{FullPath: "/Common/www.crt", Expiration: now.AddDate(0, 0, 5)},
		{FullPath: "/Common/old.crt", Expiration: now.AddDate(0, 0, -1)},
		{FullPath: "/Common/new.crt", Expiration: now.AddDate(1, 0, 0)},
	}
	for _, c := range f5.ExpiringWithin(certs, 30, now) {
		fmt.Println(c.FullPath, c.Expiration.Format("2006-01-02"))
	}
	// Output:
	// /Common/old.crt 2026-10-31
	// /Common/www.crt 2026-11-06
	// /Common/api.crt 2026-11-21
}
