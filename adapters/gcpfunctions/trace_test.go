package gcpfunctions_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// The webhook function and the processor function, both served by the Functions Framework, as
// one trace through Pub/Sub (pstest): the webhook opens HOOKLINE_CHANNEL itself and both use the
// global tracer provider. The message the webhook published is pulled from a subscription with
// a dead-letter policy (so Pub/Sub reports its delivery attempt) and handed to the processor as
// Eventarc's messagePublished CloudEvent, or as a push subscription's request: its attributes
// and data are all that carries the trace from one function to the other. The first invocation
// fails (the message is nacked and Pub/Sub delivers it again, attempt 2), the second writes to
// the sink: two process spans, both the send's children and linked to it.
func TestTraceFromWebhookFunctionToPubSubProcessor(t *testing.T) {
	rec := tracecheck.GlobalRecorder()
	srv := pubsubtest.Shared(t)
	for _, shape := range []struct{ name, fn string }{{"cloudevent", fnProcess}, {"push", fnPush}} {
		t.Run(shape.name, func(t *testing.T) {
			names := srv.Create(t, "gcf-trace", &pubsubtest.Options{MaxDeliveryAttempts: 5})
			log, _ := testLogger(t)
			wh := gcpfunctions.NewWebhook(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{
				pipeline.EnvChannel: "gcppubsub://" + names.Topic, stripehook.EnvSecret: testSecret}.Get}})
			t.Cleanup(func() { wh.Close(context.Background()) })
			serve(t, fnWebhook, wh)

			mem := sink.NewMemory()
			failOnce, _ := webhookflow.FailOnce(mem)
			proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: sink.Func(failOnce), Getenv: env{}.Get, Consumer: &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond}}})
			t.Cleanup(func() { proc.Close(context.Background()) })
			if shape.fn == fnProcess {
				serve(t, fnProcess, proc.HandleCloudEvent)
			} else {
				serve(t, fnPush, proc)
			}

			subject := "cus_gcf_trace_" + shape.name
			payload := stripehook.SampleEvent("customer.updated", subject, time.Now().Truncate(time.Second))
			want, err := stripehook.DecodeUnverified(payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := postStripe(t, payload, testSecret); r.status != http.StatusOK {
				t.Fatalf("webhook: %d %s", r.status, r.body)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer recv.Shutdown(context.Background())
			var traceparent string // the message attribute, as the trigger passes it
			for attempt := 1; attempt <= 2; attempt++ {
				m, err := recv.Receive(ctx)
				if err != nil {
					t.Fatalf("attempt %d: %v", attempt, err)
				}
				if n, ok := channel.DeliveryCount(m); !ok || n != attempt {
					t.Fatalf("delivery attempt %d, %t; want %d", n, ok, attempt)
				}
				traceparent = m.Metadata[channel.MetaTraceparent]
				body := pushBody(t, m.Body, m.Metadata, attempt)
				var r result
				if shape.fn == fnProcess {
					r = postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, body)
				} else {
					r = do(t, newRequest(t, http.MethodPost, fnPush, body))
				}
				switch {
				case attempt == 1 && !is2xx(r.status):
					m.Nack() // what Pub/Sub does with a failed push or CloudEvent invocation
				case attempt == 2 && is2xx(r.status):
					m.Ack()
				default:
					t.Fatalf("attempt %d: processor answered %d %s", attempt, r.status, r.body)
				}
			}
			if r, ok := mem.Get(subject); !ok || r.Event.ID != want.ID {
				t.Fatalf("sink holds %+v, want event %s", r.Event, want.ID)
			}

			dest := names.Topic[len("projects/"+pubsubtest.Project+"/topics/"):]
			tr := tracecheck.OneTrace(t, tracecheck.TraceOf(t, rec.Ended(), want.ID, "send "+dest), "send "+dest, "", 2)
			tracecheck.WantRoot(t, tr.Server)
			if want := tracecheck.Traceparent(tr.Send); traceparent != want {
				t.Errorf("message attribute traceparent %q, want %q (the send span)", traceparent, want)
			}
			tr.WantRedelivered(t, map[attribute.Key]string{"messaging.system": "gcp_pubsub",
				"messaging.destination.name": dest, "messaging.message.id": want.ID},
				map[attribute.Key]string{"messaging.message.id": want.ID, "messaging.system": "gcp_pubsub"}, "messaging.gcp_pubsub.message.delivery_attempt")
		})
	}
}
