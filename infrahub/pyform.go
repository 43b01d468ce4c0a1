package infrahub

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Infrahub is written in Python and has signed its webhook payloads in
// three ways over its releases (backend/infrahub/webhook/models.py,
// StandardWebhook._assign_headers / Webhook._assign_headers):
//
//   - up to 1.2.9, including the 1.0/1.1 envelope: str(payload), the repr
//     of the Python dict (fixed by opsmill/infrahub#6432, issue #6323,
//     released in 1.2.10);
//   - 1.2.10 to 1.7.4: json.dumps(payload), separators ", " and ": ";
//   - 1.7.5 and later: json.dumps(payload, separators=(",", ":"))
//     (opsmill/infrahub#8344, after httpx 0.28 in 1.7.0 switched the body
//     it sends to compact JSON).
//
// Every version signs with json.dumps's default ensure_ascii=True (non-ASCII
// escaped as \uXXXX), while the body on the wire is whatever httpx makes of
// the same dict: json.dumps(payload) (spaced, ASCII) up to httpx 0.27.2
// (Infrahub before 1.7.0), compact JSON with raw UTF-8 from httpx 0.28
// (Infrahub 1.7.0 and later). pythonForm rebuilds the signed text from the
// bytes received.

// pyStyle is one of Python's serializations of a payload.
type pyStyle int

const (
	// pyDumps is json.dumps(payload): ", " and ": ", ensure_ascii.
	pyDumps pyStyle = iota
	// pyCompact is json.dumps(payload, separators=(",", ":")),
	// ensure_ascii. It is also the canonical form dedup keys hash.
	pyCompact
	// pyRepr is str(payload) for a dict decoded from JSON.
	pyRepr
)

// maxPyDepth is the nesting limit. CPython's json and repr recurse once per
// level and stop at the default recursion limit (1000), so Infrahub cannot
// have signed anything deeper.
const maxPyDepth = 1000

var errPyForm = errors.New("not a JSON document Infrahub could have signed")

// pythonForm parses body as JSON and writes it again the way style does.
// Numbers are kept as written: Python's json writes a float with
// float.__repr__ and an int with int.__repr__, so the text on the wire is
// already the text repr uses. Errors wrap errPyForm.
func pythonForm(body []byte, style pyStyle) ([]byte, error) {
	w := pyWriter{in: body, style: style, out: make([]byte, 0, len(body)+len(body)/8+16)}
	w.space()
	if err := w.value(0); err != nil {
		return nil, err
	}
	w.space()
	if w.pos != len(w.in) {
		return nil, w.errorf("data after the JSON value")
	}
	return w.out, nil
}

type pyWriter struct {
	in    []byte
	pos   int
	out   []byte
	style pyStyle
	runes []rune // scratch for one decoded string
}

func (w *pyWriter) errorf(format string, a ...any) error {
	return fmt.Errorf("%w: offset %d: %s", errPyForm, w.pos, fmt.Sprintf(format, a...))
}

