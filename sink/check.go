package sink

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookline/hookline/internal/redact"
)

// CheckURL reports, without connecting to anything, whether [Open] could ever open rawURL: it
// must be a URL whose scheme a sink linked into this program registered. A program calls it when
// it starts, so that a configuration that can never work is said at once rather than on the
// first event. The error names the schemes that are linked.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("sink: %q is not a sink URL: want scheme://..., one of %s", redact.String(rawURL), schemeList())
	}
	if !slices.Contains(Schemes(), strings.ToLower(u.Scheme)) {
		return fmt.Errorf("sink: %s: no sink linked into this program serves %s:// URLs (linked: %s; "+
			"import _ \"github.com/hookline/hookline/sink/sqlsink\" for sqlite:// and postgres://, "+
			"_ \"github.com/hookline/hookline/sink/dataverse\" for dataverse://)", redact.String(rawURL), u.Scheme, schemeList())
	}
	return nil
}
