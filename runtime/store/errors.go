package store

import (
	"errors"
	"fmt"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// ErrNotFound matches every *[NotFoundError] with errors.Is.
var ErrNotFound = errors.New("not found")

// NotFoundError says what does not exist.
type NotFoundError struct {
	Kind string // "run", "deployment", "pool", ...
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.Name) }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// InvalidError is bad input, naming the field: the runtime's one field
// error, [fielderr.Error], under the name the store's callers know.
type InvalidError = fielderr.Error

// ErrLeaseLost matches every *[LeaseLostError] with errors.Is.
var ErrLeaseLost = errors.New("lease lost")

// LeaseLostError is returned to a worker renewing the lease of a run it
// no longer holds: the run was reaped, finished or claimed by another.
type LeaseLostError struct {
	RunID  string
	Worker string
	// Holder is the worker holding the run now, if any.
	Holder string
	State  string
}

func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("run %s: worker %q lost its lease (run is %s, held by %q)", e.RunID, e.Worker, e.State, e.Holder)
}

// Is makes errors.Is(err, ErrLeaseLost) true.
func (e *LeaseLostError) Is(target error) bool { return target == ErrLeaseLost }

// ErrKeyRequired matches every *[KeyRequiredError] with errors.Is.
var ErrKeyRequired = errors.New("secret key required")

// KeyRequiredError is returned when a store holding encrypted values is
// opened without a key, or a secret is written to a store without one.
type KeyRequiredError struct {
	// Encrypted is how many encrypted values the store holds.
	Encrypted int
}

func (e *KeyRequiredError) Error() string {
	return fmt.Sprintf("the store holds %d encrypted values and no secret key was given (set %s or %s)", e.Encrypted, EnvSecretKey, EnvSecretKeyFile)
}

// Is makes errors.Is(err, ErrKeyRequired) true.
func (e *KeyRequiredError) Is(target error) bool { return target == ErrKeyRequired }

// DecryptError is a stored secret that the key cannot decrypt: a wrong
// key, or tampered data. It never carries the value.
type DecryptError struct {
	// What names the value: "secret \"x\"" or "block \"y\" field \"z\"".
	What string
	// KeyID is the ID of the key the value was sealed with, when it
	// names one; Unknown says that no configured key has that ID.
	KeyID   string
	Unknown bool
}

func (e *DecryptError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("decrypt %s: sealed with key %s, which is not configured (after a rotation, set the new key as %s, or the old one in %s)", e.What, e.KeyID, EnvSecretKey, EnvSecretKeyPrevious)
	}
	return fmt.Sprintf("decrypt %s: wrong secret key or corrupted value", e.What)
}

// ErrFenced matches every *[FencedError] with errors.Is.
var ErrFenced = errors.New("execution fenced")

// FencedError refuses a write from an execution of a run that is no
// longer current: its worker lost the lease and the run was reaped,
// crashed, or claimed again (a newer attempt). Nothing of the write is
// stored. It is final for that execution: retrying cannot succeed.
type FencedError struct {
	// Fence is the execution that tried to write.
	Fence Fence
	// Worker and Attempt are the run's current holder and attempt.
	Worker  string
	Attempt int
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("run %s: attempt %d on worker %q is stale (the run is at attempt %d, held by %q)",
		e.Fence.RunID, e.Fence.Attempt, e.Fence.Worker, e.Attempt, e.Worker)
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// ErrConflict matches every *[ConflictError] with errors.Is.
var ErrConflict = errors.New("conflict")

// ConflictError is a compare-and-set that lost: the stored value is not
// the one the caller expected (another scheduler replica wrote first).
// Nothing was written; read again and retry.
type ConflictError struct {
	What string
}

func (e *ConflictError) Error() string { return e.What + ": changed concurrently" }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
