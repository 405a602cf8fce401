package inprocpubsub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
)

// TestConformanceInproc runs the channel conformance suite on inproc://, opened through package
// channel as a program would. A subscription outlives its receivers, so Reopen opens the same
// URL again and gets what the shut-down receiver held unacknowledged.
func TestConformanceInproc(t *testing.T) {
	open := func(t *testing.T, u string) *channel.Receiver {
		r, err := channel.OpenReceiver(context.Background(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { shutdownQuietly(r) })
		return r
	}
	urls := map[*channel.Receiver]string{}
	channeltest.Run(t, channeltest.Harness{
		Name: "inproc",
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			u := fmt.Sprintf("inproc://channeltest-%d?ackdeadline=1s", seq.Add(1))
			// The receiver first: it must not matter (nor does the other order).
			r := open(t, u)
			s, err := channel.OpenSender(context.Background(), u, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			urls[r] = u
			return s, r
		},
		Reopen: func(t *testing.T, r *channel.Receiver) *channel.Receiver {
			u := urls[r]
			r2 := open(t, u)
			urls[r2] = u
			return r2
		},
		AckDeadline:   time.Second,
		CanNack:       true,
		DeliveryCount: true,
	})
}

func shutdownQuietly(r *channel.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Shutdown(ctx)
}
