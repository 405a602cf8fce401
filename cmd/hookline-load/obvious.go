package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/cmd/hookline-load/internal/loadgen"
	"github.com/hookline/hookline/emitter/stripehook"
)

// runObvious measures, for comparison, the pipeline as one would first write it with stripe-go
// and gocloud: webhook.ConstructEvent, json.Marshal of the stripe.Event, Topic.Send, and a
// receive loop that unmarshals each message into a stripe.Event and acks it.
func runObvious(d time.Duration, conns, rate int) (*loadgen.Result, error) {
	ctx := context.Background()
	secret := stripehook.GenerateSecret()
	name := fmt.Sprintf("mem://hookline-load-obvious-%d", time.Now().UnixNano())
	topic, err := pubsub.OpenTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	sub, err := pubsub.OpenSubscription(ctx, name)
	if err != nil {
		return nil, err
	}
	rec := loadgen.NewRecorder()
	recvCtx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	for range 16 {
		go func() {
			for {
				m, err := sub.Receive(recvCtx)
				if err != nil {
					return
				}
				var ev stripe.Event
				json.Unmarshal(m.Body, &ev)
				rec.Record(ev.ID) // counts the message even if it did not decode
				m.Ack()
			}
		}()
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret,
			webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if err != nil {
			http.Error(w, "invalid", http.StatusBadRequest)
			return
		}
		msg, _ := json.Marshal(ev)
		if err := topic.Send(r.Context(), &pubsub.Message{Body: msg}); err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	url, stopServer, err := loadgen.Serve(h)
	if err != nil {
		return nil, err
	}
	defer stopServer()
	res := loadgen.Drive(url, secret, d, conns, rate, rec)
	res.AwaitConsumed(rec)
	stopRecv()
	sub.Shutdown(ctx)
	topic.Shutdown(ctx)
	return res, nil
}
