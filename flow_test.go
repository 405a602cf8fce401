package hookline_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

// TestMyFlow is the README's "Testing your own flow" example, kept here so that it compiles and
// passes: a signed Stripe delivery through the webhook handler, the in-memory channel and the
// consumer loop into the in-memory sink.
func TestMyFlow(t *testing.T) {
	ctx := context.Background()
	sender, err := channel.OpenSender(ctx, "mem://my-flow", nil) // the topic first,
	if err != nil {
		t.Fatal(err)
	}
	recv, err := channel.OpenReceiver(ctx, "mem://my-flow", nil) // then its subscription, before any send
	if err != nil {
		t.Fatal(err)
	}
	mem := sink.NewMemory()
	c, err := channel.NewConsumer(recv, mem.Write, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- c.Run(runCtx) }()
	defer func() { stop(); <-done }()

	h, err := stripehook.NewHandler([]string{"whsec_test"}, sender, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := stripehook.SampleEvent("customer.created", "cus_1", time.Now())
	req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", stripehook.Sign(body, "whsec_test", time.Now()))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook answered %d: %s", rec.Code, rec.Body)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := mem.Wait(waitCtx, 1); err != nil {
		t.Fatal(err)
	}
	got, ok := mem.Get("cus_1")
	if !ok || got.Event.Type != "customer.created" || got.Event.Object != "customer" {
		t.Fatalf("sink has %+v", got)
	}
}
