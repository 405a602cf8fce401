package httpserver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	_ "gocloud.dev/pubsub/rabbitpubsub"

	_ "github.com/hookline/hookline/channel/rabbitmq" // persistent messages on rabbit://

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/httpserver"
	"github.com/hookline/hookline/internal/testsupport/testenv"
	"github.com/hookline/hookline/sink"
)

// Readiness follows a real broker going away and coming back. RabbitMQ itself keeps running
// (other tests use it): the process reaches it through a TCP proxy, which the test cuts and
// restores.
func TestReadinessRabbitMQ(t *testing.T) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	ctx := context.Background()
	conn, err := rabbitsetup.Dial(ctx, server)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	name := fmt.Sprintf("hookline-httpserver-%d", time.Now().UnixNano())
	if err := rabbitsetup.Declare(ctx, server, name, name, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })

	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &tcpProxy{target: u.Host}
	proxy.start(t, "127.0.0.1:0")
	t.Cleanup(proxy.cut)
	u.Host = proxy.addr
	t.Setenv("RABBIT_SERVER_URL", u.String())

	r, mem := rabbitRig(t, "rabbit://"+name)
	srv, err := httpserver.New(r.webhook, r.pipe, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, srv, "http")
	ready := func(want int) func() bool {
		return func() bool { st, _ := get(t, client, s.base+"/readyz"); return st == want }
	}
	eventually(t, 10*time.Second, "ready", ready(200))
	postUntil(t, r, s.base, "cus_before", 200)

	proxy.cut()
	eventually(t, 20*time.Second, "not ready with the broker gone", ready(503))
	postUntil(t, r, s.base, "cus_during", 503)
	if st, _ := get(t, client, s.base+"/healthz"); st != 200 {
		t.Fatalf("/healthz = %d with the broker gone", st)
	}

	proxy.start(t, proxy.addr)
	eventually(t, 30*time.Second, "ready again", ready(200))
	postUntil(t, r, s.base, "cus_after", 200)
	for _, id := range []string{"cus_before", "cus_after"} {
		eventually(t, 20*time.Second, id+" in the sink", func() bool { _, ok := mem.Get(id); return ok })
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// rabbitRig is a rig on a RabbitMQ exchange and queue of the same name.
func rabbitRig(t *testing.T, u string) (*rig, *sink.Memory) {
	ctx := context.Background()
	r := &rig{t: t, secret: "whsec_rabbit", mem: sink.NewMemory()}
	var err error
	if r.sender, err = channel.OpenSender(ctx, u, &channel.SenderOptions{ReconnectInterval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if r.recv, err = channel.OpenReceiver(ctx, u, &channel.ReceiverOptions{ReconnectInterval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	consumer, err := channel.NewConsumer(r.recv, r.mem.Write, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.webhook, err = stripehook.NewHandler([]string{r.secret}, r.sender, nil, nil); err != nil {
		t.Fatal(err)
	}
	r.pipe = httpserver.Pipeline{Sender: r.sender, Consumer: consumer, Sink: r.mem}
	return r, r.mem
}

// postUntil posts the event until the webhook answers want, as Stripe retries.
func postUntil(t *testing.T, r *rig, base, customer string, want int) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%s answered %d", customer, want), func() bool {
		st, err := r.post(client, base+"/webhook", customer, nil)
		return err == nil && st == want
	})
}

// tcpProxy forwards TCP connections to target until cut.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *tcpProxy) start(t *testing.T, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after a cut
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.accept(ln)
}

func (p *tcpProxy) accept(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut stops listening and drops every forwarded connection: the broker is gone.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
