package docker_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/docker"
)

// Build the worker image of examples/netauto from the repository root, as
// `deploy --build` does: the build output streams to stdout and the image
// ID comes back.
func ExampleBuildImage() {
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	res, err := docker.BuildImage(context.Background(), cli, docker.BuildOptions{
		ContextDir: ".",
		Dockerfile: "examples/netauto/Dockerfile",
		Tags:       []string{"netauto-worker:latest"},
		Target:     "worker",
		BuildArgs:  map[string]string{"GO_VERSION": "1.26"},
		Labels:     map[string]string{"org.opencontainers.image.source": "https://github.com/netauto-dev/netauto"},
		Output:     os.Stdout,
	})
	if err != nil {
		// A *docker.BuildError names the failed step and carries the
		// last lines of its output.
		log.Fatal(err)
	}
	fmt.Println("built", res.ImageID)
}
