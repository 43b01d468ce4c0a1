package f5test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// applyPatch applies one RFC 6902 operation to doc in place. doc is the
// declaration's root object, so paths never address the root itself.
func applyPatch(doc map[string]any, op map[string]any) error {
	name, _ := op["op"].(string)
	path, _ := op["path"].(string)
	switch name {
	case "add":
		return setPointer(doc, path, op["value"], true)
	case "replace":
		if _, err := getPointer(doc, path); err != nil {
			return err
		}
		return setPointer(doc, path, op["value"], false)
	case "remove":
		_, err := removePointer(doc, path)
		return err
	case "move", "copy":
		from, _ := op["from"].(string)
		var v any
		var err error
		if name == "move" {
			v, err = removePointer(doc, from)
		} else {
			v, err = getPointer(doc, from)
			v = deepCopy(v)
		}
		if err != nil {
			return fmt.Errorf("from: %w", err)
		}
		return setPointer(doc, path, v, true)
	case "test":
		v, err := getPointer(doc, path)
		if err != nil {
			return err
		}
		if !sameJSON(v, op["value"]) {
			return fmt.Errorf("test failed at %s", path)
		}
		return nil
	default:
		return fmt.Errorf("unsupported op %q", name)
	}
}

func splitPointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return nil, fmt.Errorf("path %q must address a property below the root", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = unescape(s)
	}
	return parts, nil
}

func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// parent walks to the container holding the last segment.
func parent(doc map[string]any, p string) (any, string, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, "", err
	}
	var cur any = doc
	for _, seg := range parts[:len(parts)-1] {
		cur, err = child(cur, seg)
		if err != nil {
			return nil, "", fmt.Errorf("path %q: %w", p, err)
		}
	}
	return cur, parts[len(parts)-1], nil
}

func child(v any, seg string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[seg]
		if !ok {
			return nil, fmt.Errorf("%q not found", seg)
		}
		return c, nil
	case []any:
		i, err := index(seg, len(x), false)
		if err != nil {
			return nil, err
		}
		return x[i], nil
	}
	return nil, fmt.Errorf("cannot descend into %q", seg)
}

func index(seg string, n int, forAdd bool) (int, error) {
	if forAdd && seg == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 || i > n || (!forAdd && i == n) || (len(seg) > 1 && seg[0] == '0') {
		return 0, fmt.Errorf("array index %q out of range", seg)
	}
	return i, nil
}

func getPointer(doc map[string]any, p string) (any, error) {
	c, last, err := parent(doc, p)
	if err != nil {
		return nil, err
	}
	return child(c, last)
}

// setPointer adds (insert into arrays) or replaces the value at p. Arrays
// are replaced in their parent, which is why the grandparent is walked.
func setPointer(doc map[string]any, p string, v any, insert bool) error {
	parts, err := splitPointer(p)
	if err != nil {
		return err
	}
	c, last, err := parent(doc, p)
	if err != nil {
		return err
	}
	switch x := c.(type) {
	case map[string]any:
		x[last] = deepCopy(v)
		return nil
	case []any:
		i, err := index(last, len(x), insert)
		if err != nil {
			return err
		}
		if insert {
			x = append(x[:i], append([]any{deepCopy(v)}, x[i:]...)...)
		} else {
			x[i] = deepCopy(v)
		}
		return replaceArray(doc, parts[:len(parts)-1], x)
	}
	return errors.New("path parent is not an object or array")
}

func removePointer(doc map[string]any, p string) (any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, err
	}
	c, last, err := parent(doc, p)
	if err != nil {
		return nil, err
	}
	switch x := c.(type) {
	case map[string]any:
		v, ok := x[last]
		if !ok {
			return nil, fmt.Errorf("path %q not found", p)
		}
		delete(x, last)
		return v, nil
	case []any:
		i, err := index(last, len(x), false)
		if err != nil {
			return nil, err
		}
		v := x[i]
		x = append(x[:i:i], x[i+1:]...)
		return v, replaceArray(doc, parts[:len(parts)-1], x)
	}
	return nil, errors.New("path parent is not an object or array")
}

// replaceArray stores arr at the location named by parts.
func replaceArray(doc map[string]any, parts []string, arr []any) error {
	var cur any = doc
	for i, seg := range parts {
		if i == len(parts)-1 {
			switch x := cur.(type) {
			case map[string]any:
				x[seg] = arr
			case []any:
				j, err := index(seg, len(x), false)
				if err != nil {
					return err
				}
				x[j] = arr
			}
			return nil
		}
		var err error
		if cur, err = child(cur, seg); err != nil {
			return err
		}
	}
	return nil
}
