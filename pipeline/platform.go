package pipeline

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
)

// FunctionConfigFromEnv reads the configuration of the function halves ([NewWebhook],
// [NewProcessor]) from getenv: the same variables as [ConfigFromEnv], trimmed, with no defaults
// but the source's (a function has no in-memory channel to fall back on, nor a local database)
// and no generated secret. The secrets are read from the variable the source names, when its
// package is linked. It never fails: each half checks the parts it needs, at start
// ([Webhook.Check], [Processor.Check]) and again when it opens them.
func FunctionConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		Source:       strings.TrimSpace(getenv(EnvSource)),
		Channel:      strings.TrimSpace(getenv(EnvChannel)),
		Subscription: strings.TrimSpace(getenv(EnvSubscription)),
		Sink:         strings.TrimSpace(getenv(EnvSink)),
		DeadLetter:   strings.TrimSpace(getenv(EnvDeadLetter)),
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	if d, _, err := emitter.LookupSource(c.Source); err == nil {
		c.Secrets = emitter.ParseSecrets(getenv(d.SecretEnv))
	}
	return c
}

// Platform describes the runtime that runs the function halves: how its errors and log lines are
// prefixed and how its configuration errors tell the operator what to fix. Each function adapter
// (adapters/awslambda's example, adapters/azurefunctions, adapters/gcpfunctions) has one.
type Platform struct {
	// Name prefixes log lines and errors, e.g. "azurefunctions".
	Name string
	// Deployment is what is given the settings, in the advice of configuration errors:
	// "the function app", "the function".
	Deployment string
	// Instance is what an in-memory topic does not leave: "the process", "the function instance".
	Instance string
	// SecretAdvice ends the advice for a missing secret, e.g. "e.g. with --set-secrets".
	SecretAdvice string
	// ChannelAdvice is what to give for a missing channel, e.g. "the topic URL, e.g. gcppubsub://...".
	ChannelAdvice string
	// NoDeadLetter says what becomes of messages that cannot be processed when there is no
	// dead-letter channel, e.g. "returned to Pub/Sub, whose dead-letter policy must set them aside".
	NoDeadLetter string
	// Broker is the URL scheme of the broker whose trigger runs the processor ("awssqs",
	// "azuresb", "gcppubsub"): the processor's spans and metrics carry its messaging.system.
	// HOOKLINE_SUBSCRIPTION, when set to the subscription's URL, names the destination too.
	Broker string
}

// ConfigError is a configuration that can never work: a variable unset or malformed, a URL whose
// scheme no linked package serves. The function halves answer it with 500 "function not
// configured" (and log it) until the configuration is fixed, while the sender and the broker
// keep retrying; commands and servers stop at start with it.
type ConfigError struct {
	// Component found it: a platform's name ("azurefunctions") or a package's ("recovery").
	Component string
	// Msg names the variable and says what to give it; it never holds a secret.
	Msg string
}

func (e *ConfigError) Error() string { return e.Component + ": configuration: " + e.Msg }

// IsConfigError reports whether err is, or wraps, a [*ConfigError]: one that no retry can fix.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// ConfigError returns the platform's [*ConfigError] saying msg.
func (p *Platform) ConfigError(msg string) error { return &ConfigError{Component: p.Name, Msg: msg} }

// CheckWebhook reports what the webhook lacks in c; hasSender tells whether a sender is given,
// so that no channel need be opened.
func (p *Platform) CheckWebhook(c Config, hasSender bool) error {
	if c.Source == "" {
		c.Source = DefaultSource
	}
	d, _, err := emitter.LookupSource(c.Source)
	switch {
	case err != nil:
		return p.ConfigError(EnvSource + ": " + err.Error())
	case len(c.Secrets) == 0:
		return p.ConfigError(d.SecretEnv + " is not set: give " + p.Deployment + " the endpoint's signing secret (whsec_...), " + p.SecretAdvice)
	case hasSender:
		return nil
	}
	return p.CheckChannel(c)
}

