package channel

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

// TestOnSettled checks what ConsumerOptions.OnSettled is told for each way a delivery ends: the
// outcome, the attempts with their errors, and the dead-letter reason.
func TestOnSettled(t *testing.T) {
	dest := fmt.Sprintf("inproc://settled-%d", topicSeq.Add(1))
	s, err := OpenSender(context.Background(), dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReceiver(context.Background(), dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := OpenSender(context.Background(), dest+"-dl", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
		dl.Shutdown(ctx)
	})
	var flaky atomic.Int32
	var mu sync.Mutex
	got := map[string]Settled{}
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		switch ev.ID {
		case "evt_ignored":
			ReportIgnored(ctx)
		case "evt_flaky":
			if flaky.Add(1) == 1 {
				return hookline.Errorf(hookline.Transient, "first call fails")
			}
		case "evt_bad":
			return hookline.Errorf(hookline.Permanent, "column new_x does not exist")
		}
		return nil
	}, &ConsumerOptions{DeadLetter: dl, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		OnSettled: func(_ context.Context, st Settled) {
			mu.Lock()
			got[st.Event.ID] = st
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	for _, id := range []string{"evt_stored", "evt_ignored", "evt_flaky", "evt_bad"} {
		if err := s.Send(context.Background(), hookline.Event{ID: id, Source: "stripe", Type: "customer.updated", Subject: "cus_1", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "four settled messages", func() bool { return c.Stats().Acked == 4 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	check := func(id, outcome string, attempts int) Settled {
		st := got[id]
		if st.Outcome != outcome || len(st.Attempts) != attempts || st.Delivery != 1 || st.Event.Subject != "cus_1" || st.At.IsZero() {
			t.Errorf("%s settled as %+v, want outcome %s after %d attempts on delivery 1", id, st, outcome, attempts)
		}
		return st
	}
	check("evt_stored", OutcomeStored, 1)
	check("evt_ignored", OutcomeIgnored, 1)
	if st := check("evt_flaky", OutcomeStored, 2); len(st.Attempts) == 2 &&
		(st.Attempts[0].Err == nil || st.Attempts[0].Err.Error() != "first call fails" || st.Attempts[1].Err != nil) {
		t.Errorf("evt_flaky attempts = %v, want the first failed and the second succeeded", st.Attempts)
	}
	if st := check("evt_bad", OutcomeDeadLettered, 1); st.Kind != "permanent" || st.Reason != "column new_x does not exist" {
		t.Errorf("evt_bad: kind %q, reason %q", st.Kind, st.Reason)
	}
}
