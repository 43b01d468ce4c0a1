package runtime_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitSourcedDeployments: an App accepts a deployment whose flow is not
// compiled in when it has a source, and checks that source.
func TestGitSourcedDeployments(t *testing.T) {
	src := &store.Source{Repository: "https://git.example/flows.git", Ref: "main", Entrypoint: "cmd/flows"}
	ok := runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "from-git", Source: src}}}
	var out, errOut bytes.Buffer
	if code := ok.Run(context.Background(), []string{"flows"}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("sourced deployment refused: exit %d: %s", code, errOut.String())
	}
	for _, tc := range []struct {
		src  store.Source
		want string
	}{
		{store.Source{Repository: "ftp://x/y.git"}, "deployments[0].source.repository"},
		{store.Source{Repository: "https://x/y.git", Ref: "../x"}, "deployments[0].source.ref"},
		{store.Source{Repository: "https://x/y.git", Entrypoint: "../../bin"}, "deployments[0].source.entrypoint"},
	} {
		bad := runtime.App{Deployments: []store.Deployment{{Name: "d", Flow: "from-git", Source: &tc.src}}}
		out.Reset()
		errOut.Reset()
		if code := bad.Run(context.Background(), []string{"flows"}, &out, &errOut); code == runtime.ExitOK || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%+v: exit %d, %q; want an error naming %s", tc.src, code, errOut.String(), tc.want)
		}
	}
}
