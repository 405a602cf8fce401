package azureservicebus_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/azureservicebus"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

var seq atomic.Int64

func queueName() string { return fmt.Sprintf("hookline-sb-%d-%d", time.Now().UnixNano(), seq.Add(1)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestQueueURLParameters(t *testing.T) {
	o := &azureservicebus.QueueURLOpener{ConnectionString: "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=s3cret;UseDevelopmentEmulator=true"}
	ctx := context.Background()
	for _, tc := range []struct{ url, want string }{
		{"azuresbqueue://q?color=blue", `invalid query parameter "color"`},
		{"azuresbqueue://q?listener_timeout=soon", "invalid listener_timeout"},
		{"azuresbqueue://q?max_recv_batch_size=0", "invalid max_recv_batch_size"},
		{"azuresbqueue://q?subqueue=transfer", "invalid subqueue"},
		{"azuresbqueue://", "no queue name"},
	} {
		u, _ := url.Parse(tc.url)
		_, err := o.OpenSubscriptionURL(ctx, u)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.url, err, tc.want)
		}
	}
	u, _ := url.Parse("azuresbqueue://q?subqueue=deadletter")
	if _, err := o.OpenTopicURL(ctx, u); err == nil || !strings.Contains(err.Error(), `invalid query parameter "subqueue"`) {
		t.Errorf("send URL with subqueue: %v", err)
	}
	good, _ := url.Parse("azuresbqueue://q?listener_timeout=500ms&max_recv_batch_size=10&subqueue=deadletter")
	s, err := o.OpenSubscriptionURL(ctx, good)
	if err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	s.Shutdown(ctx)
}

func TestMissingEnvironment(t *testing.T) {
	t.Setenv("SERVICEBUS_CONNECTION_STRING", "")
	t.Setenv("AZURE_SERVICEBUS_HOSTNAME", "")
	_, err := channel.OpenReceiver(context.Background(), "azuresbqueue://q", nil)
	if err == nil || !strings.Contains(err.Error(), "SERVICEBUS_CONNECTION_STRING") {
		t.Errorf("err = %v", err)
	}
}

func event(n int64) hookline.Event {
	return hookline.Event{
		ID: fmt.Sprintf("evt_sb_%d", n), Source: "stripe", Type: "customer.updated",
		Subject: fmt.Sprintf("cus_%d", n), Time: time.Unix(1700000000, 0).UTC(), Data: []byte(`{"id":"cus"}`),
	}
}

// received returns the next message on the receiver and its Service Bus form.
func received(t *testing.T, r *channel.Receiver) (*pubsub.Message, *azservicebus.ReceivedMessage) {
	t.Helper()
	m, err := r.Receive(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var rm *azservicebus.ReceivedMessage
	if !m.As(&rm) {
		t.Fatal("message does not expose *azservicebus.ReceivedMessage")
	}
	return m, rm
}

func open(t *testing.T, sendURL, receiveURL string, opts *channel.SenderOptions) (*channel.Sender, *channel.Receiver) {
	t.Helper()
	ctx := context.Background()
	s, err := channel.OpenSender(ctx, sendURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := channel.OpenReceiver(ctx, receiveURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
	})
	return s, r
}

// TestFeaturesSetMessageIDAndSessionID checks that Deduplicate and OrderBySubject reach the
// broker: the double drops the second send of an event (duplicate detection on MessageID) and
// keeps the subject as session id.
func TestFeaturesSetMessageIDAndSessionID(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	ctx := testCtx(t)
	q := queueName()
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{DuplicateDetection: time.Minute}); err != nil {
		t.Fatal(err)
	}
	s, r := open(t, "azuresbqueue://"+q, "azuresbqueue://"+q, &channel.SenderOptions{Deduplicate: true, OrderBySubject: true})
	ev := event(seq.Add(1))
	for range 2 {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	held, err := d.Messages(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].MessageID != ev.ID || held[0].SessionID != ev.Subject {
		t.Fatalf("queue holds %+v, want one message with id %s and session %s", held, ev.ID, ev.Subject)
	}
	m, rm := received(t, r)
	m.Ack()
	if rm.MessageID != ev.ID || m.LoggableID != ev.ID || rm.SessionID == nil || *rm.SessionID != ev.Subject {
		t.Errorf("received message id %q (loggable %q), session %v", rm.MessageID, m.LoggableID, rm.SessionID)
	}
}

func TestWithoutOptionsTheBrokerChoosesTheMessageID(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	ctx := testCtx(t)
	q := queueName()
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	s, r := open(t, "azuresb://"+q, "azuresbqueue://"+q, nil)
	ev := event(seq.Add(1))
	if err := s.Send(ctx, ev); err != nil {
		t.Fatal(err)
	}
	m, rm := received(t, r)
	m.Ack()
	if rm.MessageID == ev.ID || rm.SessionID != nil {
		t.Errorf("message id %q, session %v: set without being asked for", rm.MessageID, rm.SessionID)
	}
}

// TestDeliveryCountAndBrokerDeadLetterQueue nacks a message until Service Bus dead-letters it,
// then receives it from the dead-letter subqueue URL.
func TestDeliveryCountAndBrokerDeadLetterQueue(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	ctx := testCtx(t)
	q := queueName()
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{MaxDeliveryCount: 2}); err != nil {
		t.Fatal(err)
	}
	s, r := open(t, "azuresbqueue://"+q, "azuresbqueue://"+q, nil)
	if err := s.Send(ctx, event(seq.Add(1))); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		m, _ := received(t, r)
		if n, ok := channel.DeliveryCount(m); !ok || n != want {
			t.Fatalf("DeliveryCount = %d, %t; want %d", n, ok, want)
		}
		m.Nack()
	}
	dlq, err := channel.OpenReceiver(ctx, "azuresbqueue://"+q+"?subqueue=deadletter", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Shutdown(context.Background())
	m, rm := received(t, dlq)
	m.Ack()
	if rm.DeadLetterReason == nil || *rm.DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Errorf("dead-letter reason %v", rm.DeadLetterReason)
	}
}
