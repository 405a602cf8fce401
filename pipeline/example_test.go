package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
	_ "github.com/hookline/hookline/sink/sqlsink" // sqlite:// and postgres://
)

// The whole flow as a program's main: configured by the environment (PORT, HOOKLINE_CHANNEL,
// HOOKLINE_SINK, STRIPE_WEBHOOK_SECRET, ...), it serves POST /webhook until SIGINT or SIGTERM,
// then stops only after every event it answered 2xx for is in the sink. Link the brokers and
// sinks the environment may name with blank imports, as sqlsink is here.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := pipeline.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	p, err := pipeline.Open(ctx, cfg, &pipeline.Options{Logger: slog.Default()})
	if err != nil {
		log.Fatal(err) // says what is wrong: a URL no linked driver serves, a missing secret
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Serve(ctx, ln); err != nil {
		log.Fatal(err)
	}
}

// A unit test of a Stripe flow on the in-process channel: post a signed event to the webhook, stop
// the pipeline (Serve returns once every accepted event is stored), and look in the sink. With
// inproc:// this takes about 2 ms; mem:// works the same way but polls, and takes a quarter
// second (package channel, "In process").
func Example_unitTest() {
	ctx, stop := context.WithCancel(context.Background())
	store := sink.NewMemory()
	cfg := pipeline.Config{Channel: "inproc://example-unit-test", Secrets: []string{"whsec_test"}}
	p, err := pipeline.Open(ctx, cfg, &pipeline.Options{Sink: store})
	if err != nil {
		log.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error)
	go func() { done <- p.Serve(ctx, ln) }()

	body := stripehook.SampleEvent("customer.created", "cus_42", time.Now())
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/webhook", bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, "whsec_test", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	stop()
	fmt.Println(resp.StatusCode, <-done)
	rec, _ := store.Get("cus_42")
	fmt.Println(rec.Event.Type)
	// Output:
	// 200 <nil>
	// customer.created
}
