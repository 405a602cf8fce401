package sqlsink_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink/sqlsink"
)

// Events arrive out of order and twice; the table ends with the newest state of each object.
func Example() {
	dir, err := os.MkdirTemp("", "hookline-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hookline.db")

	ctx := context.Background()
	s, err := sqlsink.Open(ctx, "sqlite://"+filepath.ToSlash(path), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	created := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	customer := func(id, typ string, at time.Time, data string) hookline.Event {
		return hookline.Event{ID: id, Source: "stripe", Type: typ, Subject: "cus_123", Object: "customer",
			Action: hookline.ActionOfType(typ), Time: at, Data: []byte(data)}
	}
	newer := customer("evt_2", "customer.updated", created.Add(time.Minute), `{"id":"cus_123","email":"new@example.com"}`)
	older := customer("evt_1", "customer.created", created, `{"id":"cus_123","email":"old@example.com"}`)
	for _, ev := range []hookline.Event{newer, older, newer} {
		if err := s.Write(ctx, ev); err != nil {
			log.Fatal(err)
		}
	}

	// Read the table as any other program would (the driver "sqlite" is modernc.org/sqlite).
	db, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var id, object, eventID, data string
	var eventCreated int64
	var deleted bool
	err = db.QueryRow(`SELECT id, object, event_id, event_created, deleted, data FROM stripe_objects`).
		Scan(&id, &object, &eventID, &eventCreated, &deleted, &data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id, object, eventID, time.Unix(eventCreated, 0).UTC().Format(time.RFC3339), deleted)
	fmt.Println(data)
	// Output:
	// cus_123 customer evt_2 2024-03-01T12:01:00Z false
	// {"id":"cus_123","email":"new@example.com"}
}
