package deadletter_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/rabbitpubsub"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter" // rabbitmq:// and rabbit://
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
)

// rabbitChannel opens an AMQP channel of its own, closed when t ends.
func rabbitChannel(t *testing.T, srv string) *amqp.Channel {
	t.Helper()
	conn, err := rabbitsetup.Dial(t.Context(), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// rabbitCount returns a function that counts the ready messages in queue.
func rabbitCount(t *testing.T, srv, queue string) func() int {
	ch := rabbitChannel(t, srv)
	return func() int {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Errorf("count %s: %v", queue, err)
			return -1
		}
		return q.Messages
	}
}

// rabbitBroker declares the main channel (a quorum queue whose broker-side delivery limit
// dead-letters to a native dead-letter exchange and queue) and hookline's dead-letter channel.
func rabbitBroker(t *testing.T, scheme string) brokerSetup {
	srv := rabbittest.Server(t)
	native := rabbittest.Declare(t, srv, "hookline-deadletter-native", rabbitsetup.Options{})
	main := rabbittest.Declare(t, srv, "hookline-deadletter-main", rabbitsetup.Options{DeadLetterExchange: native, DeliveryLimit: 1})
	dl := rabbittest.Declare(t, srv, "hookline-deadletter-dl", rabbitsetup.Options{})
	b := brokerSetup{
		main:        openSenderURL(t, scheme+"://"+main),
		openMain:    openReceiverURL(t, scheme+"://"+main),
		dl:          openSenderURL(t, scheme+"://"+dl),
		openDL:      openReceiverURL(t, scheme+"://"+dl),
		openNative:  openReceiverURL(t, scheme+"://"+native),
		nativeCount: rabbitCount(t, srv, native),
		wait:        time.Second,
	}
	if scheme == "rabbit" {
		b.openMain, b.afterProduce = ownConnections(t, srv, main)
	}
	return b
}

// ownConnections opens each receiver on queue through gocloud's rabbitpubsub on an AMQP
// connection of its own, and returns, besides that opener, a function that closes the
// connections opened so far. gocloud's rabbit:// subscription does nothing when it is shut down:
// an AMQP consumer whose ReceiveBatch was not running at that moment stays registered, and
// RabbitMQ goes on delivering the queue's new messages to it, where nothing reads them. The
// consumer that produced the dead letters would then take the replayed messages from the
// receiver that checks them (this failed CI now and then). Closing its connection, as the end
// of its process would, cancels it and returns what it held.
func ownConnections(t *testing.T, srv, queue string) (open func() *channel.Receiver, closeOpened func()) {
	var conns []*amqp.Connection
	open = func() *channel.Receiver {
		t.Helper()
		conn, err := rabbitsetup.Dial(t.Context(), srv)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		r := channel.NewReceiver(rabbitpubsub.OpenSubscription(conn, queue, nil))
		t.Cleanup(func() { shutdown(r); conn.Close() })
		return r
	}
	closeOpened = func() {
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	return open, closeOpened
}

// TestRabbitMQ: hookline's dead letters from a consumer, and the broker's own after the quorum
// queue's delivery limit (x-delivery-limit with x-dead-letter-exchange), listed and replayed
// through hookline's rabbitmq:// driver.
func TestRabbitMQ(t *testing.T) {
	exerciseBroker(t, rabbitBroker(t, "rabbitmq"))
}

// TestRabbit is TestRabbitMQ through gocloud's rabbit:// driver.
func TestRabbit(t *testing.T) {
	exerciseBroker(t, rabbitBroker(t, "rabbit"))
}

// TestRabbitMQRejectedAndExpired: the other two ways RabbitMQ dead-letters a message, a reject
// without requeue and an expired TTL. The native dead letters carry RabbitMQ's x-death headers,
// which a replay does not take to the main channel.
func TestRabbitMQRejectedAndExpired(t *testing.T) {
	srv := rabbittest.Server(t)
	native := rabbittest.Declare(t, srv, "hookline-deadletter-native", rabbitsetup.Options{})
	main := rabbittest.Declare(t, srv, "hookline-deadletter-main", rabbitsetup.Options{DeadLetterExchange: native})
	send := openSenderURL(t, "rabbitmq://"+main)
	rejected, expired := rejectedEvent, expiredEvent
	if err := send.Send(t.Context(), rejected); err != nil {
		t.Fatal(err)
	}
	ch := rabbitChannel(t, srv)
	d, ok, err := ch.Get(main, false)
	if err != nil || !ok || d.MessageId != rejected.ID {
		t.Fatalf("basic.get: %v %t %v", d.MessageId, ok, err)
	}
	if err := d.Reject(false); err != nil {
		t.Fatal(err)
	}
	body, err := channel.Encode(expired)
	if err != nil {
		t.Fatal(err)
	}
	ttl := func(as func(any) bool) error {
		var p *amqp.Publishing
		if !as(&p) {
			return fmt.Errorf("not an AMQP publishing")
		}
		p.Expiration = "1" // ms
		return nil
	}
	md := map[string]string{"ce_id": expired.ID, "ce_type": expired.Type, "ce_subject": expired.Subject}
	if err := send.SendMessage(t.Context(), &pubsub.Message{Body: body, Metadata: md, BeforeSend: ttl}); err != nil {
		t.Fatal(err)
	}
	count := rabbitCount(t, srv, native)
	for deadline := time.Now().Add(10 * time.Second); count() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the native dead-letter queue holds %d messages, want 2", count())
		}
	}

	from := openReceiverURL(t, "rabbitmq://"+native)()
	msgs, err := deadletter.List(t.Context(), from, fast)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(msgs); len(got) != 2 || got[0] != expired.ID || got[1] != rejected.ID {
		t.Fatalf("listed %v", got)
	}
	for _, m := range msgs {
		want := map[string]string{rejected.ID: "rejected", expired.ID: "expired"}[m.EventID]
		if m.Metadata["x-first-death-reason"] != want || !strings.Contains(m.Metadata["x-death"], want) {
			t.Errorf("%s: RabbitMQ's dead-letter headers %v, want reason %s", m.EventID, m.Metadata, want)
		}
		if m.Reason != "" || m.Type == "" || m.Subject == "" {
			t.Errorf("%s: %+v", m.EventID, m)
		}
	}
	res, err := deadletter.Replay(t.Context(), from, send, fast)
	if err != nil || res.Replayed != 2 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	checkReplayed(t, openReceiverURL(t, "rabbitmq://"+main)(), time.Second, []string{expired.ID, rejected.ID})
	if n := count(); n != 0 {
		t.Errorf("%d messages left on the native dead-letter queue", n)
	}
}

