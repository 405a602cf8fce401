package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/recovery"
)

// The variables [OptionsFromEnv] reads besides EnvToken.
const (
	// EnvReadOnly, "true", makes the console read-only: it shows everything and does nothing.
	EnvReadOnly = "HOOKLINE_CONSOLE_READONLY"
	// EnvDeadLetterSubscription is the subscription URL of the dead-letter channel when it
	// differs from HOOKLINE_DEADLETTER's topic URL (Options.DeadLetterSubscription).
	EnvDeadLetterSubscription = "HOOKLINE_CONSOLE_DEADLETTER_SUBSCRIPTION"
	// EnvSessionTTL is how long a login lasts, a duration such as 12h or 30m (Options.SessionTTL).
	EnvSessionTTL = "HOOKLINE_CONSOLE_SESSION_TTL"
)

// OptionsFromEnv reads the console's configuration: HOOKLINE_CONSOLE_TOKEN (no token, no
// console: on is false), HOOKLINE_CONSOLE_READONLY, HOOKLINE_CONSOLE_DEADLETTER_SUBSCRIPTION,
// HOOKLINE_CONSOLE_SESSION_TTL, and package recovery's STRIPE_API_KEY and STRIPE_API_BASE for the Recover page.
func OptionsFromEnv(getenv func(string) string) (opts Options, on bool, err error) {
	opts.Token = strings.TrimSpace(getenv(EnvToken))
	if opts.Token == "" {
		return Options{}, false, nil
	}
	if len(opts.Token) < MinTokenLength {
		return Options{}, false, fmt.Errorf("%s is %d characters long: use at least %d (e.g. `openssl rand -hex 24`)", EnvToken, len(opts.Token), MinTokenLength)
	}
	if v := strings.TrimSpace(getenv(EnvReadOnly)); v != "" {
		if opts.ReadOnly, err = strconv.ParseBool(v); err != nil {
			return Options{}, false, fmt.Errorf("%s=%q: want true or false", EnvReadOnly, v)
		}
	}
	if v := strings.TrimSpace(getenv(EnvSessionTTL)); v != "" {
		if opts.SessionTTL, err = time.ParseDuration(v); err != nil || opts.SessionTTL <= 0 {
			return Options{}, false, fmt.Errorf("%s=%q: want a positive duration such as 12h or 30m", EnvSessionTTL, v)
		}
	}
	opts.DeadLetterSubscription = strings.TrimSpace(getenv(EnvDeadLetterSubscription))
	opts.StripeAPIKey = strings.TrimSpace(getenv(recovery.EnvAPIKey))
	opts.StripeAPIBase = strings.TrimSpace(getenv(recovery.EnvAPIBase))
	return opts, true, nil
}
