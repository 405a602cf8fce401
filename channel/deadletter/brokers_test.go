package deadletter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
)

// The broker tests produce dead letters the way they arise in production: a channel.Consumer on
// the main channel whose handler fails some events for good (hookline dead-letters them on its
// own dead-letter channel, with its metadata) and others every time (the consumer returns them
// until the broker's own delivery limit moves them to its native dead-letter queue, without
// hookline's metadata). Then they list both, replay a selection to the main channel and check
// what arrived there and what stayed.

// Event ids say what the handler does with the event.
const (
	permPrefix = "evt_perm_" // fails for good: hookline dead-letters it
	failPrefix = "evt_fail_" // fails every time, transiently: the broker dead-letters it
)

// refusal is the handler's permanent error text, which becomes the dead-letter reason.
const refusal = "sink: refused"

func failingHandler(_ context.Context, ev hookline.Event) error {
	switch {
	case strings.HasPrefix(ev.ID, permPrefix):
		return hookline.MarkPermanent(fmt.Errorf("%s %s: column %q is not valid", refusal, ev.ID, ev.Subject))
	case strings.HasPrefix(ev.ID, failPrefix):
		return errors.New("sink: database unavailable")
	}
	return nil
}

// The events of every broker test: three that hookline dead-letters, one that succeeds, and two
// that the broker dead-letters (only where it has a native dead-letter queue).
var (
	permEvents = []hookline.Event{
		event(permPrefix+"1", "customer.updated", "cus_1"),
		event(permPrefix+"2", "invoice.paid", "in_2"),
		event(permPrefix+"3", "customer.deleted", "cus_3"),
	}
	okEvent      = event("evt_ok_1", "customer.created", "cus_ok")
	nativeEvents = []hookline.Event{
		event(failPrefix+"1", "charge.failed", "ch_1"),
		event(failPrefix+"2", "customer.updated", "cus_f2"),
	}
	// rejectedEvent and expiredEvent are dead-lettered by RabbitMQ on a reject and a TTL.
	rejectedEvent = event("evt_rejected", "customer.updated", "cus_r")
	expiredEvent  = event("evt_expired", "invoice.paid", "in_e")
)

// brokerSetup is one broker's channels for [exerciseBroker]. The open functions open a fresh
// receiver, shut down when the test ends.
type brokerSetup struct {
	main     *channel.Sender          // the main channel, where the consumer reads and replays go
	openMain func() *channel.Receiver // a receiver on the main channel
	dl       *channel.Sender          // hookline's dead-letter channel (ConsumerOptions.DeadLetter)
	openDL   func() *channel.Receiver
	// openNative opens the broker's native dead-letter queue of the main channel; nil when
	// the test has none.
	openNative func() *channel.Receiver
	// nativeCount reports how many messages the native dead-letter queue holds, for waiting
	// until the broker has moved them.
	nativeCount func() int
	// afterProduce, when set, runs once the dead letters are there and the consumer stopped.
	afterProduce func()
	// openReplayed, when set, opens the receiver on which the test expects the replayed
	// messages, instead of openMain. It is called before the replays.
	openReplayed func() *channel.Receiver
	// wait is Options.Wait for this broker.
	wait time.Duration
}

func (b brokerSetup) opts() *deadletter.Options { return &deadletter.Options{Wait: b.wait} }

