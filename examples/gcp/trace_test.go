package gcp_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/adapters/gcpfunctions/gcpfunctionstest"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/examples/gcp"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/pipeline"
)

// TestTraceFromWebhookToProcessEvent shows the example's StripeWebhook and ProcessEvent
// functions as one trace, exported by the functions themselves through
// OTEL_TRACES_EXPORTER=otlp to an OTLP endpoint here. The functions read the OTEL_* variables
// when the package initializes and their configuration on first use, so the flow runs in a child
// process (this test binary again): a Stripe delivery to StripeWebhook, the message it published
// on Pub/Sub (pstest, a subscription with a dead-letter policy) pulled and handed to
// ProcessEvent as Eventarc's messagePublished CloudEvent, twice (the first delivery is nacked as
// if its acknowledgement were lost; the sink ignores the duplicate). The spans: the webhook's
// SERVER span, its send span, and two process spans, each the send's child and linked to it.
func TestTraceFromWebhookToProcessEvent(t *testing.T) {
	if os.Getenv("GCP_TRACE_CHILD") == "1" {
		traceFlowChild(t)
		return
	}
	otlp := tracecheck.StartReceiver(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTraceFromWebhookToProcessEvent$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), otlp.Env("gcp-trace-test")...), "GCP_TRACE_CHILD=1",
		"HOOKLINE_TEST_DB="+filepath.Join(t.TempDir(), "hookline.db"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var id, dest string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "hookline-trace-flow" {
			id, dest = f[1], f[2]
		}
	}
	if id == "" {
		t.Fatalf("the child did not say which event it sent:\n%s", out)
	}

	spans := otlp.Of("gcp-trace-test")
	flow := tracecheck.ExportedFlow(t, spans, spans, "send "+dest, 2, true)
	flow.WantAttrs(t, map[string]string{"messaging.system": "gcp_pubsub", "messaging.destination.name": dest, "messaging.message.id": id},
		map[string]string{"messaging.message.id": id, "messaging.system": "gcp_pubsub"}, "messaging.gcp_pubsub.message.delivery_attempt")
}

// traceFlowChild is the child's part: the flow through the functions, then a line saying the
// event's id and the topic's name.
func traceFlowChild(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcp-trace", &pubsubtest.Options{MaxDeliveryAttempts: 5})
	const secret = "whsec_gcp_trace_test"
	t.Setenv(pipeline.EnvChannel, "gcppubsub://"+names.Topic)
	t.Setenv(pipeline.EnvSink, "sqlite://"+filepath.ToSlash(os.Getenv("HOOKLINE_TEST_DB")))
	t.Setenv(stripehook.EnvSecret, secret)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}

	payload := stripehook.SampleEvent("customer.updated", "cus_gcp_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(payload, nil)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+gcp.WebhookEntryPoint, bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripehook.Sign(payload, secret, time.Now()))
	if status := send(t, client, req); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	for attempt := 1; attempt <= 2; attempt++ {
		m, err := recv.Receive(ctx)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if n, ok := channel.DeliveryCount(m); !ok || n != attempt || m.Metadata[channel.MetaTraceparent] == "" {
			t.Fatalf("delivery attempt %d (%v), attributes %v; want attempt %d and a traceparent", n, ok, m.Metadata, attempt)
		}
		body := gcpfunctionstest.PushBody(m.Body, m.Metadata, attempt)
		req, err := gcpfunctionstest.BinaryCloudEvent(ctx, baseURL+"/"+gcp.ProcessEntryPoint, gcpfunctions.MessagePublishedType, body)
		if err != nil {
			t.Fatal(err)
		}
		if status := send(t, client, req); status < 200 || status > 299 {
			t.Fatalf("attempt %d: ProcessEvent answered %d", attempt, status)
		}
		if attempt == 1 {
			m.Nack() // the acknowledgement lost: Pub/Sub delivers the message again
		} else {
			m.Ack()
		}
	}
	db, err := sql.Open("sqlite", os.Getenv("HOOKLINE_TEST_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT event_id FROM stripe_objects WHERE id = ?`, "cus_gcp_trace").Scan(&stored); err != nil || stored != want.ID {
		t.Fatalf("sink has event %q (%v), want %s", stored, err, want.ID)
	}
	fmt.Println("hookline-trace-flow", want.ID, names.Topic[strings.LastIndexByte(names.Topic, '/')+1:])
}
