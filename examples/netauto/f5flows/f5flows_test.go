package f5flows_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/f5flows"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/f5/f5test"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

type lab struct {
	ih     *infrahubtest.Server
	bigip  *f5test.Server
	flows  f5flows.Flows
	as3ID  string
	ihURL  string
	bigURL string
	cert   string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	ih, ihSrv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas(), Seed: seed.Infrahub()})
	// A non-admin account: BIG-IP counts its tokens (admin is exempt).
	big, bigSrv := f5test.NewServer(t, f5test.Options{Username: "netauto", Password: "netauto-pw"})
	t.Cleanup(func() {
		// Every task revokes the token it logged in with.
		if n := big.LiveTokens(); n != 0 {
			t.Errorf("%d BIG-IP login tokens left live after the flows, want 0 (tasks must Close their client)", n)
		}
	})
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		return envconfig.NetAutoConfig{
			Environment: env, InfrahubURL: ihSrv.URL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken),
			F5URL: bigSrv.URL, F5Username: "netauto", F5Password: store.NewSecret("netauto-pw"), F5InsecureSkipVerify: true,
		}, nil
	}
	c, err := infrahub.New(infrahub.Config{Address: ihSrv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Artifacts(context.Background(), infrahub.ArtifactFilter{DefinitionName: "f5-as3-app"})
	if err != nil || len(arts) != 1 {
		t.Fatalf("seeded AS3 artifact: %v %v", arts, err)
	}
	certs, err := infrahub.List[struct {
		ID string `json:"id"`
	}](context.Background(), c, schema.KindNetautoCertificate, infrahub.ListOptions{})
	if err != nil || len(certs) != 1 {
		t.Fatalf("seeded certificate: %v", err)
	}
	return &lab{ih: ih, bigip: big, flows: f5flows.New(f5flows.Deps{Config: load}), as3ID: arts[0].ID, cert: certs[0].ID, ihURL: ihSrv.URL, bigURL: bigSrv.URL}
}

func event(t *testing.T, data map[string]any) *trigger.Event {
	b, err := json.Marshal(map[string]any{"id": "ev-1", "event": "infrahub.artifact.updated", "branch": "main", "occured_at": time.Now().UTC().Format(time.RFC3339), "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return &trigger.Event{ID: "ev-1", Source: "infrahub", Type: "infrahub.artifact.updated", Payload: b}
}

func TestAS3FromArtifactIDAndEvent(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	res, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || !reflect.DeepEqual(res.Tenants, []string{seed.Tenant}) || l.bigip.Tenant(seed.Tenant) == nil {
		t.Fatalf("result %+v, tenant %v", res, l.bigip.Tenant(seed.Tenant))
	}
	sid := l.ih.PutObject(seed.AS3("v2", "10.9.9.1"))
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	if !json.Valid(b) || !strings.Contains(string(b), "10.9.9.1") {
		t.Errorf("tenant after the event's declaration: %s", b)
	}
}

func TestAS3RollbackRestoresTenant(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID}); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	sid := l.ih.PutObject(seed.AS3("broken"))
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev})
	var ce *f5flows.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *CheckError", err)
	}
	after, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	if string(before) != string(after) {
		t.Errorf("tenant not restored:\nbefore %s\nafter  %s", before, after)
	}
}

func TestAS3RollbackDeletesNewTenant(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	sid := l.ih.PutObject(seed.AS3("broken from scratch"))
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err == nil {
		t.Fatal("broken declaration completed")
	}
	if tn := l.bigip.Tenant(seed.Tenant); tn != nil {
		t.Errorf("tenant left behind after rollback: %v", tn)
	}
}

func TestParamsErrors(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	for name, p := range map[string]f5flows.Params{
		"environment": {Environment: "", ArtifactID: "x"},
		"artifact_id": {Environment: "production"},
	} {
		_, err := l.flows.AS3.Run(h.Context(), p)
		var pe *f5flows.ParamsError
		if !errors.As(err, &pe) || pe.Field != name {
			t.Errorf("%s: err %v, want a *ParamsError naming it", name, err)
		}
	}
}