// exerciseBroker runs the whole scenario on b, logging how long it took.
func exerciseBroker(t *testing.T, b brokerSetup) {
	t.Helper()
	events := append(slices.Clone(permEvents), okEvent)
	if b.openNative != nil {
		events = append(events, nativeEvents...)
	}
	start := time.Now()
	produceDeadLetters(t, b, events)
	if b.afterProduce != nil {
		b.afterProduce()
	}
	t.Logf("dead letters produced in %v", time.Since(start).Round(time.Millisecond))

	dlRecv := b.openDL()
	listed := listIDs(t, dlRecv, b.opts(), permPrefix+"1", permPrefix+"2", permPrefix+"3")
	checkHooklineDeadLetters(t, listed)
	var nativeRecv *channel.Receiver
	if b.openNative != nil {
		nativeRecv = b.openNative()
		checkNativeDeadLetters(t, listIDs(t, nativeRecv, b.opts(), failPrefix+"1", failPrefix+"2"))
	}

	openReplayed := b.openMain
	if b.openReplayed != nil {
		openReplayed = b.openReplayed
	}
	replayed := openReplayed()
	o := b.opts()
	o.Types = []string{"customer.*"}
	res, err := deadletter.Replay(t.Context(), dlRecv, b.main, o)
	if err != nil || res != (deadletter.Result{Received: 3, Selected: 2, Replayed: 2}) {
		t.Fatalf("replay of customer.* from hookline's dead letters: %+v, %v", res, err)
	}
	wantMain := []string{permPrefix + "1", permPrefix + "3"}
	if nativeRecv != nil {
		o := b.opts()
		o.IDs = []string{failPrefix + "2"}
		res, err := deadletter.Replay(t.Context(), nativeRecv, b.main, o)
		if err != nil || res != (deadletter.Result{Received: 2, Selected: 1, Replayed: 1}) {
			t.Fatalf("replay of %s from the native dead-letter queue: %+v, %v", o.IDs, res, err)
		}
		wantMain = append(wantMain, failPrefix+"2")
	}
	checkReplayed(t, replayed, b.wait, wantMain)

	listIDs(t, dlRecv, b.opts(), permPrefix+"2")
	if nativeRecv != nil {
		listIDs(t, nativeRecv, b.opts(), failPrefix+"1")
	}
	t.Logf("whole scenario in %v", time.Since(start).Round(time.Millisecond))
}

