package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
)

// With OTEL_TRACES_EXPORTER=otlp, a webhook invocation's spans have reached the OTLP endpoint
// by the time the invocation is answered (an idle instance may be stopped right after).
func TestWebhookFlushesItsSpansBeforeItAnswers(t *testing.T) {
	receiver := tracecheck.StartReceiver(t) // closed after the app's shutdown, which flushes too
	for _, kv := range receiver.Env("azure-telemetry-test") {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}

	d := sbdouble.Shared(t, nil)
	q := fmt.Sprintf("stripe-events-telemetry-%d", time.Now().UnixNano())
	if err := d.CreateQueue(context.Background(), q, nil); err != nil {
		t.Fatal(err)
	}
	secret := "whsec_azure_telemetry_test"
	base := startApp(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t),
		"HOOKLINE_CHANNEL": "azuresbqueue://" + q, "STRIPE_WEBHOOK_SECRET": secret,
		"SERVICEBUS_CONNECTION_STRING": d.ConnectionString})
	payload := stripehook.SampleEvent("customer.created", "cus_azure_telemetry", time.Now())
	if status := postForwarded(t, base, payload, secret); status != http.StatusOK {
		t.Fatalf("delivery answered %d", status)
	}
	// At once: the batch's own delay (5 s) has not passed.
	if names := receiver.Names("azure-telemetry-test"); !slices.Contains(names, "send "+q) {
		t.Fatalf("spans of service azure-telemetry-test at the OTLP endpoint when the invocation was answered: %v, want the send", names)
	}
}
