// Package azurefunctions runs the hookline flow on Azure Functions as a Go custom handler: a
// small web server that the Functions host starts and calls for each invocation. The Stripe
// webhook is an HTTP-triggered function that sends each verified event to a Service Bus queue,
// the processor is a Service Bus-triggered function that writes each message's event to the
// sink, and the optional recover function is a timer-triggered one that heals missed
// deliveries: on a schedule it sends the events whose webhook delivery has not succeeded, listed
// from Stripe's Events API, into the same queue (package recovery, # Scheduled recovery).
//
//	webhook:    Stripe ──HTTPS──▶ host (httpTrigger) ──▶ [Webhook] ──Send──▶ Service Bus queue
//	processor:  queue ──▶ host (serviceBusTrigger, peek-lock) ──▶ [Processor] ──▶ sink
//	recover:    host (timerTrigger) ──▶ [Recover] ──▶ Stripe's Events API ──Send──▶ queue
//
// A program builds them, maps them onto paths with [Routes] and serves them on [Addr]
// (127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT) with [Serve]:
//
//	opts := &azurefunctions.Options{}
//	w, p := azurefunctions.NewWebhook(opts), azurefunctions.NewProcessor(opts)
//	h, _ := azurefunctions.Routes{Webhook: w, Processor: p}.Handler()
//	addr, _ := azurefunctions.Addr(os.Getenv)
//	ln, _ := net.Listen("tcp", addr)
//	azurefunctions.Serve(ctx, ln, h, nil)
//
// Each reads its configuration from the app settings on its first invocation, from the
// variables that examples/local reads: HOOKLINE_CHANNEL (the queue URL the webhook and the
// recover function send to, azuresbqueue://stripe-events), HOOKLINE_SINK (the processor's sink
// URL), HOOKLINE_DEADLETTER (optional: the processor's dead-letter queue URL),
// HOOKLINE_SOURCE (the webhook's source, stripe:// by default, standardwebhooks://) with its
// signing secret (STRIPE_WEBHOOK_SECRET, HOOKLINE_WEBHOOK_SECRET; comma-separated to roll it;
// the program links the sources by importing their packages), and for the
// recover function STRIPE_API_KEY (a restricted key that can read events),
// HOOKLINE_RECOVER_LOOKBACK (default 72h) and STRIPE_API_BASE (optional). mem:// URLs are
// refused: an in-memory topic does not leave the process. Import channel/azureservicebus for azuresbqueue:// URLs and the sink
// packages your URLs name. examples/azure is a complete function app with its host.json,
// function.json files and the az commands to deploy it.
//
// # Payloads
//
// The request and response JSON follow Microsoft's "Azure Functions custom handlers"
// (https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers), sections
// "Request payload", "Response payload", "Function with bindings" and "HTTP-only function", and
// the host that implements them (github.com/Azure/azure-functions-host, src/WebJobs.Script:
// Workers/Http/DefaultHttpWorkerService.cs, Workers/Http/HttpOutputBindingResponse.cs,
// Workers/ScriptInvocationContextExtensions.cs, Extensions/HttpRequestExtensions.cs):
//
//   - Invocation mode (the default). The host POSTs {"Data":{...},"Metadata":{...}} to
//     /<FunctionName>: Data holds the trigger and input values by binding name, Metadata the
//     trigger metadata. The handler answers {"Outputs":{...},"Logs":[...],"ReturnValue":...}
//     with a 2xx status; any other status fails the invocation (the host calls
//     EnsureSuccessStatusCode and reads nothing else).
//   - The webhook in invocation mode ([Webhook.Invocation]): Data.req is the HTTP request,
//     {"Url","Method","Query","Headers":{name:[values]},"Params":{...},"Body":"<text>"}, and the
//     answer puts the HTTP response in Outputs.res as {"statusCode","status","body","headers"}
//     ([HTTPResponse]). Body is a string: the host reads the body as text (as bytes, in base64,
//     only for application/octet-stream and multipart/*), and omits it when the request has no
//     Content-Length. Stripe's signature covers the exact bytes; Stripe sends UTF-8 JSON with a
//     Content-Length, which survives that unchanged, but the forwarding mode below carries the
//     bytes themselves and is the one examples/azure uses.
//   - The webhook in forwarding mode ([Webhook.ServeHTTP]): with "enableForwardingHttpRequest":
//     true in host.json's customHandler section (or its successor "enableProxyingHttpRequest",
//     which streams), a function with only an httpTrigger and an http output receives the
//     original request, at the original path (/api/webhook), and its answer goes to the caller
//     as it is.
//   - The processor ([Processor]): Data.message is the Service Bus message body, and Metadata
//     carries DeliveryCount, MessageId, SequenceNumber, EnqueuedTimeUtc, ContentType,
//     CorrelationId, SessionId, Subject (Label) and ApplicationProperties (UserProperties), as
//     listed in "Azure Service Bus trigger for Azure Functions", section "Message metadata".
//     The host encodes these loosely (scalars may arrive JSON-encoded twice, numbers as strings,
//     the body as base64, as text or as a parsed JSON object): see [DecodeServiceBusMessage].
//     Set "dataType": "binary" on the trigger to receive the exact bytes.
//   - The recover function ([Recover]): Data.timer is the timer object of "Timer trigger for
//     Azure Functions", section Usage ({"Schedule":{...},"ScheduleStatus":{"Last","Next",
//     "LastUpdated"},"IsPastDue":false}; see [TimerInfo]), and Metadata carries the host's sys
//     values (MethodName, UtcNow, RandGuid). Only IsPastDue and the status are read, for the log:
//     a run recovers the window ending when it runs. The answer is a plain invocation response,
//     200 with Logs, or 500 to fail the occurrence.
//
// # Delivery semantics
//
// Webhook: as package emitter; Stripe retries anything but 2xx.
//
// Processor: the Service Bus trigger receives in peek-lock mode and, with autoCompleteMessages
// (the default), completes the message when the invocation succeeds and abandons it when it
// fails. [Processor] answers 200 only after the sink wrote the event or the dead-letter channel
// took it, and 500 otherwise; an abandoned message is delivered again with DeliveryCount + 1,
// and after the queue's MaxDeliveryCount Service Bus moves it to the dead-letter subqueue.
// Within one invocation the consumer's rules apply ([channel.Processor]): MaxAttempts tries
// with backoff, then dead-letter (permanent failures, undecodable messages, deliveries past
// MaxDeliveries) or 500. Keep the attempts of one invocation within the queue's lock
// duration, or the message is delivered again while it is still being processed (harmless:
// sinks are idempotent).
//
// # Errors
//
// A missing or unusable app setting is a [ConfigError]: the webhook answers 500, the processor
// abandons the message, and both log it on every invocation until the setting is fixed. A
// channel or sink that cannot be opened is answered 503 (webhook) or abandoned (processor), and
// the next invocation tries again. An invocation without the expected binding is a
// [BindingError] (function.json names it differently from Options.Bindings). Response bodies
// for HTTP callers are emitter's fixed JSON phrases and never carry configuration or secrets.
//
// # Security
//
// The webhook function must be anonymous (authLevel "anonymous"): Stripe cannot send a
// function key. Its authenticity comes from the Stripe signature, which is always verified (see
// stripehook). The custom handler listens on 127.0.0.1 only: the host is its only caller. Keep
// STRIPE_WEBHOOK_SECRET and sink credentials in Key Vault (app settings of the form
// @Microsoft.KeyVault(SecretUri=...)) and connect to Service Bus and Dataverse with the
// function app's managed identity where you can.
package azurefunctions
