package emitter

import (
	"fmt"
	"strings"
)

// Types selects event types, as a source's Types option and a route's types do: an exact type
// ("customer.created"), a prefix wildcard ("customer.*" matches every type that starts with
// "customer.", including "customer.subscription.created"), or "*" for all. The zero Types, and
// one made from no patterns, selects every type.
type Types struct {
	some     bool // false: every type
	exact    map[string]bool
	prefixes []string // each ends with "."
}

// NewTypes returns the Types that patterns select. It fails, naming the pattern, on one that is
// neither a type, a prefix wildcard, nor "*".
func NewTypes(patterns []string) (Types, error) {
	f := Types{some: len(patterns) > 0}
	for _, t := range patterns {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			return Types{}, nil
		case len(t) > 2 && strings.HasSuffix(t, ".*") && !strings.Contains(t[:len(t)-2], "*"):
			f.prefixes = append(f.prefixes, t[:len(t)-1])
		case t != "" && !strings.Contains(t, "*"):
			if f.exact == nil {
				f.exact = make(map[string]bool)
			}
			f.exact[t] = true
		default:
			return Types{}, fmt.Errorf("emitter: types: %q is neither an event type, a prefix wildcard like \"customer.*\", nor \"*\"", t)
		}
	}
	return f, nil
}

// Allows reports whether typ is selected.
func (f Types) Allows(typ string) bool {
	if !f.some || f.exact[typ] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}
