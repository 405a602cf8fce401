package googlepubsub

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/gcppubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

// asPubsubMessage is what gcppubsub's BeforeSend As does: it hands out pm.
func asPubsubMessage(pm *pubsubpb.PubsubMessage) func(any) bool {
	return func(i any) bool {
		p, ok := i.(**pubsubpb.PubsubMessage)
		if ok {
			*p = pm
		}
		return ok
	}
}

func TestPrepareKeepsBeforeSend(t *testing.T) {
	var seen string
	m := &pubsub.Message{BeforeSend: func(as func(any) bool) error {
		var pm *pubsubpb.PubsubMessage
		if as(&pm) {
			seen = pm.OrderingKey
		}
		return nil
	}}
	ev := hookline.Event{ID: "evt_1", Subject: "cus_1"}
	if err := prepare(ev, channel.SenderOptions{OrderBySubject: true}, m); err != nil {
		t.Fatal(err)
	}
	pm := &pubsubpb.PubsubMessage{}
	if err := m.BeforeSend(asPubsubMessage(pm)); err != nil {
		t.Fatal(err)
	}
	if pm.OrderingKey != "cus_1" || seen != "cus_1" {
		t.Errorf("ordering key %q, seen by the earlier BeforeSend %q; want cus_1 for both", pm.OrderingKey, seen)
	}
}

func TestPrepareOptIn(t *testing.T) {
	for _, tc := range []struct {
		opts    channel.SenderOptions
		subject string
	}{
		{channel.SenderOptions{}, "cus_1"},
		{channel.SenderOptions{Deduplicate: true}, "cus_1"},
		{channel.SenderOptions{OrderBySubject: true}, ""},
	} {
		m := &pubsub.Message{}
		if err := prepare(hookline.Event{ID: "evt_1", Subject: tc.subject}, tc.opts, m); err != nil {
			t.Fatal(err)
		}
		if m.BeforeSend != nil {
			t.Errorf("%+v, subject %q: BeforeSend set", tc.opts, tc.subject)
		}
	}
}

func TestPrepareRefuses(t *testing.T) {
	long := hookline.Event{ID: "evt_1", Subject: strings.Repeat("x", maxOrderingKey+1)}
	if err := prepare(long, channel.SenderOptions{OrderBySubject: true}, &pubsub.Message{}); err == nil {
		t.Error("a subject longer than an ordering key was accepted")
	}
	m := &pubsub.Message{}
	if err := prepare(hookline.Event{ID: "evt_1", Subject: "cus_1"}, channel.SenderOptions{OrderBySubject: true}, m); err != nil {
		t.Fatal(err)
	}
	if err := m.BeforeSend(func(any) bool { return false }); err == nil {
		t.Error("BeforeSend on a message of another driver succeeded")
	}
}

func TestDetect(t *testing.T) {
	ctx := context.Background()
	mem := mempubsub.NewTopic()
	defer mem.Shutdown(ctx)
	if detect(mem) {
		t.Error("a mem topic was detected as Pub/Sub")
	}
	gcp := gcppubsub.OpenTopic(nil, "p", "t", nil)
	defer gcp.Shutdown(ctx)
	if !detect(gcp) {
		t.Error("a gcppubsub topic opened without a URL was not detected")
	}
}
