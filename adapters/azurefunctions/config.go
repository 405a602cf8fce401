package azurefunctions

import (
	"context"
	"errors"
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

// ConfigFromEnv reads the configuration from getenv (os.Getenv in a function app, where the app
// settings are environment variables). It never fails: each function checks the parts it needs
// when it is first invoked.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Channel:    strings.TrimSpace(getenv(EnvChannel)),
		Sink:       strings.TrimSpace(getenv(EnvSink)),
		DeadLetter: strings.TrimSpace(getenv(EnvDeadLetter)),
		Secrets:    stripehook.ParseSecrets(getenv(EnvSecret)),
	}
}

// ConfigError reports a configuration that cannot work, such as a missing app setting. The
// functions answer it with 500 (and log it) until the app settings are fixed; Stripe and Service
// Bus keep retrying meanwhile.
type ConfigError struct {
	Msg string
}

func (e *ConfigError) Error() string { return "azurefunctions: configuration: " + e.Msg }

func configErrorf(msg string) error { return &ConfigError{Msg: msg} }

func isConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// checkWebhook reports what the webhook lacks in c; hasSender tells whether Options.Sender is set.
func (c Config) checkWebhook(hasSender bool) error {
	switch {
	case len(c.Secrets) == 0:
		return configErrorf(EnvSecret + " is not set: give the function app the endpoint's signing secret (whsec_...), preferably as a Key Vault reference")
	case hasSender:
		return nil
	case c.Channel == "":
		return configErrorf(EnvChannel + " is not set: give the function app the queue URL, e.g. azuresbqueue://stripe-events")
	case isMem(c.Channel):
		return configErrorf(EnvChannel + " is a mem:// URL: an in-memory topic does not leave the process, so every event would be lost")
	}
	return nil
}

// checkProcessor reports what the processor lacks in c.
func (c Config) checkProcessor(hasSink, hasDeadLetter bool) error {
	switch {
	case c.Sink == "" && !hasSink:
		return configErrorf(EnvSink + " is not set: give the function app the sink URL, e.g. dataverse://ORG.crm.dynamics.com?key=...&eventtime=...")
	case !hasDeadLetter && isMem(c.DeadLetter):
		return configErrorf(EnvDeadLetter + " is a mem:// URL: an in-memory topic does not leave the process, so dead letters would be lost")
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
	Consumer *channel.ConsumerOptions
	// Sender, when set, is used by the webhook instead of opening HOOKLINE_CHANNEL (which may then
	// be unset). The webhook does not shut it down.
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
	return c
}

// lazy builds a value on first use and keeps it for the life of the process. A failed build is
// not kept: the next call tries again, so a broker or sink that was unreachable at the first
// invocation is used once it is back, and every failing invocation logs why.
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
	// The value outlives the invocation that built it: connections must not end with it.
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
