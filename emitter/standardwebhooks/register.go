package standardwebhooks

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/hookline/hookline/emitter"
)

// Importing this package registers the source standardwebhooks:// (emitter.RegisterSource), so
// that HOOKLINE_SOURCE=standardwebhooks:// opens it with the secrets of HOOKLINE_WEBHOOK_SECRET;
// see # URLs.
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
			return "To receive a sender's real deliveries, point its webhook endpoint at " + webhookURL +
				" (through a tunnel such as the sender's CLI) and restart with " + EnvSecret +
				" set to the endpoint's whsec_... signing secret."
		},
	})
}
