package source_test

import (
	"context"
	"fmt"
	"os"

	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// A worker runs Git-sourced deployments by putting a source.Launcher in
// front of its process launcher; deployments without a source pass
// through unchanged.
func ExampleLauncher() {
	var st store.Store // the worker's store
	l := &source.Launcher{
		Next:  &worker.Process{Logs: st},
		Store: st,
		Cache: &source.Cache{Dir: "/var/cache/netauto/source"},
	}
	_ = l // worker.New(st, worker.Options{Launcher: l, ...})

	// A deployment pinned to a tag of a private repository:
	dep := store.Deployment{Name: "backup", Flow: "config-backup", Pool: "docker",
		Source: &store.Source{
			Repository:  "https://git.example.com/netops/flows.git",
			Ref:         "v1.4.0",
			Entrypoint:  "cmd/flows",
			Credentials: &store.SourceCredentials{Kind: "token", Secret: "git-token"},
		}}
	fmt.Println(source.Validate(*dep.Source, false))
	// Hostile input is refused before anything is fetched:
	fmt.Println(source.Validate(store.Source{Repository: "https://git.example.com/x.git", Entrypoint: "../../etc"}, false))
	fmt.Println(source.MaskURL("https://bot:ghp_secret@git.example.com/x.git"))
	// Output:
	// <nil>
	// source.entrypoint: "../../etc": '..' leaves the repository
	// https://bot:***@git.example.com/x.git
}

// Prepare fetches and builds a source once per commit.
func ExampleCache_Prepare() {
	cache := &source.Cache{Dir: os.TempDir() + "/netauto-source", AllowFile: true}
	_, err := cache.Prepare(context.Background(), source.Request{Source: store.Source{Repository: "git://example.com/x.git"}})
	fmt.Println(err)
	// Output: source.repository: scheme "git": want https, ssh or file
}
