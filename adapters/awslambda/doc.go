// Package awslambda runs hookline on AWS Lambda (github.com/aws/aws-lambda-go): the Stripe
// webhook behind a Lambda Function URL or API Gateway, the processor as an SQS-triggered
// function, and Stripe events that Stripe's Amazon EventBridge event destination delivers.
//
//	webhook:      Stripe ──HTTPS──▶ Function URL / API Gateway ──▶ [Webhook] ──Send──▶ SQS
//	processor:    SQS ──event source mapping──▶ [SQSHandler] ──▶ channel.Processor ──▶ sink
//	eventbridge:  Stripe ──▶ partner event source ──▶ bus ──rule──▶ [EventBridge] ──Send──▶ SQS
//	recover:      EventBridge Scheduler ──▶ [Recover] ──▶ Stripe's Events API ──Send──▶ SQS
//
// examples/aws wires all four from environment variables and deploys them with a SAM template.
// The recover role is the self-healing one: on a schedule it sends the events whose webhook
// delivery has not succeeded, of a look-back window ending now, into the queue (package
// recovery, # Scheduled recovery; recovery.Recoverer). It keeps no state.
//
// # Payloads
//
// [Webhook] takes the documented request events of Lambda Function URLs and API Gateway HTTP
// APIs (payload format 2.0: events.LambdaFunctionURLRequest, events.APIGatewayV2HTTPRequest) and
// REST APIs (format 1.0: events.APIGatewayProxyRequest), and [Webhook.Invoke] tells them apart
// for a function behind any of them. Header names become canonical (Function URLs send them in
// lower case; Stripe-Signature is found either way), repeated headers keep every value (format
// 1.0's multiValueHeaders; format 2.0 joins them with commas), and a base64 body
// (isBase64Encoded, as Function URLs send any body whose content type is not text) is decoded.
// Then it is the emitter's contract: POST only (405), the body limit (413), the signature (400),
// 2xx only after the channel accepted the event, 503 with Retry-After when it did not.
//
// [SQSHandler] takes events.SQSEvent and answers events.SQSEventResponse. [EventBridge] takes
// events.EventBridgeEvent, whose detail is a Stripe event. [Recover] takes the Input of an
// EventBridge Scheduler schedule ([SchedulerInput]: the schedule's context attributes, only
// logged) and answers the run's counts (recovery.ScheduledRun).
//
// # Delivery semantics
//
// Webhook: as package emitter; Stripe retries anything but 2xx.
//
// Processor: each record goes to a [MessageProcessor] (*channel.Processor) with its metadata
// (the message attributes, as gocloud's SQS driver would return them) and its
// ApproximateReceiveCount, so the consumer's rules apply: retries with backoff within the
// invocation, then either done (processed, or dead-lettered to the consumer's dead-letter
// channel with the reason) or reported in batchItemFailures, after which SQS delivers that
// message, and only that one, again after its visibility timeout. The queue's redrive policy
// (maxReceiveCount above the processor's MaxDeliveries) is the backstop for messages the
// processor could not even dead-letter. See [SQSHandler.Handle] for concurrency and FIFO queues.
//
// EventBridge: an error makes Lambda retry the asynchronous invocation (twice by default) and
// then hand it to the function's on-failure destination; the event is sent to the channel at
// least once.
//
// # Errors
//
// The webhook never returns an error to Lambda: every outcome is an HTTP response (an error would
// become a 502 without Retry-After). The SQS handler never returns one either: failures are
// reported per message. The EventBridge handler returns errors marked with hookline codes:
// Permanent for an event it refuses ([ErrNotStripe], a malformed or thin event), Transient for
// a failed send. The recover handler returns a failed run's error, Transient unless marked.
//
// # Security
//
// The webhook verifies Stripe's signature like any hookline webhook: there is no way around it.
//
// Events from EventBridge carry NO SIGNATURE. Their authenticity comes from the event bus: Stripe
// publishes them to a partner event source in your account, named "aws.partner/stripe.com/...",
// and EventBridge does not let anyone else publish events with a source that starts with "aws.".
// [EventBridge.Handle] therefore accepts only sources that start with [StripeSourcePrefix] (or
// exactly the names in [EventBridgeOptions].Sources), and decodes the detail with
// stripehook.DecodeUnverified. Allow only the EventBridge rule to invoke that function: whoever
// may call lambda:Invoke on it can hand it any event.
//
// The recover function reads Stripe's API with STRIPE_API_KEY (a restricted key that can only
// read events is enough) and takes nothing from its payload but log attributes: whoever may
// invoke it can only make it recover the same window again.
package awslambda
