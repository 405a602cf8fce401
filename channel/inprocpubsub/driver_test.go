package inprocpubsub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub/driver"
)

var testSeq atomic.Int64

func testName(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), testSeq.Add(1))
}

// waiting reports whether a receive is registered as waiting on s.
func waiting(s *subscription) bool {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return s.wakeCh != nil
}

func sendBody(t *testing.T, name, body string) {
	t.Helper()
	tp := topicNamed(name, 0)
	if err := (&driverTopic{t: tp}).SendBatch(context.Background(), []*driver.Message{{Body: []byte(body)}}); err != nil {
		t.Fatal(err)
	}
}

type batch struct {
	msgs []*driver.Message
	err  error
}

// TestReceiveBatchWakesOnSend proves that ReceiveBatch waits for a send and is woken by it: it
// does not return before the send (nor return an empty batch, as a polling driver does when its
// sleep ends), and it returns the message sent, without any timer of its own running.
func TestReceiveBatchWakesOnSend(t *testing.T) {
	name := testName(t)
	r := openReceiver(name, Options{AckDeadline: time.Hour})
	done := make(chan batch, 1)
	go func() {
		msgs, err := r.ReceiveBatch(context.Background(), 10)
		done <- batch{msgs, err}
	}()
	for !waiting(r.sub) {
		select {
		case b := <-done:
			t.Fatalf("ReceiveBatch returned %d messages, %v before anything was sent", len(b.msgs), b.err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case b := <-done:
		t.Fatalf("ReceiveBatch returned %d messages, %v before anything was sent", len(b.msgs), b.err)
	default:
	}
	start := time.Now()
	sendBody(t, name, "hello")
	var b batch
	select {
	case b = <-done:
	case <-time.After(10 * time.Second): // only a bound on a hang
		t.Fatal("ReceiveBatch not woken by the send")
	}
	t.Logf("woken %v after the send", time.Since(start))
	if b.err != nil || len(b.msgs) != 1 || string(b.msgs[0].Body) != "hello" {
		t.Fatalf("ReceiveBatch = %d messages, %v; want the one sent", len(b.msgs), b.err)
	}
}

func TestReceiveBatchReturnsOnCancelAndClose(t *testing.T) {
	name := testName(t)
	r := openReceiver(name, Options{AckDeadline: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan batch, 1)
	go func() {
		msgs, err := r.ReceiveBatch(ctx, 10)
		done <- batch{msgs, err}
	}()
	for !waiting(r.sub) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if b := <-done; b.err != nil || len(b.msgs) != 0 {
		t.Fatalf("after cancel: %d messages, %v; want none and no error", len(b.msgs), b.err)
	}

	go func() {
		msgs, err := r.ReceiveBatch(context.Background(), 10)
		done <- batch{msgs, err}
	}()
	for !waiting(r.sub) {
		time.Sleep(time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if b := <-done; b.err != nil || len(b.msgs) != 0 {
		t.Fatalf("after Close: %d messages, %v; want none and no error", len(b.msgs), b.err)
	}
}

func TestReceiveBatchMax(t *testing.T) {
	name := testName(t)
	r := openReceiver(name, Options{AckDeadline: time.Hour})
	for i := range 5 {
		sendBody(t, name, fmt.Sprint(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a bound on a hang
	defer cancel()
	for i, want := range []int{2, 2, 1} {
		msgs, err := r.ReceiveBatch(ctx, 2)
		if err != nil || len(msgs) != want {
			t.Fatalf("batch %d: %d messages, %v; want %d", i, len(msgs), err, want)
		}
	}
}

// TestSettleUnknownIDs: acks and nacks of ids the subscription does not hold, of another type,
// or of a delivery that already ended change nothing.
func TestSettleUnknownIDs(t *testing.T) {
	name := testName(t)
	r := openReceiver(name, Options{AckDeadline: time.Hour})
	sendBody(t, name, "x")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a bound on a hang
	defer cancel()
	msgs, err := r.ReceiveBatch(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatal(len(msgs), err)
	}
	first := msgs[0].AckID
	bogus := []driver.AckID{ackID{id: 1 << 60, delivery: 1}, "nonsense", nil, 42}
	if err := r.SendAcks(ctx, bogus); err != nil {
		t.Fatal(err)
	}
	if err := r.SendNacks(ctx, bogus); err != nil {
		t.Fatal(err)
	}
	if err := r.SendNacks(ctx, []driver.AckID{first}); err != nil {
		t.Fatal(err)
	}
	msgs, err = r.ReceiveBatch(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatal(len(msgs), err)
	}
	// A nack of the first delivery, now stale, must not give back the second.
	if err := r.SendNacks(ctx, []driver.AckID{first}); err != nil {
		t.Fatal(err)
	}
	r.sub.t.mu.Lock()
	ready, held := r.sub.ready.len(), r.sub.held()
	r.sub.t.mu.Unlock()
	if ready != 0 || held != 1 {
		t.Fatalf("after a stale nack: %d ready, %d held; want 0, 1", ready, held)
	}
	// An ack of the stale delivery still removes the message; acking twice is harmless.
	for range 2 {
		if err := r.SendAcks(ctx, []driver.AckID{first}); err != nil {
			t.Fatal(err)
		}
	}
	r.sub.t.mu.Lock()
	held = r.sub.held()
	r.sub.t.mu.Unlock()
	if held != 0 {
		t.Fatalf("after ack: %d held, want 0", held)
	}
}

func TestFIFOCompacts(t *testing.T) {
	var q fifo[int]
	next := 0
	for i := range 10_000 {
		q.push(i)
		if i%3 != 0 {
			if v := q.pop(); v != next {
				t.Fatalf("pop = %d, want %d", v, next)
			}
			next++
		}
	}
	for q.len() > 0 {
		if v := q.pop(); v != next {
			t.Fatalf("pop = %d, want %d", v, next)
		}
		next++
	}
	if next != 10_000 || cap(q.items) > 16_384 {
		t.Fatalf("drained %d, capacity %d", next, cap(q.items))
	}
}

// TestHeldMessageDoesNotPinOthers: while one delivery stays unacknowledged, the many received
// and acknowledged after it do not pile up behind it.
func TestHeldMessageDoesNotPinOthers(t *testing.T) {
	name := testName(t)
	r := openReceiver(name, Options{AckDeadline: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a bound on a hang
	defer cancel()
	sendBody(t, name, "held")
	if msgs, err := r.ReceiveBatch(ctx, 1); err != nil || len(msgs) != 1 {
		t.Fatal(len(msgs), err)
	}
	for i := range 10_000 {
		sendBody(t, name, fmt.Sprint(i))
		msgs, err := r.ReceiveBatch(ctx, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatal(len(msgs), err)
		}
		if err := r.SendAcks(ctx, []driver.AckID{msgs[0].AckID}); err != nil {
			t.Fatal(err)
		}
	}
	r.sub.t.mu.Lock()
	n, holding, held := r.order.len(), r.holding, r.sub.held()
	r.sub.t.mu.Unlock()
	if holding != 1 || held != 1 || n > 256 {
		t.Fatalf("receiver holds %d (subscription %d) with %d deliveries recorded; want 1, 1, at most 256", holding, held, n)
	}
}
