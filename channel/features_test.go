package channel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

func TestSenderOptionsNeedRegisteredFeatures(t *testing.T) {
	ctx := context.Background()
	aliasMem("test-nobroker") // a scheme that no registered broker claims
	_, err := OpenSender(ctx, "test-nobroker://features-none", &SenderOptions{Deduplicate: true})
	if err == nil || !strings.Contains(err.Error(), "no broker features registered") {
		t.Fatalf("err = %v", err)
	}
	s, err := OpenSender(ctx, "test-nobroker://features-off", &SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown(ctx)
}

func TestSenderAppliesRegisteredFeatures(t *testing.T) {
	aliasMem("test-features")
	RegisterBroker(Broker{
		Name:    "testmem",
		Schemes: []string{"test-features"},
		Prepare: func(ev hookline.Event, o SenderOptions, m *pubsub.Message) error {
			if o.OrderBySubject {
				m.Metadata["orderingkey"] = ev.Subject
			}
			return nil
		},
	})
	t.Cleanup(func() { unregisterBroker("testmem") })
	ctx := context.Background()
	name := fmt.Sprintf("features-on-%d", topicSeq.Add(1)) // the sender closes its topic
	s, err := OpenSender(ctx, "test-features://"+name, &SenderOptions{OrderBySubject: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	r, err := OpenReceiver(ctx, "mem://"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	if err := s.Send(ctx, testEvent(7)); err != nil {
		t.Fatal(err)
	}
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	if m.Metadata["orderingkey"] != "cus_7" {
		t.Errorf("metadata = %v; the registered Prepare did not run", m.Metadata)
	}
}

func TestHealthFollowsFailures(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSender(ctx, "mem://health", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Health(); err != nil {
		t.Fatalf("fresh sender unhealthy: %v", err)
	}
	// The broker goes away: reopening fails, so the sender reports why.
	reopen := s.link.open
	s.link.open = func(context.Context, string) (*pubsub.Topic, error) { return nil, errors.New("connection refused") }
	first := s.link.current()
	s.link.broke(first)
	if err := s.Health(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("with the broker away Health = %v", err)
	}
	// It comes back: the next probe due reopens the topic without any send.
	reopened := 0
	s.link.open = func(ctx context.Context, u string) (*pubsub.Topic, error) { reopened++; return reopen(ctx, u) }
	s.link.mu.Lock()
	s.link.lastTry = time.Time{}
	s.link.mu.Unlock()
	if err := s.Health(); err != nil || reopened != 1 {
		t.Errorf("after the broker came back Health = %v, reopened %d times; want nil after one reopen", err, reopened)
	}
	s.Shutdown(ctx)
	if err := s.Health(); err == nil || !strings.Contains(err.Error(), "shut down") {
		t.Errorf("after shutdown Health = %v", err)
	}
}