func TestLTM(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	arts := findArtifact(t, l, "f5-ltm")
	res, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: arts})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 1 || res.Members != 2 {
		t.Errorf("result %+v", res)
	}
	res, err = l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: arts})
	if err != nil || len(res.Created) != 0 || res.Members != 0 {
		t.Errorf("second run %+v %v: want nothing new", res, err)
	}
}

func TestCertificate(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	deploy := func(notAfter time.Time) (f5flows.CertResult, error) {
		bundle, err := seed.Certificate(seed.CertificateName, notAfter)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := seed.Artifact(l.ih, "f5-certificate", "certificate-pem", schema.KindNetautoCertificate, l.cert, bundle)
		if err != nil {
			t.Fatal(err)
		}
		return l.flows.Cert.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: id})
	}
	if _, err := deploy(time.Now().AddDate(0, 0, 10)); err == nil {
		t.Error("a certificate expiring in 10 days was deployed; want the expiry check to refuse it")
	}
	res, err := deploy(time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != seed.CertificateName || res.Expires.Before(time.Now().AddDate(0, 11, 0)) {
		t.Errorf("result %+v", res)
	}
}

func findArtifact(t *testing.T, l *lab, def string) string {
	t.Helper()
	c, err := infrahub.New(infrahub.Config{Address: l.ihURL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Artifacts(context.Background(), infrahub.ArtifactFilter{DefinitionName: def})
	if err != nil || len(arts) == 0 {
		t.Fatalf("artifact of %s: %v", def, err)
	}
	return arts[0].ID
}

// An artifact event for another kind (here the AS3 application's artifact
// delivered to the LTM flow) must fail the run naming the field, not
// "complete" having deployed nothing, nor deploy the wrong content.
func TestEventOfAnotherKindIsRefused(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication})
	res, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev})
	var pe *f5flows.ParamsError
	if !errors.As(err, &pe) || pe.Field != "event.payload.data.target_kind" {
		t.Fatalf("LTM run on a %s event: %+v, %v; want a *ParamsError naming target_kind", schema.KindNetautoFlexApplication, res, err)
	}
	ev = event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoLTMConfig})
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); !errors.As(err, &pe) {
		t.Fatalf("AS3 run on a %s event: %v; want a *ParamsError", schema.KindNetautoLTMConfig, err)
	}
	if l.bigip.Tenant(seed.Tenant) != nil {
		t.Error("the AS3 flow deployed from an event of another kind")
	}
}

func installedCerts(t *testing.T, l *lab) []string {
	t.Helper()
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	certs, err := c.Certificates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range certs {
		names = append(names, c.Name)
	}
	return names
}

func deployBundle(t *testing.T, l *lab, h *flowtest.Harness, bundle []byte) (f5flows.CertResult, error) {
	t.Helper()
	id, _, err := seed.Artifact(l.ih, "f5-certificate", "certificate-pem", schema.KindNetautoCertificate, l.cert, bundle)
	if err != nil {
		t.Fatal(err)
	}
	return l.flows.Cert.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: id})
}

// An artifact whose private key is not the certificate's (a key
// regenerated, the certificate not yet) must not be installed: the
// BIG-IP's client-ssl profiles would serve a pair that cannot handshake.
func TestCertificateKeyMismatchIsRefused(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	a, err := seed.Certificate(seed.CertificateName, time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := seed.Certificate(seed.CertificateName, time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	certA, _, err := f5flows.SplitPEM(a)
	if err != nil {
		t.Fatal(err)
	}
	_, keyB, err := f5flows.SplitPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deployBundle(t, l, h, append(certA, keyB...)); err == nil {
		t.Fatal("a certificate with another certificate's key was deployed")
	} else if strings.Contains(err.Error(), "PRIVATE KEY-----") {
		t.Fatalf("error reveals the key: %v", err)
	}
	if names := installedCerts(t, l); slices.Contains(names, seed.CertificateName+".crt") {
		t.Errorf("installed certificates %v: the mismatched pair was installed", names)
	}
}

// A certificate that is not valid yet (its validity starts after the
// deployment) must not replace the installed one: clients would refuse it
// until then.
func TestCertificateNotYetValidIsRefused(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: seed.CertificateName},
		NotBefore: time.Now().AddDate(0, 0, 3), NotAfter: time.Now().AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	_, err = deployBundle(t, l, h, bundle)
	var ce *f5flows.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *CheckError: the certificate is not valid for 3 days", err)
	}
	if names := installedCerts(t, l); slices.Contains(names, seed.CertificateName+".crt") {
		t.Errorf("installed certificates %v: the not-yet-valid certificate was installed", names)
	}
}

