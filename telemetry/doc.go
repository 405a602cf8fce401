// Package telemetry chooses where a hookline program's traces and metrics go, from
// OpenTelemetry's standard environment variables, as the OpenTelemetry Go autoconfiguration
// (go.opentelemetry.io/contrib/exporters/autoexport) reads them.
//
// The library packages (emitter, channel, pipeline, the adapters) only use the global
// OpenTelemetry providers, or the ones given in their options, and never export anything. What
// runs them, `hookline serve`, examples/local and the function examples, calls [Start] at
// startup and [Telemetry.Shutdown] at exit; a function also calls [Telemetry.Flush] after each
// invocation (or wraps its handler in [Telemetry.FlushAfter]).
//
// # Nothing is exported by default
//
// With neither OTEL_TRACES_EXPORTER nor OTEL_METRICS_EXPORTER set (or both "none"), or with
// OTEL_SDK_DISABLED=true, Start installs nothing: the global providers stay OpenTelemetry's
// no-op ones, which cost next to nothing, no connection is made and no port is opened. Each
// signal is turned on by its own variable: OTEL_METRICS_EXPORTER=prometheus alone gives metrics
// and no tracing. (autoexport on its own would send both signals to an OTLP endpoint on
// localhost when the variables are unset; hookline does not.)
//
// # Environment variables
//
//	OTEL_TRACES_EXPORTER   where spans go: otlp, console (JSON lines on stdout) or none. One
//	                       value; unset: none.
//	OTEL_METRICS_EXPORTER  where metrics go: otlp (pushed every OTEL_METRIC_EXPORT_INTERVAL,
//	                       default 60000 ms), prometheus (served for scraping, below), console
//	                       (stdout) or none. One value; unset: none.
//	OTEL_SERVICE_NAME      the service.name resource attribute (default: the ServiceName of
//	                       [Options], "hookline" unless the program says otherwise), e.g.
//	                       stripe-webhook.
//	OTEL_RESOURCE_ATTRIBUTES  more resource attributes, e.g.
//	                       deployment.environment.name=prod,service.version=1.4.2
//	OTEL_TRACES_SAMPLER    which traces are recorded, read by the SDK (default
//	                       parentbased_always_on: every trace the caller did not decline), e.g.
//	                       parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1 for one in ten;
//	                       BENCHMARKS.md says what recording every trace costs.
//	OTEL_SDK_DISABLED      true: install nothing, whatever the other variables say.
//	HOOKLINE_OTEL_GOCLOUD  true: keep gocloud.dev's own per-call spans and metrics (below).
//	OTEL_PROPAGATORS       not read: a program that installs a provider uses W3C trace context
//	                       and baggage (the library carries trace context across the broker
//	                       itself, whatever the propagator).
//
// With otlp, the OTLP exporter's own variables apply (OpenTelemetry's specification defines
// them; each has a _TRACES_ and a _METRICS_ form, e.g. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, that
// wins over the general one for its signal):
//
//	OTEL_EXPORTER_OTLP_PROTOCOL  http/protobuf (default, port 4318) or grpc (port 4317)
//	OTEL_EXPORTER_OTLP_ENDPOINT  the collector or vendor endpoint, e.g. http://localhost:4318
//	                             (the default for http/protobuf, localhost:4317 for grpc); with
//	                             http/protobuf the signal's path, /v1/traces or /v1/metrics, is
//	                             appended to it (not to the _TRACES_ and _METRICS_ forms)
//	OTEL_EXPORTER_OTLP_HEADERS   headers sent with each export, e.g. an API key:
//	                             api-key=secret (comma-separated key=value pairs)
//	OTEL_EXPORTER_OTLP_TIMEOUT   per export, in milliseconds (default 10000)
//
// With prometheus, metrics are served as Prometheus text at
// http://OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT/metrics, by default
// http://localhost:9464/metrics (in a container, set OTEL_EXPORTER_PROMETHEUS_HOST=0.0.0.0 to
// be scraped from outside it). [Telemetry.MetricsHandler] serves the same metrics as an
// http.Handler, which pipeline.Options.Metrics (httpserver.Options.Metrics) serves at GET
// /metrics on the webhook's own port, for platforms that scrape one port only.
//
// Examples:
//
//	OTEL_METRICS_EXPORTER=prometheus go run ./examples/local -demo   # then curl localhost:9464/metrics
//	OTEL_TRACES_EXPORTER=console go run ./examples/local -demo       # spans on stdout
//	OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp hookline serve   # to a collector on localhost:4318
//
// An unknown value, or a list such as "otlp,prometheus", is an error from [Start] that names
// the variable, its value and the accepted values.
//
// # gocloud's own telemetry
//
// gocloud.dev, which hookline's channels are built on, records a span and a latency metric of
// its own for each broker call, on the global providers. Start leaves them out: hookline's send
// and process spans already time every send and delivery, while gocloud's receive and batch
// spans start traces of their own that belong to no event (an idle mem:// subscription alone
// starts four a second), and recording them costs more CPU than hookline's own telemetry. Set
// HOOKLINE_OTEL_GOCLOUD=true to keep them. [Install] does the same for providers of your own.
//
// # Sending traces to a cloud's tracing service
//
// All three clouds accept OTLP; their endpoints authenticate each request with the cloud's own
// credentials (AWS SigV4, Microsoft Entra ID, Google OAuth), which the OTLP variables above
// cannot produce. So the usual way is an OpenTelemetry Collector next to the program, which
// receives plain OTLP on localhost and does the authentication: set OTEL_TRACES_EXPORTER=otlp
// (and OTEL_METRICS_EXPORTER=otlp) and point OTEL_EXPORTER_OTLP_ENDPOINT at it, usually
// http://localhost:4318.
//
//   - AWS X-Ray (CloudWatch): add the AWS Distro for OpenTelemetry (ADOT) collector, or the
//     OpenTelemetry community's collector, as a Lambda layer (a sidecar on ECS); its
//     configuration (OPENTELEMETRY_COLLECTOR_CONFIG_URI for the layer) exports with
//     otlphttp and the sigv4auth extension to CloudWatch's OTLP traces endpoint
//     https://xray.REGION.amazonaws.com/v1/traces, which needs CloudWatch Transaction Search
//     turned on and accepts W3C trace ids as they are.
//   - Azure Application Insights: a collector with the azuremonitor exporter (given the
//     resource's connection string), or Azure Monitor's native OTLP ingestion (in preview)
//     through a collector with the Azure authentication extension.
//   - Google Cloud Trace: Google's Telemetry (OTLP) API at https://telemetry.googleapis.com,
//     through a collector (the Google-Built OpenTelemetry Collector, e.g. as a Cloud Run
//     sidecar or service) with the googleclientauth extension.
//
// The README of each function example says what to set on its platform.
//
// # Functions
//
// AWS Lambda freezes the execution environment between invocations, and Cloud Run functions
// and Azure Functions may throttle or stop an idle instance: spans and metrics still waiting in
// a batch would leave late or never. A function flushes after each invocation, before it
// answers; with nothing configured, that costs nothing.
package telemetry
