// Package pubsubtest runs Google's in-process Pub/Sub fake (cloud.google.com/go/pubsub/v2/pstest)
// for tests and creates the topics and subscriptions a test needs on it.
//
// pstest follows the Pub/Sub API (google.pubsub.v1): pull, acknowledge, modify-ack-deadline
// (nack), ack deadlines, dead-letter policies with delivery attempts, and message ordering. It
// accepts ack deadlines from 1s here (the real service: 10s to 600s), so that tests which wait
// for a deadline stay short.
//
// gocloud's gcppubsub:// URL opener connects to PUBSUB_EMULATOR_HOST when that is set, but reads
// it only once per process, at the first gcppubsub:// open. [Shared] therefore starts one server
// per test binary and sets PUBSUB_EMULATOR_HOST before returning it: call it before anything in
// the binary opens a gcppubsub:// URL.
package pubsubtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	raw "cloud.google.com/go/pubsub/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"gocloud.dev/pubsub/gcppubsub"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Project is the project id of every topic and subscription on the server.
const Project = "hookline-test"

// Server is a running pstest server with admin clients connected to it.
type Server struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string

	conn *grpc.ClientConn
	pub  *raw.PublisherClient
	sub  *raw.SubscriberClient
	seq  atomic.Int64
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's server, starting it on the first call and pointing
// PUBSUB_EMULATOR_HOST at it. It fails tb if the server cannot be started. The server lives
// until the process exits.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() {
		shared.srv, shared.err = start()
		if shared.err == nil {
			shared.err = os.Setenv("PUBSUB_EMULATOR_HOST", shared.srv.Addr)
		}
	})
	if shared.err != nil {
		tb.Fatalf("pubsubtest: %v", shared.err)
	}
	return shared.srv
}

func start() (*Server, error) {
	pstest.SetMinAckDeadline(time.Second)
	fake := pstest.NewServerWithAddress("127.0.0.1:0")
	conn, err := grpc.NewClient(fake.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to pstest at %s: %w", fake.Addr, err)
	}
	ctx := context.Background()
	pub, err := gcppubsub.PublisherClient(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("publisher client: %w", err)
	}
	sub, err := gcppubsub.SubscriberClient(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("subscriber client: %w", err)
	}
	return &Server{Addr: fake.Addr, conn: conn, pub: pub, sub: sub}, nil
}

// Conn returns a gRPC connection to the server, for gocloud's gcppubsub.PublisherClient and
// SubscriberClient. Do not close it.
func (s *Server) Conn() *grpc.ClientConn { return s.conn }

// Options describe a subscription to create. Zero values mean the defaults given per field.
type Options struct {
	// AckDeadline is the subscription's ack deadline, in whole seconds. Default 10s.
	AckDeadline time.Duration
	// MaxDeliveryAttempts, when positive, gives the subscription a dead-letter policy with this
	// many delivery attempts and a dead-letter topic of its own. Pub/Sub reports a message's
	// delivery attempt only to subscriptions with a dead-letter policy.
	MaxDeliveryAttempts int
	// Ordering enables message ordering on the subscription.
	Ordering bool
}

// Names are the full resource names of what [Server.Create] created.
type Names struct {
	Topic, Subscription, DeadLetterTopic string // DeadLetterTopic is "" without a policy
}

// Create creates a topic and a subscription to it, named after prefix and a number unique in
// the process, and deletes them when tb ends.
func (s *Server) Create(tb testing.TB, prefix string, opts *Options) Names {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.AckDeadline <= 0 {
		o.AckDeadline = 10 * time.Second // what Pub/Sub uses for 0; pstest here refuses 0
	}
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), s.seq.Add(1))
	n := Names{
		Topic:        fmt.Sprintf("projects/%s/topics/%s", Project, name),
		Subscription: fmt.Sprintf("projects/%s/subscriptions/%s", Project, name),
	}
	ps := &pubsubpb.Subscription{
		Name: n.Subscription, Topic: n.Topic, EnableMessageOrdering: o.Ordering,
		AckDeadlineSeconds: int32(o.AckDeadline / time.Second),
	}
	if o.MaxDeliveryAttempts > 0 {
		n.DeadLetterTopic = n.Topic + "-deadletter"
		ps.DeadLetterPolicy = &pubsubpb.DeadLetterPolicy{
			DeadLetterTopic: n.DeadLetterTopic, MaxDeliveryAttempts: int32(o.MaxDeliveryAttempts),
		}
	}
	s.createTopic(tb, n.Topic)
	if n.DeadLetterTopic != "" {
		s.createTopic(tb, n.DeadLetterTopic)
	}
	s.createSubscription(tb, ps)
	return n
}

func (s *Server) createTopic(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.pub.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil {
		tb.Fatalf("pubsubtest: create topic %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.pub.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: name}); err != nil {
			tb.Errorf("pubsubtest: delete topic %s: %v", name, err)
		}
	})
}

func (s *Server) createSubscription(tb testing.TB, ps *pubsubpb.Subscription) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.sub.CreateSubscription(ctx, ps); err != nil {
		tb.Fatalf("pubsubtest: create subscription %s: %v", ps.Name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := &pubsubpb.DeleteSubscriptionRequest{Subscription: ps.Name}
		if err := s.sub.DeleteSubscription(ctx, req); err != nil {
			tb.Errorf("pubsubtest: delete subscription %s: %v", ps.Name, err)
		}
	})
}
