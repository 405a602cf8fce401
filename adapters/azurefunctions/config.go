package azurefunctions

import (
	"github.com/hookline/hookline/pipeline"
)

// The functions read the variables of package pipeline (pipeline.FunctionConfigFromEnv:
// HOOKLINE_SOURCE and its source's secret, HOOKLINE_CHANNEL, HOOKLINE_SINK, HOOKLINE_DEADLETTER)
// and the recover function those of package recovery; a missing or unusable one is a
// *pipeline.ConfigError (see # Configuration).

// platform words the shared pipelines' errors and logs for Azure Functions.
var platform = pipeline.Platform{
	Name:          "azurefunctions",
	Deployment:    "the function app",
	Instance:      "the process",
	SecretAdvice:  "preferably as a Key Vault reference",
	ChannelAdvice: "the queue URL, e.g. azuresbqueue://stripe-events",
	NoDeadLetter:  "abandoned until Service Bus dead-letters them after MaxDeliveryCount",
	Broker:        "azuresb",
}

// Options configures [NewWebhook], [NewProcessor] and [NewRecover]. A nil *Options and zero
// fields mean the documented defaults.
type Options struct {
	// FunctionOptions are what every function runtime shares (configuration, logger, webhook,
	// consumer rules, and channel, sink and dead-letter channel given instead of opened): see
	// pipeline.FunctionOptions. Logger defaults to slog.Default(): the Functions host records
	// what the custom handler writes to stdout and stderr.
	pipeline.FunctionOptions
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
	c.FunctionOptions = c.FunctionOptions.WithDefaults()
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
