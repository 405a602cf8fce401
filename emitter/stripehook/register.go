package stripehook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline/emitter"
)

// EnvSecret is the variable that holds the endpoint's signing secrets (whsec_..., several
// comma-separated while one is rolled) for the stripe:// source.
const EnvSecret = "STRIPE_WEBHOOK_SECRET"

// Importing this package registers the source stripe:// (emitter.RegisterSource), so that
// HOOKLINE_SOURCE=stripe:// (the default of package pipeline) opens it; see # URLs.
func init() {
	emitter.RegisterSource(emitter.SourceDriver{
		Scheme:    SourceName,
		SecretEnv: EnvSecret,
		Open: func(u *url.URL, secrets []string) (emitter.Source, error) {
			o, err := OptionsFromURL(u)
			if err != nil {
				return nil, err
			}
			return New(secrets, &o)
		},
		NewSecret: GenerateSecret,
		SendSamples: func(ctx context.Context, client *http.Client, webhookURL, secret string, out io.Writer) error {
			return SendSamples(ctx, client, webhookURL, secret, nil, out)
		},
		Hint: func(webhookURL string) string {
			return "To forward real test-mode events from your Stripe account, run the Stripe CLI:\n\n" +
				"    stripe listen --forward-to " + webhookURL + "\n\n" +
				"and restart with " + EnvSecret + " set to the whsec_... secret that stripe listen prints."
		},
	})
}

// GenerateSecret returns a random signing secret in Stripe's whsec_ format, for a local run
// that signs its own deliveries.
func GenerateSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// OptionsFromURL reads the options of a stripe:// URL's query parameters:
//
//	stripe://?tolerance=5m             Options.Tolerance (a Go duration)
//	stripe://?types=customer.*,invoice.paid
//	                                   Options.Types (comma-separated; exact, prefix.* or *)
//	stripe://?testmode=refuse          Options.RefuseTestMode (accept, the default, or refuse)
//	stripe://?apiversion=strict        Options.StrictAPIVersion (any, the default, or strict)
//
// The URL has no host or path; an unknown parameter is an error that lists the known ones.
func OptionsFromURL(u *url.URL) (Options, error) {
	var o Options
	if u.Host != "" || strings.Trim(u.Path, "/") != "" {
		return o, fmt.Errorf("stripehook: %s:// takes no host or path, got %q: write stripe:// (options as query parameters)",
			SourceName, u.Host+u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, fmt.Errorf("stripehook: stripe:// query: %v", err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "tolerance":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, fmt.Errorf("stripehook: stripe://?tolerance=%q is not a positive duration such as 5m", v)
			}
			o.Tolerance = d
		case "types":
			for t := range strings.SplitSeq(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					o.Types = append(o.Types, t)
				}
			}
			if err := CheckTypes(o.Types); err != nil {
				return o, err
			}
		case "testmode":
			if v != "accept" && v != "refuse" {
				return o, fmt.Errorf("stripehook: stripe://?testmode=%q: want accept or refuse", v)
			}
			o.RefuseTestMode = v == "refuse"
		case "apiversion":
			if v != "any" && v != "strict" {
				return o, fmt.Errorf("stripehook: stripe://?apiversion=%q: want any or strict", v)
			}
			o.StrictAPIVersion = v == "strict"
		default:
			return o, fmt.Errorf("stripehook: unknown stripe:// parameter %q (known: apiversion, testmode, tolerance, types)", k)
		}
	}
	return o, nil
}
