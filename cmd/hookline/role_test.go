package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
)

// serve with HOOKLINE_ROLE=webhook starts on a broker without HOOKLINE_SINK and is ready while
// the broker takes sends; -role overrides the variable.
func TestServeWebhookRoleNeedsNoSink(t *testing.T) {
	server := rabbittest.Server(t)
	name := rabbittest.Declare(t, server, "hookline-cmd-role", rabbitsetup.Options{})
	for _, k := range []string{"OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "")
	}
	addr, stop := serveUntilListening(t, map[string]string{
		"HOOKLINE_ROLE": "webhook", "HOOKLINE_CHANNEL": "rabbitmq://" + name, "STRIPE_WEBHOOK_SECRET": "whsec_role_test",
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, "http://"+addr+path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// The scheduled recovery sends into the channel, so a consumer-only process refuses it, and a
// role that is not one is said with the roles there are.
func TestServeRoleRefusals(t *testing.T) {
	env := map[string]string{
		"HOOKLINE_ROLE": "consumer", "HOOKLINE_CHANNEL": "rabbitmq://hookline-never-opened",
		"HOOKLINE_RECOVER_EVERY": "1h", "STRIPE_API_KEY": "sk_test_role",
	}
	_, _, err := runCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_ROLE=consumer") || !strings.Contains(err.Error(), "HOOKLINE_RECOVER_EVERY") {
		t.Errorf("serve as a consumer with a scheduled recovery: %v", err)
	}
	env["HOOKLINE_ROLE"] = "both"
	_, _, err = runCmd(t, env, "serve")
	if err == nil || !strings.Contains(err.Error(), `HOOKLINE_ROLE="both"`) || !strings.Contains(err.Error(), "consumer") {
		t.Errorf("serve with HOOKLINE_ROLE=both: %v", err)
	}
	delete(env, "HOOKLINE_ROLE")
	_, _, err = runCmd(t, env, "serve", "-role", "worker")
	if err == nil || !strings.Contains(err.Error(), "-role") {
		t.Errorf("serve -role worker: %v", err)
	}
}
