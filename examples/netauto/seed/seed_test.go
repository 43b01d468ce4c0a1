package seed

import (
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"testing"
)

func TestSeedLoads(t *testing.T) {
	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas(), Seed: Infrahub()})
	if err != nil {
		t.Fatal(err)
	}
	_ = fake
}
