package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

var secretType = reflect.TypeFor[Secret]()

// SaveConfig saves v, a struct, as the block name. Its [Secret] fields
// (in nested structs too, addressed by their JSON names joined with dots)
// are stored apart and encrypted; the rest is the block's JSON data, with
// secrets masked.
func SaveConfig[T any](ctx context.Context, s Configs, name string, v T) error {
	rv := reflect.ValueOf(&v).Elem()
	if rv.Kind() != reflect.Struct {
		return &InvalidError{Field: "config", Reason: fmt.Sprintf("%T: want a struct", v)}
	}
	secrets := make(map[string]Secret)
	err := walkSecrets(rv, "", func(path string, f reflect.Value) error {
		secrets[path] = f.Interface().(Secret)
		return nil
	})
	if err != nil {
		return fmt.Errorf("save config %q: %w", name, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save config %q: encode: %w", name, err)
	}
	if len(secrets) == 0 {
		secrets = nil
	}
	return s.SaveBlock(ctx, Block{Name: name, Type: rv.Type().String(), Data: data, Secrets: secrets})
}

// LoadConfig loads the block name into a T, its secret fields decrypted.
// Only when name does not exist, and fallback is not empty, is the block
// fallback loaded instead; from says which one was. A block that exists
// but does not decrypt or decode into T is an error: never a silent
// switch to the fallback's credentials. Decoding is strict: a field the
// block has and T lacks is an error naming it.
func LoadConfig[T any](ctx context.Context, s Configs, name, fallback string) (v T, from string, err error) {
	from = name
	b, err := s.GetBlock(ctx, name)
	if errors.Is(err, ErrNotFound) && fallback != "" && fallback != name {
		from = fallback
		b, err = s.GetBlock(ctx, fallback)
	}
	if err != nil {
		return v, from, fmt.Errorf("load config %q: %w", from, err)
	}
	rv := reflect.ValueOf(&v).Elem()
	if rv.Kind() != reflect.Struct {
		return v, from, &InvalidError{Field: "config", Reason: fmt.Sprintf("%T: want a struct", v)}
	}
	dec := json.NewDecoder(bytes.NewReader(b.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, from, fmt.Errorf("load config %q into %T: %w", from, v, err)
	}
	seen := 0
	err = walkSecrets(rv, "", func(path string, f reflect.Value) error {
		sec, ok := b.Secrets[path]
		if !ok {
			return &InvalidError{Field: path, Reason: "secret field missing from block " + fmt.Sprintf("%q", from)}
		}
		f.Set(reflect.ValueOf(sec))
		seen++
		return nil
	})
	if err == nil && seen != len(b.Secrets) {
		err = &InvalidError{Field: "secrets", Reason: fmt.Sprintf("block has %d secret fields, %T has %d", len(b.Secrets), v, seen)}
	}
	if err != nil {
		return v, from, fmt.Errorf("load config %q into %T: %w", from, v, err)
	}
	return v, from, nil
}

// walkSecrets calls fn for every settable Secret field of the struct v,
// with its dotted JSON path. Pointers to structs are followed (allocated
// when nil, so that loading fills them). Secrets inside slices, maps or
// arrays are refused: their paths would not be stable.
func walkSecrets(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		f := v.Field(i)
		ft := sf.Type
		if sf.Anonymous && ft.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
			path = prefix // embedded: fields are promoted
		}
		switch {
		case ft == secretType:
			if err := fn(path, f); err != nil {
				return err
			}
		case ft.Kind() == reflect.Struct:
			if err := walkSecrets(f, path, fn); err != nil {
				return err
			}
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && hasSecret(ft.Elem(), nil):
			if f.IsNil() {
				f.Set(reflect.New(ft.Elem()))
			}
			if err := walkSecrets(f.Elem(), path, fn); err != nil {
				return err
			}
		case (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array || ft.Kind() == reflect.Map) && hasSecret(ft.Elem(), nil):
			return &InvalidError{Field: path, Reason: "a Secret inside a list or map is not supported"}
		}
	}
	return nil
}

// hasSecret reports whether t holds a Secret anywhere.
func hasSecret(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen == nil {
		seen = make(map[reflect.Type]bool)
	}
	if t == secretType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasSecret(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if hasSecret(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
