package deadletter_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
)

var seq int

// memPair opens a mem:// topic and its subscription (in that order: mem:// drops what is sent
// before a subscription exists).
func memPair(t *testing.T) (*channel.Sender, *channel.Receiver, string) {
	t.Helper()
	seq++
	url := fmt.Sprintf("mem://deadletter-test-%d-%d", time.Now().UnixNano(), seq)
	s, err := channel.OpenSender(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := channel.OpenReceiver(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()); s.Shutdown(context.Background()) })
	return s, r, url
}

func event(id, typ, subject string) hookline.Event {
	return hookline.Event{ID: id, Source: "stripe", Type: typ, Subject: subject, Time: time.Unix(1700000000, 0),
		Data: []byte(`{"id":"` + subject + `"}`)}
}

// deadLettered publishes ev on s as the consumer dead-letters it: the encoded event with hookline's
// dead-letter metadata.
func deadLettered(t *testing.T, s *channel.Sender, ev hookline.Event, reason string) {
	t.Helper()
	body, err := channel.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]string{"ce_id": ev.ID, "ce_type": ev.Type, "ce_subject": ev.Subject,
		channel.MetaDeadLetterReason: reason, channel.MetaDeadLetterKind: "permanent",
		channel.MetaDeadLetterAttempts: "3", channel.MetaDeadLetterTime: "2026-11-29T10:00:00Z"}
	if err := s.SendMessage(t.Context(), &pubsub.Message{Body: body, Metadata: md}); err != nil {
		t.Fatal(err)
	}
}

var fast = &deadletter.Options{Wait: time.Second}

func ids(msgs []deadletter.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.EventID)
	}
	slices.Sort(out)
	return out
}

func TestListShowsWhatThereIsAndReturnsEverything(t *testing.T) {
	s, r, _ := memPair(t)
	deadLettered(t, s, event("evt_1", "customer.updated", "cus_1"), "sqlsink: data is not valid JSON")
	deadLettered(t, s, event("evt_2", "invoice.paid", "in_2"), "dataverse: 400 bad column")
	// A broker's native dead letter: the message as first sent, without hookline's reason.
	if err := s.Send(t.Context(), event("evt_3", "customer.created", "cus_3")); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the second listing sees the same: List returned every message
		msgs, err := deadletter.List(t.Context(), r, fast)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(msgs); !slices.Equal(got, []string{"evt_1", "evt_2", "evt_3"}) {
			t.Fatalf("round %d: listed %v", round, got)
		}
		for _, m := range msgs {
			switch m.EventID {
			case "evt_1":
				if m.Reason != "sqlsink: data is not valid JSON" || m.Attempts != "3" || m.Type != "customer.updated" ||
					m.Subject != "cus_1" || !m.When.Equal(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)) {
					t.Errorf("evt_1 = %+v", m)
				}
			case "evt_3":
				if m.Reason != "" || m.Type != "customer.created" || m.Subject != "cus_3" || !m.When.IsZero() {
					t.Errorf("native dead letter evt_3 = %+v", m)
				}
			}
		}
	}
}

func TestReplaySendsTheSelectedAndKeepsTheRest(t *testing.T) {
	s, r, _ := memPair(t)
	to, main, _ := memPair(t)
	deadLettered(t, s, event("evt_1", "customer.updated", "cus_1"), "boom")
	deadLettered(t, s, event("evt_2", "invoice.paid", "in_2"), "boom")
	deadLettered(t, s, event("evt_3", "customer.deleted", "cus_3"), "boom")
	res, err := deadletter.Replay(t.Context(), r, to, &deadletter.Options{Wait: time.Second, Types: []string{"customer.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received != 3 || res.Selected != 2 || res.Replayed != 2 || res.Failed != 0 {
		t.Fatalf("result %+v", res)
	}
	got, err := deadletter.List(t.Context(), main, fast)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"evt_1", "evt_3"}) {
		t.Fatalf("the main channel got %v", ids(got))
	}
	for _, m := range got {
		if m.Reason != "" || m.Metadata[channel.MetaDeadLetterKind] != "" {
			t.Errorf("replayed %s still carries dead-letter metadata %v", m.EventID, m.Metadata)
		}
		if ev, err := channel.Decode(m.Body); err != nil || ev.Subject != m.Subject {
			t.Errorf("replayed body of %s does not decode: %v", m.EventID, err)
		}
	}
	left, err := deadletter.List(t.Context(), r, fast)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(left), []string{"evt_2"}) {
		t.Fatalf("left on the dead-letter channel: %v", ids(left))
	}
}

