package gcpfunctions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// pull receives one message from the gcppubsub:// subscription at subURL and acknowledges it.
func pull(t *testing.T, subURL string) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	recv, err := channel.OpenReceiver(ctx, subURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	m, err := recv.Receive(ctx)
	if err != nil {
		t.Fatalf("receive from %s: %v", subURL, err)
	}
	m.Ack()
	return m
}

// TestWebhookToProcessor runs the whole flow through the framework: a signed Stripe delivery into
// the webhook function, the message it published on Pub/Sub (pstest), pushed as Eventarc would
// into the processor function, and the event in the sink.
func TestWebhookToProcessor(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcf-webhook", nil)
	log, _ := testLogger(t)
	wh := gcpfunctions.NewWebhook(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{
		pipeline.EnvChannel:  "gcppubsub://" + names.Topic,
		stripehook.EnvSecret: "whsec_old, " + testSecret,
	}.Get}})
	t.Cleanup(func() { wh.Close(context.Background()) })
	serve(t, fnWebhook, wh)

	payload := stripehook.SampleEvent("customer.updated", "cus_gcf1", time.Now().Add(-time.Minute))
	if r := postStripe(t, payload, "whsec_wrong"); r.status != http.StatusBadRequest {
		t.Fatalf("wrongly signed delivery: %d %s, want 400", r.status, r.body)
	}
	r := postStripe(t, payload, testSecret)
	if r.status != http.StatusOK {
		t.Fatalf("signed delivery: %d %s, want 200", r.status, r.body)
	}
	wantContains(t, "response", r.body, `"received":true`)

	msg := pull(t, "gcppubsub://"+names.Subscription)
	ev, err := channel.Decode(msg.Body)
	if err != nil {
		t.Fatalf("published message does not decode: %v", err)
	}
	if ev.Subject != "cus_gcf1" || ev.Type != "customer.updated" {
		t.Fatalf("published event %s %s, want customer.updated cus_gcf1", ev.Type, ev.Subject)
	}

	mem := sink.NewMemory()
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: mem, Getenv: env{}.Get}})
	serve(t, fnProcess, proc.HandleCloudEvent)
	r = postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, pushBody(t, msg.Body, msg.Metadata, 0))
	if !is2xx(r.status) {
		t.Fatalf("processor: %d %s, want 2xx", r.status, r.body)
	}
	rec, ok := mem.Get("cus_gcf1")
	if !ok || rec.Event.ID != ev.ID {
		t.Fatalf("sink record %+v (found %v), want event %s", rec.Event, ok, ev.ID)
	}
}

func TestWebhookConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		env    env
		status int
		logged string
	}{
		{"no secret", env{pipeline.EnvChannel: "gcppubsub://projects/p/topics/t"},
			http.StatusInternalServerError, stripehook.EnvSecret + " is not set"},
		{"no channel", env{stripehook.EnvSecret: testSecret},
			http.StatusInternalServerError, pipeline.EnvChannel + " is not set"},
		{"mem channel", env{stripehook.EnvSecret: testSecret, pipeline.EnvChannel: "mem://stripe-events"},
			http.StatusInternalServerError, "mem:// URL"},
		{"driver not linked", env{stripehook.EnvSecret: testSecret, pipeline.EnvChannel: "nosuchbroker://topic"},
			http.StatusInternalServerError, "no driver linked into this program serves nosuchbroker://"},
		{"unopenable channel", env{stripehook.EnvSecret: testSecret, pipeline.EnvChannel: serverlesstest.DownBroker + "://topic"},
			http.StatusServiceUnavailable, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testLogger(t)
			serve(t, fnWebhook, gcpfunctions.NewWebhook(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: tt.env.Get}}))
			payload := stripehook.SampleEvent("customer.created", "cus_cfg", time.Now())
			for range 2 { // not cached: every request tries again and logs why it cannot
				r := postStripe(t, payload, testSecret)
				if r.status != tt.status {
					t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
				}
				if tt.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				wantContains(t, "body", r.body, `"error":`)
			}
			wantContains(t, "logs", logs.String(), tt.logged)
			if strings.Contains(logs.String(), testSecret) {
				t.Error("logs contain the webhook secret")
			}
		})
	}
}

// The functions read the variables that examples/local reads.
func TestEnvironmentNamesMatchLocalExample(t *testing.T) {
	pairs := [][2]string{
		{pipeline.EnvChannel, pipeline.EnvChannel},
		{pipeline.EnvSink, pipeline.EnvSink},
		{pipeline.EnvDeadLetter, pipeline.EnvDeadLetter},
		{stripehook.EnvSecret, stripehook.EnvSecret},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("gcpfunctions reads %s where examples/local reads %s", p[0], p[1])
		}
	}
}
