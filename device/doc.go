// Package device talks to network devices over SSH.
package device
