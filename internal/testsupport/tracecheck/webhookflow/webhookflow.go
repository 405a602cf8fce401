// Package webhookflow runs, for the trace tests of the channels, one Stripe delivery from a real
// webhook handler through a channel to a consumer whose first attempt fails. It is apart from
// package tracecheck, which imports no package of hookline, so that any test may use that one.
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

	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
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
	var calls atomic.Int32
	c, err := channel.NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			return hookline.MarkTransient(errors.New("sink busy"))
		}
		return mem.Write(ctx, ev)
	}, &channel.ConsumerOptions{MaxAttempts: 1, MinBackoff: time.Millisecond, TracerProvider: tp,
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
