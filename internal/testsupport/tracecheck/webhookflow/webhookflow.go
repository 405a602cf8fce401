// Package webhookflow runs, for the trace tests of the channels, one Stripe delivery from a real
// webhook handler through a channel to a consumer whose first attempt fails, and checks its
// trace. It is apart from package tracecheck, which imports no package of hookline, so that any
// test may use that one.
package webhookflow

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/sink"
)

const secret = "whsec_trace_flow"

// Run posts one signed Stripe delivery to a real webhook handler sending through s, runs a
// consumer on r whose first handler call fails transiently (MaxAttempts 1: the delivery goes
// back to the broker) and whose second writes to a memory sink, and returns the event's id once
// the sink holds it and the consumer has stopped. The handler and the consumer trace with tp.
func Run(t testing.TB, tp trace.TracerProvider, s *channel.Sender, r *channel.Receiver) string {
	t.Helper()
	h, err := stripehook.NewHandler([]string{secret}, s, nil, &emitter.HandlerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	mem := sink.NewMemory()
	handle, calls := FailOnce(mem)
	c, err := channel.NewConsumer(r, handle, &channel.ConsumerOptions{MaxAttempts: 1, MinBackoff: time.Millisecond, TracerProvider: tp,
		DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()

	p := stripehook.SampleEvent("customer.updated", "cus_traced", time.Now().Truncate(time.Second))
	want, err := stripehook.DecodeUnverified(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(string(p)))
	req.Header.Set("Stripe-Signature", stripehook.Sign(p, secret, time.Now()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		stop()
		<-done
		t.Fatalf("webhook answered %d %s", w.Code, w.Body)
	}
	err = mem.Wait(ctx, 1)
	stop()
	if rerr := <-done; rerr != nil {
		t.Errorf("consumer: %v", rerr)
	}
	if err != nil {
		t.Fatalf("sink: %v (handler called %d times)", err, calls.Load())
	}
	if rec, ok := mem.Get("cus_traced"); !ok || rec.Event.ID != want.ID {
		t.Fatalf("sink holds %+v, want event %s", rec.Event, want.ID)
	}
	return want.ID
}

// FailOnce returns a handler that fails its first call transiently ("sink busy") and writes the
// events of the others to s, and the count of its calls.
func FailOnce(s sink.Sink) (func(context.Context, hookline.Event) error, *atomic.Int32) {
	calls := new(atomic.Int32)
	return func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			return hookline.MarkTransient(errors.New("sink busy"))
		}
		return s.Write(ctx, ev)
	}, calls
}

// Check checks the spans rec holds of the flow [Run] returned id for, through destination dest:
// one trace from a root SERVER span through the send span "send dest" to two process spans
// "process dest" (see [tracecheck.OneTrace]), the send and both process spans with
// messaging.system system, the destination dest and the message id, the process spans with
// countKey 1 and 2, the first with error.type transient and the second without.
func Check(t testing.TB, rec *tracetest.SpanRecorder, dest, id, system string, countKey attribute.Key) {
	t.Helper()
	spans := tracecheck.OneTrace(t, rec.Ended(), "send "+dest, "process "+dest, 2)
	tracecheck.WantRoot(t, spans.Server)
	want := map[attribute.Key]string{"messaging.system": system, "messaging.destination.name": dest,
		"messaging.message.id": id}
	spans.WantRedelivered(t, want, want, countKey)
}
