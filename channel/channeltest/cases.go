package channeltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

// roundTripEvents returns events that exercise every field of the wire format.
func (h *Harness) roundTripEvents(t *testing.T) []hookline.Event {
	full := newEvent(t)
	full.Time = time.Date(2024, 2, 29, 23, 59, 59, 987654321, time.UTC)
	full.Data = []byte(`{"id":"cus_1","name":"Zoë Ñúñez 日本 ✓","note":"quote \" backslash \\ tab \t","n":[1,2.5,null,true]}`)
	full.Metadata = map[string]string{
		"livemode": "false", "apiversion": "2023-10-16", "account": "acct_ünïcødé_日本",
		"note": "line1\nline2 \"quoted\" \\ \x01 end", "empty": "",
	}
	binary := newEvent(t)
	binary.Subject = ""
	binary.Data = make([]byte, 512)
	for i := range binary.Data {
		binary.Data[i] = byte(i) // every byte value, invalid UTF-8 included
	}
	empty := newEvent(t)
	empty.Data = []byte{}
	none := newEvent(t)
	none.Data = nil
	none.Time = time.Time{}
	large := newEvent(t)
	pad := strings.Repeat("abcdefghij", (h.LargeData-64)/10)
	large.Data = []byte(`{"id":"cus_large","pad":"` + pad + `"}`)
	return []hookline.Event{full, binary, empty, none, large}
}

func testRoundTrip(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	want := map[string]hookline.Event{}
	for _, ev := range h.roundTripEvents(t) {
		want[ev.ID] = ev
		send(t, s, ev)
	}
	for len(want) > 0 {
		m, got := h.receive(t, r)
		ev, ok := want[got.ID]
		if !ok {
			t.Fatalf("%s: unexpected or repeated event %q", h.Name, got.ID)
		}
		delete(want, got.ID)
		compareEvents(t, h.Name, ev, got)
		if m.Metadata["ce_id"] != ev.ID || m.Metadata["ce_type"] != ev.Type {
			t.Errorf("%s: message metadata %v lacks ce_id %q / ce_type %q", h.Name, m.Metadata, ev.ID, ev.Type)
		}
		if !strings.HasPrefix(m.Metadata["content-type"], "application/cloudevents+json") {
			t.Errorf("%s: message content-type = %q", h.Name, m.Metadata["content-type"])
		}
		m.Ack()
	}
}

func compareEvents(t *testing.T, name string, want, got hookline.Event) {
	t.Helper()
	if got.Source != want.Source || got.Type != want.Type || got.Subject != want.Subject {
		t.Errorf("%s: %s: got source/type/subject %q/%q/%q, want %q/%q/%q", name, want.ID,
			got.Source, got.Type, got.Subject, want.Source, want.Type, want.Subject)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("%s: %s: time %v, want %v", name, want.ID, got.Time, want.Time)
	}
	if !bytes.Equal(got.Data, want.Data) || (want.Data == nil) != (got.Data == nil) {
		t.Errorf("%s: %s: data differs (got %d bytes, nil=%t; want %d bytes, nil=%t)", name, want.ID,
			len(got.Data), got.Data == nil, len(want.Data), want.Data == nil)
	}
	if len(want.Metadata) != len(got.Metadata) || !maps.Equal(want.Metadata, got.Metadata) {
		t.Errorf("%s: %s: metadata %q, want %q", name, want.ID, got.Metadata, want.Metadata)
	}
}

func testAckRemoves(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	first := newEvent(t)
	send(t, s, first)
	h.receiveID(t, r, first.ID, "").Ack()
	if h.Reopen != nil {
		shutdown(t, r) // flushes the ack
		r = h.Reopen(t, r)
	}
	marker := newEvent(t)
	send(t, s, marker)
	h.receiveID(t, r, marker.ID, first.ID).Ack()
	if h.AckDeadline > 0 {
		h.expectNothing(t, r, 2*h.AckDeadline+time.Second)
	}
}

func testNackRedelivers(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	ev := newEvent(t)
	send(t, s, ev)
	m := h.receiveID(t, r, ev.ID, "")
	if !m.Nackable() {
		t.Fatalf("%s: Harness.CanNack is set but the message is not Nackable", h.Name)
	}
	m.Nack()
	h.receiveID(t, r, ev.ID, "").Ack()
}

func testUnackedAfterDeadline(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	ev := newEvent(t)
	send(t, s, ev)
	h.receiveID(t, r, ev.ID, "") // neither acked nor nacked
	h.receiveID(t, r, ev.ID, "").Ack()
}

func testUnackedAfterReopen(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	ev := newEvent(t)
	send(t, s, ev)
	h.receiveID(t, r, ev.ID, "") // neither acked nor nacked
	shutdown(t, r)
	r = h.Reopen(t, r)
	h.receiveID(t, r, ev.ID, "").Ack()
}

func testDeliveryCount(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	ev := newEvent(t)
	send(t, s, ev)
	for want := 1; ; want++ {
		m := h.receiveID(t, r, ev.ID, "")
		n, ok := channel.DeliveryCount(m)
		if !ok || n != want {
			t.Fatalf("%s: DeliveryCount = %d, %t on delivery %d; want %d, true", h.Name, n, ok, want, want)
		}
		if want == 3 {
			m.Ack()
			return
		}
		r = h.giveBack(t, r, m)
	}
}

