package httpserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/httpserver"
	"github.com/hookline/hookline/sink"
)

var seq atomic.Int64

// rig is a whole pipeline over an in-process channel: webhook -> mem:// -> consumer -> sink.
type rig struct {
	t       *testing.T
	secret  string
	sender  *channel.Sender
	recv    *channel.Receiver
	mem     *sink.Memory
	pipe    httpserver.Pipeline
	webhook *emitter.Handler
	sent    atomic.Int64 // events the broker accepted
}

type rigOptions struct {
	sendDelay, sinkDelay time.Duration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	url := fmt.Sprintf("mem://httpserver-test-%d", seq.Add(1))
	r := &rig{t: t, secret: "whsec_" + fmt.Sprint(time.Now().UnixNano()), mem: sink.NewMemory()}
	var err error
	if r.sender, err = channel.OpenSender(ctx, url, nil); err != nil {
		t.Fatal(err)
	}
	if r.recv, err = channel.OpenReceiver(ctx, url, nil); err != nil {
		t.Fatal(err)
	}
	write := func(ctx context.Context, ev hookline.Event) error {
		if !sleep(ctx, o.sinkDelay) {
			return ctx.Err()
		}
		return r.mem.Write(ctx, ev)
	}
	consumer, err := channel.NewConsumer(r.recv, write, &channel.ConsumerOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	dst := senderFunc(func(ctx context.Context, ev hookline.Event) error {
		if !sleep(ctx, o.sendDelay) {
			return ctx.Err()
		}
		if err := r.sender.Send(ctx, ev); err != nil {
			return err
		}
		r.sent.Add(1)
		return nil
	})
	if r.webhook, err = stripehook.NewHandler([]string{r.secret}, dst, nil, nil); err != nil {
		t.Fatal(err)
	}
	r.pipe = httpserver.Pipeline{Sender: r.sender, Consumer: consumer, Sink: r.mem,
		Settle: func(ctx context.Context) error { return waitAcked(ctx, consumer, &r.sent) }}
	return r
}

// waitAcked is a Settle for tests: it returns once the consumer acknowledged every sent event.
func waitAcked(ctx context.Context, c *channel.Consumer, sent *atomic.Int64) error {
	for c.Stats().Acked < sent.Load() {
		if !sleep(ctx, 10*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

type senderFunc func(context.Context, hookline.Event) error

func (f senderFunc) Send(ctx context.Context, ev hookline.Event) error { return f(ctx, ev) }

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// running is a server serving on a loopback port.
type running struct {
	srv    *httpserver.Server
	base   string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error
}

// serve runs the rig's pipeline behind a server with opts on a loopback port.
func (r *rig) serve(opts *httpserver.Options) *running {
	r.t.Helper()
	srv, err := httpserver.New(r.webhook, r.pipe, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return serveOn(r.t, srv, "http")
}

func serveOn(t *testing.T, srv *httpserver.Server, scheme string) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &running{srv: srv, base: scheme + "://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { s.stop() })
	return s
}

// stop cancels the server's context and returns what Serve returned.
func (s *running) stop() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	return <-s.done
}

// signed returns a signed sample delivery for customer.
func (r *rig) signed(customer string) (body []byte, signature string) {
	body = stripehook.SampleEvent("customer.updated", customer, time.Now().Add(-time.Minute))
	return body, stripehook.Sign(body, r.secret, time.Now())
}

// post delivers a signed event for customer to url with header extra, and returns the status.
func (r *rig) post(client *http.Client, url, customer string, extra http.Header) (int, error) {
	body, sig := r.signed(customer)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(stripehook.SignatureHeader, sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// get returns the status and body of a GET.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually fails t unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
