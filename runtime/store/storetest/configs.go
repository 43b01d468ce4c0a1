package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

const plain = "hunter2-very-secret"

func testSecrets(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.PutSecret(ctx(t), "f5-admin", store.NewSecret(plain)))
	check(t, s.PutSecret(ctx(t), "git-token", store.NewSecret("t0ken")))
	got := must(s.GetSecret(ctx(t), "f5-admin"))
	if got.Reveal() != plain {
		t.Fatal("secret did not round-trip")
	}
	list := must(s.ListSecrets(ctx(t)))
	if len(list) != 2 || list[0].Name != "f5-admin" || list[0].Created.IsZero() {
		t.Fatalf("ListSecrets = %+v", list)
	}
	if out := fmt.Sprintf("%v %+v %s %#v", list, got, got, got); strings.Contains(out, plain) {
		t.Fatalf("secret printed: %s", out)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), plain) {
		t.Fatalf("secret in JSON: %s", b)
	}
	check(t, s.DeleteSecret(ctx(t), "git-token"))
	_, err := s.GetSecret(ctx(t), "git-token")
	wantNotFound(t, err)
	wantNotFound(t, s.DeleteSecret(ctx(t), "git-token"))
}

func testKeyRequired(t *testing.T, o Opener) {
	open := o(t)
	s := openWith(t, open, store.Options{})
	err := s.PutSecret(ctx(t), "x", store.NewSecret(plain))
	if !errors.Is(err, store.ErrKeyRequired) {
		t.Fatalf("PutSecret without a key: %v, want ErrKeyRequired", err)
	}
	err = s.SaveBlock(ctx(t), store.Block{Name: "b", Data: json.RawMessage(`{}`), Secrets: map[string]store.Secret{"p": store.NewSecret(plain)}})
	if !errors.Is(err, store.ErrKeyRequired) {
		t.Fatalf("SaveBlock with secrets without a key: %v, want ErrKeyRequired", err)
	}
	check(t, s.SaveBlock(ctx(t), store.Block{Name: "plain", Data: json.RawMessage(`{"a":1}`)}))
	check(t, s.Close())

	keyed := openWith(t, open, store.Options{Key: Key(t)})
	check(t, keyed.PutSecret(ctx(t), "x", store.NewSecret(plain)))
	check(t, store.SaveConfig(ctx(t), keyed, "cfg", f5Config{Host: "h", Password: store.NewSecret(plain)}))
	check(t, store.SaveConfig(ctx(t), keyed, "cfg-default", f5Config{Host: "default"}))
	check(t, keyed.Close())

	_, err = open(store.Options{})
	var kr *store.KeyRequiredError
	if !errors.As(err, &kr) || kr.Encrypted != 3 {
		t.Fatalf("open a store holding secrets without a key: %v, want *KeyRequiredError for 3 values", err)
	}
	other, kerr := store.NewKey([]byte("fedcba9876543210fedcba9876543210"))
	check(t, kerr)
	wrong := openWith(t, open, store.Options{Key: other})
	_, err = wrong.GetSecret(ctx(t), "x")
	var de *store.DecryptError
	if !errors.As(err, &de) || strings.Contains(err.Error(), plain) {
		t.Fatalf("GetSecret with the wrong key: %v, want *DecryptError", err)
	}
	// A block that does not decrypt is an error, never the fallback.
	cfg, from, err := store.LoadConfig[f5Config](ctx(t), wrong, "cfg", "cfg-default")
	if !errors.As(err, &de) || cfg.Host != "" || strings.Contains(err.Error(), plain) {
		t.Fatalf("LoadConfig with the wrong key: %+v from %s, %v; want *DecryptError", cfg, from, err)
	}
}

// netautoConfig is a typed config block like the seed's NetAutoConfig.
type netautoConfig struct {
	Infrahub struct {
		URL   string       `json:"url"`
		Token store.Secret `json:"token"`
	} `json:"infrahub"`
	F5       *f5Config `json:"f5,omitempty"`
	Timeout  int       `json:"timeout"`
	Password store.Secret
}

type f5Config struct {
	Host     string       `json:"host"`
	Password store.Secret `json:"password"`
}

