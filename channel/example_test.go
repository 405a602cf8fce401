package channel_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/sink"
)

// A whole in-memory pipeline, as a unit test of your own flow would build it: open the topic, then
// its subscription (before anything is sent), send, consume into a sink.
func Example() {
	ctx := context.Background()
	sender, err := channel.OpenSender(ctx, "mem://example-orders", nil)
	if err != nil {
		panic(err)
	}
	receiver, err := channel.OpenReceiver(ctx, "mem://example-orders", nil)
	if err != nil {
		panic(err)
	}
	mem := sink.NewMemory()
	consumer, err := channel.NewConsumer(receiver, mem.Write, nil)
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- consumer.Run(runCtx) }()

	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, ev := range []hookline.Event{
		{ID: "evt_2", Source: "stripe", Type: "customer.updated", Subject: "cus_1", Time: created.Add(time.Minute), Data: []byte(`{"id":"cus_1","name":"New"}`)},
		{ID: "evt_1", Source: "stripe", Type: "customer.created", Subject: "cus_1", Time: created, Data: []byte(`{"id":"cus_1","name":"Old"}`)},
	} {
		if err := sender.Send(ctx, ev); err != nil {
			panic(err)
		}
	}
	if err := mem.WaitWrites(ctx, 2); err != nil {
		panic(err)
	}
	stop()
	<-done
	receiver.Shutdown(ctx)
	sender.Shutdown(ctx)

	rec, _ := mem.Get("cus_1")
	fmt.Println(rec.Event.ID, string(rec.Event.Data))
	// Output: evt_2 {"id":"cus_1","name":"New"}
}

// Encode shows the wire format: a CloudEvents 1.0 JSON document.
func ExampleEncode() {
	b, err := channel.Encode(hookline.Event{
		ID: "evt_1", Source: "stripe", Type: "customer.created", Subject: "cus_1",
		Time:     time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Data:     []byte(`{"id":"cus_1","object":"customer"}`),
		Metadata: map[string]string{"livemode": "false"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: {"specversion":"1.0","id":"evt_1","source":"stripe","type":"customer.created","subject":"cus_1","time":"2024-05-01T12:00:00Z","hooklineversion":"1","livemode":"false","datacontenttype":"application/json","data":{"id":"cus_1","object":"customer"}}
}
