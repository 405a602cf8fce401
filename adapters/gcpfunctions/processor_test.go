package gcpfunctions_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// fastRules keep retries within a delivery short.
func fastRules() *channel.ProcessorOptions {
	return &channel.ProcessorOptions{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Timeout: 5 * time.Second, MaxDeliveries: 5}
}

// countingSink fails every write with err (nil: succeeds) and counts the calls.
type countingSink struct {
	err   error
	calls atomic.Int64
}

func (s *countingSink) Write(ctx context.Context, ev hookline.Event) error {
	s.calls.Add(1)
	return s.err
}

func (s *countingSink) Close() error { return nil }

// deadLetterTopic creates a Pub/Sub topic and subscription on pstest for dead letters and returns
// their gcppubsub:// URLs.
func deadLetterTopic(t *testing.T) (topicURL, subURL string) {
	t.Helper()
	names := pubsubtest.Shared(t).Create(t, "gcf-deadletter", nil)
	return "gcppubsub://" + names.Topic, "gcppubsub://" + names.Subscription
}

func TestProcessorCloudEvent(t *testing.T) {
	modes := []struct {
		name string
		post func(*testing.T, string, []byte) result
	}{
		{"binary", postBinaryCloudEvent},
		{"structured", postStructuredCloudEvent},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			log, _ := testLogger(t)
			mem := sink.NewMemory()
			proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: mem, Getenv: env{}.Get, Consumer: fastRules()}})
			serve(t, fnProcess, proc.HandleCloudEvent)
			ev := testEvent("evt_ce_"+mode.name, "cus_ce_"+mode.name)
			r := mode.post(t, gcpfunctions.MessagePublishedType, pushBody(t, encode(t, ev), map[string]string{"content-type": channel.ContentType}, 0))
			if !is2xx(r.status) {
				t.Fatalf("status %d %s, want 2xx", r.status, r.body)
			}
			if rec, ok := mem.Get(ev.Subject); !ok || rec.Event.ID != ev.ID {
				t.Fatalf("sink has %+v (found %v), want %s", rec.Event, ok, ev.ID)
			}
		})
	}
}

// A write that keeps failing makes the function fail, so that Pub/Sub delivers the message again.
func TestProcessorCloudEventRedelivers(t *testing.T) {
	modes := map[string]func(*testing.T, string, []byte) result{
		"binary": postBinaryCloudEvent, "structured": postStructuredCloudEvent,
	}
	for name, post := range modes {
		t.Run(name, func(t *testing.T) {
			log, _ := testLogger(t)
			failing := &countingSink{err: hookline.MarkTransient(errors.New("sink is down"))}
			proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: failing, Getenv: env{}.Get, Consumer: fastRules()}})
			serve(t, fnProcess, proc.HandleCloudEvent)
			r := post(t, gcpfunctions.MessagePublishedType, pushBody(t, encode(t, testEvent("evt_down", "cus_down")), nil, 2))
			if r.status != http.StatusInternalServerError {
				t.Fatalf("status %d %s, want 500 so that Pub/Sub redelivers", r.status, r.body)
			}
			if n := failing.calls.Load(); n != 2 {
				t.Errorf("sink called %d times, want MaxAttempts = 2", n)
			}
			if s := proc.Stats(); s.DeadLettered != 0 || s.Retries != 1 {
				t.Errorf("stats %+v, want 1 retry and nothing dead-lettered", s)
			}
		})
	}
}

// A permanent failure goes to the dead-letter topic with its reason, and the message is done.
func TestProcessorDeadLetters(t *testing.T) {
	dlTopic, dlSub := deadLetterTopic(t)
	log, _ := testLogger(t)
	rejecting := &countingSink{err: hookline.MarkPermanent(errors.New("validation failed: email"))}
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: rejecting, Consumer: fastRules(), Getenv: env{pipeline.EnvDeadLetter: dlTopic}.Get}})
	t.Cleanup(func() { proc.Close(context.Background()) })
	serve(t, fnProcess, proc.HandleCloudEvent)

	body := encode(t, testEvent("evt_bad", "cus_bad"))
	r := postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, pushBody(t, body, map[string]string{"origin": "test"}, 1))
	if !is2xx(r.status) {
		t.Fatalf("status %d %s, want 2xx (dead-lettered)", r.status, r.body)
	}
	m := pull(t, dlSub)
	if string(m.Body) != string(body) {
		t.Errorf("dead letter body differs from the message")
	}
	for k, want := range map[string]string{
		channel.MetaDeadLetterKind: "permanent", channel.MetaDeadLetterDelivery: "1", "origin": "test",
	} {
		if got := m.Metadata[k]; got != want {
			t.Errorf("dead letter %s = %q, want %q", k, got, want)
		}
	}
	wantContains(t, "reason", m.Metadata[channel.MetaDeadLetterReason], "validation failed")
}