func testBlocks(t *testing.T, o Opener) {
	s := Open(t, o)
	var prod netautoConfig
	prod.Infrahub.URL = "https://infrahub.prod"
	prod.Infrahub.Token = store.NewSecret("prod-token")
	prod.F5 = &f5Config{Host: "bigip", Password: store.NewSecret(plain)}
	prod.Timeout = 30
	prod.Password = store.NewSecret("pw")
	check(t, store.SaveConfig(ctx(t), s, "netauto-config-production", prod))
	var def netautoConfig
	def.Infrahub.URL = "https://infrahub.lab"
	check(t, store.SaveConfig(ctx(t), s, "netauto-config-default", def))

	got, from, err := store.LoadConfig[netautoConfig](ctx(t), s, "netauto-config-production", "netauto-config-default")
	check(t, err)
	if from != "netauto-config-production" || got.Infrahub.Token.Reveal() != "prod-token" || got.F5 == nil ||
		got.F5.Password.Reveal() != plain || got.Password.Reveal() != "pw" || got.Timeout != 30 {
		t.Fatalf("loaded %s: %+v", from, got)
	}
	// Fallback only when the named block does not exist.
	got, from, err = store.LoadConfig[netautoConfig](ctx(t), s, "netauto-config-staging", "netauto-config-default")
	check(t, err)
	if from != "netauto-config-default" || got.Infrahub.URL != "https://infrahub.lab" {
		t.Fatalf("fallback loaded %s: %+v", from, got)
	}
	// A block that does not decode is an error, never the fallback.
	check(t, s.SaveBlock(ctx(t), store.Block{Name: "netauto-config-broken", Data: json.RawMessage(`{"timeout":"soon"}`)}))
	if _, from, err := store.LoadConfig[netautoConfig](ctx(t), s, "netauto-config-broken", "netauto-config-default"); err == nil {
		t.Fatalf("a malformed block loaded (from %s)", from)
	}
	blocks := must(s.ListBlocks(ctx(t)))
	if len(blocks) != 3 {
		t.Fatalf("blocks = %d", len(blocks))
	}
	for _, b := range blocks {
		if b.Secrets != nil || strings.Contains(string(b.Data), plain) || strings.Contains(string(b.Data), "prod-token") {
			t.Fatalf("ListBlocks leaks secrets: %+v", b)
		}
	}
	if f := blocks[2].SecretFields; strings.Join(f, ",") != "Password,f5.password,infrahub.token" {
		t.Fatalf("secret fields of %s = %v", blocks[2].Name, f)
	}
	check(t, s.DeleteBlock(ctx(t), "netauto-config-broken"))
	_, err = s.GetBlock(ctx(t), "netauto-config-broken")
	wantNotFound(t, err)
	// Without a fallback, a missing block is ErrNotFound.
	_, _, err = store.LoadConfig[netautoConfig](ctx(t), s, "nope", "")
	wantNotFound(t, err)
}

func testVariables(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.SetVariable(ctx(t), "backup_repo", json.RawMessage(`"git@example:configs"`)))
	check(t, s.SetVariable(ctx(t), "sites", json.RawMessage(`["ber","fra"]`)))
	check(t, s.SetVariable(ctx(t), "sites", json.RawMessage(`["ber"]`)))
	if v := must(s.GetVariable(ctx(t), "sites")); string(v) != `["ber"]` {
		t.Fatalf("sites = %s", v)
	}
	if all := must(s.ListVariables(ctx(t))); len(all) != 2 {
		t.Fatalf("variables = %v", all)
	}
	wantInvalid(t, s.SetVariable(ctx(t), "x", json.RawMessage(`{`)), "value")
	wantInvalid(t, s.SetVariable(ctx(t), "x\xff", json.RawMessage(`1`)), "name")
	check(t, s.DeleteVariable(ctx(t), "sites"))
	_, err := s.GetVariable(ctx(t), "sites")
	wantNotFound(t, err)
}

