package gcpfunctions

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

// Environment variables read on first use, the same that examples/local reads.
const (
	EnvChannel    = "HOOKLINE_CHANNEL"      // topic URL the webhook sends to (required by the webhook)
	EnvSink       = "HOOKLINE_SINK"         // sink URL the processor writes to (required by the processor)
	EnvDeadLetter = "HOOKLINE_DEADLETTER"   // topic URL for messages that cannot be processed (optional)
	EnvSecret     = "STRIPE_WEBHOOK_SECRET" // Stripe signing secret(s), comma-separated (required by the webhook)
)

// Config is what the functions connect to, as read from the environment by [ConfigFromEnv].
type Config struct {
	Channel    string
	Sink       string
	DeadLetter string
	Secrets    []string
}

// ConfigFromEnv reads the configuration from getenv (os.Getenv in a function). It never fails:
// each function checks the parts it needs when it is first invoked.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Channel:    strings.TrimSpace(getenv(EnvChannel)),
		Sink:       strings.TrimSpace(getenv(EnvSink)),
		DeadLetter: strings.TrimSpace(getenv(EnvDeadLetter)),
		Secrets:    stripehook.ParseSecrets(getenv(EnvSecret)),
	}
}

// ConfigError reports a configuration that cannot work, such as a missing variable. The
// functions answer it with 500 (and log it) until the function is redeployed with a fixed
// configuration; Stripe and Pub/Sub keep retrying meanwhile, so nothing is lost.
type ConfigError struct {
	Msg string
}

func (e *ConfigError) Error() string { return "gcpfunctions: configuration: " + e.Msg }

func configErrorf(msg string) error { return &ConfigError{Msg: msg} }

// isConfigError reports whether err is a [*ConfigError].
func isConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// checkWebhook reports what the webhook lacks in c.
func (c Config) checkWebhook() error {
	switch {
	case len(c.Secrets) == 0:
		return configErrorf(EnvSecret + " is not set: give the function the endpoint's signing secret (whsec_...), e.g. with --set-secrets")
	case c.Channel == "":
		return configErrorf(EnvChannel + " is not set: give the function the topic URL, e.g. gcppubsub://projects/PROJECT/topics/stripe-events")
	case isMem(c.Channel):
		return configErrorf(EnvChannel + " is a mem:// URL: an in-memory topic does not leave the function instance, so every event would be lost")
	}
	return nil
}

// checkProcessor reports what the processor lacks in c; hasSink tells whether a sink was given
// in the options.
func (c Config) checkProcessor(hasSink bool) error {
	switch {
	case c.Sink == "" && !hasSink:
		return configErrorf(EnvSink + " is not set: give the function the sink URL, e.g. dataverse://ORG.crm.dynamics.com?key=...&eventtime=...")
	case isMem(c.DeadLetter):
		return configErrorf(EnvDeadLetter + " is a mem:// URL: an in-memory topic does not leave the function instance, so dead letters would be lost")
	}
	return nil
}

func isMem(u string) bool { return strings.HasPrefix(strings.ToLower(u), "mem://") }

// Options configures [NewWebhook] and [NewProcessor]. A nil *Options and zero fields mean the
// documented defaults.
type Options struct {
	// Getenv reads the configuration on first use. Default: os.Getenv.
	Getenv func(string) string
	// Logger receives configuration and connection errors, processing failures (through the
	// consumer rules) and failed sends (through the webhook). Default: slog.Default(), because
	// a function that fails silently cannot be diagnosed; [NewLogHandler] writes the JSON that
	// Cloud Logging reads severities from.
	Logger *slog.Logger
	// Handler tunes the webhook (body limit, send timeout). Its Logger defaults to Logger.
	Handler *emitter.HandlerOptions
	// Stripe tunes verification (tolerance, event types, test mode).
	Stripe *stripehook.Options
	// Consumer sets the processor's rules: attempts per delivery, backoff, per-call timeout and
	// MaxDeliveries. Its DeadLetter is set from HOOKLINE_DEADLETTER; its Logger defaults to Logger.
	Consumer *channel.ConsumerOptions
	// Sink, when set, is used by the processor instead of opening HOOKLINE_SINK. The processor
	// does not close it.
	Sink sink.Sink
	// MaxPushBytes bounds the body of a Pub/Sub push request ([Processor.ServeHTTP]).
	// Default 16 MiB: a 10 MB message, base64-encoded, with its envelope.
	MaxPushBytes int64
}

// DefaultMaxPushBytes is the default of Options.MaxPushBytes.
const DefaultMaxPushBytes int64 = 16 << 20

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxPushBytes <= 0 {
		c.MaxPushBytes = DefaultMaxPushBytes
	}
	return c
}

// lazy builds a value on first use and keeps it for the life of the function instance. A failed
// build is not kept: the next call tries again, so a broker or sink that was unreachable at the
// first request is used once it is back, and every failing request logs why.
type lazy[T any] struct {
	build func(ctx context.Context) (T, error)
	mu    sync.Mutex
	val   atomic.Pointer[T]
}

func (l *lazy[T]) get(ctx context.Context) (T, error) {
	if v := l.val.Load(); v != nil {
		return *v, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.val.Load(); v != nil {
		return *v, nil
	}
	// The value outlives the request that built it: connections must not end with it.
	v, err := l.build(context.WithoutCancel(ctx))
	if err != nil {
		var zero T
		return zero, err
	}
	l.val.Store(&v)
	return v, nil
}

// built returns the value if it was built, without building it.
func (l *lazy[T]) built() (T, bool) {
	if v := l.val.Load(); v != nil {
		return *v, true
	}
	var zero T
	return zero, false
}

// NewLogHandler returns a slog.Handler that writes one JSON object per line in the shape Cloud
// Logging parses from a function's output: "severity" (DEBUG, INFO, WARNING, ERROR) and
// "message" instead of slog's "level" and "msg". Attributes that would collide with those two
// keys get an "attr_" prefix (the consumer logs a "message" attribute, the message id). A nil
// level means INFO.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: cloudLoggingAttr})
}

func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case "message", "severity":
		a.Key = "attr_" + a.Key
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		a.Key = "severity"
		lvl, _ := a.Value.Any().(slog.Level)
		switch {
		case lvl >= slog.LevelError:
			a.Value = slog.StringValue("ERROR")
		case lvl >= slog.LevelWarn:
			a.Value = slog.StringValue("WARNING")
		case lvl >= slog.LevelInfo:
			a.Value = slog.StringValue("INFO")
		default:
			a.Value = slog.StringValue("DEBUG")
		}
	}
	return a
}
