package amazonsqs_test

import (
	"testing"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
)

// One trace from the Stripe webhook through SQS (fauxqs) to the sink: the webhook's SERVER span,
// the PRODUCER send span, and one CONSUMER process span per delivery, each parented by and
// linked to the send. The first delivery fails transiently and goes back to the queue, so the
// broker delivers the message twice: two process spans with ApproximateReceiveCount 1 and 2, the
// second with the handle span of the sink write.
func TestTraceWebhookToSinkAcrossSQS(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "traced-flow", map[string]string{"VisibilityTimeout": "2"})
	rec, tp := tracecheck.NewRecorder()
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{TracerProvider: tp})
	r := openReceiver(t, srv.QueueURL(q)+"&raw=true")
	id := webhookflow.Run(t, tp, s, r)

	webhookflow.Check(t, rec, "traced-flow", id, "aws_sqs", "hookline.message.delivery_count")
}
