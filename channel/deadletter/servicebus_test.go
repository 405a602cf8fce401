package deadletter_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/hookline/hookline/channel/azureservicebus" // azuresbqueue://
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

// sbLock is the lock duration of the test queues. Each step of a test must end within it (see
// sqsVisibility: the same holds for locks).
const sbLock = 10 * time.Second

var sbSeq atomic.Int64

// sbQueue creates a queue named hookline-deadletter-<role>-<pid>-<n> in the double, deleted
// when t ends, and returns its name.
func sbQueue(t *testing.T, d *sbdouble.Double, role string, opts *sbdouble.EntityOptions) string {
	t.Helper()
	name := fmt.Sprintf("hookline-deadletter-%s-%d-%d", role, os.Getpid(), sbSeq.Add(1))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.CreateQueue(ctx, name, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Delete(context.Background(), name) })
	return name
}

// TestServiceBus: hookline's dead letters from a consumer, and Service Bus's own in the main
// queue's dead-letter subqueue (MaxDeliveryCount 2: the consumer's transient failures abandon a
// message until the broker moves it), listed and replayed through azuresbqueue:// on the Service
// Bus double.
func TestServiceBus(t *testing.T) {
	t.Parallel()
	d := sbdouble.Shared(t, nil)

	main := sbQueue(t, d, "main", &sbdouble.EntityOptions{LockDuration: sbLock, MaxDeliveryCount: 2})
	dl := sbQueue(t, d, "dl", &sbdouble.EntityOptions{LockDuration: sbLock})
	exerciseBroker(t, brokerSetup{
		main:       openSenderURL(t, "azuresbqueue://"+main),
		openMain:   openReceiverURL(t, "azuresbqueue://"+main),
		dl:         openSenderURL(t, "azuresbqueue://"+dl),
		openDL:     openReceiverURL(t, "azuresbqueue://"+dl),
		openNative: openReceiverURL(t, "azuresbqueue://"+main+"?subqueue=deadletter"),
		nativeCount: func() int {
			msgs, err := d.Messages(t.Context(), main+"/$DeadLetterQueue")
			if err != nil {
				t.Errorf("dead-letter queue of %s: %v", main, err)
			}
			return len(msgs)
		},
		wait: time.Second,
	})
	if msgs, err := d.Messages(t.Context(), main); err != nil || len(msgs) != 0 {
		t.Errorf("left in the main queue: %+v, %v", msgs, err)
	}
}

// TestServiceBusNativeDeadLetterShowsNoReason: what Service Bus says about a message it
// dead-lettered (DeadLetterReason) is in the metadata, not in Message.Reason, which is
// hookline's, and a replay leaves it behind.
func TestServiceBusNativeDeadLetterShowsNoReason(t *testing.T) {
	t.Parallel()
	d := sbdouble.Shared(t, nil)
	main := sbQueue(t, d, "main", &sbdouble.EntityOptions{LockDuration: sbLock, MaxDeliveryCount: 1})
	s := openSenderURL(t, "azuresbqueue://"+main)
	ev := nativeEvents[0]
	if err := s.Send(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	r := openReceiverURL(t, "azuresbqueue://"+main)()
	m, err := r.Receive(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m.Nack() // abandon: the first delivery reaches MaxDeliveryCount 1
	from := openReceiverURL(t, "azuresbqueue://"+main+"?subqueue=deadletter")()
	var msgs []deadletter.Message
	for deadline := time.Now().Add(10 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); {
		if msgs, err = deadletter.List(t.Context(), from, fast); err != nil {
			t.Fatal(err)
		}
	}
	if len(msgs) != 1 || msgs[0].EventID != ev.ID {
		t.Fatalf("listed %v", ids(msgs))
	}
	if got := msgs[0]; got.Reason != "" || got.Metadata["DeadLetterReason"] != "MaxDeliveryCountExceeded" {
		t.Errorf("native dead letter: reason %q, metadata %v", got.Reason, got.Metadata)
	}
	res, err := deadletter.Replay(t.Context(), from, s, fast)
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	checkReplayed(t, r, time.Second, []string{ev.ID})
}

// TestServiceBusReplayToAFailingTarget replays to a queue deleted meanwhile: every send fails,
// and the dead letters stay in hookline's dead-letter queue, abandoned back at once.
func TestServiceBusReplayToAFailingTarget(t *testing.T) {
	t.Parallel()
	d := sbdouble.Shared(t, nil)
	dl := sbQueue(t, d, "dl", &sbdouble.EntityOptions{LockDuration: sbLock})
	gone := sbQueue(t, d, "gone", nil)
	s := openSenderURL(t, "azuresbqueue://"+dl)
	for _, ev := range permEvents[:2] {
		deadLettered(t, s, ev, "sink: refused")
	}
	to := openSenderURL(t, "azuresbqueue://"+gone)
	if err := d.Delete(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	from := openReceiverURL(t, "azuresbqueue://"+dl)()
	res, err := deadletter.Replay(t.Context(), from, to, fast)
	if err == nil || !strings.HasPrefix(err.Error(), "deadletter: replay "+permPrefix) || res != (deadletter.Result{Received: 2, Selected: 2, Failed: 2}) {
		t.Fatalf("replay to a deleted queue: %+v, %v", res, err)
	}
	t.Logf("replay error: %v", err)
	listIDs(t, from, fast, permPrefix+"1", permPrefix+"2")
}
