package store

import "time"

// Options configure a driver's Open.
type Options struct {
	// Key encrypts secrets and the secret fields of blocks. Opening a
	// store that holds encrypted values without it fails with a
	// *[KeyRequiredError]; so does writing a secret. See [KeyFromEnv].
	Key *Key
	// PreviousKeys open values sealed with keys rotated out, and never
	// seal (see [KeyRotator]). See [PreviousKeysFromEnv].
	PreviousKeys []*Key
	// Now is the clock for timestamps the store sets itself (created,
	// updated, received); default time.Now. Claims and reaping take the
	// time as an argument.
	Now func() time.Time
}
