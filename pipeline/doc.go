// Package pipeline assembles the whole hookline flow — webhook (a source) → channel → consumer →
// sink — from a [Config] of URLs and webhook secrets. It is what every example, adapter and
// command of this module builds on, so whatever they do an importer can do too: a main of about
// twenty lines ([Example]), a unit test of a flow on the in-process channel ([Example_unitTest]),
// or the two halves a serverless runtime runs ([NewWebhook], [NewProcessor]). It knows no source
// by name: it opens the one HOOKLINE_SOURCE names through package emitter's registry.
//
// # Configuration
//
// [ConfigFromEnv] reads these environment variables, the one place their names and defaults are
// defined (the function halves read the same ones through [FunctionConfigFromEnv], without
// defaults):
//
//	PORT                   8080                      listen on $HOOKLINE_HOST:$PORT
//	HOOKLINE_HOST          127.0.0.1                 the listen host; 0.0.0.0 in a container (an IPv6
//	                                                 host such as :: is bracketed: [::]:8080)
//	HOOKLINE_ROLE          all                       what the process runs: all, webhook or consumer (# Roles)
//	HOOKLINE_SOURCE        stripe://                 the source's URL (emitter: stripe://, standardwebhooks://)
//	HOOKLINE_CHANNEL       mem://stripe-events       topic URL the webhook sends to
//	HOOKLINE_SUBSCRIPTION  the channel URL           subscription URL the consumer receives from
//	HOOKLINE_SINK          sqlite://hookline.db      sink URL (sqlite://, postgres://, dataverse://, stdout://, discard://);
//	                                                 none in the webhook role
//	HOOKLINE_DEADLETTER    <channel>-deadletter for an in-process channel, else none
//	                                                 topic URL for events that cannot be processed
//	HOOKLINE_BATCH_SIZE    100                       most events handed to a sink at once (1: one at a time)
//	HOOKLINE_BATCH_WAIT    10ms                      how long a batch waits for more after its first event
//	<the source's SecretEnv> generated for the run   the endpoint's whsec_... secret; comma-separated while
//	                                                 rolling one: STRIPE_WEBHOOK_SECRET for stripe://,
//	                                                 HOOKLINE_WEBHOOK_SECRET for standardwebhooks://
//
// A URL scheme works when the program links its driver: inproc:// and mem:// always; a source, a
// broker or a sink by a blank import of its package (emitter/stripehook, emitter/standardwebhooks,
// channel/rabbitmq, channel/amazonsqs, channel/googlepubsub, channel/azureservicebus,
// sink/sqlsink, sink/dataverse). A configuration that can never work — a malformed URL, a scheme
// no linked driver serves, a source option it does not know, no secret — is found
// before anything connects ([Config.Check], [Webhook.Check], [Processor.Check]) and said once,
// with what to fix, when the program starts.
//
// # Roles
//
// One process runs the webhook, the consumer, or both, so that in a deployment each scales on
// its own signal: the webhook on HTTP load, the consumer on the queue's depth (KEDA). HOOKLINE_ROLE
// ([EnvRole], Config.Role, [ParseRole]) says which; any other value is an error naming the
// variable and the roles:
//
//	all       [RoleAll], the default: the webhook and the consumer, as in every example.
//	webhook   [RoleWebhook]: the webhook, /healthz, /readyz and /metrics. It opens the topic and
//	          the source only: no subscription, dead-letter topic, sink or consumer, so
//	          HOOKLINE_SINK and HOOKLINE_CONFIG's sinks are neither needed nor opened.
//	          /readyz answers 200 while the topic takes sends (a failed send marks it unavailable
//	          until a send succeeds again).
//	consumer  [RoleConsumer]: the consumer, /healthz, /readyz and /metrics. It opens no source and
//	          needs no webhook secret (none is generated); POST /webhook answers 404. /readyz
//	          answers 200 while the subscription receives and the consumer runs.
//
// A split role needs a broker's channel: with an in-process one (mem://, inproc://) [Open]
// refuses it, since the events would never leave the process. The console (Options.Console)
// runs where the consumer does (all or consumer): it lists what the consumer settled and
// replays dead letters and recovers into the channel, for which a consumer with a console opens
// the topic too; [Open] refuses a console in the webhook role. Readiness is what a Kubernetes
// readiness probe needs: a webhook replica that cannot send takes no traffic, a consumer replica
// that cannot receive is reported.
//
// A scheduled recovery ([Pipeline.Sender] with recovery.RunEvery, `hookline serve` with
// HOOKLINE_RECOVER_EVERY) runs in the process that has it configured and sends into the channel,
// so it belongs with the webhook (all or webhook; `hookline serve` refuses it in the consumer
// role, which a queue-depth scaler may scale to zero). With several replicas configure it on one
// deployment only: every replica that has it runs it, and while the duplicates are harmless (the
// sinks are idempotent) they waste Stripe API calls and broker traffic.
//
// # Routes
//
// With HOOKLINE_CONFIG ([EnvConfig], Config.Routes) naming a file of routes (package route: each
// route has types, a CEL filter, a sink URL and, for a sink that writes columns, a CEL mapping),
// each event goes to every route that matches it, in the file's order, each to its own sink;
// HOOKLINE_SINK must then be unset. [Open] compiles every expression and has every sink that can
// check its destination (sink.Checker: for Dataverse, its table, columns, types and alternate
// key) check it, and refuses to start, with what to change ([ProblemsError]), when one cannot
// work; [CheckRoutes] runs the same checks for `hookline check`. An event is acknowledged once
// every matching route stored or ignored it; a route's transient failure retries the whole
// event (the routes that stored it ignore it the next time: the sinks are idempotent); a
// permanent one dead-letters it with the route in its reason (hookline.RouteError), and a replay
// runs the routes again. An event that matches no route is acknowledged and counted as unrouted.
// hookline.route.events counts each route's outcomes (stored, ignored, failed; unrouted), the
// event's span (its handle span; with batches, its process span) gets a "route" event per route,
// and a console that is a [RouteObserver] is told what each route did. Options.Sinks gives
// routes sinks of the program's, by route name. With batches (below), each route writes, in
// one batch to its sink, the events of the consumer's batch that match it and that no earlier
// route failed.
//
// # Batches
//
// A sink that writes several events at once (sink.BatchApplier: sqlsink in one transaction,
// dataverse in $batch requests, sink.Memory) is given what the consumer received together: up to
// HOOKLINE_BATCH_SIZE events (Config.BatchSize, or Options.Consumer's MaxBatch; default
// channel.DefaultMaxBatch), waiting at most HOOKLINE_BATCH_WAIT after the first event for more
// (default channel.DefaultBatchWait), with channel.DefaultBatchCalls batches written at once.
// Under load a batch fills at once from what the broker has delivered; a lone event waits
// at most the wait. The rules stay per event (package channel): each has its own result,
// retries, dead letter, acknowledgement, log line and metrics, so one failing event holds up
// no other. A sink that is not a BatchApplier (stdout://, discard://, a [sink.Func]) is written
// an event at a time, as with HOOKLINE_BATCH_SIZE=1. [NewConsumer] builds the same consumer for
// a program of its own (`hookline recover` uses it).
//
// # Delivery semantics
//
// [Open] opens the topic, then its subscription (gocloud's mem:// drops what is sent before a
// subscription exists), the dead-letter topic, the sink, and only then the webhook, so nothing
// is accepted that could not be carried. The webhook answers 2xx only after the channel accepted
// the event; the consumer acknowledges a message only once the sink stored it or it was
// dead-lettered with its reason.
//
// On an in-process channel ([IsInProcess]: mem://, or inproc:// of channel/inprocpubsub, whose
// receives wait for a send instead of polling every 250 ms) the pipeline also does what a
// broker would: it bounds the events accepted but not yet processed (Config.MaxPending,
// default 10,000; past it the webhook answers 503 and the sender retries), it gives the dead
// letters a default in-memory topic whose messages are logged at ERROR (with a console too,
// which keeps them for replay), and [Pipeline.Serve], once its context ends, stops accepting,
// waits until every accepted event was processed (within Options.DrainTimeout), then stops the
// consumer, flushes acknowledgements and closes the sink. Nothing answered 2xx is lost on
// SIGTERM.
//
// # Functions
//
// A serverless runtime runs the flow as two functions: the webhook sends to a real broker, and a
// processor triggered by that broker writes to the sink. [NewWebhook] and [NewProcessor] are
// those halves, opened on first use and kept for the life of the instance; a [Platform] words
// their errors for the runtime (adapters/azurefunctions, adapters/gcpfunctions, examples/aws).
// They refuse an in-process (mem://, inproc://) channel or dead-letter URL, which would not
// leave the instance.
// [NewRecoverer] is the third, the recover role: the scheduled recovery of package recovery,
// which a platform's scheduler invokes to send the events whose delivery has not succeeded into
// the channel, so that a deployment heals itself. [Pipeline.Sender] lets a long-running process
// do the same into its own pipeline (`hookline serve` with HOOKLINE_RECOVER_EVERY).
//
// # Observability
//
// The pipeline traces and measures through Options.TracerProvider and Options.MeterProvider, or
// else the global providers (package telemetry's Start installs them from the OTEL_* variables); its
// parts record what their package docs list (emitter, channel: # Observability). Every
// delivery is one trace: the webhook's server span, the send, and per delivery a process span
// with a "handle" span per sink write. The consumer writes with [sink.Apply], so the metrics
// (hookline.events, outcome "stored" or "ignored", with hookline.sink the sink URL's scheme, or
// "memory" or "custom" for Options.Sink) and the log ("event stored", "event ignored") tell an
// event that changed the sink from one it already held; the function processor logs those at
// DEBUG. On an in-process channel, hookline.backlog gauges the events accepted and not yet
// settled. Options.Metrics serves a metrics handler (telemetry's Prometheus one) at GET /metrics
// on the webhook's port.
//
// # Errors
//
// Errors start with "pipeline: " (or the platform's name for the function halves) and name the
// variable at fault. A function half answers 500 "function not configured" while its
// configuration cannot work ([IsConfigError]) and 503 with Retry-After while its broker or sink
// cannot be reached, so the sender and the broker retry until it is fixed.
//
// # Security
//
// The webhook always verifies the source's signature (emitter/stripehook,
// emitter/standardwebhooks); there is no option to skip it.
// URLs are logged and quoted in errors with their passwords and token-like query values masked,
// those of URLs nested in a query parameter too (a Dataverse endpoint=). Everything the
// pipeline logs through Options.Logger, and every error [Open] returns, passes through one mask
// of the configuration's secrets (the webhook secrets and what its URLs carry), so that a
// driver's message that quotes a URL leaks nothing either. The secret generated for a local run
// is printed once ([SecretNotice]) because the user needs it to sign requests; configured
// secrets are never logged.
package pipeline
