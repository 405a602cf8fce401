package azurefunctions

import (
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

// ConfigFromEnv reads the configuration from getenv (os.Getenv in a function app, where the app
// settings are environment variables), as pipeline.FunctionConfigFromEnv does. It never fails:
// each function checks the parts it needs when the app starts (and logs what can never work) and
// again when it is first invoked.
func ConfigFromEnv(getenv func(string) string) Config { return pipeline.FunctionConfigFromEnv(getenv) }

// ConfigError reports a configuration that cannot work, such as a missing app setting. The
// functions answer it with 500 (and log it) until the app settings are fixed; Stripe and Service
// Bus keep retrying meanwhile.
type ConfigError struct {
	Msg string
}

func (e *ConfigError) Error() string { return "azurefunctions: configuration: " + e.Msg }

// platform words the shared pipelines' errors and logs for Azure Functions.
var platform = pipeline.Platform{
	Name:          "azurefunctions",
	Deployment:    "the function app",
	Instance:      "the process",
	SecretAdvice:  "preferably as a Key Vault reference",
	ChannelAdvice: "the queue URL, e.g. azuresbqueue://stripe-events",
	NoDeadLetter:  "abandoned until Service Bus dead-letters them after MaxDeliveryCount",
	ConfigError:   func(msg string) error { return &ConfigError{Msg: msg} },
	Broker:        "azuresb",
}

// Options configures [NewWebhook] and [NewProcessor]. A nil *Options and zero fields mean the
// documented defaults.
type Options struct {
	// Getenv reads the configuration on first use. Default: os.Getenv.
	Getenv func(string) string
	// Logger receives configuration and connection errors, processing failures (through the
	// consumer rules) and failed sends (through the webhook). Default: slog.Default(): the
	// Functions host records what the custom handler writes to stdout and stderr.
	Logger *slog.Logger
	// Handler tunes the webhook (body limit, send timeout). Its Logger defaults to Logger.
	Handler *emitter.HandlerOptions
	// Stripe tunes verification (tolerance, event types, test mode).
	Stripe *stripehook.Options
	// Consumer sets the processor's rules: attempts per delivery, backoff, per-call timeout and
	// MaxDeliveries. Its DeadLetter is set from DeadLetter or HOOKLINE_DEADLETTER; its Logger
	// defaults to Logger.
	Consumer *channel.ProcessorOptions
	// Sender, when set, is used by the webhook and the recover function instead of opening
	// HOOKLINE_CHANNEL (which may then be unset). They do not shut it down.
	Sender *channel.Sender
	// Sink, when set, is used by the processor instead of opening HOOKLINE_SINK. The processor
	// does not close it.
	Sink sink.Sink
	// DeadLetter, when set, is used by the processor instead of opening HOOKLINE_DEADLETTER. The
	// processor does not shut it down.
	DeadLetter *channel.Sender
	// Bindings names the bindings of function.json. Zero fields take the defaults of [Bindings].
	Bindings Bindings
	// MaxInvocationBytes bounds the body of one invocation request from the host. Default
	// [DefaultMaxInvocationBytes].
	MaxInvocationBytes int64
}

// Bindings names the function.json bindings the handlers read and write.
type Bindings struct {
	// HTTPTrigger is the name of the webhook's httpTrigger binding: the key of Data in its
	// invocation requests. Default "req".
	HTTPTrigger string
	// HTTPOutput is the name of the webhook's http output binding: the key of Outputs in its
	// responses. Default "res".
	HTTPOutput string
	// Message is the name of the processor's serviceBusTrigger binding. Default "message".
	Message string
	// Timer is the name of the recover function's timerTrigger binding. Default "timer".
	Timer string
}

// DefaultMaxInvocationBytes is the default of Options.MaxInvocationBytes: a 10 MiB Service Bus
// message (Premium allows up to 100 MB; raise it for larger ones), base64-encoded, with its
// metadata.
const DefaultMaxInvocationBytes int64 = 16 << 20

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
	if c.MaxInvocationBytes <= 0 {
		c.MaxInvocationBytes = DefaultMaxInvocationBytes
	}
	if c.Bindings.HTTPTrigger == "" {
		c.Bindings.HTTPTrigger = "req"
	}
	if c.Bindings.HTTPOutput == "" {
		c.Bindings.HTTPOutput = "res"
	}
	if c.Bindings.Message == "" {
		c.Bindings.Message = "message"
	}
	if c.Bindings.Timer == "" {
		c.Bindings.Timer = "timer"
	}
	return c
}

// webhookOptions returns the options of the shared webhook.
func (o Options) webhookOptions() pipeline.WebhookOptions {
	return pipeline.WebhookOptions{Getenv: o.Getenv, Logger: o.Logger, Handler: o.Handler, Stripe: o.Stripe, Sender: o.Sender}
}

// processorOptions returns the options of the shared processor.
func (o Options) processorOptions() pipeline.ProcessorOptions {
	return pipeline.ProcessorOptions{Getenv: o.Getenv, Logger: o.Logger, Consumer: o.Consumer, Sink: o.Sink, DeadLetter: o.DeadLetter}
}

// recovererOptions returns the options of the shared recover function.
func (o Options) recovererOptions() pipeline.RecovererOptions {
	return pipeline.RecovererOptions{Getenv: o.Getenv, Logger: o.Logger, Sender: o.Sender, Stripe: o.Stripe}
}