// Pub/Sub's deliveryAttempt counts: past MaxDeliveries the message is dead-lettered unprocessed.
func TestProcessorDeliveryAttempt(t *testing.T) {
	dlTopic, dlSub := deadLetterTopic(t)
	log, _ := testLogger(t)
	s := &countingSink{}
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: s, Consumer: fastRules(), Getenv: env{pipeline.EnvDeadLetter: dlTopic}.Get}})
	t.Cleanup(func() { proc.Close(context.Background()) })
	serve(t, fnProcess, proc.HandleCloudEvent)

	r := postStructuredCloudEvent(t, gcpfunctions.MessagePublishedType, pushBody(t, encode(t, testEvent("evt_late", "cus_late")), nil, 6))
	if !is2xx(r.status) {
		t.Fatalf("status %d %s, want 2xx", r.status, r.body)
	}
	if n := s.calls.Load(); n != 0 {
		t.Errorf("sink called %d times, want 0 past MaxDeliveries", n)
	}
	m := pull(t, dlSub)
	if got := m.Metadata[channel.MetaDeadLetterKind]; got != "max-deliveries" {
		t.Errorf("dead letter kind %q, want max-deliveries", got)
	}
	if got := m.Metadata[channel.MetaDeadLetterDelivery]; got != "6" {
		t.Errorf("dead letter delivery %q, want 6", got)
	}
}

func TestProcessorRefusesOtherEvents(t *testing.T) {
	log, logs := testLogger(t)
	s := &countingSink{}
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: s, Getenv: env{}.Get}})
	serve(t, fnProcess, proc.HandleCloudEvent)
	r := postBinaryCloudEvent(t, "google.cloud.storage.object.v1.finalized", []byte(`{"bucket":"b","name":"o"}`))
	if is2xx(r.status) {
		t.Fatalf("status %d for a storage event, want a failure", r.status)
	}
	r = postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, []byte(`{"subscription":"projects/p/subscriptions/s"}`))
	if is2xx(r.status) {
		t.Fatalf("status %d for data without a message, want a failure", r.status)
	}
	if s.calls.Load() != 0 {
		t.Error("sink was called")
	}
	wantContains(t, "logs", logs.String(), "unexpected CloudEvent type")
}

// Without a usable configuration every message goes back to Pub/Sub, and the logs say why.
func TestProcessorConfiguration(t *testing.T) {
	log, logs := testLogger(t)
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{}.Get}})
	serve(t, fnProcess, proc.HandleCloudEvent)
	serve(t, fnPush, proc)
	body := pushBody(t, encode(t, testEvent("evt_cfg", "cus_cfg")), nil, 0)
	if r := postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, body); is2xx(r.status) {
		t.Fatalf("CloudEvent status %d without a sink, want a failure", r.status)
	}
	r := do(t, newRequest(t, http.MethodPost, fnPush, body))
	if r.status != http.StatusInternalServerError {
		t.Fatalf("push status %d %s without a sink, want 500", r.status, r.body)
	}
	wantContains(t, "body", r.body, gcpfunctions.ReasonNotConfigured)
	wantContains(t, "logs", logs.String(), pipeline.EnvSink+" is not set")

	memDL := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: sink.NewMemory(), Getenv: env{pipeline.EnvDeadLetter: "mem://dead"}.Get}})
	targetsMu.Lock()
	targets[fnPush] = memDL
	targetsMu.Unlock()
	if r := do(t, newRequest(t, http.MethodPost, fnPush, body)); r.status != http.StatusInternalServerError {
		t.Fatalf("push status %d with a mem:// dead-letter topic, want 500", r.status)
	}
}

// A plain Pub/Sub push subscription: 2xx acknowledges, anything else makes Pub/Sub redeliver.
func TestPushSubscription(t *testing.T) {
	log, _ := testLogger(t)
	mem := sink.NewMemory()
	var fail atomic.Bool
	s := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		if fail.Load() {
			return errors.New("sink is down")
		}
		return mem.Write(ctx, ev)
	})
	proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sink: s, Getenv: env{}.Get, Consumer: fastRules()}, MaxPushBytes: 64 << 10})
	serve(t, fnPush, proc)

	ev := testEvent("evt_push", "cus_push")
	r := do(t, newRequest(t, http.MethodPost, fnPush, pushBody(t, encode(t, ev), nil, 1)))
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d %s, want 204", r.status, r.body)
	}
	if _, ok := mem.Get("cus_push"); !ok {
		t.Fatal("event not in the sink")
	}

	fail.Store(true)
	r = do(t, newRequest(t, http.MethodPost, fnPush, pushBody(t, encode(t, testEvent("evt_push2", "cus_push2")), nil, 1)))
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("failing sink: status %d %s, want 503", r.status, r.body)
	}

	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		status int
	}{
		{"get", http.MethodGet, nil, http.StatusMethodNotAllowed},
		{"not json", http.MethodPost, []byte("hello"), http.StatusBadRequest},
		{"no message", http.MethodPost, []byte(`{"subscription":"projects/p/subscriptions/s"}`), http.StatusBadRequest},
		{"bad base64", http.MethodPost, []byte(`{"message":{"data":"***"}}`), http.StatusBadRequest},
		{"too large", http.MethodPost, make([]byte, 65<<10), http.StatusRequestEntityTooLarge},
	} {
		if r := do(t, newRequest(t, tc.method, fnPush, tc.body)); r.status != tc.status {
			t.Errorf("%s: status %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
}
