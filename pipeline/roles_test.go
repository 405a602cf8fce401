package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
	"github.com/hookline/hookline/sink"
)

// envOf returns a getenv of m.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestRoles runs a webhook-only pipeline and a consumer-only pipeline, as two deployments, on
// one RabbitMQ queue: the webhook starts without HOOKLINE_SINK and opens no sink nor consumer,
// the consumer starts without a webhook secret and answers 404 on the webhook path, and the
// signed events posted to the webhook end in the consumer's sink.
func TestRoles(t *testing.T) {
	server := rabbittest.Server(t)
	name := rabbittest.Declare(t, server, "hookline-roles", rabbitsetup.Options{})
	ctx := context.Background()
	secret := stripehook.GenerateSecret()

	wcfg, err := ConfigFromEnv(envOf(map[string]string{
		EnvRole: "webhook", EnvChannel: "rabbitmq://" + name, "STRIPE_WEBHOOK_SECRET": secret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if wcfg.Role != RoleWebhook || wcfg.Sink != "" {
		t.Fatalf("webhook config: role %q, sink %q; want webhook and no sink", wcfg.Role, wcfg.Sink)
	}
	webhookApp, err := Open(ctx, wcfg, &Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("webhook without %s: %v", EnvSink, err)
	}
	if webhookApp.Consumer() != nil || webhookApp.sink != nil || webhookApp.recv != nil {
		t.Fatal("the webhook-only pipeline opened a consumer, a sink or a subscription")
	}
	webhook := serveOpened(t, &harness{t: t, secret: secret, done: make(chan error, 1), logs: &lockedBuffer{}}, webhookApp)

	ccfg, err := ConfigFromEnv(envOf(map[string]string{EnvRole: "consumer", EnvChannel: "rabbitmq://" + name}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ccfg.Secrets) != 0 || ccfg.SecretGenerated {
		t.Fatalf("consumer config has webhook secrets (generated %v)", ccfg.SecretGenerated)
	}
	mem := sink.NewMemory()
	consumerApp, err := Open(ctx, ccfg, &Options{Sink: mem})
	if err != nil {
		t.Fatalf("consumer without a webhook secret: %v", err)
	}
	if consumerApp.Sender() != nil {
		t.Fatal("the consumer-only pipeline opened a sender without a console")
	}
	consumer := serveOpened(t, &harness{t: t, done: make(chan error, 1), logs: &lockedBuffer{}}, consumerApp)

	const events = 20
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := range events {
		if status := webhook.post(fmt.Sprintf("cus_roles_%02d", i), created); status != http.StatusOK {
			t.Fatalf("webhook-only POST: %d", status)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mem.Wait(wctx, events); err != nil {
		t.Fatalf("the consumer stored %d of %d events: %v", mem.Len(), events, err)
	}

	base := strings.TrimSuffix(consumer.url, "/webhook")
	body := stripehook.SampleEvent("customer.updated", "cus_roles_x", created)
	if status, err := postSigned(ctx, http.DefaultClient, consumer.url, body, stripehook.Sign(body, secret, time.Now())); err != nil || status != http.StatusNotFound {
		t.Errorf("consumer-only POST /webhook: %d, %v; want 404", status, err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status := getStatus(t, base+path); status != http.StatusOK {
			t.Errorf("consumer-only GET %s: %d", path, status)
		}
		if status := getStatus(t, strings.TrimSuffix(webhook.url, "/webhook")+path); status != http.StatusOK {
			t.Errorf("webhook-only GET %s: %d", path, status)
		}
	}
	if err := webhook.stop(); err != nil {
		t.Errorf("webhook-only shutdown: %v", err)
	}
	if err := consumer.stop(); err != nil {
		t.Errorf("consumer-only shutdown: %v", err)
	}
	if mem.Len() != events {
		t.Errorf("%d records, want %d", mem.Len(), events)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A split role needs a broker: on an in-process channel its events would never leave the
// process. The console runs where the consumer does.
func TestRolesRefuseWhatCannotWork(t *testing.T) {
	for _, role := range []Role{RoleWebhook, RoleConsumer} {
		cfg := Config{Role: role, Channel: "inproc://roles-refused", Sink: "discard://", Secrets: []string{"whsec_x"}}
		err := cfg.Check()
		if err == nil || !strings.Contains(err.Error(), EnvRole+"="+string(role)) || !strings.Contains(err.Error(), "broker") {
			t.Errorf("Check of role %s on inproc://: %v", role, err)
		}
	}
	webhook := Config{Role: RoleWebhook, Channel: "rabbitmq://roles-refused", Secrets: []string{"whsec_x"}}
	if _, err := Open(context.Background(), webhook, &Options{Console: nopConsole{}}); err == nil || !strings.Contains(err.Error(), "console") {
		t.Errorf("Open of a webhook with a console: %v", err)
	}
	bad := Config{Role: "both", Channel: "inproc://roles-refused", Sink: "discard://", Secrets: []string{"whsec_x"}}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), EnvRole) {
		t.Errorf("Check of role both: %v", err)
	}
}

func TestConfigFromEnvRole(t *testing.T) {
	for v, want := range map[string]Role{"": RoleAll, "all": RoleAll, " webhook ": RoleWebhook, "consumer": RoleConsumer} {
		c, err := ConfigFromEnv(envOf(map[string]string{EnvRole: v}))
		if err != nil || c.Role != want {
			t.Errorf("%s=%q: role %q, %v; want %q", EnvRole, v, c.Role, err, want)
		}
	}
	for _, v := range []string{"both", "Webhook", "worker"} {
		_, err := ConfigFromEnv(envOf(map[string]string{EnvRole: v}))
		if err == nil {
			t.Errorf("%s=%q: no error", EnvRole, v)
			continue
		}
		for _, s := range []string{EnvRole, fmt.Sprintf("%q", v), "all", "webhook", "consumer"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s=%q: error %q does not say %s", EnvRole, v, err, s)
			}
		}
	}
	if c, _ := ConfigFromEnv(envOf(map[string]string{EnvRole: "webhook"})); c.Sink != "" || !c.SecretGenerated {
		t.Errorf("webhook role: sink %q (want none), secret generated %v (want true)", c.Sink, c.SecretGenerated)
	}
	if c, _ := ConfigFromEnv(envOf(nil)); c.Sink != DefaultSink {
		t.Errorf("role all: sink %q, want %s", c.Sink, DefaultSink)
	}
}

func TestConfigFromEnvHost(t *testing.T) {
	for _, tc := range []struct{ host, port, want string }{
		{"", "", "127.0.0.1:8080"},
		{"", "9000", "127.0.0.1:9000"},
		{"0.0.0.0", "8080", "0.0.0.0:8080"},
		{"::", "8080", "[::]:8080"},
		{"[::1]", "8081", "[::1]:8081"},
		{"localhost", "", "localhost:8080"},
	} {
		c, err := ConfigFromEnv(envOf(map[string]string{EnvHost: tc.host, EnvPort: tc.port}))
		if err != nil || c.Addr != tc.want {
			t.Errorf("%s=%q %s=%q: Addr %q, %v; want %q", EnvHost, tc.host, EnvPort, tc.port, c.Addr, err, tc.want)
		}
	}
}

// nopConsole is a Console that does nothing.
type nopConsole struct{ http.Handler }

func (nopConsole) Attach(*Pipeline) error                   { return nil }
func (nopConsole) Accepted(context.Context, hookline.Event) {}
func (nopConsole) Settled(context.Context, channel.Settled) {}
func (nopConsole) Close(context.Context) error              { return nil }
