// Package gcp is hookline on Google Cloud Functions (2nd gen): the Stripe webhook and the event
// processor as functions of the Go Functions Framework. Its init registers them; Cloud Functions
// serves the one named by the deployment's --entry-point:
//
//	StripeWebhook  HTTP function, public: verifies Stripe deliveries and publishes each event
//	               to the Pub/Sub topic in HOOKLINE_CHANNEL
//	ProcessEvent   CloudEvent function for the topic's messagePublished events
//	               (--trigger-topic): writes each event to HOOKLINE_SINK
//	PubSubPush     HTTP function for a plain Pub/Sub push subscription, instead of ProcessEvent
//	RecoverEvents  HTTP function, private, the target of a Cloud Scheduler job: publishes the
//	               events whose webhook delivery has not succeeded, listed from Stripe's Events
//	               API, to HOOKLINE_CHANNEL (package recovery, # Scheduled recovery)
//
// Configuration comes from the environment variables that examples/local reads, on each
// function's first invocation: HOOKLINE_CHANNEL, HOOKLINE_SINK, HOOKLINE_DEADLETTER and
// STRIPE_WEBHOOK_SECRET, and for RecoverEvents STRIPE_API_KEY and HOOKLINE_RECOVER_LOOKBACK;
// OpenTelemetry's OTEL_* variables (package telemetry) choose where traces and metrics go, at
// startup. A Cloud Functions Go function cannot live in package main, so this
// package registers the functions and cmd/ runs them locally. README.md walks through deploying
// it with gcloud.
package gcp

import (
	"context"
	"log/slog"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	_ "github.com/hookline/hookline/emitter/standardwebhooks" // HOOKLINE_SOURCE=standardwebhooks://
	_ "github.com/hookline/hookline/emitter/stripehook"       // HOOKLINE_SOURCE=stripe:// (the default)
	"github.com/hookline/hookline/pipeline"
	_ "github.com/hookline/hookline/sink/dataverse" // dataverse:// sinks
	_ "github.com/hookline/hookline/sink/sqlsink"   // postgres:// (Cloud SQL) and sqlite:// sinks
	"github.com/hookline/hookline/telemetry"
)

// Entry points: the --entry-point of each deployment.
const (
	WebhookEntryPoint = "StripeWebhook"
	ProcessEntryPoint = "ProcessEvent"
	PushEntryPoint    = "PubSubPush"
	RecoverEntryPoint = "RecoverEvents"
)

func init() {
	// Cloud Logging reads the severity of each JSON line a function writes.
	log := slog.New(gcpfunctions.NewLogHandler(os.Stderr, nil))
	// Traces and metrics go where the OTEL_* variables say (nothing is exported by default). An
	// instance gets CPU only while it serves a request, so each invocation flushes before it
	// answers. init cannot fail a deployment: a bad variable is logged and telemetry stays off.
	tel, err := telemetry.Start(context.Background(), nil)
	if err != nil {
		log.Error("telemetry is off", "error", err.Error())
	}
	opts := &gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log}}
	functions.HTTP(WebhookEntryPoint, tel.FlushAfter(gcpfunctions.NewWebhook(opts)).ServeHTTP)
	processor := gcpfunctions.NewProcessor(opts)
	functions.CloudEvent(ProcessEntryPoint, func(ctx context.Context, e event.Event) error {
		defer tel.Flush(ctx)
		return processor.HandleCloudEvent(ctx, e)
	})
	functions.HTTP(PushEntryPoint, tel.FlushAfter(processor).ServeHTTP)
	functions.HTTP(RecoverEntryPoint, tel.FlushAfter(gcpfunctions.NewRecover(opts)).ServeHTTP)
}
