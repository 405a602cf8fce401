package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pgtest"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// TestTwoReplicasWriteTheSameRows runs two pipelines, as two replicas of one deployment, on one
// RabbitMQ queue (rabbitmq://) into one PostgreSQL table, each consuming in batches. 1,200
// deliveries about 150 customers (each customer's eight events in a shuffled order, a quarter
// of them delivered twice, alternately through each replica's webhook) end with every delivery
// acknowledged once, nothing returned or dead-lettered, and each customer's row holding its
// newest event: the two consumers wrote the same rows at once, and no older event overwrote a
// newer one.
func TestTwoReplicasWriteTheSameRows(t *testing.T) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	ctx := context.Background()
	conn, err := rabbitsetup.Dial(ctx, server)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	t.Setenv("RABBIT_SERVER_URL", server)
	name := fmt.Sprintf("hookline-replicas-%d", time.Now().UnixNano())
	if err := rabbitsetup.Declare(ctx, server, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })
	db := pgtest.Fresh(t, "hookline_replicas")

	secret := stripehook.GenerateSecret()
	cfg := Config{Channel: "rabbitmq://" + name, Subscription: "rabbitmq://" + name, Sink: db, Secrets: []string{secret}}
	var replicas []*harness
	var apps []*Pipeline
	for range 2 {
		app, err := Open(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app)
		replicas = append(replicas, serveOpened(t, &harness{t: t, secret: secret, done: make(chan error, 1), logs: &lockedBuffer{}}, app))
	}

	const customers, perCustomer = 150, 8
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	type delivery struct{ body []byte }
	var all []delivery
	newest := map[string]string{} // customer -> id of its newest event
	for c := range customers {
		subject := fmt.Sprintf("cus_replica_%03d", c)
		for j := range perCustomer {
			typ := "customer.updated"
			if j == 0 {
				typ = "customer.created"
			}
			body := stripehook.SampleEvent(typ, subject, t0.Add(time.Duration(j)*time.Second))
			all = append(all, delivery{body})
			if j%4 == 3 {
				all = append(all, delivery{body}) // Stripe delivers it again
			}
			if j == perCustomer-1 {
				newest[subject] = eventID(t, body)
			}
		}
	}
	mrand.New(mrand.NewPCG(3, 4)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	work := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 15 * time.Second}
	for range 16 {
		wg.Go(func() {
			for i := range work {
				h := replicas[i%2]
				body := all[i].body
				status, err := postSigned(ctx, client, h.url, body, stripehook.Sign(body, secret, time.Now()))
				if err != nil || status != http.StatusOK {
					t.Errorf("delivery %d: %d, %v", i, status, err)
				}
			}
		})
	}
	for i := range all {
		work <- i
	}
	close(work)
	wg.Wait()
	acked := func() int64 { return apps[0].Consumer().Stats().Acked + apps[1].Consumer().Stats().Acked }
	deadline := time.Now().Add(60 * time.Second)
	for acked() < int64(len(all)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, h := range replicas {
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	}
	a, b := apps[0].Consumer().Stats(), apps[1].Consumer().Stats()
	if a.Acked+b.Acked != int64(len(all)) || a.Nacked+b.Nacked != 0 || a.DeadLettered+b.DeadLettered != 0 {
		t.Fatalf("replica stats %+v and %+v, want %d acknowledged in all, none returned or dead-lettered", a, b, len(all))
	}
	if a.Acked == 0 || b.Acked == 0 {
		t.Errorf("replica stats %+v and %+v: want both consuming", a, b)
	}
	stored := storedEvents(t, db)
	for subject, want := range newest {
		if got := stored[subject]; got != want {
			t.Errorf("%s holds event %q, want its newest %q", subject, got, want)
		}
	}
	if len(stored) != customers {
		t.Errorf("%d rows, want %d", len(stored), customers)
	}
}

func eventID(t *testing.T, body []byte) string {
	var ev struct{ ID string }
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

// storedEvents reads subject -> event id from the sink's table.
func storedEvents(t *testing.T, dbURL string) map[string]string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT id, event_id FROM stripe_objects")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, ev string
		if err := rows.Scan(&id, &ev); err != nil {
			t.Fatal(err)
		}
		out[id] = ev
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
