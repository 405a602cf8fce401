// Package jsonscan validates JSON and walks the members of a JSON object without decoding it.
//
// The pipeline handles every event three times as JSON (the webhook checks Stripe's envelope, the
// channel encodes and decodes its message), but needs only a handful of top-level fields each
// time; the payload itself is passed on as raw bytes. encoding/json's Valid and Unmarshal were a
// quarter of the pipeline's CPU time under load. This package does the same checks several times
// faster, and its fuzz test holds it to encoding/json's verdict on every input.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// maxDepth is the deepest nesting Valid accepts, the same limit as encoding/json's.
const maxDepth = 10000

// Valid reports whether b is one valid JSON value, optionally surrounded by white space, exactly
// as encoding/json.Valid does (which, like this, does not require valid UTF-8 in strings).
func Valid(b []byte) bool {
	p := validator{b: b}
	p.space()
	if !p.value(0) {
		return false
	}
	p.space()
	return p.i == len(b)
}

// Object validates b as one JSON object, optionally surrounded by white space, and calls f with
// the name and raw value of each of its members in order, in the same pass. The name is what the
// key decodes to, as every JSON reader sees it: the bytes between its quotes, or, for a key
// written with escapes ("\u0069d"), their decoded form ("id"). It reports whether b is valid; on invalid input f may already have
// been called for the members before the error.
func Object(b []byte, f func(key, value []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	return Walk(b, 1, func(path [][]byte, value []byte) { f(path[0], value) })
}

// Walk validates b like [Valid] and, in the same pass, calls f for every object member nested
// at most maxDepth containers deep (1: the members of a top-level object), once the member's
// value has been validated. path holds the names from the top down to the member's own (decoded,
// as in [Object]), with a nil entry for each array on the way; f must not keep it. Walk reports
// whether b is valid; on invalid input f may have been called before the error.
func Walk(b []byte, maxDepth int, f func(path [][]byte, value []byte)) bool {
	p := validator{b: b, visit: f, visitDepth: maxDepth, path: make([][]byte, 0, maxDepth)}
	p.space()
	if !p.value(0) {
		return false
	}
	p.space()
	return p.i == len(b)
}

type validator struct {
	b []byte
	i int
	// visit, when set, is called for members at depth <= visitDepth; path is the key stack.
	visit      func(path [][]byte, value []byte)
	visitDepth int
	path       [][]byte
	// escaped is set by str when the string it scanned holds a backslash escape.
	escaped bool
}

// enter records the key (nil for an array) of the container level depth, when visiting it.
func (p *validator) enter(depth int, key []byte) bool {
	if p.visit == nil || depth > p.visitDepth {
		return false
	}
	p.path = append(p.path[:depth-1], key)
	return true
}

func (p *validator) space() {
	b, i := p.b, p.i
	for i < len(b) && whitespace[b[i]] {
		i++
	}
	p.i = i
}

// whitespace marks JSON's four white-space bytes: one table lookup instead of four comparisons
// for each byte of an indented document.
var whitespace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func isSpace(c byte) bool { return whitespace[c] }

func (p *validator) value(depth int) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return depth < maxDepth && p.object(depth+1)
	case c == '[':
		return depth < maxDepth && p.array(depth+1)
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return false
}

func (p *validator) object(depth int) bool {
	p.i++ // {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return true
	}
	for {
		k := p.i
		p.escaped = false
		if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str() {
			return false
		}
		visiting := p.visit != nil && depth <= p.visitDepth
		if visiting {
			p.path = append(p.path[:depth-1], p.name(k))
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.space()
		v := p.i
		if !p.value(depth) {
			return false
		}
		if visiting {
			p.visit(p.path[:depth], p.b[v:p.i])
		}
		p.space()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

func (p *validator) array(depth int) bool {
	p.enter(depth, nil)
	p.i++ // [
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return true
	}
	for {
		if !p.value(depth) {
			return false
		}
		p.space()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

// plain marks the bytes that may stand in a string as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (p *validator) str() bool {
	b, i := p.b, p.i+1
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) || b[i] < 0x20 {
			return false
		}
		if b[i] == '"' {
			p.i = i + 1
			return true
		}
		// A backslash.
		if i+1 >= len(b) {
			return false
		}
		p.escaped = true
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return false
			}
			i += 6
		default:
			return false
		}
	}
}

// name returns the member name whose key was just scanned, starting at the quote b[k]: the bytes
// between the quotes, or their decoded form when the key holds escapes (rare: Stripe and
// hookline write names plainly, so only then does this allocate). Only a visited member's name
// is computed.
func (p *validator) name(k int) []byte {
	raw := p.b[k+1 : p.i-1]
	if !p.escaped {
		return raw
	}
	s, err := String(p.b[k:p.i])
	if err != nil {
		return raw
	}
	return []byte(s)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *validator) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *validator) number() bool {
	b, i := p.b, p.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			return false
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		i = digits(b, i)
	}
	p.i = i
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// ErrNotObject is returned by [Members] for input that is not a JSON object.
var ErrNotObject = errors.New("jsonscan: not a JSON object")

// Members calls f with the name (decoded, as in [Object]) and the raw value of each member of
// the JSON object b, in order, until f returns false. b must already be
// known to be valid JSON (by [Valid], or as a value taken from a valid document); on other input
// Members does not panic but its results are unspecified.
func Members(b []byte, f func(key, value []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		keyEnd := skipValue(b, i)
		key := b[min(i+1, keyEnd):max(keyEnd-1, i+1)]
		if bytes.IndexByte(key, '\\') >= 0 {
			if s, err := String(b[i:keyEnd]); err == nil {
				key = []byte(s)
			}
		}
		i = skipSpace(b, keyEnd)
		i = skipSpace(b, i+1) // the colon
		end := skipValue(b, i)
		if !f(key, b[i:end]) {
			return nil
		}
		i = skipSpace(b, end)
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// structural marks the bytes that matter when skipping over an object or array.
var structural = func() (t [256]bool) {
	for _, c := range []byte(`"{}[]`) {
		t[c] = true
	}
	return t
}()

// skipValue returns the index just past the valid JSON value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			for i < len(b) && !structural[b[i]] {
				i++
			}
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote is b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return len(b)
}

// String returns the value of the raw JSON string s (quotes included), as encoding/json would
// decode it. The common case, no escapes and valid UTF-8, costs one allocation.
func String(s []byte) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errors.New("jsonscan: not a JSON string")
	}
	inner := s[1 : len(s)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple || (utf8.Valid(inner) && !containsByte(inner, '\\')) {
		return string(inner), nil
	}
	var v string
	err := json.Unmarshal(s, &v)
	return v, err
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
