package api_test

import (
	"fmt"

	"github.com/netauto-dev/netauto/runtime/api"
)

// Keys are configured as NAME:ROLE:KEY entries (or with the key's hash);
// a worker key may be bound to pools. The set keeps only hashes and says
// who holds a key, and whether the role grants a permission.
func ExampleParseKeys() {
	ks, deprecated, err := api.ParseKeys("ci:admin:na_Q2hhbmdlZEJ5Q0lKb2JzMTIzNDU2Nzg5," +
		"dashboard:viewer:" + api.HashKey("na_ZGFzaGJvYXJkLXJlYWRzLW9ubHktOTg3NjU0") + "," +
		"docker-1:worker@netauto-docker-pool:na_d29ya2VyLWtleS1vZi1kb2NrZXItMS0wMTIz")
	if err != nil {
		fmt.Println(err)
		return
	}
	info, _ := ks.Lookup("na_ZGFzaGJvYXJkLXJlYWRzLW9ubHktOTg3NjU0")
	fmt.Println(info.Name, info.Role, info.Role.Can(api.PermRunsCreate))
	info, _ = ks.Lookup("na_d29ya2VyLWtleS1vZi1kb2NrZXItMS0wMTIz")
	fmt.Println(info.Name, info.Role, info.Pools, info.Role.Can(api.PermWork))
	fmt.Println(len(deprecated), ks)
	// Output:
	// dashboard viewer false
	// docker-1 worker [netauto-docker-pool] true
	// 0 3 API keys
}
