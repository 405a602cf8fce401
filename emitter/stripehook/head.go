package stripehook

import (
	"bytes"
	"encoding/json"
	"strings"
)

// decodeHead fills h with the top-level "id" and "object" members of obj, a JSON object that
// json.Unmarshal has already validated as part of the event. A quick scan handles what Stripe
// sends; anything it does not handle exactly as encoding/json would goes to encoding/json, whose
// result is the definition. The scan avoids validating and decoding data.object a second time,
// which was about 40% of Decode's time.
func decodeHead(obj []byte, h *objectHead) error {
	if scanHead(obj, h) {
		return nil
	}
	*h = objectHead{}
	return json.Unmarshal(obj, h)
}

// scanHead is the quick scan of decodeHead. It reports false, leaving h in any state, when it
// meets something it leaves to encoding/json: a key or wanted value with an escape or a non-ASCII
// byte (encoding/json unescapes, replaces invalid UTF-8 and folds Unicode case), a key that
// matches "id" or "object" only case-insensitively, a wanted member that is not a string, or
// anything unexpected.
func scanHead(obj []byte, h *objectHead) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	for i++; ; {
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return true
		case ',':
			i++
			continue
		case '"':
		default:
			return false
		}
		end := stringEnd(obj, i)
		if end < 0 {
			return false
		}
		key := obj[i+1 : end-1]
		if !plain(key) {
			return false
		}
		var dst *string
		switch {
		case string(key) == "id":
			dst = &h.ID
		case string(key) == "object":
			dst = &h.Object
		case strings.EqualFold(string(key), "id") || strings.EqualFold(string(key), "object"):
			return false
		}
		if i = skipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		if end = valueEnd(obj, i); end < 0 {
			return false
		}
		if dst != nil {
			if obj[i] != '"' || !plain(obj[i+1:end-1]) {
				return false
			}
			*dst = string(obj[i+1 : end-1])
		}
		i = end
	}
}

// plain reports whether s is ASCII without a backslash, so that its JSON string form and its
// decoded form are the same bytes.
func plain(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts with the quote at b[i], or -1.
func stringEnd(b []byte, i int) int {
	j := i + 1
	if k := bytes.IndexByte(b[j:], '"'); k >= 0 && bytes.IndexByte(b[j:j+k], '\\') < 0 {
		return j + k + 1 // no escapes: the first quote ends the string
	}
	for ; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // skip the escaped byte
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the JSON value that starts at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !endsLiteral(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// endsLiteral reports whether c ends a number, true, false or null.
func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
