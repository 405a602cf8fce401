package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/hookline/hookline/internal/redact"
)

// Opener opens a Sink from a URL whose scheme it was registered for. It should reject query
// parameters it does not know, and keep passwords out of its errors.
type Opener func(ctx context.Context, u *url.URL) (Sink, error)

var registry = struct {
	sync.RWMutex
	openers map[string]Opener
}{openers: make(map[string]Opener)}

// importHints names the package that registers a scheme, for schemes this module provides
// outside package sink, so that Open can say what to import.
var importHints = map[string]string{
	"sqlite":     "github.com/hookline/hookline/sink/sqlsink",
	"postgres":   "github.com/hookline/hookline/sink/sqlsink",
	"postgresql": "github.com/hookline/hookline/sink/sqlsink",
	"dataverse":  "github.com/hookline/hookline/sink/dataverse",
}

func init() {
	Register("stdout", openStdout)
	Register("discard", openDiscard)
}

// Register makes o open URLs with the given scheme (compared case-insensitively). Packages call
// it from init. It panics if scheme is empty, o is nil, or the scheme is already registered.
func Register(scheme string, o Opener) {
	scheme = strings.ToLower(scheme)
	if scheme == "" || o == nil {
		panic("sink: Register needs a scheme and an Opener")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.openers[scheme]; dup {
		panic(fmt.Sprintf("sink: scheme %q registered twice", scheme))
	}
	registry.openers[scheme] = o
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.openers))
	for s := range registry.openers {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open opens the Sink that rawURL names, with the Opener registered for its scheme:
//
//	stdout://                  one JSON line per event on standard output ([Stdout])
//	discard://                 count and drop ([Discard])
//	sqlite://hookline.db       with: import _ "github.com/hookline/hookline/sink/sqlsink"
//	postgres://user@host/db    with: import _ "github.com/hookline/hookline/sink/sqlsink"
//
// Its errors never contain the password of rawURL.
func Open(ctx context.Context, rawURL string) (Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, parseError(rawURL, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("sink: URL %q has no scheme; want one of %s", redact.URL(u), schemeList())
	}
	scheme := strings.ToLower(u.Scheme)
	registry.RLock()
	o := registry.openers[scheme]
	registry.RUnlock()
	if o == nil {
		msg := fmt.Sprintf("sink: unknown scheme %q in URL %q; registered schemes: %s",
			u.Scheme, redact.URL(u), schemeList())
		if pkg := importHints[scheme]; pkg != "" {
			msg += fmt.Sprintf(` (import _ %q to enable %s://)`, pkg, scheme)
		}
		return nil, errors.New(msg)
	}
	s, err := o(ctx, u)
	if err != nil {
		return nil, redact.Error(err, redact.Secrets(u))
	}
	return s, nil
}

func schemeList() string {
	list := Schemes()
	for i, s := range list {
		list[i] = s + "://"
	}
	return strings.Join(list, ", ")
}

// parseError describes why rawURL does not parse. The parser's own message may quote any part
// of the URL, the password included, so it is shown only when the URL has no user information
// and no query, where a password could hide.
func parseError(rawURL string, err error) error {
	scheme, _, found := strings.Cut(rawURL, "://")
	if !found {
		scheme = "the"
	}
	if strings.ContainsAny(rawURL, "@?") || strings.Contains(strings.ToLower(rawURL), "password") {
		return fmt.Errorf("sink: cannot parse %s URL (details hidden: it may contain a password; "+
			"percent-encode special characters in user names and passwords)", scheme)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("sink: cannot parse URL %q: %w", rawURL, err)
}

// bareURL rejects anything but the scheme: the URL is for a sink that takes no host, path or
// query parameters.
func bareURL(u *url.URL) error {
	if q := u.Query(); len(q) > 0 {
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		slices.Sort(names)
		return fmt.Errorf("sink: %s:// takes no query parameters, got %s", u.Scheme, strings.Join(names, ", "))
	}
	if u.Host != "" || strings.Trim(u.Path, "/") != "" || u.Opaque != "" || u.User != nil {
		return fmt.Errorf("sink: %s:// takes no host or path, got %q", u.Scheme, redact.URL(u))
	}
	return nil
}

func openStdout(_ context.Context, u *url.URL) (Sink, error) {
	if err := bareURL(u); err != nil {
		return nil, err
	}
	return NewStdout(stdoutWriter), nil
}

// stdoutWriter is where stdout:// writes; tests replace it.
var stdoutWriter io.Writer = os.Stdout

func openDiscard(_ context.Context, u *url.URL) (Sink, error) {
	if err := bareURL(u); err != nil {
		return nil, err
	}
	return NewDiscard(), nil
}
