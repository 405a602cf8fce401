package amazonsqs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

// sqsVisibility is the visibility timeout of the queues under test: the suite's AckDeadline.
const sqsVisibility = 2 * time.Second

var sqsSeq atomic.Int64

// TestConformanceSQS runs the suite on SQS queues through the fauxqs emulator: send to and
// receive from awssqs://.
func TestConformanceSQS(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	channeltest.Run(t, sqsHarness(srv, "sqs", func(t *testing.T, q fauxqs.Queue) string {
		return srv.QueueURL(q)
	}).Harness)
}

// TestConformanceSNSToSQS runs the suite on SNS fan-out: send to awssns://, receive from an SQS
// queue subscribed to the topic with raw message delivery.
func TestConformanceSNSToSQS(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	channeltest.Run(t, sqsHarness(srv, "sns-raw", func(t *testing.T, q fauxqs.Queue) string {
		arn := srv.CreateTopic(t, q.Name, nil)
		srv.Subscribe(t, arn, q, true)
		return srv.TopicURL(arn)
	}).Harness)
}

// TestConformanceSNSToSQSEnvelope is TestConformanceSNSToSQS without raw message delivery: SQS
// receives SNS's JSON envelope, which gocloud unwraps (body and attributes) when it claims the
// expected topic.
func TestConformanceSNSToSQSEnvelope(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	var topics sync.Map // queue name -> topic ARN
	h := sqsHarness(srv, "sns-envelope", func(t *testing.T, q fauxqs.Queue) string {
		arn := srv.CreateTopic(t, q.Name, nil)
		srv.Subscribe(t, arn, q, false)
		topics.Store(q.Name, arn)
		return srv.TopicURL(arn)
	})
	h.receiveURL = func(q fauxqs.Queue) string {
		arn, _ := topics.Load(q.Name)
		return srv.QueueURL(q) + "&snstopicarn=" + arn.(string)
	}
	channeltest.Run(t, h.Harness)
}

type sqsHarnessT struct {
	channeltest.Harness
	receiveURL func(fauxqs.Queue) string
}

// sqsHarness returns a harness whose Open creates a fresh queue (visibility timeout
// sqsVisibility) and, through topic, the URL to send to; receivers receive from the queue.
func sqsHarness(srv *fauxqs.Server, name string, topic func(*testing.T, fauxqs.Queue) string) *sqsHarnessT {
	h := &sqsHarnessT{receiveURL: func(q fauxqs.Queue) string { return srv.QueueURL(q) + "&raw=true" }}
	var urls sync.Map // *channel.Receiver -> its URL
	openReceiver := func(t *testing.T, u string) *channel.Receiver {
		r, err := channel.OpenReceiver(context.Background(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		urls.Store(r, u)
		t.Cleanup(func() { shutdownQuietly(r) })
		return r
	}
	h.Harness = channeltest.Harness{
		Name: name,
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			q := srv.CreateQueue(t, fmt.Sprintf("hookline-%s-%d", name, sqsSeq.Add(1)), map[string]string{
				"VisibilityTimeout": fmt.Sprint(int(sqsVisibility.Seconds())),
			})
			s, err := channel.OpenSender(context.Background(), topic(t, q), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			return s, openReceiver(t, h.receiveURL(q))
		},
		Reopen: func(t *testing.T, r *channel.Receiver) *channel.Receiver {
			u, _ := urls.Load(r)
			return openReceiver(t, u.(string))
		},
		AckDeadline:   sqsVisibility,
		CanNack:       true,
		DeliveryCount: true,
		MissingSubscription: func(ctx context.Context, name string) error {
			return channeltest.ReceiveOnce(ctx, srv.QueueURL(srv.QueueNamed(name)))
		},
	}
	viaSNS := name != "sqs"
	h.MissingTopic = func(ctx context.Context, name string) error {
		u := srv.QueueURL(srv.QueueNamed(name))
		if viaSNS {
			u = srv.TopicURL(fauxqs.TopicARN(name))
		}
		return channeltest.SendOnce(ctx, u)
	}
	return h
}

func shutdownQuietly(r *channel.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Shutdown(ctx)
}
