// Package docker runs flows in containers through the Docker Engine API
// (the Docker launcher) and builds the images they run in ([BuildImage]).
package docker