// CheckChannel reports what is wrong with the channel URL in c: unset, in-memory, malformed, or
// of a scheme that no driver linked into this program serves.
func (p *Platform) CheckChannel(c Config) error {
	switch {
	case c.Channel == "":
		return p.ConfigError(EnvChannel + " is not set: give " + p.Deployment + " " + p.ChannelAdvice)
	case IsInProcess(c.Channel):
		return p.ConfigError(EnvChannel + " is an in-process " + schemeOf(c.Channel) + ":// URL: an in-memory topic does not leave " + p.Instance + ", so every event would be lost")
	}
	if err := checkTopicURL(EnvChannel, c.Channel); err != nil {
		return p.ConfigError(err.Error())
	}
	return nil
}

// CheckProcessor reports what the processor lacks in c; hasSink and hasDeadLetter tell whether
// a sink and a dead-letter sender are given.
func (p *Platform) CheckProcessor(c Config, hasSink, hasDeadLetter bool) error {
	switch {
	case c.Sink == "" && !hasSink:
		return p.ConfigError(EnvSink + " is not set: give " + p.Deployment + " the sink URL, e.g. dataverse://ORG.crm.dynamics.com?key=...&eventtime=...")
	case !hasDeadLetter && IsInProcess(c.DeadLetter):
		return p.ConfigError(EnvDeadLetter + " is an in-process " + schemeOf(c.DeadLetter) + ":// URL: an in-memory topic does not leave " + p.Instance + ", so dead letters would be lost")
	}
	if !hasSink {
		if err := checkSinkURL(c.Sink); err != nil {
			return p.ConfigError(err.Error())
		}
	}
	if !hasDeadLetter && c.DeadLetter != "" {
		if err := checkTopicURL(EnvDeadLetter, c.DeadLetter); err != nil {
			return p.ConfigError(err.Error())
		}
	}
	return nil
}

// IsMem reports whether u is a mem:// URL (gocloud's mempubsub). [IsInProcess] covers
// inproc:// too.
func IsMem(u string) bool { return strings.HasPrefix(strings.ToLower(u), "mem://") }

// IsInProcess reports whether u names a channel that lives in this process only: mem://
// (gocloud's mempubsub) or inproc:// (channel/inprocpubsub). The pipeline gives such a channel
// what a broker would (a bound on pending events, a default dead-letter topic, the shutdown
// wait), and the function halves refuse it.
func IsInProcess(u string) bool { return channel.IsInProcess(u) }

// schemeOf returns the lower-case scheme of a URL ("" when it has none).
func schemeOf(u string) string {
	scheme, _, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// FunctionOptions configure the function halves ([NewWebhook], [NewProcessor]) and the recover
// function of package recovery: the function adapters' Options embed them. A zero field means
// the documented default.
type FunctionOptions struct {
	// Getenv reads the configuration on first use. Default: os.Getenv.
	Getenv func(string) string
	// Logger receives configuration and connection errors, processing failures (through the
	// consumer rules) and failed sends (through the webhook), with the configuration's secrets
	// masked. Default: slog.Default(), because a function that fails silently cannot be
	// diagnosed.
	Logger *slog.Logger
	// Handler tunes the webhook (body limit, send timeout). Its Logger defaults to Logger.
	Handler *emitter.HandlerOptions
	// Source, when set, verifies and decodes the webhook's deliveries instead of the source
	// that HOOKLINE_SOURCE names (whose secret is then not read).
	Source emitter.Source
	// Consumer sets the processor's rules: attempts per delivery, backoff, per-call timeout and
	// MaxDeliveries. Its DeadLetter is replaced by DeadLetter or HOOKLINE_DEADLETTER's; its
	// Logger defaults to Logger.
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
}

// WithDefaults returns o with Getenv and Logger defaulted, and the Logger masking what the
// configuration holds: the URLs' passwords and the source's secrets. The function halves call
// it; so does the recover function, with the variables of its own secrets in more.
func (o FunctionOptions) WithDefaults(more ...string) FunctionOptions {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	names := append([]string{EnvChannel, EnvSubscription, EnvDeadLetter, EnvSink}, more...)
	if d, _, err := emitter.LookupSource(FunctionConfigFromEnv(o.Getenv).Source); err == nil {
		names = append(names, d.SecretEnv)
	}
	o.Logger = slog.New(redact.Handler(o.Logger.Handler(), redact.Env(o.Getenv, names...)))
	return o
}