// TestRabbitMQReplayToAFailingTarget replays to an exchange that routes nowhere: RabbitMQ
// refuses each publish (NO_ROUTE), and every dead letter stays where it was.
func TestRabbitMQReplayToAFailingTarget(t *testing.T) {
	srv := rabbittest.Server(t)
	dl := rabbittest.Declare(t, srv, "hookline-deadletter-dl", rabbitsetup.Options{})
	nowhere := rabbittest.Declare(t, srv, "hookline-deadletter-nowhere", rabbitsetup.Options{})
	ch := rabbitChannel(t, srv)
	if err := ch.QueueUnbind(nowhere, "", nowhere, nil); err != nil {
		t.Fatal(err)
	}
	s := openSenderURL(t, "rabbitmq://"+dl)
	for _, ev := range permEvents {
		deadLettered(t, s, ev, "sink: refused")
	}
	from := openReceiverURL(t, "rabbitmq://"+dl)()
	to := openSenderURL(t, "rabbitmq://"+nowhere)
	res, err := deadletter.Replay(t.Context(), from, to, fast)
	if err == nil || !strings.Contains(err.Error(), "deadletter: replay "+permPrefix) || res != (deadletter.Result{Received: 3, Selected: 3, Failed: 3}) {
		t.Fatalf("replay to an unroutable exchange: %+v, %v", res, err)
	}
	t.Logf("replay error: %v", err)
	msgs := listIDs(t, from, fast, permPrefix+"1", permPrefix+"2", permPrefix+"3")
	for _, m := range msgs {
		if m.Reason != "sink: refused" {
			t.Errorf("%s lost its reason: %+v", m.EventID, m)
		}
	}
}

// TestRabbitMQSameEventTwice: the same event dead-lettered twice (Stripe delivered it twice, or
// a replay failed again) is two messages with one message id on RabbitMQ. List shows both, and
// a replay sends both and leaves nothing unacknowledged.
func TestRabbitMQSameEventTwice(t *testing.T) {
	srv := rabbittest.Server(t)
	dl := rabbittest.Declare(t, srv, "hookline-deadletter-dl", rabbitsetup.Options{})
	main := rabbittest.Declare(t, srv, "hookline-deadletter-main", rabbitsetup.Options{})
	s := openSenderURL(t, "rabbitmq://"+dl)
	ev := permEvents[0]
	deadLettered(t, s, ev, "first failure")
	deadLettered(t, s, ev, "second failure")
	deadLettered(t, s, permEvents[1], "other")
	from := openReceiverURL(t, "rabbitmq://"+dl)()
	msgs := listIDs(t, from, fast, ev.ID, ev.ID, permEvents[1].ID)
	reasons := map[string]bool{}
	for _, m := range msgs {
		reasons[m.Reason] = true
	}
	if !reasons["first failure"] || !reasons["second failure"] {
		t.Errorf("reasons %v", reasons)
	}
	res, err := deadletter.Replay(t.Context(), from, openSenderURL(t, "rabbitmq://"+main),
		&deadletter.Options{Wait: time.Second, IDs: []string{ev.ID}})
	if err != nil || res != (deadletter.Result{Received: 3, Selected: 2, Replayed: 2}) {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	checkReplayed(t, openReceiverURL(t, "rabbitmq://"+main)(), time.Second, []string{ev.ID, ev.ID})
	listIDs(t, from, fast, permEvents[1].ID)
}
