// Package amazonsqs makes package channel work fully on AWS SQS and SNS. Import it for its side
// effects in your main package:
//
//	import _ "github.com/hookline/hookline/channel/amazonsqs"
//
// It enables awssqs:// and awssns:// URLs (it imports gocloud.dev/pubsub/awssnssqs) and registers
// a [channel.Broker] for each of SQS and SNS, which reports SQS's ApproximateReceiveCount as
// [channel.DeliveryCount] and sets the SQS/SNS FIFO message group and deduplication ids when a
// sender is opened with [channel.SenderOptions]. An awssqs:// or awssns:// sender refuses to open
// without this package, even when gocloud's driver is linked: its brokers tell package channel
// the attribute limit below. It lives apart from package channel because the AWS SDK is large;
// programs that do not use AWS do not link it.
//
// # URLs
//
// An SQS queue, to send to ([channel.OpenSender]) and to receive from ([channel.OpenReceiver]),
// is its queue URL with the scheme replaced by awssqs:
//
//	awssqs://sqs.us-east-2.amazonaws.com/123456789012/stripe-events?region=us-east-2
//	awssqs://sqs.us-east-2.amazonaws.com/123456789012/stripe-events.fifo?region=us-east-2
//
// An SNS topic, to send to, is its ARN after three slashes (the ARN's colons cannot be a host):
//
//	awssns:///arn:aws:sns:us-east-2:123456789012:stripe-events?region=us-east-2
//	awssns:///arn:aws:sns:us-east-2:123456789012:stripe-events.fifo?region=us-east-2
//
// SNS does not deliver to programs that poll: receive from an SQS queue subscribed to the topic
// (fan-out: one queue per consumer), with raw message delivery turned on so that the SQS message
// is the published message and its attributes. gocloud also unwraps SNS's JSON envelope when raw
// delivery is off; add snstopicarn=<topic ARN> to the receiving URL then, so that only envelopes
// claiming that topic are unwrapped, or raw=true to say bodies are never wrapped:
//
//	awssqs://sqs.us-east-2.amazonaws.com/123456789012/hookline?region=us-east-2&raw=true
//
// Query parameters are gocloud's; any other is an error. region= and endpoint= on every URL
// (endpoint= sends requests to another address, such as an emulator, instead of AWS); on
// receiving URLs also raw=, snstopicarn=, waittime= (long polling, e.g. 20s) and nacklazy=true
// (Nack does nothing; the message comes back after its visibility timeout). These four are
// receive-only: a send URL that carries one is refused, so a queue's send and receive URLs
// differ when the receiving one needs them. For an emulator on
// this machine (fauxqs, LocalStack), keep the queue URL it returned and add its endpoint:
//
//	awssqs://sqs.us-east-1.localhost:4566/000000000000/stripe-events?region=us-east-1&endpoint=http://127.0.0.1:4566
//	awssns:///arn:aws:sns:us-east-1:000000000000:stripe-events?region=us-east-1&endpoint=http://127.0.0.1:4566
//
// Credentials come from the AWS SDK's default chain: environment variables (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY), the shared config files and AWS_PROFILE (also profile= in the URL), web
// identity, an ECS or EC2 instance role. Set static credentials for an emulator; without any, the
// SDK asks the EC2 instance-metadata address (AWS_EC2_METADATA_DISABLED=true prevents that).
//
// # Delivery semantics
//
// SQS delivers at least once. A received message is invisible for the queue's visibility timeout
// (default 30s; gocloud does not extend it) and is delivered again if it was not deleted (acked)
// by then, so set the timeout above the consumer's Timeout times MaxAttempts plus the backoff
// between attempts. Nack sets the message's visibility timeout to 1 second: it comes back
// almost at once. Acks are batched; a receiver's Shutdown flushes them.
//
// Delivery counts: [channel.DeliveryCount] returns the message's ApproximateReceiveCount (1 on
// the first delivery), kept by SQS across processes and restarts, so the consumer's
// MaxDeliveries counts every delivery, not only those it saw. gocloud asks for all system
// attributes on every receive, so nothing needs configuring. SQS documents the count as
// approximate.
//
// Give the queue a redrive policy to a dead-letter queue (see Provisioning) with a
// maxReceiveCount above the consumer's MaxDeliveries: our consumer dead-letters first, with the
// reason in the message metadata, and SQS's redrive remains a backstop for messages that no
// consumer could even receive properly.
//
// Messages carry the event's CloudEvents metadata as SQS message attributes (4 of the 10 that
// SQS and SNS allow, 5 with a trace context's traceparent, whose tracestate travels in the body
// only, as the brokers' MaxMetadata asks; a dead-lettered message has 5 more). Bodies are the
// CloudEvents JSON, which is always valid UTF-8; SQS takes up to 1 MiB and SNS up to 256 KiB per
// message.
//
// # FIFO queues and topics
//
// With [channel.SenderOptions].OrderBySubject, each message's MessageGroupId is the event's
// subject (the Stripe object id), so a FIFO queue delivers the events about one object in the
// order they were sent, and the next one only after the previous one was acknowledged or its
// visibility timeout ended; events without a subject get their own id as group, unordered. With
// Deduplicate, its MessageDeduplicationId is the event id: a FIFO queue or topic accepts an
// event id once per 5 minutes, so Stripe's retries of one webhook are stored once by SQS itself.
// A FIFO queue needs a group id on every message: open its senders with OrderBySubject, and
// with Deduplicate (rather than content-based deduplication, which needs byte-identical
// bodies). The ids are set on the SQS or SNS request
// itself, not as message attributes, and must be at most 128 characters of ASCII letters, digits
// and punctuation; another event id or subject fails the send as permanent.
//
// Standard (non-FIFO) queues and topics have neither feature. AWS documents the deduplication
// id as valid for FIFO queues and topics only: do not set Deduplicate for standard ones (the
// emulator the tests use ignores it there; SQS may refuse the send). A group id on a standard
// queue is accepted (SQS fair queues use it) and changes nothing about order.
//
// A FIFO queue or topic as the consumer's dead-letter channel needs its sender opened with
// channel.OpenSender and the same options: Sender.SendMessage then takes the group and
// deduplication ids from the forwarded message's ce_subject and ce_id metadata. (An SQS redrive
// policy can also move FIFO messages to a FIFO dead-letter queue on its own.)
//
// # Provisioning
//
// gocloud creates nothing. With the AWS CLI, for a queue with a dead-letter queue:
//
//	aws sqs create-queue --queue-name stripe-events-dlq
//	aws sqs create-queue --queue-name stripe-events --attributes '{
//	  "VisibilityTimeout": "120", "ReceiveMessageWaitTimeSeconds": "20",
//	  "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-2:123456789012:stripe-events-dlq\",\"maxReceiveCount\":\"10\"}"}'
//
// For SNS fan-out, a topic and one such queue per consumer, subscribed with raw delivery (the
// queue's access policy must let the topic send to it; the console adds it, the CLI does not):
//
//	aws sns create-topic --name stripe-events
//	aws sns subscribe --topic-arn arn:aws:sns:us-east-2:123456789012:stripe-events \
//	  --protocol sqs --notification-endpoint arn:aws:sqs:us-east-2:123456789012:stripe-events \
//	  --attributes RawMessageDelivery=true
//	aws sqs set-queue-attributes --queue-url https://sqs.us-east-2.amazonaws.com/123456789012/stripe-events \
//	  --attributes '{"Policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"sns.amazonaws.com\"},\"Action\":\"sqs:SendMessage\",\"Resource\":\"arn:aws:sqs:us-east-2:123456789012:stripe-events\",\"Condition\":{\"ArnEquals\":{\"aws:SourceArn\":\"arn:aws:sns:us-east-2:123456789012:stripe-events\"}}}]}"}'
//
// FIFO variants: names end in .fifo, and the dead-letter queue of a FIFO queue is FIFO too:
//
//	aws sqs create-queue --queue-name stripe-events-dlq.fifo --attributes FifoQueue=true
//	aws sqs create-queue --queue-name stripe-events.fifo --attributes '{"FifoQueue": "true",
//	  "VisibilityTimeout": "120", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId",
//	  "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-2:123456789012:stripe-events-dlq.fifo\",\"maxReceiveCount\":\"10\"}"}'
//	aws sns create-topic --name stripe-events.fifo --attributes FifoTopic=true
//
// The sending role needs sqs:SendMessage (or sns:Publish); the receiving one sqs:ReceiveMessage,
// sqs:DeleteMessage and sqs:ChangeMessageVisibility.
//
// # Errors
//
// Errors from SQS and SNS keep the AWS API error in their chain, wrapped by package channel;
// gocloud's gcerrors.Code maps them: a missing queue (QueueDoesNotExist) or topic (NotFound) is
// NotFound, AuthorizationError and KMS access errors are PermissionDenied, throttling is
// ResourceExhausted. A receiver does not reopen after NotFound or PermissionDenied: the consumer
// stops with the error. A FIFO group or
// deduplication id SQS would refuse (see # FIFO queues and topics) fails the send before it
// reaches AWS, as permanent, with an error that says which id and why.
//
// # Security
//
// Credentials never appear in URLs: they come from the SDK's chain (# URLs), and profile= names a
// profile, not a secret. Prefer a role (instance, task or web identity) with only the
// permissions listed under # Provisioning over long-lived access keys. endpoint= sends every
// request, signed with those credentials, to the address it names: use it for an emulator on
// this machine, not to point at an address you do not control.
//
// # Testing
//
// The tests run the conformance suite (package channel/channeltest) on SQS, on SNS fan-out with
// and without raw delivery, and the FIFO features, against the fauxqs emulator
// (internal/testsupport/fauxqs; scripts/install-fauxqs.sh installs it).
package amazonsqs

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/awssnssqs" // awssqs:// and awssns://

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

