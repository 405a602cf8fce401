package recovery

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
)

// Environment variables of the scheduled recovery: the one place their names are defined. The
// recover functions of the serverless examples and `hookline serve` read them (see
// [ScheduleFromEnv]); `hookline recover` and `hookline backfill` read the first two.
const (
	// EnvAPIKey holds the Stripe key that lists events: a restricted key (rk_...) with read access
	// to events (and, for a backfill, to the objects listed), or a secret key (sk_...). Required.
	EnvAPIKey = "STRIPE_API_KEY"
	// EnvAPIBase replaces Stripe's API URL, for a proxy or a test double. Default: Stripe's.
	EnvAPIBase = "STRIPE_API_BASE"
	// EnvLookback is how far back each scheduled run looks, a Go duration. Default
	// [DefaultLookback]; at most [Retention].
	EnvLookback = "HOOKLINE_RECOVER_LOOKBACK"
	// EnvEvery is how often `hookline serve` runs the scheduled recovery in the background, a Go
	// duration such as 1h. Unset or 0: never. The serverless recover functions ignore it: their
	// platform's scheduler says when they run.
	EnvEvery = "HOOKLINE_RECOVER_EVERY"
)

// DefaultLookback is the default look-back window of a scheduled run: 72 hours, as long as Stripe
// retries a webhook delivery, so an event is recovered for as long as Stripe still counts it
// undelivered and then some.
const DefaultLookback = 72 * time.Hour

// configError is a scheduled recovery configuration that can never work: a variable unset or
// malformed. msg names the variable and says what to give it; it never holds the key.
func configError(msg string) error { return &pipeline.ConfigError{Component: "recovery", Msg: msg} }

// Schedule is the configuration of a scheduled recovery, read by [ScheduleFromEnv].
type Schedule struct {
	APIKey   string        // EnvAPIKey, trimmed
	APIBase  string        // EnvAPIBase, trimmed; empty for Stripe's API
	Lookback time.Duration // EnvLookback, or DefaultLookback
}

// ScheduleFromEnv reads the configuration of a scheduled recovery from getenv (os.Getenv in a
// real process). It fails with a *pipeline.ConfigError when the key is missing or is not a secret or
// restricted key, when the look-back is not a positive duration of at most 30 days, or when the
// API base is not an http(s) URL.
func ScheduleFromEnv(getenv func(string) string) (Schedule, error) {
	s := Schedule{
		APIKey:   strings.TrimSpace(getenv(EnvAPIKey)),
		APIBase:  strings.TrimSpace(getenv(EnvAPIBase)),
		Lookback: DefaultLookback,
	}
	switch {
	case s.APIKey == "":
		return s, configError(EnvAPIKey + " is not set: give a restricted key (rk_...) with read access to events, or a secret key (sk_...)")
	case !strings.HasPrefix(s.APIKey, "sk_") && !strings.HasPrefix(s.APIKey, "rk_"):
		return s, configError(EnvAPIKey + " is not a secret or restricted key (sk_... or rk_...): a publishable key or a webhook secret cannot list events")
	}
	if v := strings.TrimSpace(getenv(EnvLookback)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, configError(fmt.Sprintf("%s=%q is not a positive duration such as 72h", EnvLookback, v))
		}
		if d > Retention {
			return s, configError(fmt.Sprintf("%s=%s is longer than the 30 days (720h) Stripe keeps events", EnvLookback, v))
		}
		s.Lookback = d
	}
	if s.APIBase != "" {
		if u, err := url.Parse(s.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, configError(EnvAPIBase + " is not an http(s) URL")
		}
	}
	return s, nil
}

// Client returns the stripe-go client of the configuration ([NewClient]).
func (s Schedule) Client() (*client.API, error) { return NewClient(s.APIKey, s.APIBase) }

// ScheduleOptions says what [RunScheduled] recovers. A nil *ScheduleOptions means the defaults.
type ScheduleOptions struct {
	// Lookback is the window of created times recovered, ending now. Default
	// [DefaultLookback]; at most [Retention]. Keep it longer than the interval between runs,
	// or events created between two windows are never looked at.
	Lookback time.Duration
	// Stripe decodes each event as the webhook does (StrictAPIVersion, RefuseTestMode, Types).
	Stripe *stripehook.Options
	// Now is the clock that ends the window. Default time.Now.
	Now func() time.Time
}

// ScheduledRun is what one scheduled run did: the window it covered and [Recover]'s counts. Its
// JSON is what the recover functions answer.
type ScheduledRun struct {
	Since   time.Time `json:"since"`   // oldest created time looked at
	Until   time.Time `json:"until"`   // newest created time looked at
	Done    time.Time `json:"done"`    // every event created up to here was sent
	Listed  int       `json:"listed"`  // undelivered events Stripe listed in the window
	Sent    int       `json:"sent"`    // events the channel accepted
	Skipped int       `json:"skipped"` // events whose type Stripe.Types does not select
	Pages   int       `json:"pages"`   // pages listed
	// RateLimited counts the times Stripe answered 429 and the run waited.
	RateLimited int `json:"rateLimited"`
}

func scheduleDefaults(opts *ScheduleOptions) (ScheduleOptions, error) {
	var o ScheduleOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Lookback == 0:
		o.Lookback = DefaultLookback
	case o.Lookback < 0:
		return o, fmt.Errorf("recovery: negative look-back %s", o.Lookback)
	case o.Lookback > Retention:
		return o, fmt.Errorf("recovery: look-back %s is longer than the 30 days Stripe keeps events", o.Lookback)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// RunScheduled recovers the events of the look-back window ending now whose webhook delivery has
// not succeeded (Stripe's delivery_success=false: those Stripe is still retrying and those it
// gave up on), sending each to dst, oldest first, as [Recover] does. It keeps no state: each run
// looks at the whole window again, and what an earlier run or the webhook already delivered
// arrives again, which the sinks absorb (they are idempotent and keep the newest event per
// object). An event that the webhook delivered after all is no longer listed.
func RunScheduled(ctx context.Context, api *client.API, dst emitter.Sender, opts *ScheduleOptions) (ScheduledRun, error) {
	o, err := scheduleDefaults(opts)
	if err != nil {
		return ScheduledRun{}, err
	}
	until := o.Now().Truncate(time.Second)
	since := until.Add(-o.Lookback)
	res, err := Recover(ctx, api, dst, &Options{Since: since, Until: until, Undelivered: true, Stripe: o.Stripe})
	return ScheduledRun{Since: since, Until: until, Done: res.Done, Listed: res.Listed, Sent: res.Sent,
		Skipped: res.Skipped, Pages: res.Pages, RateLimited: res.RateLimited}, err
}

// RunEvery runs [RunScheduled] at once and then every interval until ctx ends, and passes each
// run's outcome to report (when not nil). Runs never overlap: one that takes longer than the
// interval delays the next. It returns nil when ctx ends, after the run in progress, which ctx
// cancels (that run is not reported); it fails at once on an interval that is not positive or
// options that RunScheduled would refuse.
func RunEvery(ctx context.Context, every time.Duration, api *client.API, dst emitter.Sender, opts *ScheduleOptions, report func(ScheduledRun, error)) error {
	if every <= 0 {
		return errors.New("recovery: the interval between scheduled runs must be positive")
	}
	if _, err := scheduleDefaults(opts); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		run, err := RunScheduled(ctx, api, dst, opts)
		if ctx.Err() != nil {
			return nil
		}
		if report != nil {
			report(run, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
