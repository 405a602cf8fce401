package console

import (
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/redact"
)

// redactText masks in s every secret the console knows of (see secrets) and the password and
// secret-looking parameters of any URL written in s, nested ones included (redact.Text). Every
// error and reason the console shows or logs goes through it.
func (c *Console) redactText(s string) string { return redact.Text(s, c.secrets()) }

// secrets lists what redactText masks besides URL passwords: the secrets in the pipeline's
// URLs (channel, subscription, dead letters, sink) and in Options.DeadLetterSubscription, the
// webhook secrets, the Stripe API key and the console's own token.
func (c *Console) secrets() []string {
	urls := []string{c.opts.DeadLetterSubscription}
	var out []string
	if p := c.pipeline(); p != nil {
		cfg := p.Config()
		urls = append(urls, cfg.Channel, cfg.Subscription, cfg.DeadLetter, cfg.Sink)
		out = append(out, cfg.Secrets...)
	}
	out = append(out, redact.SecretsOf(urls...)...)
	return append(out, c.opts.StripeAPIKey, c.opts.Token)
}

// redactSettled masks the reason and the attempts' errors of a delivery that failed; a
// delivery that succeeded has neither and is returned as it is.
func (c *Console) redactSettled(s channel.Settled) channel.Settled {
	failed := s.Reason != ""
	for _, a := range s.Attempts {
		failed = failed || a.Err != nil
	}
	if !failed {
		return s
	}
	sec := c.secrets()
	s.Reason = redact.Text(s.Reason, sec)
	attempts := make([]channel.Attempt, len(s.Attempts))
	for i, a := range s.Attempts {
		attempts[i] = a
		if a.Err != nil {
			attempts[i].Err = redact.Error(a.Err, sec)
		}
	}
	s.Attempts = attempts
	return s
}
