// Package gcpfunctions runs the hookline flow on Google Cloud Functions (2nd gen, which runs on
// Cloud Run) with the Go Functions Framework: the Stripe webhook as an HTTP function that sends
// each verified event to a Pub/Sub topic, the processor as a function that Pub/Sub invokes
// with each message and that writes the event to the sink, and the recover function as the
// HTTP target of a Cloud Scheduler job, which heals missed deliveries: on each run it sends the
// events whose webhook delivery has not succeeded, listed from Stripe's Events API, to the topic
// (package recovery, # Scheduled recovery).
//
//	func init() {
//		opts := &gcpfunctions.Options{Logger: slog.New(gcpfunctions.NewLogHandler(os.Stderr, nil))}
//		functions.HTTP("StripeWebhook", gcpfunctions.NewWebhook(opts).ServeHTTP)
//		p := gcpfunctions.NewProcessor(opts)
//		functions.CloudEvent("ProcessEvent", p.HandleCloudEvent) // --trigger-topic (Eventarc)
//		functions.HTTP("PubSubPush", p.ServeHTTP)                 // or a plain push subscription
//		functions.HTTP("RecoverEvents", gcpfunctions.NewRecover(opts).ServeHTTP) // Cloud Scheduler
//	}
//
// Each reads its configuration from the environment on its first invocation, from the
// variables that examples/local reads: HOOKLINE_CHANNEL (the topic URL the webhook and the
// recover function publish to, gcppubsub://projects/P/topics/T), HOOKLINE_SINK (the processor's
// sink URL), HOOKLINE_DEADLETTER (optional: the processor's dead-letter topic URL),
// HOOKLINE_SOURCE (the webhook's source, stripe:// by default, standardwebhooks://) with its
// signing secret (STRIPE_WEBHOOK_SECRET, HOOKLINE_WEBHOOK_SECRET; comma-separated to roll it;
// the program links the sources by importing their packages), and for the
// recover function STRIPE_API_KEY (a restricted key that can read events),
// HOOKLINE_RECOVER_LOOKBACK (default 72h) and STRIPE_API_BASE (optional). mem:// URLs are
// refused: an in-memory topic does not leave the instance. The package imports channel/googlepubsub, so
// gcppubsub:// URLs work; import the sink packages your URLs name (sink/dataverse, sink/sqlsink).
// examples/gcp is a complete function with the gcloud commands to deploy it.
//
// # Delivery semantics
//
// The webhook answers 2xx only after Pub/Sub accepted the event (see package emitter), so Stripe
// retries every event that did not reach the topic. Pub/Sub then delivers each message at least
// once to the processor, which acknowledges it (nil error, 2xx) only after the sink wrote the
// event or the dead-letter topic took it. Within one delivery the processor retries a failing
// write (ProcessorOptions.MaxAttempts, backoff, per-call Timeout); after that it returns an error
// and Pub/Sub delivers the message again, with exponential backoff when the subscription has a
// retry policy. A CloudEvent function is retried only when deployed with --retry; without it a
// failed event is dropped. A permanent failure, an undecodable message or a message whose
// delivery attempt exceeds MaxDeliveries goes to HOOKLINE_DEADLETTER with the reason in its
// attributes, and is acknowledged.
//
// Delivery attempts: a push request carries "deliveryAttempt" only when its subscription has a
// dead-letter policy; the processor passes it to the consumer rules (0 when absent, leaving the
// limit to Pub/Sub's own policy). Eventarc's messagePublished data is read the same way, and the
// attempt is taken from it when present. The Functions Framework also accepts a plain push body
// at a CloudEvent function and converts it, but drops deliveryAttempt: use [Processor.ServeHTTP]
// for plain push subscriptions.
//
// # Errors
//
// A missing or unusable variable is a [ConfigError]: the webhook answers 500, the processor
// returns the message to Pub/Sub, and both log it at ERROR on every invocation until the function
// is redeployed. A channel or sink that cannot be opened is answered 503 (webhook) or returned to
// Pub/Sub (processor), and the next invocation tries again. Response bodies are emitter's fixed
// JSON phrases and never carry configuration or secrets.
//
// # Security
//
// The webhook must be public (--allow-unauthenticated): Stripe cannot authenticate to Google. Its
// authenticity comes from the Stripe signature, which is always verified (see stripehook). The
// processor must not be public: a --trigger-topic function is private by default and Eventarc
// invokes it with a service account; for a plain push subscription deploy with
// --no-allow-unauthenticated and give the subscription a push service account with
// roles/run.invoker, so that Google's front end verifies the push's OIDC token before the request
// reaches the function. The recover function must not be public either: deploy it with
// --no-allow-unauthenticated and give its Cloud Scheduler job an OIDC token of a service account
// with roles/run.invoker ([Recover]). Keep STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY and sink
// credentials in Secret Manager (--set-secrets), not in plain environment variables.
package gcpfunctions

import _ "github.com/hookline/hookline/channel/googlepubsub" // gcppubsub:// URLs, delivery attempts
