package channel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

var topicSeq atomic.Int64

// memPair opens a fresh mem:// topic and its subscription.
func memPair(t *testing.T) (*Sender, *Receiver) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("mem://consumer-test-%d", topicSeq.Add(1))
	s, err := OpenSender(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReceiver(ctx, name+"?ackdeadline=1s", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
	})
	return s, r
}

func testEvent(i int) hookline.Event {
	return hookline.Event{
		ID: "evt_" + strconv.Itoa(i), Source: "stripe", Type: "customer.updated", Subject: "cus_" + strconv.Itoa(i),
		Time: time.Unix(1700000000+int64(i), 0).UTC(), Data: []byte(`{"id":"cus_` + strconv.Itoa(i) + `"}`),
	}
}

func sendN(t *testing.T, s *Sender, n int) {
	t.Helper()
	for i := range n {
		if err := s.Send(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// running starts c.Run and returns a function that stops it and returns Run's result.
func running(t *testing.T, c *Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor waits until cond holds; the generous limit only bounds a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type recorder struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *recorder) record(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[id]++
	return r.calls[id]
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func fastOpts(dl *Sender) *ConsumerOptions {
	return &ConsumerOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, DeadLetter: dl, DrainTimeout: 5 * time.Second}
}

func TestConsumerDeliversAndAcksEachOnce(t *testing.T) {
	s, r := memPair(t)
	var rec recorder
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error { rec.record(ev.ID); return nil }, fastOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	sendN(t, s, 50)
	waitFor(t, "50 events", func() bool { return c.Stats().Acked == 50 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if n := rec.count("evt_" + strconv.Itoa(i)); n != 1 {
			t.Errorf("evt_%d handled %d times", i, n)
		}
	}
	if st := c.Stats(); st.Received != 50 || st.Nacked != 0 || st.DeadLettered != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestConsumerRetriesTransientThenSucceeds(t *testing.T) {
	s, r := memPair(t)
	var rec recorder
	h := func(ctx context.Context, ev hookline.Event) error {
		if rec.record(ev.ID) < 3 {
			return hookline.MarkTransient(errors.New("database briefly away"))
		}
		return nil
	}
	c, _ := NewConsumer(r, h, fastOpts(nil))
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if st := c.Stats(); st.Retries != 2 || st.Nacked != 0 || rec.count("evt_0") != 3 {
		t.Errorf("stats = %+v, calls = %d; want 2 retries in one delivery", st, rec.count("evt_0"))
	}
}

func TestConsumerNacksWhenRetriesExhausted(t *testing.T) {
	s, r := memPair(t)
	var rec recorder
	h := func(ctx context.Context, ev hookline.Event) error {
		if rec.record(ev.ID) <= 2 { // both attempts of the first delivery fail
			return errors.New("unclassified failure")
		}
		return nil
	}
	opts := fastOpts(nil)
	opts.MaxAttempts = 2
	c, _ := NewConsumer(r, h, opts)
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "ack after redelivery", func() bool { return c.Stats().Acked == 1 })
	if st := c.Stats(); st.Nacked != 1 || st.Received != 2 {
		t.Errorf("stats = %+v; want one nack and a redelivery", st)
	}
}

// deadLetters opens a dead-letter topic with a subscription and returns a function that receives
// the next dead-lettered message.
func deadLetters(t *testing.T) (*Sender, func() *pubsub.Message) {
	dl, dr := memPair(t)
	return dl, func() *pubsub.Message {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		m, err := dr.Receive(ctx)
		if err != nil {
			t.Fatalf("no dead letter: %v", err)
		}
		m.Ack()
		return m
	}
}

func TestConsumerDeadLettersPermanentFailure(t *testing.T) {
	s, r := memPair(t)
	dl, nextDead := deadLetters(t)
	var calls atomic.Int64
	h := func(ctx context.Context, ev hookline.Event) error {
		calls.Add(1)
		return hookline.Errorf(hookline.Permanent, "sink: contact validation failed: email is invalid")
	}
	c, _ := NewConsumer(r, h, fastOpts(dl))
	running(t, c)
	sendN(t, s, 1)
	m := nextDead()
	if got := m.Metadata[MetaDeadLetterReason]; got != "sink: contact validation failed: email is invalid" {
		t.Errorf("reason = %q", got)
	}
	if m.Metadata[MetaDeadLetterKind] != "permanent" || m.Metadata[MetaDeadLetterAttempts] != "1" || m.Metadata["ce_id"] != "evt_0" {
		t.Errorf("metadata = %v", m.Metadata)
	}
	if ev, err := Decode(m.Body); err != nil || ev.ID != "evt_0" {
		t.Errorf("dead letter body does not hold the original event: %v %v", ev.ID, err)
	}
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if calls.Load() != 1 {
		t.Errorf("handler called %d times for a permanent failure, want 1", calls.Load())
	}
}

func TestConsumerDeadLettersUndecodable(t *testing.T) {
	s, r := memPair(t)
	dl, nextDead := deadLetters(t)
	var calls atomic.Int64
	c, _ := NewConsumer(r, func(context.Context, hookline.Event) error { calls.Add(1); return nil }, fastOpts(dl))
	running(t, c)
	if err := s.SendMessage(context.Background(), &pubsub.Message{Body: []byte("not an event"), Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	m := nextDead()
	if string(m.Body) != "not an event" || m.Metadata["k"] != "v" || m.Metadata[MetaDeadLetterKind] != "undecodable" {
		t.Errorf("dead letter = %q %v", m.Body, m.Metadata)
	}
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if calls.Load() != 0 {
		t.Error("handler was called for an undecodable message")
	}
}

func TestConsumerDeadLettersPastMaxDeliveries(t *testing.T) {
	s, r := memPair(t)
	dl, nextDead := deadLetters(t)
	var calls atomic.Int64
	h := func(context.Context, hookline.Event) error { calls.Add(1); return errors.New("always down") }
	opts := fastOpts(dl)
	opts.MaxAttempts, opts.MaxDeliveries = 1, 3
	c, _ := NewConsumer(r, h, opts)
	running(t, c)
	sendN(t, s, 1)
	m := nextDead()
	if m.Metadata[MetaDeadLetterKind] != "max-deliveries" || m.Metadata[MetaDeadLetterDelivery] != "4" {
		t.Errorf("metadata = %v", m.Metadata)
	}
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if calls.Load() != 3 || c.Stats().Nacked != 3 {
		t.Errorf("handler calls = %d, stats = %+v; want 3 deliveries tried and nacked", calls.Load(), c.Stats())
	}
}

func TestConsumerWithoutDeadLetterNeverAcksFailure(t *testing.T) {
	s, r := memPair(t)
	var calls atomic.Int64
	h := func(context.Context, hookline.Event) error {
		calls.Add(1)
		return hookline.MarkPermanent(errors.New("bad"))
	}
	c, _ := NewConsumer(r, h, fastOpts(nil))
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "redeliveries", func() bool { return calls.Load() >= 3 })
	if st := c.Stats(); st.Acked != 0 || st.Nacked < 2 {
		t.Errorf("stats = %+v; a failed message without a dead-letter channel must be returned, not acked", st)
	}
}

func TestConsumerDeadLetterSendFailureReturnsMessage(t *testing.T) {
	s, r := memPair(t)
	dl, err := OpenSender(context.Background(), "mem://consumer-test-closed-dlq", nil)
	if err != nil {
		t.Fatal(err)
	}
	dl.Shutdown(context.Background()) // every send now fails
	h := func(context.Context, hookline.Event) error { return hookline.MarkPermanent(errors.New("bad")) }
	c, _ := NewConsumer(r, h, fastOpts(dl))
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "nack", func() bool { return c.Stats().Nacked >= 1 })
	if st := c.Stats(); st.Acked != 0 || st.DeadLettered != 0 {
		t.Errorf("stats = %+v; a message whose dead-lettering failed was acked", st)
	}
}

func TestConsumerRecoversPanic(t *testing.T) {
	s, r := memPair(t)
	var rec recorder
	h := func(ctx context.Context, ev hookline.Event) error {
		if rec.record(ev.ID) == 1 {
			panic("nil map in user code")
		}
		return nil
	}
	c, _ := NewConsumer(r, h, fastOpts(nil))
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if c.Stats().Retries != 1 || rec.count("evt_0") != 2 {
		t.Errorf("stats = %+v; the panic should count as one failed attempt", c.Stats())
	}
}

func TestConsumerHonoursRetryAfter(t *testing.T) {
	s, r := memPair(t)
	var mu sync.Mutex
	var times []time.Time
	h := func(context.Context, hookline.Event) error {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) == 1 {
			return hookline.WithRetryAfter(errors.New("429 too many requests"), 300*time.Millisecond)
		}
		return nil
	}
	c, _ := NewConsumer(r, h, fastOpts(nil))
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < 300*time.Millisecond {
		t.Errorf("retried after %v, before the 300ms Retry-After", gap)
	}
}

func TestConsumerPerCallTimeout(t *testing.T) {
	s, r := memPair(t)
	var calls atomic.Int64
	h := func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			<-ctx.Done() // a hung dependency
			return ctx.Err()
		}
		return nil
	}
	opts := fastOpts(nil)
	opts.Timeout = 50 * time.Millisecond
	c, _ := NewConsumer(r, h, opts)
	running(t, c)
	sendN(t, s, 1)
	waitFor(t, "ack", func() bool { return c.Stats().Acked == 1 })
	if c.Stats().Retries != 1 {
		t.Errorf("stats = %+v; a timed-out call should be retried", c.Stats())
	}
}

func TestConsumerDrainFinishesInFlight(t *testing.T) {
	s, r := memPair(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var done atomic.Int64
	h := func(ctx context.Context, ev hookline.Event) error {
		started <- struct{}{}
		<-release
		done.Add(1)
		return nil
	}
	c, _ := NewConsumer(r, h, fastOpts(nil))
	stop := running(t, c)
	sendN(t, s, 3)
	for range 3 {
		<-started
	}
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	select {
	case <-stopped:
		t.Fatal("Run returned while messages were in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if done.Load() != 3 || c.Stats().Acked != 3 {
		t.Errorf("done = %d, stats = %+v; drain must let in-flight work finish and ack", done.Load(), c.Stats())
	}
}

func TestConsumerDrainTimeoutReturnsMessages(t *testing.T) {
	s, r := memPair(t)
	started := make(chan struct{}, 1)
	h := func(ctx context.Context, ev hookline.Event) error {
		started <- struct{}{}
		<-ctx.Done() // never finishes on its own
		return ctx.Err()
	}
	opts := fastOpts(nil)
	opts.DrainTimeout = 50 * time.Millisecond
	c, _ := NewConsumer(r, h, opts)
	stop := running(t, c)
	sendN(t, s, 1)
	<-started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Acked != 0 || st.Nacked != 1 {
		t.Errorf("stats = %+v; work canceled at the drain deadline must be nacked", st)
	}
	// The message is still there for the next consumer.
	var rec recorder
	c2, _ := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error { rec.record(ev.ID); return nil }, fastOpts(nil))
	running(t, c2)
	waitFor(t, "redelivery to the next consumer", func() bool { return rec.count("evt_0") == 1 })
}

func TestConsumerBoundsConcurrency(t *testing.T) {
	s, r := memPair(t)
	var inFlight, peak atomic.Int64
	h := func(context.Context, hookline.Event) error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		return nil
	}
	opts := fastOpts(nil)
	opts.Concurrency = 4
	c, _ := NewConsumer(r, h, opts)
	running(t, c)
	sendN(t, s, 100)
	waitFor(t, "100 acks", func() bool { return c.Stats().Acked == 100 })
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak concurrency = %d, want 2..4", p)
	}
}

func TestOpenErrorsAreClear(t *testing.T) {
	ctx := context.Background()
	_, err := OpenSender(ctx, "awssqs://sqs.us-east-2.amazonaws.com/1/q", nil)
	if err == nil || !strings.Contains(err.Error(), "github.com/hookline/hookline/channel/amazonsqs") {
		t.Errorf("err = %v; want a hint naming the driver package", err)
	}
	// nats:// stays unregistered in these tests (rabbit:// is registered by rabbit_test.go, and
	// its cached connection would make the open succeed).
	_, err = OpenReceiver(ctx, "nats://user:hunter2@host/q", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want an error without the password", err)
	}
	_, err = OpenReceiver(ctx, "mem://never-opened-topic", nil)
	if err == nil || !strings.Contains(err.Error(), "channel: open receiver mem://never-opened-topic") {
		t.Errorf("err = %v", err)
	}
}