func testEvents(t *testing.T, o Opener) {
	s := Open(t, o)
	deploy(t, s, store.Deployment{Name: "sync"})
	calls := 0
	match := func(ev store.Event) ([]store.RunSpec, error) {
		calls++
		if ev.Type != "infrahub.node.updated" {
			return nil, nil
		}
		return []store.RunSpec{
			{Deployment: "sync", Parameters: ev.Payload, ThrottleKey: "node-1", Throttle: time.Hour},
			{Deployment: "sync", Parameters: ev.Payload},
		}, nil
	}
	ev := store.Event{ID: "ev-1", Source: "infrahub", Type: "infrahub.node.updated", Payload: json.RawMessage(`{"node":"1"}`)}
	acc := must(s.AcceptEvent(ctx(t), ev, match))
	if acc.Duplicate || len(acc.RunIDs) != 2 {
		t.Fatalf("accepted = %+v, want 2 runs", acc)
	}
	r := must(s.GetRun(ctx(t), acc.RunIDs[0]))
	if r.EventID != "ev-1" || string(r.Parameters) != `{"node":"1"}` || r.Origin.Kind != store.OriginTrigger {
		t.Fatalf("event run = %+v", r)
	}
	dup := must(s.AcceptEvent(ctx(t), ev, match))
	if !dup.Duplicate || strings.Join(dup.RunIDs, ",") != strings.Join(acc.RunIDs, ",") || calls != 1 {
		t.Fatalf("duplicate = %+v after %d matches, want the first run IDs and no new match", dup, calls)
	}
	// Throttled: within the hour the keyed spec is skipped.
	ev2 := ev
	ev2.ID = "ev-2"
	acc2 := must(s.AcceptEvent(ctx(t), ev2, match))
	if len(acc2.RunIDs) != 1 {
		t.Fatalf("throttled event created %d runs, want 1", len(acc2.RunIDs))
	}
	// Unmatched events are kept and listed.
	must(s.AcceptEvent(ctx(t), store.Event{ID: "ev-3", Source: "infrahub", Type: "infrahub.branch.created", Payload: json.RawMessage(`{}`)}, match))
	un, _ := must2(s.ListEvents(ctx(t), store.EventFilter{Unmatched: true}))
	if len(un) != 1 || un[0].ID != "ev-3" {
		t.Fatalf("unmatched = %+v", un)
	}
	// A failing match stores nothing: the sender's retry is matched again.
	boom := errors.New("trigger table unavailable")
	_, err := s.AcceptEvent(ctx(t), store.Event{ID: "ev-4", Source: "infrahub", Payload: json.RawMessage(`{}`)},
		func(store.Event) ([]store.RunSpec, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("failing match: %v", err)
	}
	// So does a run that cannot be created.
	_, err = s.AcceptEvent(ctx(t), store.Event{ID: "ev-5", Source: "infrahub", Payload: json.RawMessage(`{}`)},
		func(store.Event) ([]store.RunSpec, error) {
			return []store.RunSpec{{Deployment: "sync"}, {Deployment: "missing"}}, nil
		})
	wantNotFound(t, err)
	all, _ := must2(s.ListEvents(ctx(t), store.EventFilter{Limit: 2}))
	if len(all) != 2 {
		t.Fatalf("first page = %d events", len(all))
	}
	var ids []string
	cursor := ""
	for {
		page, next := must2(s.ListEvents(ctx(t), store.EventFilter{Limit: 2, Cursor: cursor}))
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(ids) != 3 {
		t.Fatalf("events = %v, want ev-1..ev-3 only", ids)
	}
	runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "sync"}))
	if len(runs) != 3 {
		t.Fatalf("runs of sync = %d, want 3", len(runs))
	}
	_, err = s.AcceptEvent(ctx(t), store.Event{Source: "x"}, match)
	wantInvalid(t, err, "id")
}

func testMigrations(t *testing.T, o Opener) {
	open := o(t)
	s := openWith(t, open, store.Options{})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", State: flow.Scheduled(t0)}))
	check(t, s.Close())
	// Reopening applies nothing twice and keeps the data.
	again := openWith(t, open, store.Options{})
	if got := must(again.GetRun(ctx(t), run.ID)); got.ID != run.ID {
		t.Fatal("run lost on reopen")
	}
}
