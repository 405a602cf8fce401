package sink_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// A Memory sink applies the same ordering rule as the database sinks: a redelivered event and an
// event older than the stored one change nothing.
func ExampleMemory() {
	ctx := context.Background()
	mem := sink.NewMemory()
	defer mem.Close()

	created := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	events := []hookline.Event{
		{ID: "evt_2", Type: "customer.updated", Subject: "cus_123", Time: created.Add(time.Minute), Data: []byte(`{"email":"new@example.com"}`)},
		{ID: "evt_1", Type: "customer.created", Subject: "cus_123", Time: created, Data: []byte(`{"email":"old@example.com"}`)},
		{ID: "evt_2", Type: "customer.updated", Subject: "cus_123", Time: created.Add(time.Minute), Data: []byte(`{"email":"new@example.com"}`)},
	}
	for _, ev := range events {
		if err := mem.Write(ctx, ev); err != nil {
			fmt.Println("write:", err)
		}
	}

	rec, _ := mem.Get("cus_123")
	fmt.Println(rec.Event.ID, string(rec.Event.Data), rec.Deleted)
	fmt.Println("records:", mem.Len(), "applied:", mem.Applied(), "writes:", mem.Writes())
	// Output:
	// evt_2 {"email":"new@example.com"} false
	// records: 1 applied: 1 writes: 3
}

// Apply says what each write did, for logs and metrics: the redelivery and the older event are
// ignored.
func ExampleApply() {
	ctx := context.Background()
	var s sink.Sink = sink.NewMemory() // or any sink: sqlsink, dataverse
	defer s.Close()

	created := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, ev := range []hookline.Event{
		{ID: "evt_2", Type: "customer.updated", Subject: "cus_123", Time: created.Add(time.Minute)},
		{ID: "evt_2", Type: "customer.updated", Subject: "cus_123", Time: created.Add(time.Minute)},
		{ID: "evt_1", Type: "customer.created", Subject: "cus_123", Time: created},
	} {
		res, err := sink.Apply(ctx, s, ev)
		if err != nil {
			fmt.Println("write:", err)
			continue
		}
		fmt.Println(ev.ID, res)
	}
	// Output:
	// evt_2 stored
	// evt_2 ignored
	// evt_1 ignored
}
