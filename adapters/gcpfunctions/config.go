package gcpfunctions

import (
	"io"
	"log/slog"

	"github.com/hookline/hookline/pipeline"
)

// The functions read the variables of package pipeline (pipeline.FunctionConfigFromEnv:
// HOOKLINE_SOURCE and its source's secret, HOOKLINE_CHANNEL, HOOKLINE_SINK, HOOKLINE_DEADLETTER)
// and the recover function those of package recovery; a missing or unusable one is a
// *pipeline.ConfigError (see # Configuration).

// platform words the shared pipelines' errors and logs for Cloud Functions.
var platform = pipeline.Platform{
	Name:          "gcpfunctions",
	Deployment:    "the function",
	Instance:      "the function instance",
	SecretAdvice:  "e.g. with --set-secrets",
	ChannelAdvice: "the topic URL, e.g. gcppubsub://projects/PROJECT/topics/stripe-events",
	NoDeadLetter:  "returned to Pub/Sub, whose dead-letter policy must set them aside",
	Broker:        "gcppubsub",
}

// Options configures [NewWebhook], [NewProcessor] and [NewRecover]. A nil *Options and zero
// fields mean the documented defaults.
type Options struct {
	// FunctionOptions are what every function runtime shares (configuration, logger, webhook,
	// consumer rules, and channel, sink and dead-letter channel given instead of opened): see
	// pipeline.FunctionOptions. Logger defaults to slog.Default(); [NewLogHandler] writes the
	// JSON that Cloud Logging reads severities from.
	pipeline.FunctionOptions
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
	c.FunctionOptions = c.FunctionOptions.WithDefaults()
	if c.MaxPushBytes <= 0 {
		c.MaxPushBytes = DefaultMaxPushBytes
	}
	return c
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
