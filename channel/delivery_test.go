package channel_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel"
)

func TestRegisteredDeliveryCount(t *testing.T) {
	const key = "hookline-test-registered-count"
	channel.RegisterBroker(channel.Broker{
		Name: "test-delivery-count",
		DeliveryCount: func(m *pubsub.Message) (int, bool, bool) {
			n, err := strconv.Atoi(m.Metadata[key])
			return n, err == nil, err == nil
		},
	})
	t.Cleanup(func() { channel.UnregisterBroker("test-delivery-count") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := fmt.Sprintf("mem://registered-counter-%d", time.Now().UnixNano())
	s, err := channel.OpenSender(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	r, err := channel.OpenReceiver(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	for _, md := range []map[string]string{{key: "4"}, {}} {
		if err := s.SendMessage(ctx, &pubsub.Message{Body: []byte("x"), Metadata: md}); err != nil {
			t.Fatal(err)
		}
		m, err := r.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		n, ok := channel.DeliveryCount(m)
		if want, known := md[key]; known && (!ok || strconv.Itoa(n) != want) {
			t.Errorf("DeliveryCount = %d, %t; want %s, true from the registered counter", n, ok, want)
		} else if !known && ok {
			t.Errorf("DeliveryCount = %d, true for a message no counter knows", n)
		}
	}
}
