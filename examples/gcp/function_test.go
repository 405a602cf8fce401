package gcp_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/adapters/gcpfunctions/gcpfunctionstest"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/examples/gcp"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/pipeline"
)

var (
	baseURL string
	flowRan atomic.Bool // the functions keep the configuration of their first invocation
)

// TestMain serves the functions that package gcp registered, as `go run ./examples/gcp/cmd`
// does, through the Functions Framework on a loopback port.
func TestMain(m *testing.M) {
	url, err := gcpfunctionstest.StartFramework()
	if err != nil {
		fmt.Fprintln(os.Stderr, "functions framework:", err)
		os.Exit(1)
	}
	baseURL = url
	os.Exit(m.Run())
}

// TestDeployedFlow runs the example as deployed, with Pub/Sub played by pstest: Stripe's signed
// deliveries into StripeWebhook; each message it published delivered to ProcessEvent as Eventarc
// does (binary and structured CloudEvents) or to PubSubPush as a push subscription does, with
// the subscription's delivery attempt; the result in the SQLite sink; and a message that is no
// event dead-lettered to HOOKLINE_DEADLETTER. The functions read the environment on first use,
// once per process, so this is the only test that invokes them.
func TestDeployedFlow(t *testing.T) {
	if flowRan.Swap(true) {
		t.Skip("the functions were configured by an earlier run in this process (-count > 1)")
	}
	srv := pubsubtest.Shared(t)
	events := srv.Create(t, "gcp-example", &pubsubtest.Options{MaxDeliveryAttempts: 10})
	dead := srv.Create(t, "gcp-example-dead", nil)
	db := filepath.Join(t.TempDir(), "hookline.db")
	secret := stripehook.GenerateSecret()
	t.Setenv(pipeline.EnvChannel, "gcppubsub://"+events.Topic)
	t.Setenv(pipeline.EnvSink, "sqlite://"+db)
	t.Setenv(pipeline.EnvDeadLetter, "gcppubsub://"+dead.Topic)
	t.Setenv(stripehook.EnvSecret, secret)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}

	samples := stripehook.Samples(time.Now())
	if err := stripehook.SendSamples(ctx, client, baseURL+"/"+gcp.WebhookEntryPoint, secret, samples, io.Discard); err != nil {
		t.Fatal(err)
	}

	recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+events.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	for i := range samples {
		m, err := recv.Receive(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		deliver(t, ctx, client, i, m)
		m.Ack()
	}

	rows := readRows(t, db)
	t0 := samples[0].Created
	if r := rows["cus_demo_alice"]; r.eventCreated != t0.Add(2*time.Minute).Unix() || r.deleted {
		t.Errorf("alice = %+v, want the update of t0+2m, not deleted", r)
	}
	if r := rows["cus_demo_bob"]; !r.deleted {
		t.Errorf("bob = %+v, want deleted", r)
	}
	if len(rows) != 2 {
		t.Errorf("%d rows, want 2", len(rows))
	}

	deadLetter(t, ctx, client, "gcppubsub://"+dead.Subscription)
}

// deliver hands message i to the processor in one of the three shapes, in turn, and fails the
// test unless it was acknowledged.
func deliver(t *testing.T, ctx context.Context, client *http.Client, i int, m *pubsub.Message) {
	t.Helper()
	attempt, ok := channel.DeliveryCount(m)
	if !ok || attempt != 1 {
		t.Errorf("message %d: delivery attempt %d (%v), want 1 from the dead-letter policy", i, attempt, ok)
	}
	body := gcpfunctionstest.PushBody(m.Body, m.Metadata, attempt)
	var req *http.Request
	var err error
	switch i % 3 {
	case 0:
		req, err = gcpfunctionstest.BinaryCloudEvent(ctx, baseURL+"/"+gcp.ProcessEntryPoint, gcpfunctions.MessagePublishedType, body)
	case 1:
		req, err = gcpfunctionstest.StructuredCloudEvent(ctx, baseURL+"/"+gcp.ProcessEntryPoint, gcpfunctions.MessagePublishedType, body)
	default:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+gcp.PushEntryPoint, bytes.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	status := send(t, client, req)
	if status < 200 || status > 299 {
		t.Fatalf("message %d (shape %d): status %d, want 2xx", i, i%3, status)
	}
}

// deadLetter pushes a message that is no hookline event and expects it acknowledged and set
// aside on the dead-letter topic with the reason.
func deadLetter(t *testing.T, ctx context.Context, client *http.Client, subURL string) {
	t.Helper()
	body := gcpfunctionstest.PushBody([]byte("not an event"), map[string]string{"origin": "test"}, 1)
	req, err := gcpfunctionstest.BinaryCloudEvent(ctx, baseURL+"/"+gcp.ProcessEntryPoint, gcpfunctions.MessagePublishedType, body)
	if err != nil {
		t.Fatal(err)
	}
	if status := send(t, client, req); status < 200 || status > 299 {
		t.Fatalf("undecodable message: status %d, want 2xx (dead-lettered)", status)
	}
	recv, err := channel.OpenReceiver(ctx, subURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	m, err := recv.Receive(ctx)
	if err != nil {
		t.Fatalf("dead-letter topic: %v", err)
	}
	m.Ack()
	if string(m.Body) != "not an event" || m.Metadata[channel.MetaDeadLetterKind] != "undecodable" || m.Metadata["origin"] != "test" {
		t.Errorf("dead letter %q %v", m.Body, m.Metadata)
	}
}

func send(t *testing.T, client *http.Client, req *http.Request) int {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Logf("%s answered %d: %s", req.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

type row struct {
	eventCreated int64
	deleted      bool
}

// readRows reads the sink's table as a user inspecting the database would.
func readRows(t *testing.T, path string) map[string]row {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT id, event_created, deleted FROM stripe_objects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	m := map[string]row{}
	for rs.Next() {
		var id string
		var r row
		if err := rs.Scan(&id, &r.eventCreated, &r.deleted); err != nil {
			t.Fatal(err)
		}
		m[id] = r
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
