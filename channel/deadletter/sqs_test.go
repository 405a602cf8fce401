package deadletter_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	_ "github.com/hookline/hookline/channel/amazonsqs" // awssqs://
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

// sqsVisibility is the visibility timeout of the test queues: a message a receiver neither
// acknowledges nor returns is visible again after it. Each step of a test must end within it:
// gocloud fetches ahead in the background, so a receiver may already hold, unseen, a message it
// has just returned; the next List or Replay on the receiver gets that copy, and only while it
// is invisible to others does acknowledging it count.
const sqsVisibility = "10"

// sqsWait is Options.Wait on SQS. gocloud's Nack makes a message visible again after 1s (it
// sets the visibility timeout to 1), so a listing right after a replay must wait longer than
// that.
const sqsWait = 2 * time.Second

// TestSQS: hookline's dead letters from a consumer, and SQS's own on the main queue's redrive
// queue (RedrivePolicy, maxReceiveCount 2: the consumer's transient failures return a message
// until its third receive moves it), listed and replayed through awssqs:// on the fauxqs
// emulator.
func TestSQS(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	name := fmt.Sprintf("hookline-deadletter-%d", os.Getpid())
	attrs := map[string]string{"VisibilityTimeout": sqsVisibility}
	native := srv.CreateQueue(t, name+"-native", attrs)
	main := srv.CreateQueue(t, name+"-main", map[string]string{"VisibilityTimeout": sqsVisibility,
		"RedrivePolicy": `{"deadLetterTargetArn":"` + native.ARN + `","maxReceiveCount":"2"}`})
	dl := srv.CreateQueue(t, name+"-dl", attrs)
	recvURL := func(q fauxqs.Queue) string { return srv.QueueURL(q) + "&raw=true" }
	exerciseBroker(t, brokerSetup{
		main:        openSenderURL(t, srv.QueueURL(main)),
		openMain:    openReceiverURL(t, recvURL(main)),
		dl:          openSenderURL(t, srv.QueueURL(dl)),
		openDL:      openReceiverURL(t, recvURL(dl)),
		openNative:  openReceiverURL(t, recvURL(native)),
		nativeCount: func() int { return sqsCount(t, srv, native) },
		wait:        sqsWait,
	})
}

// TestSQSReplayToAFailingTarget replays to a queue deleted meanwhile: every send fails and the
// dead letters stay, visible again after a second (gocloud's Nack sets their visibility timeout
// to 1s), long before the queue's own 30s.
func TestSQSReplayToAFailingTarget(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	name := fmt.Sprintf("hookline-deadletter-fail-%d", os.Getpid())
	dl := srv.CreateQueue(t, name+"-dl", map[string]string{"VisibilityTimeout": "30"})
	gone := srv.CreateQueue(t, name+"-gone", nil)
	s := openSenderURL(t, srv.QueueURL(dl))
	for _, ev := range permEvents[:2] {
		deadLettered(t, s, ev, "sink: refused")
	}
	to := openSenderURL(t, srv.QueueURL(gone))
	if err := srv.DeleteQueue(gone); err != nil {
		t.Fatal(err)
	}
	from := openReceiverURL(t, srv.QueueURL(dl)+"&raw=true")()
	start := time.Now()
	res, err := deadletter.Replay(t.Context(), from, to, &deadletter.Options{Wait: sqsWait})
	if err == nil || res != (deadletter.Result{Received: 2, Selected: 2, Failed: 2}) {
		t.Fatalf("replay to a deleted queue: %+v, %v", res, err)
	}
	t.Logf("replay error: %v", err)
	// Within the 30s visibility timeout: only a nack makes them visible again this soon.
	listIDs(t, from, &deadletter.Options{Wait: sqsWait}, permPrefix+"1", permPrefix+"2")
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}

// sqsCount returns the number of visible messages in q.
func sqsCount(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue) int {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out, err := srv.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Errorf("queue attributes of %s: %v", q.Name, err)
		return -1
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// TestSQSWaitLongerThanTheVisibilityTimeout lists a queue whose visibility timeout (1s) is
// shorter than Options.Wait (3s): the messages held come back while List still waits for more.
// It shows each once and ends Wait after the last new one, though redeliveries keep coming.
func TestSQSWaitLongerThanTheVisibilityTimeout(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	dl := srv.CreateQueue(t, fmt.Sprintf("hookline-deadletter-visibility-%d", os.Getpid()), map[string]string{"VisibilityTimeout": "1"})
	s := openSenderURL(t, srv.QueueURL(dl))
	for _, ev := range permEvents {
		deadLettered(t, s, ev, "sink: refused")
	}
	from := openReceiverURL(t, srv.QueueURL(dl)+"&raw=true")()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	var progress []int
	msgs, err := deadletter.List(ctx, from, &deadletter.Options{Wait: 3 * time.Second, Progress: func(n int) { progress = append(progress, n) }})
	took := time.Since(start)
	t.Logf("listed in %v", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("list: %v after %v", err, took)
	}
	if got := ids(msgs); len(got) != 3 || got[0] != permPrefix+"1" || got[2] != permPrefix+"3" {
		t.Fatalf("listed %v", got)
	}
	if len(progress) != 3 || progress[2] != 3 {
		t.Errorf("progress %v", progress)
	}
	if took > 8*time.Second {
		t.Errorf("List took %v with Wait 3s", took)
	}
}
