package infrahub_test

import (
	"context"
	"crypto/md5" //nolint:gosec // Infrahub's artifact checksum
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// TestRegenerateArtifactsLikeInfrahub: Infrahub's generator compares the
// rendered content's MD5 with the artifact's checksum and, when equal,
// stores, saves and sends nothing (opsmill/infrahub
// backend/infrahub/git/integrator.py render_artifact). Changed content is
// uploaded under a new storage id and announced by
// infrahub.artifact.updated. The generate endpoint's "nodes" are artifact
// ids (backend/infrahub/git/tasks.py skips the others).
func TestRegenerateArtifactsLikeInfrahub(t *testing.T) {
	ctx := t.Context()
	key := []byte("whsec")
	var (
		mu     sync.Mutex
		events []*infrahub.Event
	)
	recv := httptest.NewServer(&infrahub.WebhookHandler{Verifier: mustVerifier(t, key), OnEvent: func(_ context.Context, ev *infrahub.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		return nil
	}})
	defer recv.Close()
	received := func() []*infrahub.Event {
		mu.Lock()
		defer mu.Unlock()
		out := events
		events = nil
		return out
	}
	s, c, _ := newFake(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed(), Webhooks: []infrahubtest.Webhook{
		{URL: recv.URL, SharedKey: key, Events: []string{infrahub.EventArtifactUpdated, infrahub.EventNodeUpdated}},
	}})
	dev, err := infrahub.GetByHFID[device](ctx, c, "DcimDevice", []string{"atl1-edge2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionName: "startup-config"})
	if err != nil || len(all) != 2 {
		t.Fatalf("artifacts: %d %v", len(all), err)
	}
	var a, other infrahub.Artifact
	for _, x := range all {
		if x.Object.Node.ID == dev.ID {
			a = x
		} else {
			other = x
		}
	}
	defID := a.Definition.Node.ID
	current := func(id string) infrahub.Artifact {
		t.Helper()
		arts, err := c.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionID: defID})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range arts {
			if x.ID == id {
				return x
			}
		}
		t.Fatalf("artifact %s gone", id)
		return infrahub.Artifact{}
	}
	regenerate := func(ids ...string) {
		t.Helper()
		if err := c.RegenerateArtifacts(ctx, defID, ids, ""); err != nil {
			t.Fatal(err)
		}
		s.Wait() // generation and deliveries run after the answer
	}

	// Unchanged content: nothing is stored, saved or sent.
	regenerate(a.ID)
	if now := current(a.ID); now.StorageID.Value != a.StorageID.Value || now.Checksum.Value != a.Checksum.Value {
		t.Fatalf("unchanged content got a new storage id or checksum: %+v", now)
	}
	if evs := received(); len(evs) != 0 {
		t.Fatalf("unchanged content sent %d events", len(evs))
	}

	// The transformation now renders something else. Naming the target
	// node instead of the artifact generates nothing.
	content := []byte("hostname atl1-edge2\ninterface Ethernet1\n description uplink\n")
	s.SetArtifactContent(a.ID, content)
	regenerate(dev.ID)
	if now := current(a.ID); now.StorageID.Value != a.StorageID.Value {
		t.Fatal("a target id in nodes regenerated the artifact")
	}

	regenerate(a.ID)
	sum := md5.Sum(content) //nolint:gosec // Infrahub's checksum
	now := current(a.ID)
	if now.StorageID.Value == a.StorageID.Value || now.Checksum.Value != hex.EncodeToString(sum[:]) || now.Status.Value != "Ready" {
		t.Fatalf("changed content: %+v", now)
	}
	if got, err := c.ArtifactContent(ctx, a.ID, ""); err != nil || string(got) != string(content) {
		t.Fatalf("content after regeneration: %q %v", got, err)
	}
	if got, err := c.StorageObject(ctx, now.StorageID.Value); err != nil || string(got) != string(content) {
		t.Fatalf("storage object: %q %v", got, err)
	}
	evs := received()
	var updated *infrahub.ArtifactData
	nodeUpdates := 0
	for _, ev := range evs {
		switch d := ev.Data.(type) {
		case *infrahub.ArtifactData:
			if updated != nil {
				t.Fatal("two artifact events for one change")
			}
			updated = d
		case *infrahub.NodeData:
			if d.Kind == "CoreArtifact" && d.NodeID == a.ID {
				nodeUpdates++
			}
		}
	}
	if updated == nil || nodeUpdates != 1 || len(evs) != 2 {
		t.Fatalf("events after a change: %d (%+v), want the artifact's node.updated and artifact.updated", len(evs), evs)
	}
	if updated.NodeID != a.ID || updated.TargetID != dev.ID || updated.TargetKind != "DcimDevice" || updated.ArtifactDefinitionID != defID ||
		updated.StorageID != now.StorageID.Value || updated.StorageIDPrevious != a.StorageID.Value ||
		updated.Checksum != now.Checksum.Value || updated.ChecksumPrevious != a.Checksum.Value {
		t.Fatalf("artifact.updated payload: %+v", updated)
	}
	logged, err := c.Events(ctx, infrahub.EventQuery{EventTypes: []string{infrahub.EventArtifactUpdated}})
	if err != nil || len(logged) != 1 {
		t.Fatalf("event log: %d artifact.updated (%v), want 1", len(logged), err)
	}

	// Generating everything again changes nothing: the content is the same.
	regenerate()
	if now2 := current(a.ID); now2.StorageID.Value != now.StorageID.Value {
		t.Fatal("second generation of the same content stored it again")
	}
	if o := current(other.ID); o.StorageID.Value != other.StorageID.Value {
		t.Fatal("the other artifact, unchanged, got a new storage id")
	}
	if evs := received(); len(evs) != 0 {
		t.Fatalf("generation of unchanged content sent %d events", len(evs))
	}

	if err := c.RegenerateArtifacts(ctx, "no-such-definition", nil, ""); !errors.Is(err, infrahub.ErrNotFound) || errors.Is(err, infrahub.ErrBranchNotFound) {
		t.Errorf("unknown definition: %v", err)
	}
	if err := c.RegenerateArtifacts(ctx, defID, nil, "nope"); !errors.Is(err, infrahub.ErrBranchNotFound) {
		t.Errorf("unknown branch: %v", err)
	}
}
