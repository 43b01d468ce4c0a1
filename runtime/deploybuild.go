package runtime

import (
	"flag"
	"fmt"
	"maps"
	"strings"

	dockerclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/docker"
)

// buildFlags are deploy's flags for building the worker image.
type buildFlags struct {
	build                              *bool
	image, dockerfile, context, target *string
	args                               buildArgFlags
}

// buildArgFlags collects repeated --build-arg NAME=VALUE.
type buildArgFlags map[string]string

func (b buildArgFlags) String() string { return "" }

func (b buildArgFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	b[k] = v
	return nil
}

func newBuildFlags(fs *flag.FlagSet) buildFlags {
	f := buildFlags{
		args:       buildArgFlags{},
		build:      fs.Bool("build", false, "build the app's worker image through the Docker Engine API before applying (env DOCKER_HOST)"),
		image:      fs.String("image", "", "with --build: the image NAME[:TAG] (default the app's Image)"),
		dockerfile: fs.String("dockerfile", "", "with --build: the Dockerfile, relative to --context (default the app's Image)"),
		context:    fs.String("context", "", "with --build: the build context directory (default the app's Image, else .)"),
		target:     fs.String("target", "", "with --build: the Dockerfile stage to build (default the app's Image, else the last)"),
	}
	fs.Var(f.args, "build-arg", "with --build: a Dockerfile ARG NAME=VALUE, over the app's; repeatable")
	return f
}

// spec returns the image to build: the app's, overridden by the flags.
func (f buildFlags) spec(app *App) (DockerImage, error) {
	var img DockerImage
	if app.Image != nil {
		img = *app.Image
	}
	if !*f.build {
		if *f.image != "" || *f.dockerfile != "" || *f.context != "" || *f.target != "" || len(f.args) > 0 {
			return img, usagef("--image, --dockerfile, --context, --target and --build-arg need --build")
		}
		return img, nil
	}
	if *f.image != "" {
		img.Name, img.Tag = *f.image, ""
	}
	for _, o := range []struct{ flag, field *string }{{f.dockerfile, &img.Dockerfile}, {f.context, &img.Context}, {f.target, &img.Target}} {
		if *o.flag != "" {
			*o.field = *o.flag
		}
	}
	if len(f.args) > 0 {
		merged := maps.Clone(img.BuildArgs)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, f.args)
		img.BuildArgs = merged
	}
	if img.Name == "" {
		return img, usagef("--build: no image to build: the app declares no Image, pass --image NAME:TAG")
	}
	return img, nil
}

// ref returns the image's reference: Name:Tag, Tag defaulting to latest;
// a Name that carries a tag already is kept.
func (img DockerImage) ref() string {
	last := img.Name[strings.LastIndex(img.Name, "/")+1:]
	switch {
	case img.Tag != "":
		return img.Name + ":" + img.Tag
	case strings.Contains(last, ":") || strings.Contains(last, "@"):
		return img.Name
	default:
		return img.Name + ":latest"
	}
}

// buildImage builds img through the engine DOCKER_HOST names, streaming
// the build's output to stderr, and prints the result to stdout.
func (e *env) buildImage(img DockerImage) error {
	cli, err := dockerclient.New(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	defer cli.Close()
	ctxDir := img.Context
	if ctxDir == "" {
		ctxDir = "."
	}
	ref := img.ref()
	fmt.Fprintf(e.stdout, "image %s: building from %s\n", ref, ctxDir)
	res, err := docker.BuildImage(e.ctx, cli, docker.BuildOptions{
		ContextDir: ctxDir,
		Dockerfile: img.Dockerfile,
		Tags:       []string{ref},
		Target:     img.Target,
		BuildArgs:  img.BuildArgs,
		Labels:     map[string]string{"dev.netauto.app": e.app.name()},
		Output:     e.stderr,
	})
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	fmt.Fprintf(e.stdout, "image %s: built %s\n", ref, res.ImageID)
	return nil
}