// A replay whose target fails keeps the dead letter where it was.
func TestReplayToAFailingTargetKeepsTheDeadLetter(t *testing.T) {
	s, r, _ := memPair(t)
	deadLettered(t, s, event("evt_1", "customer.updated", "cus_1"), "boom")
	broken, _, _ := memPair(t)
	if err := broken.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := deadletter.Replay(t.Context(), r, broken, fast)
	if err == nil || res.Failed != 1 || res.Replayed != 0 {
		t.Fatalf("replay to a shut-down sender: %+v, %v", res, err)
	}
	left, err := deadletter.List(t.Context(), r, fast)
	if err != nil || !slices.Equal(ids(left), []string{"evt_1"}) {
		t.Fatalf("left: %v, %v", ids(left), err)
	}
}

func TestDryRunAndLimit(t *testing.T) {
	s, r, _ := memPair(t)
	to, main, _ := memPair(t)
	for i := range 5 {
		deadLettered(t, s, event(fmt.Sprintf("evt_%d", i), "customer.updated", fmt.Sprintf("cus_%d", i)), "boom")
	}
	res, err := deadletter.Replay(t.Context(), r, to, &deadletter.Options{Wait: time.Second, DryRun: true})
	if err != nil || res.Selected != 5 || res.Replayed != 0 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	res, err = deadletter.Replay(t.Context(), r, to, &deadletter.Options{Wait: time.Second, Limit: 2})
	if err != nil || res.Received != 2 || res.Replayed != 2 {
		t.Fatalf("limit 2: %+v, %v", res, err)
	}
	got, _ := deadletter.List(t.Context(), main, fast)
	left, _ := deadletter.List(t.Context(), r, fast)
	if len(got) != 2 || len(left) != 3 {
		t.Fatalf("main has %v, dead letters %v", ids(got), ids(left))
	}
}

func TestDiscardRemovesTheSelectedAndKeepsTheRest(t *testing.T) {
	s, r, _ := memPair(t)
	deadLettered(t, s, event("evt_1", "customer.updated", "cus_1"), "boom")
	deadLettered(t, s, event("evt_2", "invoice.paid", "in_2"), "boom")
	deadLettered(t, s, event("evt_3", "customer.deleted", "cus_3"), "boom")
	res, err := deadletter.Discard(t.Context(), r, &deadletter.Options{Wait: time.Second, IDs: []string{"evt_1", "evt_2"}, DryRun: true})
	if err != nil || res.Received != 3 || res.Selected != 2 || res.Discarded != 0 || res.Replayed != 0 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	res, err = deadletter.Discard(t.Context(), r, &deadletter.Options{Wait: time.Second, IDs: []string{"evt_1", "evt_2"}})
	if err != nil || res.Received != 3 || res.Selected != 2 || res.Discarded != 2 || res.Replayed != 0 || res.Failed != 0 {
		t.Fatalf("discard: %+v, %v", res, err)
	}
	left, err := deadletter.List(t.Context(), r, fast)
	if err != nil || !slices.Equal(ids(left), []string{"evt_3"}) {
		t.Fatalf("left: %v, %v", ids(left), err)
	}
	res, err = deadletter.Discard(t.Context(), r, &deadletter.Options{Wait: time.Second, Types: []string{"customer.*"}})
	if err != nil || res.Discarded != 1 {
		t.Fatalf("discard by type: %+v, %v", res, err)
	}
	if left, err := deadletter.List(t.Context(), r, fast); err != nil || len(left) != 0 {
		t.Fatalf("left after discarding all: %v, %v", ids(left), err)
	}
}

// recording is an emitter.Sender that keeps what it was sent, failing for the ids in fail.
type recording struct {
	got  []hookline.Event
	fail string
}

func (r *recording) Send(_ context.Context, ev hookline.Event) error {
	if ev.ID == r.fail {
		return fmt.Errorf("refused %s", ev.ID)
	}
	r.got = append(r.got, ev.Clone())
	return nil
}

func TestReplayToSendsTheDecodedEvents(t *testing.T) {
	s, r, _ := memPair(t)
	deadLettered(t, s, event("evt_1", "customer.updated", "cus_1"), "boom")
	deadLettered(t, s, event("evt_2", "invoice.paid", "in_2"), "boom")
	if err := s.SendMessage(t.Context(), &pubsub.Message{Body: []byte("not an event"), Metadata: map[string]string{"ce_id": "evt_bad"}}); err != nil {
		t.Fatal(err)
	}
	to := &recording{fail: "evt_2"}
	res, err := deadletter.ReplayTo(t.Context(), r, to, fast)
	if err == nil || res.Received != 3 || res.Selected != 3 || res.Replayed != 1 || res.Failed != 2 {
		t.Fatalf("ReplayTo: %+v, %v", res, err)
	}
	if len(to.got) != 1 || to.got[0].ID != "evt_1" || to.got[0].Subject != "cus_1" || string(to.got[0].Data) != `{"id":"cus_1"}` {
		t.Fatalf("sent %+v", to.got)
	}
	left, err := deadletter.List(t.Context(), r, fast)
	if err != nil || !slices.Equal(ids(left), []string{"evt_2", "evt_bad"}) {
		t.Fatalf("left: %v, %v", ids(left), err)
	}
}
