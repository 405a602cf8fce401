// Command aws runs the hookline flow on AWS Lambda. One binary serves four functions; the
// environment variable HOOKLINE_ROLE says which one an instance is:
//
//	webhook      Stripe's webhook behind a Lambda Function URL (or API Gateway): verifies the
//	             signature and sends the event to HOOKLINE_CHANNEL (an SQS queue)
//	processor    triggered by that queue: writes each event to HOOKLINE_SINK, dead-letters what
//	             cannot be written to HOOKLINE_DEADLETTER, reports the rest in batchItemFailures
//	eventbridge  triggered by an EventBridge rule on Stripe's partner event source: sends the
//	             Stripe event to HOOKLINE_CHANNEL, like the webhook
//	recover      invoked by an EventBridge Scheduler schedule: sends the events of the last
//	             HOOKLINE_RECOVER_LOOKBACK whose webhook delivery has not succeeded, listed from
//	             Stripe's Events API, to HOOKLINE_CHANNEL (package recovery, # Scheduled recovery)
//
// Environment (the same variables as examples/local and package recovery):
//
//	HOOKLINE_ROLE              webhook | processor | eventbridge | recover
//	HOOKLINE_CHANNEL           webhook, eventbridge, recover: awssqs://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE?region=REGION
//	HOOKLINE_SOURCE            webhook, optional: stripe:// (default) or standardwebhooks://
//	STRIPE_WEBHOOK_SECRET      webhook: the endpoint's whsec_... signing secret (comma-separated while rolling);
//	                           HOOKLINE_WEBHOOK_SECRET instead for standardwebhooks://
//	HOOKLINE_SINK              processor: dataverse://..., postgres://..., stdout://
//	HOOKLINE_DEADLETTER        processor, optional: awssqs://... of the dead-letter queue
//	STRIPE_EVENT_SOURCE        eventbridge, optional: the exact partner event source name to accept
//	STRIPE_API_KEY             recover: a restricted key (rk_...) with read access to events
//	HOOKLINE_RECOVER_LOOKBACK  recover, optional: the window each run looks at (default 72h)
//	STRIPE_API_BASE            recover, optional: Stripe's API URL, for a proxy or a test double
//	OTEL_TRACES_EXPORTER, ...  optional: where traces and metrics go (package telemetry; the
//	                           service name is hookline-ROLE unless OTEL_SERVICE_NAME says)
//
// Build for Lambda's provided.al2023 runtime with the SAM template next to this file (sam build),
// or by hand: GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap .
// See README.md.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/telemetry"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)) // one JSON object per line in CloudWatch Logs
	// Traces and metrics go where the OTEL_* variables say (nothing is exported by default).
	tel, err := telemetry.Start(context.Background(), &telemetry.Options{ServiceName: "hookline-" + os.Getenv(EnvRole)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
	h, err := build(context.Background(), os.Getenv, log)
	if err != nil {
		// Printed during the init phase: Lambda reports it as Runtime.ExitError and logs it.
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
	lambda.StartHandler(flushing{h, tel})
}

// flushing sends each invocation's spans and metrics before it returns: Lambda freezes the
// execution environment as soon as the handler returns, and ends it without notice, so that
// nothing is left for a Shutdown.
type flushing struct {
	lambda.Handler
	tel *telemetry.Telemetry
}

func (f flushing) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	defer f.tel.Flush(ctx)
	return f.Handler.Invoke(ctx, payload)
}
