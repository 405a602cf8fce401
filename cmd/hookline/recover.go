package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

// settleTimeout bounds the wait for an in-process consumer to store what was sent.
const settleTimeout = 5 * time.Minute

func runRecover(ctx context.Context, e env, args []string) error {
	fs := e.flags("recover", "recover --since <RFC 3339 time | duration> [--until <time | duration>] [--type T]... [--undelivered] [--dry-run]")
	since := fs.String("since", "", "oldest event to recover: an RFC 3339 time (2026-11-01T00:00:00Z) or a duration back from now (72h); Stripe keeps 30 days (required)")
	until := fs.String("until", "", "newest event to recover, like --since (default now)")
	var types listFlag
	fs.Var(&types, "type", "event type to recover: exact (customer.updated) or a prefix wildcard (customer.*); repeatable or comma-separated (default all)")
	undelivered := fs.Bool("undelivered", false, "only events whose webhook delivery has not succeeded (Stripe's delivery_success=false)")
	dryRun := fs.Bool("dry-run", false, "list and count, send nothing")
	window := fs.Duration("window", recovery.DefaultWindow, "span of created times listed and sent at a time")
	if err := parse(fs, args); err != nil {
		return err
	}
	now := time.Now()
	opts := &recovery.Options{Types: types, Undelivered: *undelivered, DryRun: *dryRun, Window: *window}
	if *since == "" {
		fs.Usage()
		return fmt.Errorf("%w: recover needs --since", errUsage)
	}
	var err error
	if opts.Since, err = recovery.ParseWhen(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if *until != "" {
		if opts.Until, err = recovery.ParseWhen(*until, now); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	if now.Sub(opts.Since) > recovery.Retention {
		fmt.Fprintf(e.log, "recover: note: Stripe keeps events for 30 days; nothing older than %s can be listed\n", now.Add(-recovery.Retention).Format(time.RFC3339))
	}
	_, stopTelemetry, err := startTelemetry(ctx, e, nil)
	if err != nil {
		return err
	}
	defer stopTelemetry() // after the destination's shutdown: its last spans go out too
	api, dst, err := stripeAndDestination(ctx, e, *dryRun)
	if err != nil {
		return err
	}
	p := newProgress(e.log)
	opts.Progress = func(r recovery.Progress) {
		p.printf("recover: %d pages, %d events listed, %d sent (%s), %d skipped by type; done up to %s of %s",
			r.Pages, r.Listed, r.Sent, p.rate(r.Sent), r.Skipped, r.Done.UTC().Format(time.RFC3339), r.Until.UTC().Format(time.RFC3339))
	}
	res, runErr := recovery.Recover(ctx, api, dst, opts)
	stats, finErr := dst.finish(ctx, settleTimeout)
	fmt.Fprintf(e.out, "%d events listed, %d sent, %d skipped by type%s%s\n", res.Listed, res.Sent, res.Skipped,
		dryRunNote(*dryRun), storedNote(dst, stats))
	if runErr != nil {
		return fmt.Errorf("%w (every event created up to %s was sent)", stripeHint(runErr), res.Done.UTC().Format(time.RFC3339))
	}
	return finErr
}

func runBackfill(ctx context.Context, e env, args []string) error {
	fs := e.flags("backfill", "backfill --objects customer[,product,...] [--dry-run]")
	var objects listFlag
	fs.Var(&objects, "objects", "object types to list, comma-separated: customer, product, price, payment_intent, charge, invoice, subscription, checkout.session (required)")
	dryRun := fs.Bool("dry-run", false, "list and count, send nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(objects) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: backfill needs --objects", errUsage)
	}
	_, stopTelemetry, err := startTelemetry(ctx, e, nil)
	if err != nil {
		return err
	}
	defer stopTelemetry() // after the destination's shutdown: its last spans go out too
	api, dst, err := stripeAndDestination(ctx, e, *dryRun)
	if err != nil {
		return err
	}
	p := newProgress(e.log)
	opts := &recovery.BackfillOptions{Objects: objects, DryRun: *dryRun, Progress: func(r recovery.Progress) {
		p.printf("backfill: %d pages, %d objects listed, %d sent (%s)", r.Pages, r.Listed, r.Sent, p.rate(r.Sent))
	}}
	res, runErr := recovery.Backfill(ctx, api, e.getenv(EnvAPIKey), dst, opts)
	stats, finErr := dst.finish(ctx, settleTimeout)
	fmt.Fprintf(e.out, "%d objects listed, %d sent%s%s\n", res.Listed, res.Sent, dryRunNote(*dryRun), storedNote(dst, stats))
	if runErr != nil {
		return stripeHint(runErr)
	}
	return finErr
}

// stripeAndDestination returns the Stripe client and where to send, as recover and backfill need.
func stripeAndDestination(ctx context.Context, e env, dryRun bool) (*client.API, *destination, error) {
	api, err := stripeClient(e)
	if err != nil {
		return nil, nil, err
	}
	size, wait, err := pipeline.BatchFromEnv(e.getenv)
	if err != nil {
		return nil, nil, err
	}
	dst, err := openDestination(ctx, e.getenv(pipeline.EnvChannel), e.getenv(pipeline.EnvSink), dryRun,
		&channel.ConsumerOptions{MaxBatch: size, BatchWait: wait})
	return api, dst, err
}

func stripeClient(e env) (*client.API, error) {
	api, err := recovery.NewClient(strings.TrimSpace(e.getenv(EnvAPIKey)), e.getenv(EnvAPIBase))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvAPIKey, err)
	}
	return api, nil
}

// stripeHint adds what to do to Stripe's refusals.
func stripeHint(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && (se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w (Stripe refused %s: give a secret key, or a restricted key with read access to events and the objects listed)", err, EnvAPIKey)
	}
	return err
}

func dryRunNote(dry bool) string {
	if dry {
		return " (dry run: nothing sent)"
	}
	return ""
}

func storedNote(d *destination, s channel.Stats) string {
	if d.consumer == nil {
		return ""
	}
	return fmt.Sprintf("; stored by the in-process consumer: %d processed, %d dead-lettered", s.Acked-s.DeadLettered, s.DeadLettered)
}
