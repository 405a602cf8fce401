package pipeline

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/recovery"
	"github.com/hookline/hookline/sink"
)

// FunctionConfigFromEnv reads the configuration of the function halves ([NewWebhook],
// [NewProcessor]) from getenv: the same variables as [ConfigFromEnv], trimmed, with no defaults
// (a function has no in-memory channel to fall back on, nor a local database) and no generated
// secret. It never fails: each half checks the parts it needs, at start ([Webhook.Check],
// [Processor.Check]) and again when it opens them.
func FunctionConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Channel:      strings.TrimSpace(getenv(EnvChannel)),
		Subscription: strings.TrimSpace(getenv(EnvSubscription)),
		Sink:         strings.TrimSpace(getenv(EnvSink)),
		DeadLetter:   strings.TrimSpace(getenv(EnvDeadLetter)),
		Secrets:      stripehook.ParseSecrets(getenv(EnvSecret)),
	}
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
	// ConfigError returns the adapter's own configuration error for msg. Default: an error
	// "<Name>: configuration: <msg>".
	ConfigError func(msg string) error
	// Broker is the URL scheme of the broker whose trigger runs the processor ("awssqs",
	// "azuresb", "gcppubsub"): the processor's spans and metrics carry its messaging.system.
	// HOOKLINE_SUBSCRIPTION, when set to the subscription's URL, names the destination too.
	Broker string
}

// configFailure marks an error of Platform.ConfigError for [IsConfigError], unchanged otherwise.
type configFailure struct{ err error }

func (c *configFailure) Error() string { return c.err.Error() }
func (c *configFailure) Unwrap() error { return c.err }

// IsConfigError reports whether err is, or wraps, a configuration error: one that no retry can
// fix, such as a missing secret or a URL whose scheme no linked driver serves.
func IsConfigError(err error) bool {
	var cf *configFailure
	return errors.As(err, &cf)
}

func (p *Platform) configError(msg string) error {
	if p.ConfigError == nil {
		return &configFailure{errors.New(p.Name + ": configuration: " + msg)}
	}
	return &configFailure{p.ConfigError(msg)}
}

// CheckWebhook reports what the webhook lacks in c; hasSender tells whether a sender is given,
// so that no channel need be opened.
func (p *Platform) CheckWebhook(c Config, hasSender bool) error {
	switch {
	case len(c.Secrets) == 0:
		return p.configError(EnvSecret + " is not set: give " + p.Deployment + " the endpoint's signing secret (whsec_...), " + p.SecretAdvice)
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
		return p.configError(EnvChannel + " is not set: give " + p.Deployment + " " + p.ChannelAdvice)
	case IsInProcess(c.Channel):
		return p.configError(EnvChannel + " is an in-process " + schemeOf(c.Channel) + ":// URL: an in-memory topic does not leave " + p.Instance + ", so every event would be lost")
	}
	if err := checkTopicURL(EnvChannel, c.Channel); err != nil {
		return p.configError(err.Error())
	}
	return nil
}

// CheckProcessor reports what the processor lacks in c; hasSink and hasDeadLetter tell whether
// a sink and a dead-letter sender are given.
func (p *Platform) CheckProcessor(c Config, hasSink, hasDeadLetter bool) error {
	switch {
	case c.Sink == "" && !hasSink:
		return p.configError(EnvSink + " is not set: give " + p.Deployment + " the sink URL, e.g. dataverse://ORG.crm.dynamics.com?key=...&eventtime=...")
	case !hasDeadLetter && IsInProcess(c.DeadLetter):
		return p.configError(EnvDeadLetter + " is an in-process " + schemeOf(c.DeadLetter) + ":// URL: an in-memory topic does not leave " + p.Instance + ", so dead letters would be lost")
	}
	if !hasSink {
		if err := checkSinkURL(c.Sink); err != nil {
			return p.configError(err.Error())
		}
	}
	if !hasDeadLetter && c.DeadLetter != "" {
		if err := checkTopicURL(EnvDeadLetter, c.DeadLetter); err != nil {
			return p.configError(err.Error())
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

// WebhookOptions configures [NewWebhook]. Getenv defaults to os.Getenv and Logger to
// slog.Default(); Handler's Logger defaults to Logger. Sender, when set, replaces the channel
// that the environment names and is never shut down by the webhook.
type WebhookOptions struct {
	Getenv  func(string) string
	Logger  *slog.Logger
	Handler *emitter.HandlerOptions
	Stripe  *stripehook.Options
	Sender  *channel.Sender
}

// ProcessorOptions configures [NewProcessor]. Getenv defaults to os.Getenv and Logger to
// slog.Default(); Consumer's Logger defaults to Logger and its DeadLetter is always replaced.
// Sink and DeadLetter, when set, replace what the environment names and are never closed by the
// processor.
type ProcessorOptions struct {
	Getenv     func(string) string
	Logger     *slog.Logger
	Consumer   *channel.ProcessorOptions
	Sink       sink.Sink
	DeadLetter *channel.Sender
}

func defaultEnv(getenv func(string) string, log *slog.Logger) (func(string) string, *slog.Logger) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if log == nil {
		log = slog.Default()
	}
	// What the configuration holds never reaches the platform's log (package internal/redact).
	masked := redact.Env(getenv, EnvChannel, EnvSubscription, EnvDeadLetter, EnvSink, EnvSecret, recovery.EnvAPIKey)
	return getenv, slog.New(redact.Handler(log.Handler(), masked))
}