// AS3 answers 207 when some tenants of a declaration deployed and others
// failed: the declare step fails, yet the tenants that deployed are
// changed. The run must put them back as they were.
func TestAS3PartialFailureRollsBack(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID}); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	var decl map[string]any
	if err := json.Unmarshal(seed.AS3("v2", "10.9.9.1"), &decl); err != nil {
		t.Fatal(err)
	}
	decl["Other_Tenant"] = map[string]any{"class": "Tenant", "app": map[string]any{"class": "Application",
		"p": map[string]any{"class": "Pool", "members": []any{map[string]any{"servicePort": 80, "serverAddresses": []string{"10.7.7.7"}}}}}}
	body, _ := json.Marshal(decl)
	l.bigip.FailTenant("Other_Tenant", "01020036:3: The requested monitor was not found.")
	sid := l.ih.PutObject(body)
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err == nil {
		t.Fatal("a declaration with a failed tenant completed")
	}
	after, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	if string(before) != string(after) {
		t.Errorf("tenant %s changed by the failed declaration and not restored:\nbefore %s\nafter  %s", seed.Tenant, before, after)
	}
	if tn := l.bigip.Tenant("Other_Tenant"); tn != nil {
		t.Errorf("Other_Tenant left behind: %v", tn)
	}
}

// A failed LTM deployment must leave pools as they were: members it added
// to a pool that existed are removed again, not only the pools it created.
func TestLTMFailureRemovesAddedMembers(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ctx := context.Background()
	if err := c.CreatePool(ctx, &f5.LTMPool{Name: "existing_pool", Partition: "Common"}); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(f5flows.LTMSpec{Pools: []f5flows.LTMPoolSpec{
		{Name: "existing_pool", Members: []string{"10.5.5.1:80"}},
		{Name: "new_pool", Members: []string{"10.5.5.2:80"}},
		{Name: "bad pool~name", Members: []string{"10.5.5.3:80"}},
	}})
	sid := l.ih.PutObject(spec)
	ev := event(t, map[string]any{"node_id": findArtifact(t, l, "f5-ltm"), "target_kind": schema.KindNetautoLTMConfig, "storage_id": sid})
	if _, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err == nil {
		t.Fatal("an LTM spec with an invalid pool name completed")
	}
	members, err := c.PoolMembers(ctx, "/Common/existing_pool")
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 0 {
		t.Errorf("existing_pool members after the failed run: %+v, want none (as before)", members)
	}
	if _, err := c.Pool(ctx, "/Common/new_pool"); err == nil {
		t.Error("new_pool left behind after the failed run")
	}
}

