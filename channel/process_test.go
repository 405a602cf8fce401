package channel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

func encoded(t *testing.T, i int) []byte {
	b, err := Encode(testEvent(i))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcessorOutcomes(t *testing.T) {
	ctx := context.Background()
	dl, nextDead := deadLetters(t)
	calls := 0
	var fail error
	p, err := NewProcessor(func(ctx context.Context, ev hookline.Event) error { calls++; return fail }, &ProcessorOptions{
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, DeadLetter: dl, MaxDeliveries: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]string{"ce_id": "evt_1"}

	if err := p.Process(ctx, encoded(t, 1), md, 1); err != nil || calls != 1 {
		t.Fatalf("success: err = %v, calls = %d", err, calls)
	}

	calls, fail = 0, errors.New("sink briefly down")
	if err := p.Process(ctx, encoded(t, 1), md, 1); err == nil || calls != 3 || !strings.Contains(err.Error(), "deliver again") {
		t.Fatalf("transient: err = %v, calls = %d; want an error after 3 attempts", err, calls)
	}

	calls, fail = 0, hookline.Errorf(hookline.Permanent, "sink: email is invalid")
	if err := p.Process(ctx, encoded(t, 1), md, 2); err != nil || calls != 1 {
		t.Fatalf("permanent: err = %v, calls = %d; want done after dead-lettering", err, calls)
	}
	if m := nextDead(); m.Metadata[MetaDeadLetterKind] != "permanent" || m.Metadata[MetaDeadLetterDelivery] != "2" ||
		m.Metadata[MetaDeadLetterReason] != "sink: email is invalid" || m.Metadata["ce_id"] != "evt_1" {
		t.Errorf("dead letter metadata = %v", m.Metadata)
	}

	calls = 0
	if err := p.Process(ctx, []byte("garbage"), nil, 1); err != nil || calls != 0 {
		t.Fatalf("undecodable: err = %v, calls = %d", err, calls)
	}
	if m := nextDead(); m.Metadata[MetaDeadLetterKind] != "undecodable" || string(m.Body) != "garbage" {
		t.Errorf("dead letter = %q %v", m.Body, m.Metadata)
	}

	if err := p.Process(ctx, encoded(t, 1), md, 6); err != nil || calls != 0 {
		t.Fatalf("past MaxDeliveries: err = %v, calls = %d", err, calls)
	}
	if m := nextDead(); m.Metadata[MetaDeadLetterKind] != "max-deliveries" {
		t.Errorf("dead letter metadata = %v", m.Metadata)
	}
	if st := p.Stats(); st.DeadLettered != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestProcessorWithoutDeadLetterReturnsFailures(t *testing.T) {
	p, _ := NewProcessor(func(context.Context, hookline.Event) error {
		return hookline.MarkPermanent(errors.New("bad"))
	}, nil)
	if err := p.Process(context.Background(), encoded(t, 1), nil, 1); err == nil {
		t.Fatal("a permanent failure without a dead-letter channel was reported done")
	}
}
