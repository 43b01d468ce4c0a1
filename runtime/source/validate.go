package source

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/netauto-dev/netauto/runtime/store"
)

// Validate checks a source before anything touches the network or the
// disk: the repository URL (scheme https or ssh, or file when allowFile;
// no password or token in it), the ref, the sub-directory, the
// entrypoint and the credentials. Errors are *[store.InvalidError] naming
// the field ("source.ref") and never contain a secret.
func Validate(src store.Source, allowFile bool) error {
	if err := CheckRepository(src.Repository, allowFile); err != nil {
		return err
	}
	if err := CheckRef(src.Ref); err != nil {
		return err
	}
	if _, err := CleanPath("source.path", src.Path); err != nil {
		return err
	}
	if _, err := CleanPath("source.entrypoint", src.Entrypoint); err != nil {
		return err
	}
	if c := src.Credentials; c != nil {
		switch c.Kind {
		case "token", "bearer", "ssh":
		default:
			return &store.InvalidError{Field: "source.credentials.kind", Reason: fmt.Sprintf("%q: want token, bearer or ssh", c.Kind)}
		}
		if strings.TrimSpace(c.Secret) == "" {
			return &store.InvalidError{Field: "source.credentials.secret", Reason: "empty: name the store secret holding the token or key"}
		}
		u, _ := url.Parse(src.Repository)
		if c.Kind == "ssh" && u.Scheme != "ssh" || c.Kind != "ssh" && u.Scheme != "https" && u.Scheme != "http" {
			return &store.InvalidError{Field: "source.credentials.kind", Reason: fmt.Sprintf("%s credentials do not fit a %s:// repository", c.Kind, u.Scheme)}
		}
	}
	return nil
}

// CheckRepository checks a repository URL: https:// or ssh:// (file://
// only when allowFile), a host for https and ssh, no password or token in
// the URL (use [store.SourceCredentials]). http:// is accepted only for a
// loopback host (a test server).
func CheckRepository(repo string, allowFile bool) error {
	const field = "source.repository"
	if strings.TrimSpace(repo) == "" {
		return &store.InvalidError{Field: field, Reason: "empty"}
	}
	if strings.IndexFunc(repo, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return &store.InvalidError{Field: field, Reason: "contains spaces or control characters"}
	}
	u, err := url.Parse(repo)
	if err != nil || u.Scheme == "" {
		return &store.InvalidError{Field: field, Reason: fmt.Sprintf("%q is not a URL: want https://, ssh:// or file:// (write git@host:path as ssh://git@host/path)", MaskURL(repo))}
	}
	if !strings.HasPrefix(repo, u.Scheme+"://") {
		return &store.InvalidError{Field: field, Reason: fmt.Sprintf("%q: want a lower-case scheme followed by ://", MaskURL(repo))}
	}
	if u.User != nil {
		if _, has := u.User.Password(); has || u.Scheme != "ssh" {
			return &store.InvalidError{Field: field, Reason: fmt.Sprintf("%q carries credentials: name a secret in source.credentials instead", MaskURL(repo))}
		}
	}
	switch u.Scheme {
	case "https", "ssh":
		if u.Host == "" {
			return &store.InvalidError{Field: field, Reason: "no host"}
		}
	case "http":
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return &store.InvalidError{Field: field, Reason: "http:// only for a loopback test server; use https://"}
		}
	case "file":
		if !allowFile {
			return &store.InvalidError{Field: field, Reason: "file:// repositories are not allowed by this worker's configuration"}
		}
		if u.Host != "" || !path.IsAbs(u.Path) {
			return &store.InvalidError{Field: field, Reason: "want file:///absolute/path"}
		}
	default:
		return &store.InvalidError{Field: field, Reason: fmt.Sprintf("scheme %q: want https, ssh or file", u.Scheme)}
	}
	if strings.HasPrefix(u.Path, "-") || strings.HasPrefix(u.Host, "-") {
		return &store.InvalidError{Field: field, Reason: "a host or path may not start with '-'"}
	}
	return nil
}

var hashRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// IsHash reports whether ref is a full commit hash (SHA-1 or SHA-256, lower
// case): a ref that never moves.
func IsHash(ref string) bool { return hashRE.MatchString(ref) }

// CheckRef checks a ref: empty (the remote's HEAD), a full commit hash, or
// a branch or tag name ("main", "v1.2", "refs/heads/main") following
// git's ref-name rules, which also keep it from escaping a directory: no
// "..", no leading "/" or "-", no control characters, spaces or any of
// ~^:?*[\, no "@{", no component starting with "." or ending in ".lock".
func CheckRef(ref string) error {
	const field = "source.ref"
	if ref == "" || IsHash(ref) {
		return nil
	}
	bad := func(why string) error {
		return &store.InvalidError{Field: field, Reason: fmt.Sprintf("%q: %s", ref, why)}
	}
	switch {
	case len(ref) > 255:
		return bad("longer than 255 bytes")
	case strings.HasPrefix(ref, "-"):
		return bad("starts with '-'")
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/"):
		return bad("starts or ends with '/'")
	case strings.Contains(ref, ".."):
		return bad("contains '..'")
	case strings.Contains(ref, "//"):
		return bad("contains '//'")
	case strings.Contains(ref, "@{") || ref == "@":
		return bad("contains '@{'")
	case strings.HasSuffix(ref, "."):
		return bad("ends with '.'")
	case strings.ContainsAny(ref, "~^:?*[\\ "):
		return bad("contains one of ~^:?*[\\ or a space")
	case strings.IndexFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f || r == unicode.ReplacementChar }) >= 0:
		return bad("contains control characters or invalid UTF-8")
	}
	for c := range strings.SplitSeq(ref, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return bad("a component starts with '.' or ends with '.lock'")
		}
	}
	if strings.HasPrefix(ref, "refs/") && !strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/") {
		return bad("want a branch (refs/heads/…), a tag (refs/tags/…) or a commit hash")
	}
	return nil
}

// CleanPath checks a slash-separated path relative to the repository (a
// sub-directory, an entrypoint package like "./cmd/flows") and returns
// it cleaned, "." for empty. It refuses absolute paths, ".." elements,
// backslashes, NUL and control characters, and an element starting with
// '-': nothing may point outside the checkout. field names it in errors.
func CleanPath(field, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	bad := func(why string) (string, error) {
		return "", &store.InvalidError{Field: field, Reason: fmt.Sprintf("%q: %s", p, why)}
	}
	switch {
	case len(p) > 1024:
		return bad("longer than 1024 bytes")
	case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == unicode.ReplacementChar }) >= 0:
		return bad("contains control characters or invalid UTF-8")
	case strings.Contains(p, "\\"):
		return bad("contains '\\': use '/'")
	case path.IsAbs(p):
		return bad("absolute: want a path inside the repository")
	case strings.Contains(p, ":"):
		return bad("contains ':'")
	}
	for e := range strings.SplitSeq(p, "/") {
		if e == ".." {
			return bad("'..' leaves the repository")
		}
		if strings.HasPrefix(e, "-") {
			return bad("an element starts with '-'")
		}
	}
	return path.Clean(p), nil
}

var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)([^/@\s]*)@`)

// MaskURL masks credentials in every URL of s: a password becomes "***",
// and so does a lone user name in an http(s) URL (a token). An ssh user
// name such as git@ stays.
func MaskURL(s string) string {
	return userinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRE.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, has := strings.Cut(info, ":"); has {
			return scheme + user + ":***@"
		}
		if strings.HasPrefix(strings.ToLower(scheme), "ssh") {
			return m
		}
		return scheme + "***@"
	})
}

// masker hides known secret values and URL credentials.
type masker []string

func (m masker) mask(s string) string {
	for _, v := range m {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return MaskURL(s)
}
