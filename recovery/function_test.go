package recovery_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs" // awssqs:// URLs in the configurations checked
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
	"github.com/hookline/hookline/sink"
)

var platform = pipeline.Platform{
	Name: "test", Deployment: "the test", Instance: "the test process", SecretAdvice: "somehow",
	ChannelAdvice: "a topic URL", NoDeadLetter: "retried",
}

func TestRecovererConfiguration(t *testing.T) {
	log, logs := serverlesstest.Logger(t)
	for name, tc := range map[string]struct {
		env  serverlesstest.Env
		want string
	}{
		"no channel":     {serverlesstest.Env{recovery.EnvAPIKey: "rk_test_1"}, pipeline.EnvChannel + " is not set: give the test a topic URL"},
		"mem channel":    {serverlesstest.Env{recovery.EnvAPIKey: "rk_test_1", pipeline.EnvChannel: "mem://x"}, "does not leave the test process"},
		"no key":         {serverlesstest.Env{pipeline.EnvChannel: "awssqs://q"}, "test: configuration: STRIPE_API_KEY is not set"},
		"bad look-back":  {serverlesstest.Env{pipeline.EnvChannel: "awssqs://q", recovery.EnvAPIKey: "rk_test_1", recovery.EnvLookback: "1 day"}, "HOOKLINE_RECOVER_LOOKBACK=\"1 day\""},
		"driver missing": {serverlesstest.Env{pipeline.EnvChannel: "nosuchbroker://q", recovery.EnvAPIKey: "rk_test_1"}, "no driver linked"},
	} {
		r := recovery.NewRecoverer(platform, pipeline.FunctionOptions{Getenv: tc.env.Get, Logger: log})
		err := r.Check()
		if !pipeline.IsConfigError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want a configuration error containing %q", name, err, tc.want)
		}
		if _, runErr := r.Run(t.Context()); runErr == nil || runErr.Error() != err.Error() {
			t.Errorf("%s: Run = %v, want %v", name, runErr, err)
		}
	}
	for _, want := range []string{"test: recover function is not configured", "test: recover function cannot start", "status=500"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
	// A channel that cannot be reached is no configuration error: the platform answers 503.
	down := recovery.NewRecoverer(platform, pipeline.FunctionOptions{Logger: log, Getenv: serverlesstest.Env{
		pipeline.EnvChannel: serverlesstest.DownBroker + "://q", recovery.EnvAPIKey: "rk_test_1"}.Get})
	if _, err := down.Run(t.Context()); err == nil || pipeline.IsConfigError(err) || pipeline.Failure(err).Status != 503 {
		t.Errorf("unreachable channel: %v", err)
	}
}

// A Recoverer with a given sender sends the undelivered events of its window into it, logs the
// run, and leaves the sender open.
func TestRecovererRunsIntoGivenSender(t *testing.T) {
	api := stripeapi.Start(t, nil)
	api.AddEvent(stripeapi.NewEvent("customer.updated", "cus_recoverer", time.Now().Add(-time.Hour)))
	url := "mem://recoverer-" + t.Name()
	s, err := channel.OpenSender(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	recv, err := channel.OpenReceiver(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	log, logs := serverlesstest.Logger(t)
	r := recovery.NewRecoverer(platform, pipeline.FunctionOptions{Sender: s, Logger: log, Getenv: serverlesstest.Env{
		recovery.EnvAPIKey: api.Key(), recovery.EnvAPIBase: api.URL(), recovery.EnvLookback: "2h"}.Get})
	run, err := r.Run(t.Context())
	if err != nil || run.Sent != 1 || run.Until.Sub(run.Since) != 2*time.Hour {
		t.Fatalf("Run = %+v, %v", run, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	m, err := recv.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	if ev, err := channel.Decode(m.Body); err != nil || ev.Subject != "cus_recoverer" {
		t.Errorf("sent %+v, %v", ev, err)
	}
	if !strings.Contains(logs.String(), "test: recovery run") || !strings.Contains(logs.String(), "sent=1") {
		t.Errorf("logs %s", logs.String())
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), serverlesstest.Event("evt_after_close", "cus_x")); err != nil {
		t.Errorf("the given sender was shut down: %v", err)
	}
}

// Pipeline.Sender puts events of another source into the pipeline as the webhook would: the
// consumer stores them, and Serve waits for them before it stops.
func TestPipelineSender(t *testing.T) {
	mem := sink.NewMemory()
	p, err := pipeline.Open(t.Context(), pipeline.Config{Channel: "mem://sender-" + t.Name(), Secrets: []string{"whsec_x"}},
		&pipeline.Options{Sink: mem})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	if err := p.Sender().Send(t.Context(), serverlesstest.Event("evt_sender", "cus_sender")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, ok := mem.Get("cus_sender"); !ok || rec.Event.ID != "evt_sender" {
		t.Errorf("the sink holds %+v, %v", rec, ok)
	}
}
