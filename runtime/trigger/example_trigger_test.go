package trigger_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// A table like the original dispatcher's: artifact updates of F5
// applications redeploy AS3, interface changes resync the device, and every
// other node change is audited.
func ExampleTable_Matcher() {
	tab, err := trigger.New(
		trigger.Trigger{Event: "infrahub.artifact.updated", Kind: "NetautoFlexApplication", Deployment: "deploy-as3",
			Parameters: map[string]string{"artifact_id": "data.node_id"}},
		trigger.Trigger{Event: "infrahub.node.*", Kind: "InfraInterfaceL3", Deployment: "sync-interface",
			Parameters: map[string]string{"interface": "data.node_id"},
			Throttle:   &trigger.Throttle{Key: "data.node_id", Within: time.Minute}},
		trigger.Trigger{Event: "infrahub.node.*", Deployment: "audit", EventParameter: "event"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	deps := []store.Deployment{
		{Name: "deploy-as3"},
		{Name: "sync-interface", Parameters: json.RawMessage(`{"dry_run": false}`)},
		{Name: "audit"},
	}
	match := tab.Matcher(deps)
	specs, err := match(store.Event{ID: "67acc7ea", Source: "infrahub", Type: "infrahub.node.updated",
		Payload: json.RawMessage(`{"event": "infrahub.node.updated", "data": {"kind": "InfraInterfaceL3", "node_id": "182c697c"}}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range specs {
		fmt.Println(s.Deployment, string(s.Parameters), s.ThrottleKey, s.Throttle)
	}
	// Output:
	// sync-interface {"dry_run":false,"interface":"182c697c"} data.node_id=182c697c 1m0s
}

func ExampleNew() {
	_, err := trigger.New(
		trigger.Trigger{Event: "infrahub.node.updated", Deployment: "sync"},
		trigger.Trigger{Event: "infrahub.node.updated", Deployment: "sync",
			Name: "throttled", Throttle: &trigger.Throttle{Key: "data.node_id"}},
	)
	fmt.Println(err)
	// Output:
	// triggers[1].throttle.within: must be positive, got 0s
}
