package infrahubtest

import "testing"

func TestGeneratedSchemaLoads(t *testing.T) {
	r, err := loadRegistry(DefaultSchemas())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.buildSchema(); err != nil {
		t.Fatal(err)
	}
}
