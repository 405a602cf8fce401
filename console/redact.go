package console

import (
	"net/url"
	"strings"

	"github.com/hookline/hookline/internal/redact"
)

// redactText masks in s every secret the console knows of: those in the pipeline's URLs
// (channel, subscription, dead letters, sink) and in Options.DeadLetterSubscription, the
// webhook secrets and the Stripe API key; and the password and secret-looking parameters of any
// other URL in s. Every error and reason the console shows or logs goes through it.
func (c *Console) redactText(s string) string {
	s = redact.Text(s, c.secrets())
	if !strings.Contains(s, "://") {
		return s
	}
	for _, w := range strings.Fields(s) {
		u := strings.Trim(w, `"'()<>[],;`)
		if !strings.Contains(u, "://") {
			continue
		}
		if clean := redact.String(u); clean != u {
			s = strings.Replace(s, u, clean, 1)
		}
	}
	return s
}

// secrets lists what redactText masks.
func (c *Console) secrets() []string {
	var out []string
	urls := []string{c.opts.DeadLetterSubscription}
	if p := c.pipeline(); p != nil {
		cfg := p.Config()
		urls = append(urls, cfg.Channel, cfg.Subscription, cfg.DeadLetter, cfg.Sink)
		for _, s := range cfg.Secrets {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && raw != "" {
			out = append(out, redact.Secrets(u)...)
		}
	}
	if c.opts.StripeAPIKey != "" {
		out = append(out, c.opts.StripeAPIKey)
	}
	return out
}
