package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/awsfeatures" // awssqs://, awssns://, SQS receive counts
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/localapp"
	"github.com/hookline/hookline/sink"
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
)

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
	default:
		return nil, fmt.Errorf("%s=%q: want %s, %s or %s", EnvRole, role, RoleWebhook, RoleProcessor, RoleEventBridge)
	}
}

func webhook(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	secrets := stripehook.ParseSecrets(getenv(localapp.EnvSecret))
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s is not set: copy the endpoint's signing secret (whsec_...) from the Stripe dashboard", localapp.EnvSecret)
	}
	sender, err := openSender(ctx, getenv)
	if err != nil {
		return nil, err
	}
	h, err := stripehook.NewHandler(secrets, sender, nil, &emitter.HandlerOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	return awslambda.NewWebhook(h, nil)
}

func processor(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambda.Handler, error) {
	sinkURL := getenv(localapp.EnvSink)
	if sinkURL == "" {
		return nil, fmt.Errorf("%s is not set (dataverse://..., postgres://...)", localapp.EnvSink)
	}
	s, err := sink.Open(ctx, sinkURL)
	if err != nil {
		return nil, err
	}
	opts := &channel.ConsumerOptions{Logger: log}
	if dl := getenv(localapp.EnvDeadLetter); dl != "" {
		if err := notInProcess(localapp.EnvDeadLetter, dl); err != nil {
			return nil, err
		}
		if opts.DeadLetter, err = channel.OpenSender(ctx, dl); err != nil {
			return nil, err
		}
	}
	p, err := channel.NewProcessor(s.Write, opts)
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
	sender, err := openSender(ctx, getenv)
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

func openSender(ctx context.Context, getenv func(string) string) (*channel.Sender, error) {
	u := getenv(localapp.EnvChannel)
	if u == "" {
		return nil, fmt.Errorf("%s is not set: the awssqs://... URL of the queue", localapp.EnvChannel)
	}
	if err := notInProcess(localapp.EnvChannel, u); err != nil {
		return nil, err
	}
	return channel.OpenSender(ctx, u)
}

// notInProcess refuses a mem:// URL: each Lambda invocation may run in another process, so an
// in-memory channel would lose every event.
func notInProcess(env, u string) error {
	if strings.HasPrefix(u, "mem://") {
		return errors.New(env + ": a mem:// channel lives in one process and loses events on Lambda; use awssqs://")
	}
	return nil
}
