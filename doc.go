// Package hookline carries events from a SaaS source (first: Stripe webhooks) through a real message
// broker to a business system, the same way on Azure, AWS, Google Cloud or one laptop.
//
// The root package holds only what every part shares: the [Event] that travels through the pipeline
// and the error classification ([Code]) that tells the consumer loop whether a failure is worth
// retrying. It depends on the standard library alone.
//
// The parts live in their own packages:
//
//   - emitter: an http.Handler that verifies a webhook delivery and sends it to a channel, answering
//     2xx only after the broker accepted it; emitter/stripehook verifies Stripe's signatures.
//   - channel: opens a sender and a receiver from a gocloud.dev/pubsub URL (inproc://, mem://, rabbit://,
//     awssqs://, awssns://, azuresb://, gcppubsub://), encodes events as CloudEvents 1.0 JSON, and runs
//     the consumer loop (bounded concurrency, retries, nack, dead-letter, ack exactly once, drain).
//   - sink: where events end; sink/sqlsink keeps one row per Stripe object in SQLite or Postgres.
//
// # Errors
//
// Any sink or channel may classify its errors with [Errorf], [MarkTransient], [MarkPermanent] and
// [WithRetryAfter]; the consumer loop reads them back with [Code] and [RetryAfter]. An error nobody
// classified is [Unknown] and is retried like a transient one, so an unexpected failure is never
// dead-lettered on its first occurrence.
package hookline
