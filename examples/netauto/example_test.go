package main

import (
	"fmt"
	"strings"
)

// The trigger table: Infrahub event × target kind → deployment.
func ExampleTriggers() {
	for _, tr := range Triggers() {
		fmt.Printf("%-27s %-22s → %s (event as %q)\n", tr.Event, tr.Kind, tr.Deployment, tr.EventParameter)
	}
	// Output:
	// infrahub.artifact.updated   NetautoFlexApplication → f5-as3-production (event as "event")
	// infrahub.artifact.updated   NetautoLTMConfig       → f5-ltm-production (event as "event")
	// infrahub.artifact.updated   NetautoCertificate     → f5-cert-production (event as "event")
	// infrahub.artifact.updated   NetautoRoutingConfig   → routing-deploy-production (event as "event")
	// infrahub.node.created       NetworkDevice          → inventory-sync-production (event as "event")
	// infrahub.validator.passed   *                      → validation-processor-production (event as "event")
	// infrahub.validator.failed   *                      → validation-processor-production (event as "event")
}

// The production deployments with schedules, on the Docker pool.
func ExampleDeployments() {
	for _, d := range Deployments(DockerPool, true) {
		if len(d.Schedules) == 0 || !strings.HasSuffix(d.Name, "-production") {
			continue
		}
		fmt.Println(d.Name, d.Schedules[0].Cron, d.Pool, string(d.Parameters), d.Tags)
	}
	fmt.Println(Pools(true)[0].Type)
	// Output:
	// inventory-sync-production 0 */6 * * * netauto-docker-pool {"environment":"production"} [inventory sync production]
	// config-backup-production 0 2 * * * netauto-docker-pool {"environment":"production"} [backup git production]
	// docker
}
