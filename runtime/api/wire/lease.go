package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvLeaseFD names the file descriptor on which an `execute` process
// reads its worker's lease: "3" for a child of the process launcher (an
// extra file, a pipe), "0" for a container of the Docker launcher (its
// standard input, attached by the worker). Unset: the process is not
// watched (a run executed by hand).
const EnvLeaseFD = "NETAUTO_LEASE_FD"

// WarmArg is the argument (after `execute`) of a warm child of the
// process launcher: a child started ahead of demand, before its run is
// known, which executes exactly one run and exits. It starts with the
// environment every child of its worker gets, [EnvSecretEnv]=stdin and
// its lease channel ([EnvLeaseFD]), then blocks reading standard input
// until the worker hands it a run: one JSON object of the variables a
// child started for that run would have had in its environment
// (NETAUTO_RUN_ID, the run, its token, the API URL...), then the end of
// input. Secrets thus never appear in its argv or initial environment.
// An input that ends empty means no run: the child exits 0.
const WarmArg = "--warm"

// The lease channel carries one line per message from the worker to the
// process executing a run:
//
//	lease <ms>   the execution may go on for <ms> milliseconds from now,
//	             unless another line comes first (sent at start and after
//	             every renewal)
//	stop         the worker lost the lease: stop at once, record nothing
//
// The end of the stream means the worker is gone (it died: the kernel
// closed its end). On stop, at the end of the stream, and when a lease
// runs out without a new line, the process stops at once, with everything
// it started, recording nothing: the run is the reaper's to retry, and its
// retry must not meet a step of this execution still running. Cancelling
// a run is not a lease matter: the worker signals the process (SIGTERM),
// and the process also sees Cancelling through the API.
const LeaseStop = "stop"

// LeaseLine returns the line granting d more.
func LeaseLine(d time.Duration) string {
	return "lease " + strconv.FormatInt(max(d.Milliseconds(), 0), 10) + "\n"
}

// ParseLeaseLine parses one line of the lease channel (without its
// newline): a grant of d, or stop.
func ParseLeaseLine(line string) (d time.Duration, stop bool, err error) {
	line = strings.TrimSpace(line)
	if line == LeaseStop {
		return 0, true, nil
	}
	rest, ok := strings.CutPrefix(line, "lease ")
	if !ok {
		return 0, false, fmt.Errorf("lease channel: unknown line %q", line)
	}
	ms, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || ms < 0 {
		return 0, false, errors.New("lease channel: malformed lease line")
	}
	return time.Duration(ms) * time.Millisecond, false, nil
}

// AcquireSlots asks POST /api/v1/runs/{id}/slots for one slot of every
// limited tag in Tags, all or none, for Lease (renewed with PUT
// /api/v1/runs/{id}/slots/{holder}, freed with DELETE): the tag
// concurrency limits of a run executing in a child process or container.
// Holder names the holding within the run; the server keeps holdings of
// different runs apart.
type AcquireSlots struct {
	Holder string        `json:"holder"`
	Tags   []string      `json:"tags"`
	Lease  time.Duration `json:"lease"`
}

// SlotsAnswer answers a slot acquisition or renewal.
type SlotsAnswer struct {
	// Acquired is false when a tag was full: nothing is held then.
	Acquired bool `json:"acquired"`
}

// RenewSlots asks PUT /api/v1/runs/{id}/slots/{holder} to extend a
// holding by Lease.
type RenewSlots struct {
	Lease time.Duration `json:"lease"`
}
