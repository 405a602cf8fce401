package serverless_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/localapp"
	"github.com/hookline/hookline/internal/serverless"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/sink"
)

type testConfigError struct{ msg string }

func (e *testConfigError) Error() string { return "test: configuration: " + e.msg }

var platform = serverless.Platform{
	Name: "test", Deployment: "the test", Instance: "the test process", SecretAdvice: "somehow",
	ChannelAdvice: "a topic URL", NoDeadLetter: "retried",
	ConfigError: func(msg string) error { return &testConfigError{msg} },
}

func TestEnvironmentNamesMatchLocalExample(t *testing.T) {
	for _, p := range [][2]string{
		{serverless.EnvChannel, localapp.EnvChannel},
		{serverless.EnvSink, localapp.EnvSink},
		{serverless.EnvDeadLetter, localapp.EnvDeadLetter},
		{serverless.EnvSecret, localapp.EnvSecret},
	} {
		if p[0] != p[1] {
			t.Errorf("serverless reads %s where examples/local reads %s", p[0], p[1])
		}
	}
}

func TestChecksReturnThePlatformsConfigError(t *testing.T) {
	const secret = "whsec_serverless_test"
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"no secret":   {platform.CheckWebhook(serverless.Config{Channel: "x://y"}, false), serverless.EnvSecret + " is not set: give the test"},
		"no channel":  {platform.CheckWebhook(serverless.Config{Secrets: []string{secret}}, false), serverless.EnvChannel + " is not set: give the test a topic URL"},
		"mem channel": {platform.CheckChannel(serverless.Config{Channel: "MEM://x"}), "does not leave the test process"},
		"no sink":     {platform.CheckProcessor(serverless.Config{}, false, false), serverless.EnvSink + " is not set"},
	} {
		var ce *testConfigError
		if !serverless.IsConfigError(tc.err) || !errors.As(tc.err, &ce) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want a configuration error containing %q", name, tc.err, tc.want)
		}
	}
	if err := platform.CheckWebhook(serverless.Config{Secrets: []string{secret}}, true); err != nil {
		t.Errorf("with a sender: %v", err)
	}
	if err := platform.CheckProcessor(serverless.Config{DeadLetter: "mem://dl"}, true, false); !serverless.IsConfigError(err) {
		t.Errorf("mem:// dead letter: %v", err)
	}
	if err := platform.CheckProcessor(serverless.Config{DeadLetter: "mem://dl"}, true, true); err != nil {
		t.Errorf("mem:// dead letter with a given sender: %v", err)
	}
}

func TestLazyRetriesAFailedBuild(t *testing.T) {
	calls := 0
	l := serverless.NewLazy(func(ctx context.Context) (int, error) {
		calls++
		if ctx.Err() != nil {
			t.Error("build context canceled with the caller's")
		}
		if calls == 1 {
			return 0, errors.New("down")
		}
		return 42, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := l.Built(); ok {
		t.Fatal("built before Get")
	}
	if _, err := l.Get(ctx); err == nil {
		t.Fatal("first build: no error")
	}
	for range 2 {
		if v, err := l.Get(ctx); err != nil || v != 42 {
			t.Fatalf("Get = %d, %v", v, err)
		}
	}
	if v, ok := l.Built(); !ok || v != 42 || calls != 2 {
		t.Fatalf("Built = %d, %v after %d builds", v, ok, calls)
	}
}

func TestWebhookAnswersWhileItCannotStart(t *testing.T) {
	log, logs := serverlesstest.Logger(t)
	for name, tc := range map[string]struct {
		env    serverlesstest.Env
		status int
	}{
		"not configured": {serverlesstest.Env{}, http.StatusInternalServerError},
		"unavailable": {serverlesstest.Env{serverless.EnvSecret: "whsec_x", serverless.EnvChannel: "nosuchbroker://t"},
			http.StatusServiceUnavailable},
	} {
		w := serverless.NewWebhook(platform, serverless.Options{Getenv: tc.env.Get, Logger: log})
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
	if !strings.Contains(logs.String(), "test: webhook cannot start") {
		t.Errorf("logs %q", logs.String())
	}
}

func TestProcessorKeepsGivenSink(t *testing.T) {
	log, logs := serverlesstest.Logger(t)
	mem := sink.NewMemory()
	p := serverless.NewProcessor(platform, serverless.Options{Getenv: serverlesstest.Env{}.Get, Logger: log, Sink: mem})
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
	if !strings.Contains(logs.String(), serverless.EnvDeadLetter+" is not set: messages that cannot be processed are retried") {
		t.Errorf("logs %q", logs.String())
	}
}
