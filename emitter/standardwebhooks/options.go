package standardwebhooks

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// URL query parameters that [OptionsFromURL] reads.
const (
	paramSubject   = "subject"
	paramTolerance = "tolerance"
	paramTypes     = "types"
)

// OptionsFromURL returns the Options that the query parameters of a source URL such as
// "standardwebhooks://?subject=/data/object/id&tolerance=10m&types=user.*" set (see the package
// documentation, # URLs). Only the query is read. An unknown parameter, a repeated
// subject or tolerance, or a value that [New] would refuse is an error.
func OptionsFromURL(u *url.URL) (Options, error) {
	var o Options
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, fmt.Errorf("standardwebhooks: URL query: %w", err)
	}
	for name, values := range q {
		switch name {
		case paramTypes:
			for _, v := range values {
				o.Types = append(o.Types, strings.Split(v, ",")...)
			}
			continue
		case paramSubject, paramTolerance:
			if len(values) > 1 {
				return Options{}, fmt.Errorf("standardwebhooks: URL parameter %s is given %d times", name, len(values))
			}
		default:
			return Options{}, fmt.Errorf("standardwebhooks: unknown URL parameter %q (known: %s, %s, %s)",
				name, paramSubject, paramTolerance, paramTypes)
		}
	}
	if q.Has(paramTolerance) {
		v := q.Get(paramTolerance)
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Options{}, fmt.Errorf("standardwebhooks: URL parameter tolerance=%q is not a positive Go duration such as 5m", v)
		}
		o.Tolerance = d
	}
	if q.Has(paramSubject) {
		if o.Subject = q.Get(paramSubject); o.Subject == "" {
			return Options{}, fmt.Errorf("standardwebhooks: URL parameter subject is empty: give a JSON pointer such as %s", DefaultSubject)
		}
		if _, err := parsePointer(o.Subject); err != nil {
			return Options{}, err
		}
	}
	if _, err := newTypeFilter(o.Types); err != nil {
		return Options{}, err
	}
	return o, nil
}

// typeFilter selects event types: exact names, "prefix.*" wildcards, or everything.
type typeFilter struct {
	all      bool
	exact    map[string]bool
	prefixes []string // each ends with "."
}

func newTypeFilter(types []string) (typeFilter, error) {
	f := typeFilter{all: len(types) == 0}
	for _, t := range types {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			f.all = true
		case len(t) > 2 && strings.HasSuffix(t, ".*") && !strings.Contains(t[:len(t)-2], "*"):
			f.prefixes = append(f.prefixes, t[:len(t)-1])
		case t != "" && !strings.Contains(t, "*"):
			if f.exact == nil {
				f.exact = make(map[string]bool)
			}
			f.exact[t] = true
		default:
			return f, fmt.Errorf("standardwebhooks: Options.Types: %q is neither an event type, a prefix wildcard "+
				"like \"user.*\", nor \"*\"", t)
		}
	}
	return f, nil
}

func (f typeFilter) allows(typ string) bool {
	if f.all || f.exact[typ] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}
