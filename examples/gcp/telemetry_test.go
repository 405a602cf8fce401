package gcp_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/examples/gcp"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/pipeline"
)

// The functions read the OTEL_* variables when the package initializes, so this test runs the
// test binary again with OTEL_TRACES_EXPORTER=otlp aimed at a receiver here. The child makes
// one webhook invocation and exits at once, without any shutdown: the spans arrive only if the
// invocation flushed them before it answered.
func TestWebhookFlushesItsSpansBeforeItAnswers(t *testing.T) {
	if os.Getenv("GCP_TELEMETRY_CHILD") == "1" {
		webhookInvocation(t)
		return
	}
	receiver := tracecheck.StartReceiver(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebhookFlushesItsSpansBeforeItAnswers$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), "GCP_TELEMETRY_CHILD=1"), receiver.Env("gcp-telemetry-test")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if names := receiver.Names("gcp-telemetry-test"); !slices.ContainsFunc(names, func(n string) bool {
		return strings.HasPrefix(n, "send ")
	}) {
		t.Fatalf("spans of service gcp-telemetry-test at the OTLP endpoint before the process exited: %v, want the send\n%s", names, out)
	}
}

// webhookInvocation posts one signed delivery to StripeWebhook, configured with a Pub/Sub topic.
func webhookInvocation(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcp-telemetry", nil)
	secret := "whsec_gcp_telemetry_test"
	t.Setenv(pipeline.EnvChannel, "gcppubsub://"+names.Topic)
	t.Setenv(stripehook.EnvSecret, secret)
	payload := stripehook.SampleEvent("customer.created", "cus_gcp_telemetry", time.Now())
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/"+gcp.WebhookEntryPoint, bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripehook.Sign(payload, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}