// A declaration with "updateMode": "complete" removes every tenant it does
// not name: when such a change fails, the rollback must bring those
// tenants back too, not only the declared ones.
func TestAS3CompleteModeRollbackRestoresOtherTenants(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	other := json.RawMessage(`{"class":"ADC","schemaVersion":"3.50.0","Other_Tenant":{"class":"Tenant","app":{"class":"Application","p":{"class":"Pool","members":[{"servicePort":80,"serverAddresses":["10.7.7.7"]}]}}}}`)
	if _, err := c.Declare(context.Background(), other, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(l.bigip.Tenant("Other_Tenant"))
	var decl map[string]any
	if err := json.Unmarshal(seed.AS3("broken"), &decl); err != nil {
		t.Fatal(err)
	}
	decl["updateMode"] = "complete"
	body, _ := json.Marshal(decl)
	sid := l.ih.PutObject(body)
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err == nil {
		t.Fatal("the broken declaration completed")
	}
	after, _ := json.Marshal(l.bigip.Tenant("Other_Tenant"))
	if string(before) != string(after) {
		t.Errorf("Other_Tenant not restored after the failed complete-mode declaration:\nbefore %s\nafter  %s", before, after)
	}
	if tn := l.bigip.Tenant(seed.Tenant); tn != nil {
		t.Errorf("%s left behind: %v", seed.Tenant, tn)
	}
}

// Pool members are not only "serverAddresses": named "servers", FQDN
// members and references to existing nodes are members too. The post-check
// must not fail (and roll back) a good deployment that uses them.
func TestAS3PostCheckCountsEveryMemberForm(t *testing.T) {
	for name, member := range map[string]map[string]any{
		"servers": {"servicePort": 80, "servers": []any{map[string]any{"name": "web1", "address": "10.1.20.11"}}},
		"fqdn":    {"servicePort": 80, "addressDiscovery": "fqdn", "hostname": "web.example.net"},
		"bigip":   {"servicePort": 80, "addressDiscovery": "static", "bigip": "/Common/web1"},
	} {
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			h := flowtest.New(t)
			if name == "bigip" {
				// AS3 refuses a reference to a node the device does not
				// have ("Unable to find /Common/web1 for ..."): create it.
				c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close(context.Background()) })
				if err := c.CreateNode(h.Context(), &f5.Node{Name: "web1", Partition: "Common", Address: "10.1.20.11"}); err != nil {
					t.Fatal(err)
				}
			}
			var decl map[string]any
			if err := json.Unmarshal(seed.AS3(name), &decl); err != nil {
				t.Fatal(err)
			}
			pool := decl[seed.Tenant].(map[string]any)["web_shop"].(map[string]any)["web_pool"].(map[string]any)
			pool["members"] = []any{member}
			body, _ := json.Marshal(decl)
			sid := l.ih.PutObject(body)
			ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
			if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); err != nil {
				t.Fatalf("a pool with %s members: %v", name, err)
			}
		})
	}
	// An empty pool still fails the check.
	l := newLab(t)
	h := flowtest.New(t)
	sid := l.ih.PutObject(seed.AS3("empty"))
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	var ce *f5flows.CheckError
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev}); !errors.As(err, &ce) {
		t.Errorf("empty pool: %v, want a *CheckError", err)
	}
}

// IPv6 members reach BIG-IP under its own names ("address.port"), however
// the artifact writes them; a member BIG-IP could not read (an IPv6
// address with a colon before the port) fails the run before any pool is
// touched.
func TestLTMIPv6Members(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	run := func(pools ...f5flows.LTMPoolSpec) error {
		spec, _ := json.Marshal(f5flows.LTMSpec{Pools: pools})
		sid := l.ih.PutObject(spec)
		ev := event(t, map[string]any{"node_id": findArtifact(t, l, "f5-ltm"), "target_kind": schema.KindNetautoLTMConfig, "storage_id": sid})
		_, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev})
		return err
	}
	err = run(f5flows.LTMPoolSpec{Name: "first_pool", Members: []string{"10.6.6.1:80"}},
		f5flows.LTMPoolSpec{Name: "v6_pool", Members: []string{"2001:db8::10:80"}})
	var pe *f5flows.ParamsError
	if !errors.As(err, &pe) || pe.Field != "pools[1].members[0]" {
		t.Fatalf("spec with %q: %v, want a ParamsError naming pools[1].members[0]", "2001:db8::10:80", err)
	}
	if _, err := c.Pool(context.Background(), "/Common/first_pool"); err == nil {
		t.Error("first_pool created by a run whose spec was refused")
	}
	if err := run(f5flows.LTMPoolSpec{Name: "v6_pool", Members: []string{"[2001:db8::10]:80", "2001:db8::11.443", "10.6.6.2:80"}}); err != nil {
		t.Fatal(err)
	}
	members, err := c.PoolMembers(context.Background(), "/Common/v6_pool")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if want := []string{"10.6.6.2:80", "2001:db8::10.80", "2001:db8::11.443"}; !slices.Equal(names, want) {
		t.Fatalf("members %v, want %v", names, want)
	}
	// Applying the same spec again finds every member by its BIG-IP name.
	if err := run(f5flows.LTMPoolSpec{Name: "v6_pool", Members: []string{"[2001:db8::10]:80", "2001:db8::11.443", "10.6.6.2:80"}}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if again, _ := c.PoolMembers(context.Background(), "/Common/v6_pool"); len(again) != 3 {
		t.Fatalf("after the second run: %d members, want 3", len(again))
	}
}
