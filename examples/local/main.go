// Command local runs the whole hookline flow on one machine, with no cloud account: a webhook
// receiver (Stripe's, or any Standard Webhooks sender's) on http://127.0.0.1:$PORT/webhook, an
// in-process channel (or any broker URL) and a SQLite database (or Postgres, Dataverse, stdout,
// discard).
//
//	go run ./examples/local                 serve; generates a webhook secret if none is set
//	go run ./examples/local -demo           serve, and post signed sample events to itself
//	go run ./examples/local -send URL       post signed sample events to a running server
//
// Environment: PORT (8080), HOOKLINE_SOURCE (stripe://, or standardwebhooks://),
// HOOKLINE_CHANNEL (mem://stripe-events; inproc://stripe-events is
// the faster in-process channel), HOOKLINE_SUBSCRIPTION (the channel URL), HOOKLINE_SINK
// (sqlite://hookline.db; postgres://..., dataverse://...?key=...&eventtime=..., stdout://,
// discard://), HOOKLINE_DEADLETTER, STRIPE_WEBHOOK_SECRET or, for standardwebhooks://,
// HOOKLINE_WEBHOOK_SECRET (comma-separated to roll a secret), and OpenTelemetry's OTEL_* variables (package telemetry:
// OTEL_METRICS_EXPORTER=prometheus serves metrics on localhost:9464/metrics and on this port's
// /metrics). SIGINT or SIGTERM stop it after everything accepted has been processed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(out)
	demo := fs.Bool("demo", false, "post signed sample events to this server once it listens")
	send := fs.String("send", "", "post signed sample events to this webhook URL and exit (signed with the source's secret)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := pipeline.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if *send != "" {
		if cfg.SecretGenerated {
			return fmt.Errorf("-send needs the source's secret: set it to the secret the server printed (%s)", secretEnv(cfg))
		}
		return sendSamples(ctx, client, cfg, *send, out)
	}
	if cfg.SecretGenerated {
		fmt.Fprintln(out, pipeline.SecretNotice(cfg))
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	tel, err := telemetry.Start(ctx, nil) // the OTEL_* variables; nothing is exported when none is set
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	p, err := pipeline.Open(ctx, cfg, &pipeline.Options{Logger: log, Metrics: tel.MetricsHandler()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set %s to use another port)", cfg.Addr, err, pipeline.EnvPort)
	}
	if *demo {
		go func() {
			if err := sendSamples(ctx, client, cfg, "http://"+ln.Addr().String()+"/webhook", out); err != nil {
				log.Error("sample sender failed", "error", err)
			}
		}()
	}
	return p.Serve(ctx, ln)
}

// sendSamples posts the source's signed sample events to webhook.
func sendSamples(ctx context.Context, client *http.Client, cfg pipeline.Config, webhook string, out io.Writer) error {
	src, _, err := emitter.LookupSource(cfg.Source)
	switch {
	case err != nil:
		return err
	case src.SendSamples == nil:
		return fmt.Errorf("the %s:// source has no sample events", src.Scheme)
	}
	return src.SendSamples(ctx, client, webhook, cfg.Secrets[0], out)
}

// secretEnv names the variable of the configured source's secrets.
func secretEnv(cfg pipeline.Config) string {
	if src, _, err := emitter.LookupSource(cfg.Source); err == nil {
		return src.SecretEnv
	}
	return "the source's secret variable"
}
