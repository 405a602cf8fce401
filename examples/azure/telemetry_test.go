package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

// With OTEL_TRACES_EXPORTER=otlp, a webhook invocation's spans have reached the OTLP endpoint
// by the time the invocation is answered (an idle instance may be stopped right after).
func TestWebhookFlushesItsSpansBeforeItAnswers(t *testing.T) {
	var mu sync.Mutex
	var traces [][]byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			traces = append(traces, b)
			mu.Unlock()
		}
	}))
	t.Cleanup(receiver.Close) // after the app's shutdown, which flushes too
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL)
	t.Setenv("OTEL_SERVICE_NAME", "azure-telemetry-test")

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
	mu.Lock() // at once: the batch's own delay (5 s) has not passed
	defer mu.Unlock()
	if len(traces) == 0 {
		t.Fatal("no spans had reached the OTLP endpoint when the invocation was answered")
	}
	if !bytes.Contains(bytes.Join(traces, nil), []byte("azure-telemetry-test")) {
		t.Error("the spans do not carry OTEL_SERVICE_NAME")
	}
}
