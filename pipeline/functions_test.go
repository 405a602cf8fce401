package pipeline_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

var platform = pipeline.Platform{
	Name: "test", Deployment: "the test", Instance: "the test process", SecretAdvice: "somehow",
	ChannelAdvice: "a topic URL", NoDeadLetter: "retried",
}

// The function halves and the local pipeline read the same variables, whose names are defined
// once: both see what one environment sets.
func TestFunctionsReadTheLocalVariables(t *testing.T) {
	env := map[string]string{"HOOKLINE_CHANNEL": "awssqs://q", "HOOKLINE_SINK": "stdout://",
		"HOOKLINE_DEADLETTER": "awssqs://dlq", "STRIPE_WEBHOOK_SECRET": "whsec_a,whsec_b"}
	get := func(k string) string { return env[k] }
	fn := pipeline.FunctionConfigFromEnv(get)
	local, err := pipeline.ConfigFromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	if fn.Channel != local.Channel || fn.Sink != local.Sink || fn.DeadLetter != local.DeadLetter ||
		strings.Join(fn.Secrets, ",") != strings.Join(local.Secrets, ",") || fn.Channel != "awssqs://q" || len(fn.Secrets) != 2 {
		t.Errorf("functions read %+v, the local pipeline %+v", fn, local)
	}
}

func TestChecksReturnThePlatformsConfigError(t *testing.T) {
	const secret = "whsec_serverless_test"
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"no secret":      {platform.CheckWebhook(pipeline.Config{Channel: "x://y"}, false), stripehook.EnvSecret + " is not set: give the test"},
		"no channel":     {platform.CheckWebhook(pipeline.Config{Secrets: []string{secret}}, false), pipeline.EnvChannel + " is not set: give the test a topic URL"},
		"mem channel":    {platform.CheckChannel(pipeline.Config{Channel: "MEM://x"}), "does not leave the test process"},
		"inproc channel": {platform.CheckChannel(pipeline.Config{Channel: "inproc://x"}), "in-process inproc:// URL"},
		"no sink":        {platform.CheckProcessor(pipeline.Config{}, false, false), pipeline.EnvSink + " is not set"},
		// This test binary links stripehook only: a source it does not link names its import.
		"source not linked": {platform.CheckWebhook(pipeline.Config{Source: "standardwebhooks://", Secrets: []string{secret}}, false),
			`import _ "github.com/hookline/hookline/emitter/standardwebhooks"`},
		"unknown source": {platform.CheckWebhook(pipeline.Config{Source: "github://", Secrets: []string{secret}}, false),
			"no source serves github:// URLs; linked: stripe://"},
	} {
		var ce *pipeline.ConfigError
		if !pipeline.IsConfigError(tc.err) || !errors.As(tc.err, &ce) || ce.Component != "test" || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want a configuration error containing %q", name, tc.err, tc.want)
		}
	}
	if err := platform.CheckWebhook(pipeline.Config{Secrets: []string{secret}}, true); err != nil {
		t.Errorf("with a sender: %v", err)
	}
	for _, dl := range []string{"mem://dl", "inproc://dl"} {
		if err := platform.CheckProcessor(pipeline.Config{DeadLetter: dl}, true, false); !pipeline.IsConfigError(err) {
			t.Errorf("%s dead letter: %v", dl, err)
		}
	}
	if err := platform.CheckProcessor(pipeline.Config{DeadLetter: "mem://dl"}, true, true); err != nil {
		t.Errorf("mem:// dead letter with a given sender: %v", err)
	}
}

func TestWebhookAnswersWhileItCannotStart(t *testing.T) {
	log, logs := serverlesstest.Logger(t)
	for name, tc := range map[string]struct {
		env    serverlesstest.Env
		status int
	}{
		"not configured": {serverlesstest.Env{}, http.StatusInternalServerError},
		// A driver this program does not link can never work: a configuration error, said at
		// start, not a broker outage (issue 9).
		"driver not linked": {serverlesstest.Env{stripehook.EnvSecret: "whsec_x", pipeline.EnvChannel: "nosuchbroker://t"},
			http.StatusInternalServerError},
		"unavailable": {serverlesstest.Env{stripehook.EnvSecret: "whsec_x", pipeline.EnvChannel: serverlesstest.DownBroker + "://t"},
			http.StatusServiceUnavailable},
	} {
		w := pipeline.NewWebhook(platform, pipeline.FunctionOptions{Getenv: tc.env.Get, Logger: log})
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
		if rec.Code != tc.status {
			t.Errorf("%s: ServeHTTP %d %s, want %d", name, rec.Code, rec.Body, tc.status)
		}
		if resp := w.Accept(t.Context(), http.Header{}, []byte("{}")); resp.Status != tc.status {
			t.Errorf("%s: Accept %d, want %d", name, resp.Status, tc.status)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
	for _, want := range []string{"test: webhook cannot start", "test: webhook is not configured",
		"no driver linked into this program serves nosuchbroker:// URLs"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestProcessorKeepsGivenSink(t *testing.T) {
	log, logs := serverlesstest.Logger(t)
	mem := sink.NewMemory()
	p := pipeline.NewProcessor(platform, pipeline.FunctionOptions{Getenv: serverlesstest.Env{}.Get, Logger: log, Sink: mem})
	cp, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ev := serverlesstest.Event("evt_1", "cus_1")
	if err := cp.Process(t.Context(), serverlesstest.Encode(t, ev), nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.Get("cus_1"); !ok {
		t.Error("event not written")
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), pipeline.EnvDeadLetter+" is not set: messages that cannot be processed are retried") {
		t.Errorf("logs %q", logs.String())
	}
}

// The processor's spans carry the platform's broker, and the destination when
// HOOKLINE_SUBSCRIPTION names it.
func TestProcessorSpansNameTheBroker(t *testing.T) {
	for _, tc := range []struct {
		sub, span, dest string
	}{
		{"", "process", ""},
		{"awssqs://sqs.us-east-2.amazonaws.com/123456789012/stripe-events?region=us-east-2", "process stripe-events", "stripe-events"},
	} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		pl := platform
		pl.Broker = "awssqs"
		env := serverlesstest.Env{pipeline.EnvSubscription: tc.sub}
		p := pipeline.NewProcessor(pl, pipeline.FunctionOptions{Getenv: env.Get, Sink: sink.NewMemory(),
			Consumer: &channel.ProcessorOptions{TracerProvider: tp}})
		cp, err := p.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Process(t.Context(), serverlesstest.Encode(t, serverlesstest.Event("evt_1", "cus_1")), nil, 1); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, s := range rec.Ended() {
			if s.Name() != tc.span {
				continue
			}
			found = true
			attrs := map[string]string{}
			for _, kv := range s.Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if attrs["messaging.system"] != "aws_sqs" || attrs["messaging.destination.name"] != tc.dest {
				t.Errorf("%s: attributes %v, want messaging.system aws_sqs and destination %q", tc.span, attrs, tc.dest)
			}
		}
		if !found {
			t.Errorf("no span %q among %d", tc.span, len(rec.Ended()))
		}
		tp.Shutdown(t.Context())
	}
}
