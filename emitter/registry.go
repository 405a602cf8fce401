package emitter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// SourceDriver is one kind of webhook sender, chosen by URL like a channel or a sink
// (HOOKLINE_SOURCE=stripe://, standardwebhooks://). The package that verifies the sender's
// deliveries registers one with [RegisterSource] from its init function, so importing that
// package is all a program does to link it.
type SourceDriver struct {
	// Scheme is the URL scheme ("stripe") and the source's name on its events (Event.Source):
	// lower-case letters and digits. Required and unique.
	Scheme string
	// SecretEnv is the environment variable that holds the source's signing secrets,
	// comma-separated while one is rolled (STRIPE_WEBHOOK_SECRET). Required.
	SecretEnv string
	// Open returns the source a URL of Scheme names, verifying with secrets; the URL's query
	// parameters are the source's options, and an unknown one is an error. Required.
	Open func(u *url.URL, secrets []string) (Source, error)
	// NewSecret returns a fresh signing secret in the sender's format, for a local run that has
	// none (pipeline.ConfigFromEnv). Required.
	NewSecret func() string
	// SendSamples posts signed sample deliveries to webhookURL and says what it sent on out:
	// a demo with no sender account (examples/local -demo). Nil: the source has no samples.
	SendSamples func(ctx context.Context, client *http.Client, webhookURL, secret string, out io.Writer) error
	// Hint says, in a sentence or two, how to send real deliveries to a local webhook at
	// webhookURL (for Stripe, the Stripe CLI's `stripe listen --forward-to`). Nil: none.
	Hint func(webhookURL string) string
}

var (
	sourcesMu sync.RWMutex
	sources   = map[string]SourceDriver{}
)

// knownSources names the packages of this module that register sources, for the error that
// says which one to import when a URL's scheme has no driver linked.
var knownSources = map[string]string{
	"stripe":           "github.com/hookline/hookline/emitter/stripehook",
	"standardwebhooks": "github.com/hookline/hookline/emitter/standardwebhooks",
}

// RegisterSource makes the source d describes available to [OpenSource]. Call it from an init
// function. It panics when a required field is missing or the scheme is taken.
func RegisterSource(d SourceDriver) {
	switch {
	case d.Scheme == "" || strings.ToLower(d.Scheme) != d.Scheme || strings.ContainsAny(d.Scheme, ":/"):
		panic(fmt.Sprintf("emitter: RegisterSource: scheme %q must be lower-case, without :// ", d.Scheme))
	case d.SecretEnv == "" || d.Open == nil || d.NewSecret == nil:
		panic(fmt.Sprintf("emitter: RegisterSource(%q): SecretEnv, Open and NewSecret are required", d.Scheme))
	}
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	if _, taken := sources[d.Scheme]; taken {
		panic(fmt.Sprintf("emitter: RegisterSource(%q): a source of that scheme is registered", d.Scheme))
	}
	sources[d.Scheme] = d
}

// SourceSchemes returns the schemes of the linked sources, sorted.
func SourceSchemes() []string {
	sourcesMu.RLock()
	defer sourcesMu.RUnlock()
	out := make([]string, 0, len(sources))
	for s := range sources {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// LookupSource returns the driver of a source URL ("stripe://", "standardwebhooks://?subject=
// /data/user_id") and the URL parsed. It fails, saying what to fix, when the URL does not parse
// or no linked package serves its scheme (naming the package to import).
func LookupSource(rawURL string) (SourceDriver, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return SourceDriver{}, nil, fmt.Errorf("emitter: %q is not a source URL: want scheme:// such as %s",
			rawURL, schemeList())
	}
	scheme := strings.ToLower(u.Scheme)
	sourcesMu.RLock()
	d, ok := sources[scheme]
	sourcesMu.RUnlock()
	if ok {
		return d, u, nil
	}
	if pkg, known := knownSources[scheme]; known {
		return SourceDriver{}, nil, fmt.Errorf("emitter: no source linked into this program serves %s:// URLs "+
			"(import _ %q in your main package to enable it)", scheme, pkg)
	}
	return SourceDriver{}, nil, fmt.Errorf("emitter: no source serves %s:// URLs; linked: %s", scheme, schemeList())
}

// OpenSource returns the source rawURL names, verifying deliveries with secrets. Its errors say
// what to fix: an unknown scheme (with the package to import), an unknown option, a missing or
// malformed secret (naming the driver's SecretEnv).
func OpenSource(rawURL string, secrets []string) (Source, error) {
	d, u, err := LookupSource(rawURL)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("emitter: %s:// has no signing secret: set %s", d.Scheme, d.SecretEnv)
	}
	return d.Open(u, secrets)
}

func schemeList() string {
	list := SourceSchemes()
	if len(list) == 0 {
		return "(none linked: import a source package such as " + knownSources["stripe"] + ")"
	}
	return strings.Join(list, "://, ") + "://"
}

// ParseSecrets splits a comma-separated list of signing secrets (a SourceDriver's SecretEnv
// holds several while one is rolled), trimming white space and dropping empty entries.
func ParseSecrets(commaSeparated string) []string {
	var out []string
	for s := range strings.SplitSeq(commaSeparated, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
