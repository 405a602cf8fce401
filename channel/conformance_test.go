package channel_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
)

var memSeq atomic.Int64

// TestConformanceMem runs the conformance suite on mem://.
func TestConformanceMem(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		Name: "mem",
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			ctx := context.Background()
			name := fmt.Sprintf("mem://channeltest-%d", memSeq.Add(1))
			s, err := channel.OpenSender(ctx, name, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := channel.OpenReceiver(ctx, name+"?ackdeadline=1s", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				r.Shutdown(ctx)
				s.Shutdown(ctx)
			})
			return s, r
		},
		AckDeadline: time.Second,
		CanNack:     true,
		MissingSubscription: func(ctx context.Context, name string) error {
			return channeltest.ReceiveOnce(ctx, "mem://"+name)
		},
	})
}
