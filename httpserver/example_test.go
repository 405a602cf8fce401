package httpserver_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/httpserver"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// A webhook and its consumer in one process, wired by hand on an in-process channel (package
// pipeline does all of this from a Config): a signed delivery goes in over HTTP and ends in the
// sink; canceling the context shuts everything down in order.
func Example() {
	ctx := context.Background()
	const secret = "whsec_example"
	// The subscription must exist before anything is sent (mem:// drops messages otherwise).
	sender, err := channel.OpenSender(ctx, "mem://example-stripe-events", nil)
	if err != nil {
		panic(err)
	}
	receiver, err := channel.OpenReceiver(ctx, "mem://example-stripe-events", nil)
	if err != nil {
		panic(err)
	}
	// mem:// only: bound the events held in memory, and let shutdown wait until each accepted one
	// was processed (package pipeline does this by itself).
	backlog := pipeline.NewBacklog(1000)
	mem := sink.NewMemory()
	consumer, err := channel.NewConsumer(receiver, mem.Write, &channel.ConsumerOptions{OnAck: backlog.Release})
	if err != nil {
		panic(err)
	}
	webhook, err := stripehook.NewHandler([]string{secret}, backlog.Guard(sender), nil, nil)
	if err != nil {
		panic(err)
	}
	srv, err := httpserver.New(webhook, httpserver.Pipeline{
		Sender: sender, Consumer: consumer, Sink: mem, Settle: backlog.Wait,
	}, &httpserver.Options{ShutdownTimeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0") // or srv.ListenAndServe(runCtx) on Options.Addr
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- srv.Serve(runCtx, ln) }()

	body := stripehook.SampleEvent("customer.created", "cus_example", time.Now().Add(-time.Minute))
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/webhook", bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("webhook:", resp.StatusCode)

	stop() // as on SIGTERM
	if err := <-done; err != nil {
		panic(err)
	}
	rec, ok := mem.Get("cus_example")
	fmt.Println("stored:", ok, rec.Event.Type)
	// Output:
	// webhook: 200
	// stored: true customer.created
}
