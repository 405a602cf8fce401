package azureservicebus_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

// sbLock is the lock duration of the entities the Service Bus harnesses create in the double.
const sbLock = 2 * time.Second

var sbSeq atomic.Int64

func sbName(kind string) string {
	return fmt.Sprintf("hookline-ct-%s-%d-%d", kind, os.Getpid(), sbSeq.Add(1))
}

// TestConformanceServiceBusQueue runs the suite on a Service Bus queue in the test double,
// sending and receiving through azuresbqueue:// URLs.
func TestConformanceServiceBusQueue(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	channeltest.Run(t, sbHarness(t, "servicebus-queue", func(t *testing.T) (string, string) {
		q := sbName("q")
		sbCreate(t, func(ctx context.Context) error {
			return d.CreateQueue(ctx, q, &sbdouble.EntityOptions{LockDuration: sbLock, MaxDeliveryCount: 10})
		})
		t.Cleanup(func() { d.Delete(context.Background(), q) })
		return "azuresbqueue://" + q, "azuresbqueue://" + q
	}, func(name string) string { return "azuresbqueue://" + name }))
}

// TestConformanceServiceBusTopic runs the suite on a topic and one subscription in the test
// double, through gocloud's azuresb:// URLs.
func TestConformanceServiceBusTopic(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	channeltest.Run(t, sbHarness(t, "servicebus-topic", func(t *testing.T) (string, string) {
		topic := sbName("t")
		sbCreate(t, func(ctx context.Context) error {
			if err := d.CreateTopic(ctx, topic, nil); err != nil {
				return err
			}
			return d.CreateSubscription(ctx, topic, "sink", &sbdouble.EntityOptions{LockDuration: sbLock, MaxDeliveryCount: 10})
		})
		t.Cleanup(func() { d.Delete(context.Background(), topic) })
		return "azuresb://" + topic, "azuresb://" + topic + "?subscription=sink"
	}, func(name string) string { return "azuresb://" + name + "?subscription=sink" }))
}

func sbCreate(t *testing.T, create func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := create(ctx); err != nil {
		t.Fatal(err)
	}
}

// sbHarness opens a sender and a receiver on the URLs that entity creates; missing returns the
// receive URL of an entity that does not exist.
func sbHarness(t *testing.T, name string, entity func(t *testing.T) (send, receive string), missing func(string) string) channeltest.Harness {
	return channeltest.Harness{
		Name: name,
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			sendURL, receiveURL := entity(t)
			return open(t, sendURL, receiveURL, nil)
		},
		AckDeadline:   sbLock,
		CanNack:       true,
		DeliveryCount: true,
		MissingTopic: func(ctx context.Context, name string) error {
			return channeltest.SendOnce(ctx, "azuresb://"+name)
		},
		MissingSubscription: func(ctx context.Context, name string) error {
			return channeltest.ReceiveOnce(ctx, missing(name))
		},
	}
}