// maxAttributes is the most message attributes an SQS or SNS message can carry.
const maxAttributes = 10

// SQS and SNS are two brokers to package channel: the OpenTelemetry conventions name them apart.
// Only SQS has subscriptions, and so delivery counts.
func init() {
	channel.RegisterBroker(channel.Broker{
		Name: "awssqs", Schemes: []string{"awssqs"}, System: "aws_sqs", MaxMetadata: maxAttributes,
		Detect: isSQSTopic, Prepare: prepare,
		DeliveryCount: func(msg *pubsub.Message) (int, bool, bool) {
			n, ok := DeliveryCount(msg)
			return n, ok, ok
		},
	})
	channel.RegisterBroker(channel.Broker{
		Name: "awssns", Schemes: []string{"awssns"}, System: "aws.sns", MaxMetadata: maxAttributes,
		Detect: isSNSTopic, Prepare: prepare,
	})
}

// DeliveryCount returns the ApproximateReceiveCount of a message received from SQS; ok is false
// for messages of other drivers. msg must come from a subscription's Receive. [channel.DeliveryCount]
// uses it once this package is imported.
func DeliveryCount(msg *pubsub.Message) (n int, ok bool) {
	var m sqstypes.Message
	if !msg.As(&m) {
		return 0, false
	}
	v, found := m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// isSQSTopic and isSNSTopic recognise SQS and SNS topics opened without a URL by the SDK client
// their As exposes.
func isSQSTopic(t *pubsub.Topic) bool {
	var c *sqs.Client
	return t.As(&c)
}

func isSNSTopic(t *pubsub.Topic) bool {
	var c *sns.Client
	return t.As(&c)
}

// prepare sets the FIFO group and deduplication ids on the SQS or SNS request entry through
// BeforeSend, keeping m's own BeforeSend, which runs afterwards.
func prepare(ev hookline.Event, opts channel.SenderOptions, m *pubsub.Message) error {
	var group, dedup *string
	if opts.OrderBySubject {
		g := ev.Subject
		if g == "" {
			g = ev.ID
		}
		if err := checkID("message group id (event subject)", g); err != nil {
			return err
		}
		group = aws.String(g)
	}
	if opts.Deduplicate {
		if err := checkID("deduplication id (event id)", ev.ID); err != nil {
			return err
		}
		dedup = aws.String(ev.ID)
	}
	next := m.BeforeSend
	m.BeforeSend = func(as func(any) bool) error {
		var q *sqstypes.SendMessageBatchRequestEntry
		var n *snstypes.PublishBatchRequestEntry
		switch {
		case as(&q):
			q.MessageGroupId, q.MessageDeduplicationId = group, dedup
		case as(&n):
			n.MessageGroupId, n.MessageDeduplicationId = group, dedup
		default:
			return errors.New("amazonsqs: the driver offers neither an SQS nor an SNS request entry")
		}
		if next != nil {
			return next(as)
		}
		return nil
	}
	return nil
}

// checkID enforces SQS's rules for group and deduplication ids: 1 to 128 characters, each an
// ASCII letter, digit or punctuation mark.
func checkID(what, id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%s %q must have 1 to 128 characters", what, id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < '!' || c > '~' {
			return fmt.Errorf("%s %q has a character SQS does not allow (%q)", what, id, c)
		}
	}
	return nil
}
