package standardwebhooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookline/hookline/internal/jsonscan"
)

// pointer is a parsed JSON pointer (RFC 6901) with at least one reference token.
type pointer struct {
	tokens []string // unescaped: "~1" is "/" and "~0" is "~"
}

// parsePointer parses text, the pointer of Options.Subject ("" means DefaultSubject).
func parsePointer(text string) (pointer, error) {
	if text == "" {
		text = DefaultSubject
	}
	if text[0] != '/' {
		return pointer{}, fmt.Errorf("standardwebhooks: Options.Subject %q is not a JSON pointer (RFC 6901): "+
			"it must start with \"/\", like the default %q", text, DefaultSubject)
	}
	var p pointer
	for tok := range strings.SplitSeq(text[1:], "/") {
		for i := 0; i < len(tok); i++ {
			if tok[i] == '~' && (i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1')) {
				return pointer{}, fmt.Errorf("standardwebhooks: Options.Subject %q is not a JSON pointer (RFC 6901): "+
					"\"~\" must be followed by 0 (for \"~\") or 1 (for \"/\")", text)
			}
		}
		// In this order, so that "~01" is "~1" (RFC 6901, section 4).
		tok = strings.ReplaceAll(tok, "~1", "/")
		p.tokens = append(p.tokens, strings.ReplaceAll(tok, "~0", "~"))
	}
	return p, nil
}

// resolve returns the raw JSON value that the pointer reaches, given root, the raw value of the
// top-level member its first token names (nil when there is none). root comes from a document
// that is known to be valid JSON. An object's member is its last occurrence, as for encoding/json.
func (p pointer) resolve(root []byte) ([]byte, bool) {
	v := root
	for _, tok := range p.tokens[1:] {
		if len(v) == 0 {
			return nil, false
		}
		switch v[0] {
		case '{':
			v = member(v, tok)
		case '[':
			v = element(v, tok)
		default:
			return nil, false
		}
	}
	return v, len(v) > 0
}

// member returns the raw value of the last member of obj named name, or nil.
func member(obj []byte, name string) []byte {
	var found []byte
	_ = jsonscan.Members(obj, func(key, value []byte) bool {
		if string(key) == name {
			found = value
		}
		return true
	})
	return found
}

// element returns the raw value of the element of arr that tok indexes, or nil. Pointers through
// arrays are rare, so this takes encoding/json's time.
func element(arr []byte, tok string) []byte {
	i, ok := arrayIndex(tok)
	if !ok {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(arr, &elems) != nil || i >= len(elems) {
		return nil
	}
	return trimSpace(elems[i])
}

// arrayIndex reads an array index token: "0" or decimal digits without a leading zero. "-" (the
// element after the last) and anything else index nothing.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || (tok[0] == '0' && len(tok) > 1) {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

// trimSpace removes JSON white space around b.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