func testDeadLetter(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	dls, dlr := h.Open(t)
	var calls atomic.Int64
	failing := func(ctx context.Context, ev hookline.Event) error {
		calls.Add(1)
		return errors.New("channeltest: transient failure")
	}
	const maxDeliveries = 2
	c, err := channel.NewConsumer(r, failing, &channel.ConsumerOptions{
		MaxAttempts: 1, MaxDeliveries: maxDeliveries, DeadLetter: dls,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, DrainTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("%s: consumer Run: %v", h.Name, err)
		}
	}()
	ev := newEvent(t)
	send(t, s, ev)
	m := h.receiveID(t, dlr, ev.ID, "")
	m.Ack()
	if got := m.Metadata[channel.MetaDeadLetterKind]; got != "max-deliveries" {
		t.Errorf("%s: dead-letter kind %q, want max-deliveries (metadata %v)", h.Name, got, m.Metadata)
	}
	if got := m.Metadata[channel.MetaDeadLetterDelivery]; got != "3" {
		t.Errorf("%s: dead-letter delivery %q, want 3", h.Name, got)
	}
	if n := calls.Load(); n != maxDeliveries {
		t.Errorf("%s: handler called %d times, want %d (once per delivery up to MaxDeliveries)", h.Name, n, maxDeliveries)
	}
}

func testClosedSender(t *testing.T, h *Harness) {
	s, _ := h.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("%s: sender shutdown: %v", h.Name, err)
	}
	err := s.Send(ctx, newEvent(t))
	checkClear(t, h.Name+": send after shutdown", err, "channel:", "shut")
}

func testClosedReceiver(t *testing.T, h *Harness) {
	_, r := h.Open(t)
	shutdown(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Receive(ctx)
	checkClear(t, h.Name+": receive after shutdown", err, "channel:", "shut")
}

func missingName() string {
	return fmt.Sprintf("hookline-missing-%d-%d", time.Now().UnixNano(), seq.Add(1))
}

func testMissingTopic(t *testing.T, h *Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
	defer cancel()
	name := missingName()
	checkClear(t, h.Name+": send to a missing topic", h.MissingTopic(ctx, name), name)
}

func testMissingSubscription(t *testing.T, h *Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
	defer cancel()
	name := missingName()
	checkClear(t, h.Name+": receive from a missing subscription", h.MissingSubscription(ctx, name), name)
}

// testCancel checks that Receive and Send give up promptly when their context ends, and that the
// receiver still works afterwards.
func testCancel(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := r.Receive(ctx)
		result <- err
	}()
	time.Sleep(100 * time.Millisecond) // let Receive start waiting; the check holds either way
	start := time.Now()
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Receive after cancel returned %v, want context.Canceled", h.Name, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Receive still waiting 5s after its context was canceled", h.Name)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%s: Receive took %v to notice cancellation", h.Name, d)
	}
	if err := s.Send(ctx, newEvent(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("%s: Send with a canceled context returned %v, want context.Canceled", h.Name, err)
	}
	ev := newEvent(t)
	send(t, s, ev)
	h.receiveID(t, r, ev.ID, "").Ack()
}

// testBatchConsumer runs a batch consumer on 30 events sent before it starts: each is handed to
// the handler once, in batches of at most 8 that hold more than one event, the one event that
// fails once is tried again in the same delivery, and every message is acknowledged once.
func testBatchConsumer(t *testing.T, h *Harness) {
	s, r := h.Open(t)
	const n = 30
	sent := make(map[string]bool, n)
	for range n {
		ev := newEvent(t)
		send(t, s, ev)
		sent[ev.ID] = true
	}
	flaky := ""
	for id := range sent {
		flaky = id
		break
	}
	var (
		mu       sync.Mutex
		handled  = map[string]int{}
		largest  int
		failedAt atomic.Bool
	)
	c, err := channel.NewBatchConsumer(r, func(ctx context.Context, batch []channel.Delivered) []channel.BatchResult {
		out := make([]channel.BatchResult, len(batch))
		mu.Lock()
		defer mu.Unlock()
		largest = max(largest, len(batch))
		for i, d := range batch {
			if d.Context == nil {
				out[i].Err = errors.New("no context for the event")
				continue
			}
			if d.Event.ID == flaky && failedAt.CompareAndSwap(false, true) {
				out[i].Err = hookline.Errorf(hookline.Transient, "first write fails")
				continue
			}
			handled[d.Event.ID]++
		}
		return out
	}, &channel.ConsumerOptions{MaxBatch: 8, BatchWait: 200 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(h.Wait)
	for c.Stats().Acked < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("%s: Run: %v", h.Name, err)
	}
	shutdown(t, r)
	mu.Lock()
	defer mu.Unlock()
	if st := c.Stats(); st.Acked != n || st.Received != n || st.Nacked != 0 || st.Retries != 1 {
		t.Errorf("%s: batch consumer stats %+v, want %d received and acknowledged once, one retry", h.Name, st, n)
	}
	for id := range sent {
		if handled[id] != 1 {
			t.Errorf("%s: event %s handled %d times, want once", h.Name, id, handled[id])
		}
	}
	if largest < 2 || largest > 8 {
		t.Errorf("%s: largest batch %d events, want 2 to 8 from a backlog of %d", h.Name, largest, n)
	}
}
