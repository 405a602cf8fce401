package gcpfunctions

import (
	"io"
	"log/slog"
	"os"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
	"github.com/hookline/hookline/sink"
)

// Environment variables read on first use, the same that examples/local reads.
const (
	EnvChannel    = pipeline.EnvChannel    // HOOKLINE_CHANNEL: topic URL the webhook sends to (required by the webhook)
	EnvSink       = pipeline.EnvSink       // HOOKLINE_SINK: sink URL the processor writes to (required by the processor)
	EnvDeadLetter = pipeline.EnvDeadLetter // HOOKLINE_DEADLETTER: topic URL for messages that cannot be processed (optional)
	EnvSecret     = pipeline.EnvSecret     // STRIPE_WEBHOOK_SECRET: Stripe signing secret(s), comma-separated (required by the webhook)
	EnvAPIKey     = recovery.EnvAPIKey     // STRIPE_API_KEY: a restricted key that can read events (required by the recover function)
	EnvLookback   = recovery.EnvLookback   // HOOKLINE_RECOVER_LOOKBACK: the recover function's window (optional, default 72h)
	EnvAPIBase    = recovery.EnvAPIBase    // STRIPE_API_BASE: Stripe's API URL, for a proxy or a test double (optional)
)

// Config is what the functions connect to, as read from the environment by [ConfigFromEnv]. The
// functions use its Channel, Sink and DeadLetter (the URLs of [EnvChannel], [EnvSink] and
// [EnvDeadLetter], trimmed) and Secrets (the comma-separated secrets of [EnvSecret]); see
// pipeline.Config.
type Config = pipeline.Config

// ConfigFromEnv reads the configuration from getenv (os.Getenv in a function), as
// pipeline.FunctionConfigFromEnv does. It never fails: each function checks the parts it needs
// when the instance starts (and logs what can never work) and again when it is first invoked.
func ConfigFromEnv(getenv func(string) string) Config { return pipeline.FunctionConfigFromEnv(getenv) }

// ConfigError reports a configuration that cannot work, such as a missing variable. The
// functions answer it with 500 (and log it) until the function is redeployed with a fixed
// configuration; Stripe and Pub/Sub keep retrying meanwhile, so nothing is lost.
type ConfigError struct {
	Msg string
}

func (e *ConfigError) Error() string { return "gcpfunctions: configuration: " + e.Msg }

// platform words the shared pipelines' errors and logs for Cloud Functions.
var platform = pipeline.Platform{
	Name:          "gcpfunctions",
	Deployment:    "the function",
	Instance:      "the function instance",
	SecretAdvice:  "e.g. with --set-secrets",
	ChannelAdvice: "the topic URL, e.g. gcppubsub://projects/PROJECT/topics/stripe-events",
	NoDeadLetter:  "returned to Pub/Sub, whose dead-letter policy must set them aside",
	ConfigError:   func(msg string) error { return &ConfigError{Msg: msg} },
	Broker:        "gcppubsub",
}

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
	Consumer *channel.ProcessorOptions
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

// webhookOptions returns the options of the shared webhook.
func (o Options) webhookOptions() pipeline.WebhookOptions {
	return pipeline.WebhookOptions{Getenv: o.Getenv, Logger: o.Logger, Handler: o.Handler, Stripe: o.Stripe}
}

// processorOptions returns the options of the shared processor.
func (o Options) processorOptions() pipeline.ProcessorOptions {
	return pipeline.ProcessorOptions{Getenv: o.Getenv, Logger: o.Logger, Consumer: o.Consumer, Sink: o.Sink}
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

// recovererOptions returns the options of the shared recover function.
func (o Options) recovererOptions() pipeline.RecovererOptions {
	return pipeline.RecovererOptions{Getenv: o.Getenv, Logger: o.Logger, Stripe: o.Stripe}
}
