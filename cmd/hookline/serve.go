package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/httpserver"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
	"github.com/hookline/hookline/telemetry"
)

// runServe runs the pipeline from the environment, as examples/local does without -demo, so a
// container image can run this one binary: the webhook, the consumer or both (HOOKLINE_ROLE or
// -role). With HOOKLINE_RECOVER_EVERY (or -recover-every) it
// also runs the scheduled recovery in the background, into the pipeline's own channel. The
// OTEL_* variables choose where traces and metrics go (package telemetry). With
// HOOKLINE_CONSOLE_TOKEN it serves the operator console at /console/ (package console).
func runServe(ctx context.Context, e env, args []string) error {
	fs := e.flags("serve", "serve [-addr host:port] [-role all|webhook|consumer] [-recover-every duration]")
	addr := fs.String("addr", "", "listen address (default $"+pipeline.EnvHost+":$"+pipeline.EnvPort+", 127.0.0.1:8080; a container sets "+pipeline.EnvHost+"=0.0.0.0)")
	role := fs.String("role", "", "what this process runs: all (webhook and consumer), webhook or consumer (overrides "+pipeline.EnvRole+"; default all)")
	every := fs.Duration("recover-every", 0, "recover the events whose webhook delivery has not succeeded from Stripe's API this often, "+
		"in the background (e.g. 1h; overrides "+recovery.EnvEvery+"; 0: never; needs "+recovery.EnvAPIKey+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := pipeline.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if flagSet(fs, "role") {
		if cfg.Role, err = pipeline.ParseRole(*role); err != nil {
			return fmt.Errorf("-role: %w", err)
		}
	}
	rec, err := scheduledRecovery(fs, *every, e.getenv)
	if err != nil {
		return err
	}
	if rec != nil && cfg.Role == pipeline.RoleConsumer {
		return fmt.Errorf("%s=%s: the scheduled recovery (%s, -recover-every) sends into the channel: configure it on the webhook's deployment (%s or %s), on one deployment only",
			pipeline.EnvRole, cfg.Role, recovery.EnvEvery, pipeline.RoleWebhook, pipeline.RoleAll)
	}
	if cfg.SecretGenerated {
		fmt.Fprintln(e.log, pipeline.SecretNotice(cfg))
	}
	log := slog.New(slog.NewTextHandler(e.log, nil))
	popts := &pipeline.Options{Logger: log}
	var topts telemetry.Options // service.name "hookline" unless OTEL_SERVICE_NAME says
	copts, consoleOn, err := console.OptionsFromEnv(e.getenv)
	if err != nil {
		return err
	}
	if consoleOn {
		copts.Logger = log
		con, err := console.New(copts)
		if err != nil {
			return err
		}
		popts.Console = con
		topts.MetricReaders = append(topts.MetricReaders, con.MetricReader()) // its Overview reads the metrics
		topts.ViewsWithoutExporter = con.MetricViews()                        // and only those it reads, unless exported
	}
	tel, stopTelemetry, err := startTelemetry(ctx, e, &topts)
	if err != nil {
		return err
	}
	defer stopTelemetry() // after the pipeline's shutdown: the spans of the last events go out too
	popts.Metrics = tel.MetricsHandler()
	p, err := pipeline.Open(ctx, cfg, popts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set %s, %s or -addr to use another)", cfg.Addr, err, pipeline.EnvHost, pipeline.EnvPort)
	}
	if consoleOn {
		log.Info("operator console", "url", "http://"+ln.Addr().String()+httpserver.ConsolePrefix, "read_only", copts.ReadOnly)
	}
	if rec == nil {
		return p.Serve(ctx, ln)
	}
	return rec.serve(ctx, p, ln, log)
}

// recoverySchedule is serve's scheduled recovery: how often, and with what.
type recoverySchedule struct {
	every    time.Duration
	schedule recovery.Schedule
	api      *client.API
}

// scheduledRecovery reads the interval (the -recover-every flag when given, otherwise
// HOOKLINE_RECOVER_EVERY) and, when it is not zero, the recovery's configuration. It returns nil
// when there is to be no scheduled recovery.
func scheduledRecovery(fs *flag.FlagSet, flagEvery time.Duration, getenv func(string) string) (*recoverySchedule, error) {
	every, source := flagEvery, "-recover-every"
	if !flagSet(fs, "recover-every") {
		source = recovery.EnvEvery
		v := strings.TrimSpace(getenv(recovery.EnvEvery))
		if v == "" {
			return nil, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q is not a duration such as 1h", recovery.EnvEvery, v)
		}
		every = d
	}
	switch {
	case every == 0:
		return nil, nil
	case every < 0:
		return nil, fmt.Errorf("%s %s: the interval must be positive (0: no scheduled recovery)", source, every)
	}
	s, err := recovery.ScheduleFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("%s %s needs Stripe's API: %w", source, every, err)
	}
	if every > s.Lookback {
		return nil, fmt.Errorf("%s %s is longer than the look-back %s (%s): events created between two windows would never be looked at",
			source, every, s.Lookback, recovery.EnvLookback)
	}
	api, err := s.Client()
	if err != nil {
		return nil, err
	}
	return &recoverySchedule{every: every, schedule: s, api: api}, nil
}

// startTelemetry starts telemetry from the OTEL_* variables (package telemetry) for a command,
// and returns the function that flushes and stops it, to defer, which says on e.log when that
// fails.
func startTelemetry(ctx context.Context, e env, opts *telemetry.Options) (*telemetry.Telemetry, func(), error) {
	tel, err := telemetry.Start(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	return tel, func() {
		if err := tel.Shutdown(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(e.log, "hookline: telemetry shutdown:", err)
		}
	}, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// serve serves p on ln and runs the scheduled recovery into p's channel until ctx ends. The
// recovery stops first (its run in progress canceled), then the pipeline shuts down in its
// order, so that every event the recovery sent is processed before the process exits. If the
// server fails on its own, the recovery stops too.
func (r *recoverySchedule) serve(ctx context.Context, p *pipeline.Pipeline, ln net.Listener, log *slog.Logger) error {
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	log.Info("scheduled recovery", "every", r.every.String(), "lookback", r.schedule.Lookback.String())
	go func() {
		defer close(loopDone)
		defer stopServing()
		err := recovery.RunEvery(loopCtx, r.every, r.api, p.Sender(), &recovery.ScheduleOptions{Lookback: r.schedule.Lookback},
			func(run recovery.ScheduledRun, err error) { recovery.LogScheduledRun(loopCtx, log, "", run, err) })
		if err != nil { // cannot happen: the interval and the look-back were checked
			log.Error("scheduled recovery stopped", "error", err.Error())
		}
		<-loopCtx.Done()
	}()
	err := p.Serve(serveCtx, ln)
	stopLoop()
	<-loopDone
	return err
}
