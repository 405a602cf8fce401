// Package console is hookline's operator console: one page per question an operator asks of a
// running pipeline (what arrived, what failed and why, what is stuck) and the actions that
// answer them (replay, discard, recover), as an http.Handler that a program embeds under a path
// prefix, with a JSON API for scripts. It shows the data of the packages it builds on and calls
// their operations: the metrics of emitter and channel, the dead-letter channel through
// channel/deadletter, Stripe's Events API through recovery. It keeps no second set of counters
// and no store of its own beyond a bounded list of recent events.
//
// # Enabling it
//
// `hookline serve` serves it at /console/ on the webhook's port when HOOKLINE_CONSOLE_TOKEN is set
// (no token, no console); [OptionsFromEnv] reads the variables:
//
//	HOOKLINE_CONSOLE_TOKEN                    the access token, at least 16 characters (openssl rand -hex 24)
//	HOOKLINE_CONSOLE_READONLY                 true: show everything, do nothing
//	HOOKLINE_CONSOLE_DEADLETTER_SUBSCRIPTION  the dead-letter channel's subscription URL, when it
//	                                          differs from HOOKLINE_DEADLETTER's topic URL
//	HOOKLINE_CONSOLE_SESSION_TTL              how long a login lasts (default 12h)
//	STRIPE_API_KEY, STRIPE_API_BASE           enable the Recover page (package recovery)
//
// A program of its own gives a [Console] to pipeline.Options.Console, which mounts it at
// /console/ (httpserver.Options.Console) and tells it of every event, and registers
// [Console.MetricReader] with the meter provider the pipeline records with:
//
//	con, err := console.New(console.Options{Token: os.Getenv(console.EnvToken)})
//	tel, err := telemetry.Start(ctx, &telemetry.Options{MetricReaders: []sdkmetric.Reader{con.MetricReader()}})
//	p, err := pipeline.Open(ctx, cfg, &pipeline.Options{Console: con, Metrics: tel.MetricsHandler()})
//
// Another server mounts the same handler under its own prefix (Options.Prefix), as long as the
// pipeline is told of the console.
//
// # Access
//
// Every page and API call needs the token. A browser logs in with a form, which starts a
// session: a cookie that is HttpOnly (no script reads it), SameSite=Strict (no other site's
// request carries it), Secure over TLS and limited to the prefix. A script sends
// "Authorization: Bearer <token>". Without either, the API answers 401 and pages redirect to
// the login form. State-changing requests are POSTs, and a POST from another origin is refused
// with 403 (net/http's CrossOriginProtection, which reads the browser's Sec-Fetch-Site and
// Origin headers), so another site cannot make a logged-in browser act. With Options.ReadOnly
// every action answers 403 and the pages offer none. A refused login and every action are
// logged (never the token). Serve the console over TLS, or keep its port private: the token
// crosses the network at login.
//
// # Sessions
//
// Each login gets a session of its own: a random id and its expiry, signed with HMAC-SHA256
// under a key derived from the token; the cookie holds no token and nothing derived from it
// alone. The server checks the signature and the expiry on every request, so a session ends
// after Options.SessionTTL (HOOKLINE_CONSOLE_SESSION_TTL, default 12h) whatever the browser
// keeps. Log out revokes the session on the instance that served it: its cookie is refused
// from then on, even where a copy of it survives. Changing the token ends every session at
// once, on every instance.
//
// Sessions are signed rather than stored so that several replicas behind a load balancer
// accept each other's sessions with no shared store: each one that has the same token checks
// a cookie by itself. The price of that choice is that a revocation is known only to the
// instance that received the Log out; another replica accepts a copied cookie until it
// expires. Where that matters, shorten HOOKLINE_CONSOLE_SESSION_TTL, route an operator's
// requests to one replica (session affinity), or change the token to end every session.
//
// Every answer forbids caching, framing and content sniffing, and carries a Content-Security-
// Policy that runs the console's own script only. Event data and every other value are escaped by
// html/template: a "<script>" in an event is shown as text, never run. Data is shown pretty-
// printed up to Options.MaxData bytes (default 8 KiB) per event.
//
// # Pages
//
//   - Overview (<prefix>): per minute over the last hour, the events the webhook accepted,
//     refused (by reason) and could not send, and those the consumer stored, ignored (the sink
//     held them or newer), retried, returned and dead-lettered; the current lag; the in-process
//     backlog; and whether the channel and the sink are ready, with the reason when not. The
//     series come from the instruments of packages emitter, channel and pipeline through
//     [Console.MetricReader].
//   - Events (<prefix>events): the most recent events this instance handled (Options.Recent,
//     default 10,000; older ones are forgotten), newest first, filtered by type (exact, or a
//     prefix like "customer.*"), object id, event id and status (accepted, stored, ignored,
//     returned, dead_lettered). Each event's page (<prefix>events/<id>) shows its metadata, its
//     data, every delivery with each sink attempt, its outcome and error, and the trace id.
//   - Dead letters (<prefix>deadletters): the messages on the dead-letter channel with their
//     reason and attempts (channel/deadletter's List). Select some or all, then Replay (into
//     the pipeline's channel through Pipeline.Sender, channel/deadletter's ReplayTo, so that a
//     replayed event counts like an accepted one) or Discard (channel/deadletter's Discard),
//     after a confirmation; the result counts what was done. Without a dead-letter channel
//     (HOOKLINE_DEADLETTER) the page says how to configure one.
//   - Recover (<prefix>recover): recover a time window of events from Stripe's Events API into
//     the channel (recovery.Recover), one run at a time, with its progress.
//
// Pages work without JavaScript; a small script refreshes the Overview and Events pages every
// few seconds.
//
// # JSON API
//
// Everything the pages show and do, under the same prefix and access rules. Errors are
// {"error": "..."} with a 4xx or 5xx status.
//
//	GET  <prefix>api/overview                    [Overview]
//	GET  <prefix>api/events?type=&object=&id=&status=&limit=&before=
//	                                             {"events": [Event...], "more": bool, "next": "<query of the next page>"}
//	GET  <prefix>api/events/<id>                 an [Event] with "data" (JSON) or "data_text" (cut off), "data_truncated"
//	GET  <prefix>api/deadletters                 the dead letters
//	POST <prefix>api/deadletters/replay          {"ids": ["evt_..."]} or {"all": true}: replays them, answers the counts
//	POST <prefix>api/deadletters/discard         the same, removing them
//	GET  <prefix>api/recover                     the recovery run in progress or last finished
//	POST <prefix>api/recover                     {"since": "72h", "until": "", "undelivered": true, "types": ["customer.*"]}
//
// For example:
//
//	curl -s -H "Authorization: Bearer $HOOKLINE_CONSOLE_TOKEN" 'localhost:8080/console/api/events?status=dead_lettered'
//
// # Memory and cost
//
// The console keeps at most about Options.Recent events (in 16 shards by event id, each keeping
// its newest), each with at most Options.MaxData bytes of data and its last 10 deliveries;
// nothing else grows with traffic. Telling it of an event costs a map update under one of the
// shards' locks, about 1.5 µs (BENCHMARKS.md has the figures). The Events page shows what this
// instance handled: with several replicas, each shows its own.
package console
