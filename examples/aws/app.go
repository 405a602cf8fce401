package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs"        // awssqs://, awssns://, SQS receive counts
	_ "github.com/hookline/hookline/emitter/standardwebhooks" // HOOKLINE_SOURCE=standardwebhooks://
	_ "github.com/hookline/hookline/emitter/stripehook"       // HOOKLINE_SOURCE=stripe:// (the default)
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
	_ "github.com/hookline/hookline/sink/dataverse" // dataverse://
	_ "github.com/hookline/hookline/sink/sqlsink"   // sqlite:// and postgres://
)

// Environment variables that only this example reads; the others are examples/local's.
const (
	EnvRole        = "HOOKLINE_ROLE"
	EnvEventSource = "STRIPE_EVENT_SOURCE"
)

// Roles.
const (
	RoleWebhook     = "webhook"
	RoleProcessor   = "processor"
	RoleEventBridge = "eventbridge"
	RoleRecover     = "recover"
)

// platform words the errors of the shared configuration checks for Lambda.
var platform = pipeline.Platform{
	Name:          "lambda",
	Deployment:    "the function",
	Instance:      "one Lambda execution environment",
	SecretAdvice:  "copied from the Stripe dashboard",
	ChannelAdvice: "the awssqs://... URL of the queue",
	NoDeadLetter:  "reported as batch item failures until the queue's redrive policy moves them to its dead-letter queue",
	Broker:        "awssqs",
}

// build opens what the role needs, once per execution environment (Lambda's init phase), and
// returns the handler for its invocations.
func build(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	switch role := getenv(EnvRole); role {
	case RoleWebhook:
		return webhook(ctx, getenv, log)
	case RoleProcessor:
		return processor(ctx, getenv, log)
	case RoleEventBridge:
		return eventBridge(ctx, getenv, log)
	case RoleRecover:
		return recoverer(getenv, log)
	default:
		return nil, fmt.Errorf("%s=%q: want %s, %s, %s or %s", EnvRole, role, RoleWebhook, RoleProcessor, RoleEventBridge, RoleRecover)
	}
}

// webhook checks the secret and opens the channel (refusing mem://) as the function adapters do.
func webhook(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	h, err := pipeline.NewWebhook(platform, pipeline.FunctionOptions{Getenv: getenv, Logger: log}).Handler(ctx)
	if err != nil {
		return nil, err
	}
	return awslambda.NewWebhook(h, nil)
}

// processor opens the sink and the dead-letter channel (refusing mem://) as the function
// adapters do.
func processor(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	p, err := pipeline.NewProcessor(platform, pipeline.FunctionOptions{Getenv: getenv, Logger: log}).Get(ctx)
	if err != nil {
		return nil, err
	}
	h, err := awslambda.NewSQSHandler(p, &awslambda.SQSOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(h.Handle), nil
}

func eventBridge(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	cfg := pipeline.FunctionConfigFromEnv(getenv)
	if err := platform.CheckChannel(cfg); err != nil {
		return nil, err
	}
	sender, err := channel.OpenSender(ctx, cfg.Channel, nil)
	if err != nil {
		return nil, err
	}
	opts := &awslambda.EventBridgeOptions{Logger: log}
	if src := getenv(EnvEventSource); src != "" {
		opts.Sources = []string{src}
	}
	b, err := awslambda.NewEventBridge(sender, opts)
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(b.Handle), nil
}

// recoverer checks the configuration (the channel, refusing mem://, and the Stripe key) and
// returns the handler for EventBridge Scheduler's invocations; the channel and the Stripe client
// are opened on the first.
func recoverer(getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	r := recovery.NewRecoverer(platform, pipeline.FunctionOptions{Getenv: getenv, Logger: log})
	if err := r.Check(); err != nil {
		return nil, err
	}
	h, err := awslambda.NewRecover(r.Run, &awslambda.RecoverOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(h.Handle), nil
}
