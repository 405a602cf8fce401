// Command azure is the hookline function app for Azure Functions: a Go custom handler that the
// Functions host starts (host.json: customHandler.description.defaultExecutablePath "handler")
// and calls for three functions, each described by a function.json in the folder of its name:
//
//	webhook    HTTP trigger at https://APP.azurewebsites.net/api/webhook: verifies Stripe's
//	           signature and sends the event to HOOKLINE_CHANNEL (a Service Bus queue). host.json
//	           sets enableForwardingHttpRequest, so the host forwards Stripe's request as it came,
//	           to /api/webhook; without it the invocation arrives at /webhook, and is served too.
//	processor  Service Bus trigger on that queue: writes each event to HOOKLINE_SINK and
//	           dead-letters what cannot be written to HOOKLINE_DEADLETTER; a failure (500)
//	           makes the host abandon the message, so Service Bus delivers it again.
//	recover    timer trigger (every 30 minutes): sends the events of the last
//	           HOOKLINE_RECOVER_LOOKBACK whose webhook delivery has not succeeded, listed from
//	           Stripe's Events API with STRIPE_API_KEY, to HOOKLINE_CHANNEL, so the app heals
//	           missed deliveries (package recovery, # Scheduled recovery). Disable it with the
//	           app setting AzureWebJobs.recover.Disabled=true if you do not give it a key.
//
// Environment (app settings; the same variables as examples/local):
//
//	FUNCTIONS_CUSTOMHANDLER_PORT  set by the host: the handler listens on 127.0.0.1 at this port
//	HOOKLINE_CHANNEL              webhook, recover: azuresbqueue://stripe-events
//	STRIPE_WEBHOOK_SECRET         webhook: the endpoint's whsec_... secret (comma-separated while rolling)
//	HOOKLINE_SINK                 processor: dataverse://..., postgres://..., stdout://
//	HOOKLINE_DEADLETTER           processor, optional: azuresbqueue://stripe-events-deadletter
//	STRIPE_API_KEY                recover: a restricted key (rk_...) with read access to events
//	HOOKLINE_RECOVER_LOOKBACK     recover, optional: the window each run looks at (default 72h)
//	SERVICEBUS_CONNECTION_STRING  the channel's namespace (or AZURE_SERVICEBUS_HOSTNAME with
//	                              the app's managed identity); the trigger reads its own
//	                              setting, ServiceBusConnection
//	OTEL_TRACES_EXPORTER, ...     optional: where traces and metrics go (package telemetry)
//
// Build for the Linux function app next to host.json:
//
//	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o handler .
//
// See README.md for the deployment from an empty subscription.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookline/hookline/adapters/azurefunctions"
	_ "github.com/hookline/hookline/channel/azureservicebus"  // azuresbqueue://, azuresb://, Service Bus delivery counts
	_ "github.com/hookline/hookline/emitter/standardwebhooks" // HOOKLINE_SOURCE=standardwebhooks://
	_ "github.com/hookline/hookline/emitter/stripehook"       // HOOKLINE_SOURCE=stripe:// (the default)
	"github.com/hookline/hookline/pipeline"
	_ "github.com/hookline/hookline/sink/dataverse" // dataverse://
	_ "github.com/hookline/hookline/sink/sqlsink"   // sqlite:// and postgres://
	"github.com/hookline/hookline/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
}

// run serves the functions until ctx ends. The host records what the handler writes to stderr
// in the function app's logs, next to the Logs of each invocation.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(out, nil))
	addr, err := azurefunctions.Addr(getenv)
	if err != nil {
		return err
	}
	tel, err := telemetry.Start(ctx, nil) // the OTEL_* app settings; nothing is exported by default
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	opts := &azurefunctions.Options{FunctionOptions: pipeline.FunctionOptions{Getenv: getenv, Logger: log}}
	webhook, processor, recoverer := azurefunctions.NewWebhook(opts), azurefunctions.NewProcessor(opts), azurefunctions.NewRecover(opts)
	h, err := azurefunctions.Routes{Webhook: webhook, Processor: processor, Recover: recoverer}.Handler()
	if err != nil {
		return err
	}
	h = tel.FlushAfter(h) // an idle instance may be stopped: each invocation's telemetry leaves before it answers
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("hookline custom handler listening", "addr", ln.Addr().String())
	serveErr := azurefunctions.Serve(ctx, ln, h, nil)
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := webhook.Close(cctx); err != nil {
		log.Warn("closing the channel", "error", err)
	}
	if err := processor.Close(cctx); err != nil {
		log.Warn("closing the sink", "error", err)
	}
	if err := recoverer.Close(cctx); err != nil {
		log.Warn("closing the recover function's channel", "error", err)
	}
	return serveErr
}
