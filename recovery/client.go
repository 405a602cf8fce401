package recovery

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// NewClient returns a stripe-go client for key (a secret or restricted key, "sk_..." or
// "rk_..."). apiBase, when not empty, replaces Stripe's API URL: a proxy, stripe-mock or a test
// double. Requests time out after 80 seconds, as stripe-go's default client does, and stripe-go
// retries network errors and 5xx answers twice.
func NewClient(key, apiBase string) (*client.API, error) {
	switch {
	case key == "":
		return nil, errors.New("recovery: no Stripe API key: give a secret or restricted key (sk_... or rk_...) that can read events")
	case !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_"):
		return nil, errors.New("recovery: the Stripe API key must be a secret or restricted key (sk_... or rk_...), not a publishable key or a webhook secret")
	}
	cfg := &stripe.BackendConfig{HTTPClient: &http.Client{Timeout: 80 * time.Second}, LeveledLogger: quiet{}}
	if apiBase != "" {
		cfg.URL = stripe.String(strings.TrimSuffix(apiBase, "/"))
	}
	api := &client.API{}
	api.Init(key, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	})
	return api, nil
}

// quiet keeps stripe-go from logging (it logs request errors, which the caller reports).
type quiet struct{}

func (quiet) Debugf(string, ...any) {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
