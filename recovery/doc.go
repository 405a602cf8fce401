// Package recovery brings back what a webhook pipeline missed, from Stripe's API: [Recover] lists
// the events of Stripe's Events API (GET /v1/events) in a time range and sends each, oldest
// first, into a channel as the same hookline.Event the webhook would have produced, so the
// consumer and the sinks treat it like any delivery. It is what `hookline recover` and the
// scheduled recover functions run.
//
// # When to use it
//
// Stripe retries a webhook delivery for up to three days and then gives up; an endpoint may have
// been misconfigured or its secret rolled wrong; a deployment may have been down. Stripe keeps
// events for 30 days ([Retention]), and lists those whose delivery did not succeed with
// delivery_success=false (Options.Undelivered). Running Recover on a schedule over a look-back
// window of undelivered events makes a deployment heal itself without storage of its own.
//
// # Delivery semantics
//
// Recover lists one window of created times at a time (Options.Window), newest first as Stripe
// lists them, and sends that window's events oldest first. Many events share one second and
// Stripe's ids are not ordered, so windows are closed intervals of whole seconds and a run keeps
// the ids it has sent: nothing is sent twice within a run. Events Stripe also delivers to the
// webhook, and a second run over the same range, arrive again; the sinks are idempotent and keep
// the newest event per object, so that changes nothing.
//
// # Scheduled recovery
//
// [RunScheduled] is the self-healing run that the recover functions of the serverless examples
// (an EventBridge Scheduler schedule on AWS Lambda, a timer trigger on Azure Functions, a Cloud
// Scheduler job on Cloud Functions) and `hookline serve` run on a schedule: it recovers the
// events of a look-back window ending now whose delivery has not succeeded, and keeps no state,
// so it needs no storage of its own. [RunEvery] runs it at an interval in a long-running
// process. [ScheduleFromEnv] reads its configuration, the one place these names and defaults are
// defined:
//
//	STRIPE_API_KEY             required                  rk_... with read access to events, or sk_...
//	STRIPE_API_BASE            Stripe's API              a proxy or a test double
//	HOOKLINE_RECOVER_LOOKBACK  72h ([DefaultLookback])   window of created times each run looks at; at most 720h
//	HOOKLINE_RECOVER_EVERY     unset: never              hookline serve only: how often it runs
//
// Stripe lists an event with delivery_success=false while its delivery to some webhook endpoint
// is still pending or has failed for good, so a run recovers both what Stripe is still retrying
// and what it gave up on; the default look-back of 72 hours is as long as Stripe retries. Keep
// the look-back longer than the interval between runs (the default is far longer than any
// sensible schedule); a run that fails or is skipped is made good by the next one.
//
// # Backfill
//
// A new deployment starts empty while the account already has customers. [Backfill] lists the
// current objects (all pages of each list endpoint in [Objects]) and sends each as an event of
// type "<object>.snapshot" (data.object the object as listed, Subject its id), which the sinks
// store like any other event. Its place in the sinks' ordering rule (sink.Version: created time,
// then kind, then event id) is chosen so that
//
//   - a snapshot never overwrites a record that a newer event already wrote, and
//   - any event newer than the snapshot overwrites it:
//
// the snapshot's created time is the second Stripe answered the page (its Date header: Stripe's
// clock, not this machine's, which may run ahead) less the time the request took, rounded up to
// whole seconds, so no earlier than Stripe read the objects; and its id, "evt_-snapshot-<object id>-<unix
// time>", sorts before every Stripe event id, so that among events of the same second and kind a
// snapshot is the oldest. An event Stripe created before the page was read is older and reflected
// in the snapshot; one created in the same second or later wins (a *.created event of the same
// second loses by kind, harmlessly: the object was listed after it was created). A backfill can
// run while the webhook delivers, and again at any time.
//
// # Errors
//
// Errors start with "recovery: ". A rate-limited request (429) is waited out, not failed. A
// refused key (401) or a bad parameter fails the run at once with Stripe's message (a
// *stripe.Error inside). A failed send stops the run; Progress.Done says up to which created
// time everything was sent.
//
// # Security
//
// Events come from Stripe's API over TLS with the account's key, so their authenticity is
// established without a webhook signature and they are decoded with
// stripehook.DecodeUnverified. Use a restricted key that can only read events (and the objects
// a backfill lists). The key is never logged.
package recovery
