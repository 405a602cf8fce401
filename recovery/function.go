package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/lazy"
	"github.com/hookline/hookline/pipeline"
)

// Recoverer is the third function half beside pipeline's webhook and processor: the scheduled
// recovery ([RunScheduled]) that a platform's scheduler invokes (an EventBridge Scheduler
// schedule, an Azure Functions timer trigger, a Cloud Scheduler job), opened on first use. On
// its first run it reads the configuration — HOOKLINE_CHANNEL, STRIPE_API_KEY, STRIPE_API_BASE
// and HOOKLINE_RECOVER_LOOKBACK ([ScheduleFromEnv]), and the stripe:// source's options from
// HOOKLINE_SOURCE — opens the channel (unless FunctionOptions.Sender is set) and builds the
// Stripe client; later runs reuse them. A failed start is tried again on the next run. It keeps
// no state between runs.
type Recoverer struct {
	platform pipeline.Platform
	opts     pipeline.FunctionOptions
	parts    *lazy.Value[*recovererParts]
}

type recovererParts struct {
	schedule Schedule
	api      *client.API
	sender   *channel.Sender
	owned    bool
	decode   *stripehook.Options
}

// NewRecoverer returns the recover function of platform. It opens nothing yet and never fails,
// but it checks the configuration at once ([Recoverer.Check]) and logs at ERROR, once, what can
// never work (no Stripe key, no channel, a look-back that is no duration), so that the
// platform's log says it when the instance starts. Of opts it uses Getenv, Logger and Sender.
func NewRecoverer(platform pipeline.Platform, opts pipeline.FunctionOptions) *Recoverer {
	r := &Recoverer{platform: platform, opts: opts.WithDefaults(EnvAPIKey)}
	r.parts = lazy.New(r.build)
	if err := r.Check(); err != nil {
		r.opts.Logger.Error(platform.Name+": recover function is not configured", slog.String("error", err.Error()))
	}
	return r
}

// Check reads the configuration and reports, without connecting to anything, what can never
// work: a configuration error ([IsConfigError]) or nil.
func (r *Recoverer) Check() error {
	_, err := r.schedule()
	return err
}

func (r *Recoverer) schedule() (Schedule, error) {
	if r.opts.Sender == nil {
		if err := r.platform.CheckChannel(pipeline.FunctionConfigFromEnv(r.opts.Getenv)); err != nil {
			return Schedule{}, err
		}
	}
	s, err := ScheduleFromEnv(r.opts.Getenv)
	var ce *pipeline.ConfigError
	if errors.As(err, &ce) {
		return s, r.platform.ConfigError(ce.Msg)
	}
	return s, err
}

func (r *Recoverer) build(ctx context.Context) (*recovererParts, error) {
	s, err := r.schedule()
	if err != nil {
		return nil, err
	}
	api, err := s.Client()
	if err != nil {
		return nil, r.platform.ConfigError(err.Error())
	}
	decode, err := SourceOptions(pipeline.FunctionConfigFromEnv(r.opts.Getenv).Source)
	if err != nil {
		return nil, r.platform.ConfigError(pipeline.EnvSource + ": " + err.Error())
	}
	parts := &recovererParts{schedule: s, api: api, sender: r.opts.Sender, decode: decode}
	if parts.sender == nil {
		if parts.sender, err = channel.OpenSender(ctx, pipeline.FunctionConfigFromEnv(r.opts.Getenv).Channel, nil); err != nil {
			return nil, err
		}
		parts.owned = true
	}
	return parts, nil
}

// Run recovers the undelivered events of the look-back window ending now into the channel and
// logs what it did: one INFO line with the window and the counts, or an ERROR line with the
// error and the counts so far. An error is a configuration error ([IsConfigError]), the
// channel's, or the run's (Stripe refused the key, a send failed); the next run looks at the
// window again, so nothing is lost by a failed one.
func (r *Recoverer) Run(ctx context.Context) (ScheduledRun, error) {
	parts, err := r.parts.Get(ctx)
	if err != nil {
		r.opts.Logger.LogAttrs(ctx, slog.LevelError, r.platform.Name+": recover function cannot start",
			slog.Int("status", pipeline.Failure(err).Status), slog.String("error", err.Error()))
		return ScheduledRun{}, err
	}
	run, err := RunScheduled(ctx, parts.api, parts.sender,
		&ScheduleOptions{Lookback: parts.schedule.Lookback, Stripe: parts.decode})
	LogScheduledRun(ctx, r.opts.Logger, r.platform.Name+": ", run, err)
	return run, err
}

// SourceOptions returns the decoding options of a stripe:// source URL (its types, testmode and
// apiversion parameters, stripehook.OptionsFromURL), so that recovered events are decoded as
// the webhook decodes them; nil for an empty URL. Recovery reads Stripe's Events API: a URL of
// any other source is an error.
func SourceOptions(sourceURL string) (*stripehook.Options, error) {
	if sourceURL == "" {
		return nil, nil
	}
	u, err := url.Parse(sourceURL)
	if err != nil || !strings.EqualFold(u.Scheme, stripehook.SourceName) {
		return nil, fmt.Errorf("recovery: recovery reads Stripe's Events API, but the source is %q: it needs %s://",
			sourceURL, stripehook.SourceName)
	}
	o, err := stripehook.OptionsFromURL(u)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// LogScheduledRun logs one scheduled recovery run: at INFO "<prefix>recovery run" with the
// window and the counts, or at ERROR "<prefix>recovery run failed" with the error and the time
// up to which everything was sent.
func LogScheduledRun(ctx context.Context, log *slog.Logger, prefix string, run ScheduledRun, err error) {
	attrs := []slog.Attr{
		slog.Time("since", run.Since.UTC()), slog.Time("until", run.Until.UTC()),
		slog.Int("listed", run.Listed), slog.Int("sent", run.Sent), slog.Int("skipped", run.Skipped),
		slog.Int("pages", run.Pages), slog.Int("rate_limited", run.RateLimited),
	}
	if err != nil {
		attrs = append(attrs, slog.Time("done", run.Done.UTC()), slog.String("error", err.Error()))
		log.LogAttrs(ctx, slog.LevelError, prefix+"recovery run failed", attrs...)
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, prefix+"recovery run", attrs...)
}

// Close shuts the channel down if the recoverer opened it.
func (r *Recoverer) Close(ctx context.Context) error {
	if parts, ok := r.parts.Built(); ok && parts.owned {
		return parts.sender.Shutdown(ctx)
	}
	return nil
}