// produceDeadLetters sends events to the main channel and runs a consumer on it, with hookline's
// dead-letter channel, until every permanent failure is dead-lettered and the native
// dead-letter queue (if any) holds every transient one.
func produceDeadLetters(t *testing.T, b brokerSetup, events []hookline.Event) {
	t.Helper()
	recv := b.openMain()
	for _, ev := range events {
		if err := b.main.Send(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	c, err := channel.NewConsumer(recv, failingHandler, &channel.ConsumerOptions{
		Concurrency: 4, MaxAttempts: 1, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		DeadLetter: b.dl, DrainTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := c.Stats()
		native := b.openNative == nil || b.nativeCount() >= len(nativeEvents)
		if st.DeadLettered >= int64(len(permEvents)) && native {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dead letters not produced within 30s: consumer %+v, native dead-letter queue complete: %t", st, native)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	st := c.Stats()
	if st.DeadLettered != int64(len(permEvents)) || st.Acked < int64(len(permEvents))+1 {
		t.Fatalf("consumer stats %+v: want %d dead-lettered and acknowledged, and %s acknowledged", st, len(permEvents), okEvent.ID)
	}
	// Flush the consumer's acknowledgements, so nothing it processed comes back to the
	// receiver that checks the replayed messages.
	shutdown(recv)
}

// listIDs lists r and fails t unless exactly want (in any order) are there.
func listIDs(t *testing.T, r *channel.Receiver, o *deadletter.Options, want ...string) []deadletter.Message {
	t.Helper()
	msgs, err := deadletter.List(t.Context(), r, o)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := ids(msgs); !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	return msgs
}

// eventByID finds the test's events by id.
func eventByID(t *testing.T, id string) hookline.Event {
	t.Helper()
	for _, ev := range slices.Concat(permEvents, nativeEvents, []hookline.Event{okEvent, rejectedEvent, expiredEvent}) {
		if ev.ID == id {
			return ev
		}
	}
	t.Fatalf("no test event %s", id)
	return hookline.Event{}
}

// checkHooklineDeadLetters checks what List shows of messages the consumer dead-lettered.
func checkHooklineDeadLetters(t *testing.T, msgs []deadletter.Message) {
	t.Helper()
	for _, m := range msgs {
		ev := eventByID(t, m.EventID)
		if m.Type != ev.Type || m.Subject != ev.Subject {
			t.Errorf("%s: type %q subject %q, want %q %q", m.EventID, m.Type, m.Subject, ev.Type, ev.Subject)
		}
		if !strings.Contains(m.Reason, refusal+" "+ev.ID) || m.Kind != "permanent" || m.Attempts != "1" || m.Delivery == "" {
			t.Errorf("%s: reason %q kind %q attempts %q delivery %q", m.EventID, m.Reason, m.Kind, m.Attempts, m.Delivery)
		}
		if age := time.Since(m.When); age < -time.Minute || age > 5*time.Minute {
			t.Errorf("%s: dead-lettered at %v", m.EventID, m.When)
		}
		checkBody(t, m.EventID, m.Body)
	}
}

// checkNativeDeadLetters checks what List shows of messages the broker dead-lettered.
func checkNativeDeadLetters(t *testing.T, msgs []deadletter.Message) {
	t.Helper()
	for _, m := range msgs {
		ev := eventByID(t, m.EventID)
		if m.Type != ev.Type || m.Subject != ev.Subject {
			t.Errorf("%s: type %q subject %q, want %q %q", m.EventID, m.Type, m.Subject, ev.Type, ev.Subject)
		}
		if m.Reason != "" || m.Kind != "" || m.Attempts != "" || !m.When.IsZero() {
			t.Errorf("native dead letter %s shows hookline's metadata: %+v", m.EventID, m)
		}
		checkBody(t, m.EventID, m.Body)
	}
}

func checkBody(t *testing.T, id string, body []byte) {
	t.Helper()
	ev, err := channel.Decode(body)
	if err != nil {
		t.Errorf("%s: body does not decode: %v", id, err)
		return
	}
	want := eventByID(t, id)
	if ev.ID != want.ID || ev.Type != want.Type || ev.Subject != want.Subject || string(ev.Data) != string(want.Data) {
		t.Errorf("%s: body decodes to %+v", id, ev)
	}
}

// deadLetterKeys are metadata keys that mark a message as dead-lettered: hookline's and the
// brokers' (RabbitMQ's x-death headers, Service Bus's dead-letter properties, Pub/Sub's
// dead-letter attributes).
var deadLetterKeys = []string{"hookline-dead-letter-", "x-death", "x-first-death-", "x-last-death-",
	"DeadLetterReason", "DeadLetterErrorDescription", "CloudPubSubDeadLetter"}

// checkReplayed receives from r (the main channel), acknowledging everything, until all of want
// arrived (waiting up to 20 s for each, as a receiver's first message may take a while on a
// loaded machine) and it then stays idle for wait, and fails t unless exactly want arrived,
// decodable and without dead-letter metadata.
func checkReplayed(t *testing.T, r *channel.Receiver, wait time.Duration, want []string) {
	t.Helper()
	var got []string
	for {
		idle := wait
		if len(got) < len(want) {
			idle = max(wait, 20*time.Second)
		}
		ctx, cancel := context.WithTimeout(t.Context(), idle)
		m, err := r.Receive(ctx)
		cancel()
		if err != nil {
			if t.Context().Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
		m.Ack()
		ev, err := channel.Decode(m.Body)
		if err != nil {
			t.Errorf("replayed message does not decode: %v", err)
			continue
		}
		got = append(got, ev.ID)
		checkBody(t, ev.ID, m.Body)
		for k := range m.Metadata {
			for _, dk := range deadLetterKeys {
				if strings.HasPrefix(k, dk) {
					t.Errorf("replayed %s carries dead-letter metadata %s=%q", ev.ID, k, m.Metadata[k])
				}
			}
		}
		if m.Metadata["ce_id"] != ev.ID || m.Metadata["ce_type"] != ev.Type {
			t.Errorf("replayed %s: metadata %v", ev.ID, m.Metadata)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("the main channel received %v, want %v", got, want)
	}
}

// shutdown shuts r down. On Service Bus it also closes the SDK's receiver, which gocloud's
// azuresb driver leaves open (its subscription's Close does nothing): its link would stay
// attached, and the double would go on delivering the queue's messages to it, where they stay
// locked until the lock expires.
func shutdown(r *channel.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := r.Subscription()
	r.Shutdown(ctx)
	var sb *azservicebus.Receiver
	if sub != nil && sub.As(&sb) {
		sb.Close(ctx)
	}
}

func shutdownSender(s *channel.Sender) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// openReceiverURL returns a function that opens a receiver on url, shut down when t ends.
func openReceiverURL(t *testing.T, url string) func() *channel.Receiver {
	return func() *channel.Receiver {
		t.Helper()
		r, err := channel.OpenReceiver(t.Context(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { shutdown(r) })
		return r
	}
}

// openSenderURL opens a sender on url, shut down when t ends.
func openSenderURL(t *testing.T, url string) *channel.Sender {
	t.Helper()
	s, err := channel.OpenSender(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownSender(s) })
	return s
}
