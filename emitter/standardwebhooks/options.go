package standardwebhooks

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline/emitter"
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
	if _, err := emitter.NewTypes(o.Types); err != nil {
		return Options{}, fmt.Errorf("standardwebhooks: URL parameter types (Options.Types): %w", err)
	}
	return o, nil
}