func (w *pyWriter) space() {
	for w.pos < len(w.in) {
		switch w.in[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *pyWriter) comma() {
	if w.style == pyCompact {
		w.out = append(w.out, ',')
	} else {
		w.out = append(w.out, ',', ' ')
	}
}

func (w *pyWriter) colon() {
	if w.style == pyCompact {
		w.out = append(w.out, ':')
	} else {
		w.out = append(w.out, ':', ' ')
	}
}

func (w *pyWriter) value(depth int) error {
	if w.pos >= len(w.in) {
		return w.errorf("unexpected end")
	}
	switch c := w.in[w.pos]; {
	case c == '{' || c == '[':
		if depth >= maxPyDepth {
			return w.errorf("nested deeper than %d", maxPyDepth)
		}
		return w.container(depth)
	case c == '"':
		return w.str()
	case c == 't':
		return w.literal("true", "True")
	case c == 'f':
		return w.literal("false", "False")
	case c == 'n':
		return w.literal("null", "None")
	case c == '-' || c >= '0' && c <= '9':
		return w.number()
	}
	return w.errorf("unexpected %q", w.in[w.pos])
}

func (w *pyWriter) container(depth int) error {
	open := w.in[w.pos]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	w.out = append(w.out, open)
	w.pos++
	w.space()
	if w.pos < len(w.in) && w.in[w.pos] == closing {
		w.out = append(w.out, closing)
		w.pos++
		return nil
	}
	for {
		w.space()
		if open == '{' {
			if w.pos >= len(w.in) || w.in[w.pos] != '"' {
				return w.errorf("object key is not a string")
			}
			if err := w.str(); err != nil {
				return err
			}
			w.space()
			if w.pos >= len(w.in) || w.in[w.pos] != ':' {
				return w.errorf("missing ':' after object key")
			}
			w.pos++
			w.colon()
			w.space()
		}
		if err := w.value(depth + 1); err != nil {
			return err
		}
		w.space()
		if w.pos >= len(w.in) {
			return w.errorf("unexpected end")
		}
		switch w.in[w.pos] {
		case ',':
			w.pos++
			w.comma()
		case closing:
			w.pos++
			w.out = append(w.out, closing)
			return nil
		default:
			return w.errorf("unexpected %q in %c%c", w.in[w.pos], open, closing)
		}
	}
}

func (w *pyWriter) literal(jsonText, pyText string) error {
	if len(w.in)-w.pos < len(jsonText) || string(w.in[w.pos:w.pos+len(jsonText)]) != jsonText {
		return w.errorf("invalid literal")
	}
	w.pos += len(jsonText)
	if w.style == pyRepr {
		w.out = append(w.out, pyText...)
	} else {
		w.out = append(w.out, jsonText...)
	}
	return nil
}

// number checks JSON's number grammar and copies the text.
func (w *pyWriter) number() error {
	start := w.pos
	digits := func() int {
		n := 0
		for w.pos < len(w.in) && w.in[w.pos] >= '0' && w.in[w.pos] <= '9' {
			w.pos++
			n++
		}
		return n
	}
	if w.in[w.pos] == '-' {
		w.pos++
	}
	if w.pos < len(w.in) && w.in[w.pos] == '0' {
		w.pos++
	} else if digits() == 0 {
		return w.errorf("invalid number")
	}
	if w.pos < len(w.in) && w.in[w.pos] == '.' {
		w.pos++
		if digits() == 0 {
			return w.errorf("invalid number")
		}
	}
	if w.pos < len(w.in) && (w.in[w.pos] == 'e' || w.in[w.pos] == 'E') {
		w.pos++
		if w.pos < len(w.in) && (w.in[w.pos] == '+' || w.in[w.pos] == '-') {
			w.pos++
		}
		if digits() == 0 {
			return w.errorf("invalid number")
		}
	}
	w.out = append(w.out, w.in[start:w.pos]...)
	return nil
}

// str decodes a JSON string into code points, keeping a lone surrogate
// escape (\ud800) as that code point the way Python's json does, and
// writes it in the writer's style. Invalid UTF-8 becomes U+FFFD, as Go's
// encoding/json decodes it.
func (w *pyWriter) str() error {
	w.pos++ // opening quote
	w.runes = w.runes[:0]
	for {
		if w.pos >= len(w.in) {
			return w.errorf("unterminated string")
		}
		c := w.in[w.pos]
		switch {
		case c == '"':
			w.pos++
			if w.style == pyRepr {
				w.writeRepr(w.runes)
			} else {
				w.writeJSONASCII(w.runes)
			}
			return nil
		case c == '\\':
			r, err := w.escape()
			if err != nil {
				return err
			}
			w.runes = append(w.runes, r)
		case c < 0x20:
			return w.errorf("control character in string")
		case c < utf8.RuneSelf:
			w.runes = append(w.runes, rune(c))
			w.pos++
		default:
			r, size := utf8.DecodeRune(w.in[w.pos:])
			w.runes = append(w.runes, r) // RuneError for invalid bytes
			w.pos += size
		}
	}
}

func (w *pyWriter) escape() (rune, error) {
	if w.pos+1 >= len(w.in) {
		return 0, w.errorf("unterminated escape")
	}
	c := w.in[w.pos+1]
	w.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := w.hex4()
		if !ok {
			return 0, w.errorf("invalid \\u escape")
		}
		if utf16.IsSurrogate(r) && r < 0xdc00 && w.pos+1 < len(w.in) && w.in[w.pos] == '\\' && w.in[w.pos+1] == 'u' {
			save := w.pos
			w.pos += 2
			if lo, ok := w.hex4(); ok && lo >= 0xdc00 && lo <= 0xdfff {
				return utf16.DecodeRune(r, lo), nil
			}
			w.pos = save
		}
		return r, nil // a lone surrogate stays one, as in Python
	}
	return 0, w.errorf("invalid escape \\%c", c)
}

func (w *pyWriter) hex4() (rune, bool) {
	if len(w.in)-w.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range w.in[w.pos : w.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	w.pos += 4
	return r, true
}

const lowerHex = "0123456789abcdef"

func (w *pyWriter) hexEscape(prefix byte, r rune, digits int) {
	w.out = append(w.out, '\\', prefix)
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		w.out = append(w.out, lowerHex[r>>shift&0xf])
	}
}

// writeJSONASCII writes s as CPython's json encoder does with
// ensure_ascii=True (py_encode_basestring_ascii in Lib/json/encoder.py):
// the short escapes for " \ \n \r \t \b \f, \u00XX for other control
// characters, \uXXXX (lower-case hex, surrogate pairs above U+FFFF) for
// everything outside ' '..'~'.
func (w *pyWriter) writeJSONASCII(s []rune) {
	w.out = append(w.out, '"')
	for _, r := range s {
		switch r {
		case '"':
			w.out = append(w.out, '\\', '"')
		case '\\':
			w.out = append(w.out, '\\', '\\')
		case '\n':
			w.out = append(w.out, '\\', 'n')
		case '\r':
			w.out = append(w.out, '\\', 'r')
		case '\t':
			w.out = append(w.out, '\\', 't')
		case '\b':
			w.out = append(w.out, '\\', 'b')
		case '\f':
			w.out = append(w.out, '\\', 'f')
		default:
			switch {
			case r >= ' ' && r <= '~':
				w.out = append(w.out, byte(r))
			case r > 0xffff:
				hi, lo := utf16.EncodeRune(r)
				w.hexEscape('u', hi, 4)
				w.hexEscape('u', lo, 4)
			default:
				w.hexEscape('u', r, 4)
			}
		}
	}
	w.out = append(w.out, '"')
}

// writeRepr writes s as CPython's repr(str) does (unicode_repr in
// Objects/unicodeobject.c): single quotes unless s holds ' and no ",
// backslash before the quote and \, \t \n \r, \xHH for other control
// characters and DEL, printable characters as they are (UTF-8 once
// Infrahub encodes the signed string), and \xHH, \uHHHH or \UHHHHHHHH
// for the rest. Python's str.isprintable and Go's unicode.IsPrint accept
// the same categories (letters, marks, numbers, punctuation, symbols and
// the ASCII space).
func (w *pyWriter) writeRepr(s []rune) {
	quote := '\''
	hasSingle, hasDouble := false, false
	for _, r := range s {
		hasSingle = hasSingle || r == '\''
		hasDouble = hasDouble || r == '"'
	}
	if hasSingle && !hasDouble {
		quote = '"'
	}
	w.out = append(w.out, byte(quote))
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			w.out = append(w.out, '\\', byte(r))
		case r == '\t':
			w.out = append(w.out, '\\', 't')
		case r == '\n':
			w.out = append(w.out, '\\', 'n')
		case r == '\r':
			w.out = append(w.out, '\\', 'r')
		case r < ' ' || r == 0x7f:
			w.hexEscape('x', r, 2)
		case r < utf8.RuneSelf:
			w.out = append(w.out, byte(r))
		case !utf16.IsSurrogate(r) && unicode.IsPrint(r):
			w.out = utf8.AppendRune(w.out, r)
		case r <= 0xff:
			w.hexEscape('x', r, 2)
		case r <= 0xffff:
			w.hexEscape('u', r, 4)
		default:
			w.hexEscape('U', r, 8)
		}
	}
	w.out = append(w.out, byte(quote))
}
