// Command hookline is the operator's command: it runs the pipeline, brings back events the
// pipeline missed, and replays dead letters.
//
//	go install github.com/hookline/hookline/cmd/hookline@latest
//	hookline <command> [flags]        (hookline <command> -h for its flags)
//
// It is configured by the environment variables of package pipeline (HOOKLINE_SOURCE and its
// secret, STRIPE_WEBHOOK_SECRET or HOOKLINE_WEBHOOK_SECRET, HOOKLINE_CHANNEL, HOOKLINE_SINK,
// HOOKLINE_DEADLETTER, PORT, HOOKLINE_HOST, HOOKLINE_ROLE, ...) and, for the commands that
// read Stripe's API, STRIPE_API_KEY (a secret key, or a restricted key with read access to events
// and to the objects a backfill lists) and STRIPE_API_BASE (Stripe's API by default; set it for a
// proxy or a test double). Flags override the environment. Results go to standard output,
// progress (a line a second for anything longer) and errors to standard error; the exit status
// is 0 only on success, 2 for a usage error.
//
// # serve
//
// Runs the pipeline from the environment, as examples/local does without -demo, so that a
// container image can run this one binary. It links every source, broker and sink of this module.
//
//	HOOKLINE_CHANNEL=rabbitmq://stripe-events HOOKLINE_SINK=postgres://... \
//	STRIPE_WEBHOOK_SECRET=whsec_... hookline serve -addr :8080
//
// It listens on HOOKLINE_HOST:PORT, 127.0.0.1:8080 by default; a container sets
// HOOKLINE_HOST=0.0.0.0 (the image does, with PORT=8080). -addr overrides both.
//
// HOOKLINE_ROLE (or -role, which overrides it) says what the process runs: all (the default),
// webhook or consumer, so that the webhook and the consumer scale apart (package pipeline,
// # Roles). A webhook needs no HOOKLINE_SINK and opens no sink or subscription; a consumer needs
// no webhook secret and answers 404 on /webhook. Both serve /healthz, /readyz (webhook: the
// broker takes sends; consumer: the subscription receives) and, with a metrics exporter,
// /metrics. A split role needs a broker's channel. The console (below) runs in all and consumer.
//
//	HOOKLINE_ROLE=webhook  HOOKLINE_CHANNEL=rabbitmq://stripe-events STRIPE_WEBHOOK_SECRET=whsec_... hookline serve
//	HOOKLINE_ROLE=consumer HOOKLINE_CHANNEL=rabbitmq://stripe-events HOOKLINE_SINK=postgres://... hookline serve
//
// With HOOKLINE_RECOVER_EVERY (or -recover-every, which overrides it) set to a duration such as
// 1h, and STRIPE_API_KEY set, serve also heals itself: at start and then at each interval it
// recovers the events of the look-back window (HOOKLINE_RECOVER_LOOKBACK, default 72h) whose
// webhook delivery has not succeeded, into the pipeline's own channel (for an in-process one, through the
// same bound as the webhook, so the consumer stores them before the process exits), and logs
// each run's counts. It keeps no state: the sinks absorb what arrives twice. The interval must
// not be longer than the look-back. See package recovery, # Scheduled recovery. It runs in the
// process that has it configured and sends into the channel, so it runs with the webhook (roles
// all and webhook); serve refuses it in the consumer role. With several replicas, configure it
// on one deployment only (one replica's worth): duplicates are harmless, since the sinks are
// idempotent, but wasteful.
//
//	STRIPE_API_KEY=rk_... HOOKLINE_RECOVER_EVERY=1h hookline serve
//
// Traces and metrics (of serve, recover, backfill and deadletters) are exported as
// OpenTelemetry's standard variables say (OTEL_TRACES_EXPORTER,
// OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME: package telemetry has the
// reference); nothing is exported when none is set. With OTEL_METRICS_EXPORTER=prometheus the
// metrics are served at GET /metrics on the webhook's port as well as on
// OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT (default localhost:9464).
//
//	OTEL_METRICS_EXPORTER=prometheus OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 hookline serve
//
// With HOOKLINE_CONSOLE_TOKEN set (at least 16 characters), serve also serves the operator
// console at /console/ on the same port, behind that token: recent events, dead letters with
// Replay and Discard, a recovery from Stripe's API, and a JSON API (package console has its
// variables, pages and API). The log says where it is.
//
//	HOOKLINE_CONSOLE_TOKEN=$(openssl rand -hex 24) hookline serve
//
// # check
//
// Checks, before any event, everything serve checks at start, and says all that cannot work:
// the URLs and the source with its secret, the expressions of the configuration file's routes
// (HOOKLINE_CONFIG, package route), and each sink's destination — for Dataverse, through the
// metadata Web API, that the table and every mapped column exist, that each expression's type
// fits its column, and that the alternate key exists and is Active. It prints one line per
// problem (route, column, where the file maps it, what is wrong, what to change) and exits 1, or
// "ok" and 0.
//
//	HOOKLINE_CONFIG=hookline.yaml hookline check
//
// # dataverse setup
//
// Creates, through the metadata Web API, what check finds missing in the tables of the routes
// that write to dataverse:// (the configuration file's, or HOOKLINE_SINK's) and can be created:
// the key, event-time and event-id columns, the mapped columns with the publisher prefix of the
// sink's own (new_...), and the alternate key, and waits until the key's index is Active. It is
// idempotent; --dry-run only says what it would create, --route limits it to routes by name.
// The application user and its security role stay manual (package sink/dataverse, # Setup).
//
//	HOOKLINE_CONFIG=hookline.yaml hookline dataverse setup --dry-run
//
// # recover
//
// Lists the events of Stripe's Events API created in a time range and sends each, oldest first,
// into HOOKLINE_CHANNEL as the same event the webhook would have produced (package recovery).
// Stripe keeps events for 30 days. With --undelivered only the events whose delivery has not
// succeeded are listed: those Stripe is still retrying and those it gave up on after three days.
// Rate limits are waited out; the sinks are idempotent, so a second run changes nothing.
//
//	hookline recover --since 72h --undelivered
//	hookline recover --since 2026-11-01T00:00:00Z --until 2026-11-02T00:00:00Z --type customer.* --dry-run
//
// The last line says how many events were listed, sent, and skipped by type. When the channel is
// in-process (mem://, the default, or inproc://) and HOOKLINE_SINK is set, the command runs the consumer into
// the sink itself and exits once every recovered event is stored; in process and without a
// sink it refuses, since nothing would receive.
//
// # backfill
//
// Lists the current objects (all pages) and sends each as a "<object>.snapshot" event that the
// sinks store like any other, under the ordering rule of package recovery (# Backfill): a
// snapshot never overwrites a record a newer event already wrote, and any event newer than the
// snapshot overwrites it. Same environment and in-process shortcut as recover.
//
//	hookline backfill --objects customer,subscription
//
// # deadletters
//
// Lists, replays or discards the messages on a dead-letter channel: hookline's own
// (HOOKLINE_DEADLETTER by default) or a broker's native dead-letter queue
// (azuresbqueue://q?subqueue=deadletter, an SQS redrive queue, a RabbitMQ dead-letter queue),
// whose messages may lack hookline's reason metadata: the list shows what there is (package
// channel/deadletter), with the route of a configuration file whose failure dead-lettered each.
//
//	hookline deadletters list --from rabbitmq://stripe-events-deadletter
//	hookline deadletters replay --from awssqs://.../stripe-events-dlq?region=us-east-2 \
//	    --to awssqs://.../stripe-events?region=us-east-2 --type customer.* --limit 500
//	hookline deadletters replay --route invoices        # once the invoices route is fixed
//	hookline deadletters discard --id evt_1NG8Du2eZvKYlo2CxqYb1234 --dry-run
//
// --id, --type and --route select messages on all three. Replay acknowledges a message on the
// dead-letter channel only after its send to --to (default HOOKLINE_CHANNEL) succeeded; the
// messages not selected, and those whose send failed, stay. Discard acknowledges the selected
// messages without sending them anywhere, which removes them for good; it refuses to run
// without a selection unless given --all.
//
// # version
//
// Prints the module version ("(devel)" for a build from a work tree), the VCS revision, its time
// and whether the tree was modified ("unknown" when the build has no VCS stamp, as under go run
// or go test), and the Go version, from the binary's build information; -json prints them as an
// object with the keys version, revision, time, modified and go.
//
//	hookline version
//	hookline version -json
package main
