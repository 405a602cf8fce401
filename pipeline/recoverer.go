package pipeline

import (
	"context"
	"errors"
	"log/slog"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/recovery"
)

// RecovererOptions configures [NewRecoverer]. Getenv defaults to os.Getenv and Logger to
// slog.Default(). Sender, when set, replaces the channel that the environment names and is never
// shut down by the recoverer.
type RecovererOptions struct {
	Getenv func(string) string
	Logger *slog.Logger
	Sender *channel.Sender
	// Stripe decodes each recovered event as the webhook does (StrictAPIVersion,
	// RefuseTestMode, Types).
	Stripe *stripehook.Options
}

// Recoverer is the third function half: the scheduled recovery ([recovery.RunScheduled]) that a
// platform's scheduler invokes (an EventBridge Scheduler schedule, an Azure Functions timer
// trigger, a Cloud Scheduler job), opened on first use. On its first run it reads the
// configuration — HOOKLINE_CHANNEL, and recovery's STRIPE_API_KEY, STRIPE_API_BASE and
// HOOKLINE_RECOVER_LOOKBACK ([recovery.ScheduleFromEnv]) — opens the channel (unless
// RecovererOptions.Sender is set) and builds the Stripe client; later runs reuse them. A failed
// start is tried again on the next run. It keeps no state between runs.
type Recoverer struct {
	platform Platform
	opts     RecovererOptions
	parts    *lazy[*recovererParts]
}

type recovererParts struct {
	schedule recovery.Schedule
	api      *client.API
	sender   *channel.Sender
	owned    bool
}

// NewRecoverer returns the recover function of platform. It opens nothing yet and never fails,
// but it checks the configuration at once ([Recoverer.Check]) and logs at ERROR, once, what can
// never work (no Stripe key, no channel, a look-back that is no duration), so that the
// platform's log says it when the instance starts.
func NewRecoverer(platform Platform, opts RecovererOptions) *Recoverer {
	r := &Recoverer{platform: platform, opts: opts}
	r.opts.Getenv, r.opts.Logger = defaultEnv(opts.Getenv, opts.Logger)
	r.parts = newLazy(r.build)
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

func (r *Recoverer) schedule() (recovery.Schedule, error) {
	if r.opts.Sender == nil {
		if err := r.platform.CheckChannel(FunctionConfigFromEnv(r.opts.Getenv)); err != nil {
			return recovery.Schedule{}, err
		}
	}
	s, err := recovery.ScheduleFromEnv(r.opts.Getenv)
	var ce *recovery.ConfigError
	if errors.As(err, &ce) {
		return s, r.platform.configError(ce.Msg)
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
		return nil, r.platform.configError(err.Error())
	}
	parts := &recovererParts{schedule: s, api: api, sender: r.opts.Sender}
	if parts.sender == nil {
		if parts.sender, err = channel.OpenSender(ctx, FunctionConfigFromEnv(r.opts.Getenv).Channel, nil); err != nil {
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
func (r *Recoverer) Run(ctx context.Context) (recovery.ScheduledRun, error) {
	parts, err := r.parts.Get(ctx)
	if err != nil {
		r.opts.Logger.LogAttrs(ctx, slog.LevelError, r.platform.Name+": recover function cannot start",
			slog.Int("status", Failure(err).Status), slog.String("error", err.Error()))
		return recovery.ScheduledRun{}, err
	}
	run, err := recovery.RunScheduled(ctx, parts.api, parts.sender,
		&recovery.ScheduleOptions{Lookback: parts.schedule.Lookback, Stripe: r.opts.Stripe})
	LogScheduledRun(ctx, r.opts.Logger, r.platform.Name+": ", run, err)
	return run, err
}

// LogScheduledRun logs one scheduled recovery run: at INFO "<prefix>recovery run" with the
// window and the counts, or at ERROR "<prefix>recovery run failed" with the error and the time
// up to which everything was sent.
func LogScheduledRun(ctx context.Context, log *slog.Logger, prefix string, run recovery.ScheduledRun, err error) {
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
