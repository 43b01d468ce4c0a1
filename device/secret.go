package device

import (
	"context"
	"fmt"
)

// SecretResolver turns a secret reference (a name such as
// "devices/core/password") into its value. Inventories and options only
// ever hold references; values are resolved when a session opens and are
// never logged, wrapped into errors or printed.
type SecretResolver interface {
	Resolve(ctx context.Context, name string) (string, error)
}

// SecretFunc adapts a function to SecretResolver.
type SecretFunc func(ctx context.Context, name string) (string, error)

// Resolve calls f.
func (f SecretFunc) Resolve(ctx context.Context, name string) (string, error) { return f(ctx, name) }

// StaticSecrets is a SecretResolver over a fixed map, for tests and
// examples. Its String and GoString print only the reference names.
type StaticSecrets map[string]string

// Resolve returns the value stored under name.
func (s StaticSecrets) Resolve(_ context.Context, name string) (string, error) {
	v, ok := s[name]
	if !ok {
		return "", fmt.Errorf("secret %q not found", name)
	}
	return v, nil
}

// String lists the secret names, never the values.
func (s StaticSecrets) String() string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	return fmt.Sprintf("StaticSecrets%v", names)
}

// GoString is String, so %#v does not print values either.
func (s StaticSecrets) GoString() string { return s.String() }

// resolve fetches one reference; an empty reference resolves to "".
// The error names the reference and the field, never a value.
func resolve(ctx context.Context, r SecretResolver, field, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	if r == nil {
		return "", fmt.Errorf("%s: secret %q referenced but no SecretResolver given", field, ref)
	}
	v, err := r.Resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("%s: resolve secret %q: %w", field, ref, err)
	}
	return v, nil
}
