// Package httpserver runs a webhook and its consumer in one long-running process: a production
// HTTP server for an emitter.Handler (the webhook), health and readiness endpoints, the
// channel.Consumer that takes events from the broker into a sink, and a shutdown that loses
// nothing.
//
//	webhook, _ := stripehook.NewHandler(secrets, sender, nil, nil)
//	srv, err := httpserver.New(webhook, httpserver.Pipeline{
//		Sender: sender, Consumer: consumer, Sink: sk,
//	}, &httpserver.Options{Addr: ":8443", CertFile: "cert.pem", KeyFile: "key.pem"})
//	...
//	err = srv.ListenAndServe(ctx) // returns after ctx ends and everything has stopped
//
// # Routes
//
//   - the webhook, at Options.WebhookPattern (default POST /webhook);
//   - GET /healthz: 200 "ok" while the process serves (liveness);
//   - GET /metrics, only with Options.Metrics: that handler (package telemetry's Prometheus one),
//     for platforms that scrape the service's one port;
//   - GET /readyz: 200 "ok" only while the channel is reachable, otherwise 503 with a short
//     reason ("channel unavailable", "consumer stopped", "shutting down"); the detailed error is
//     logged when readiness changes, never sent. With a consumer, channel.Receiver.Health decides:
//     a receiver in use notices a broker that went away within moments and reconnects by itself.
//     Without one, channel.Sender.Health does. A sender notices a failure only when a send fails
//     and reconnects only at its next send, so a failed sender alone does not make a server with
//     a consumer unready (that would keep the traffic away that heals it); the webhook answers
//     503 meanwhile and Stripe retries. Neither probe contacts the broker. In a webhook-only
//     process the sender's health is all there is, and it recovers only through a send: if your
//     load balancer stops routing to unready instances, probe such a process at /healthz.
//
// Timeouts default to ReadHeaderTimeout 5s, ReadTimeout 30s, WriteTimeout 30s, IdleTimeout 120s,
// and request headers are limited to 64 KiB; the webhook itself bounds bodies (1 MiB) and its
// send time (10s, then 503 so Stripe retries).
//
// # Security
//
// TLS: with CertFile and KeyFile, or a TLSConfig, the server speaks only HTTPS, at TLS 1.2 or
// later (a TLSConfig's lower MinVersion is raised). Without them it speaks plain HTTP, which is
// right only behind a proxy or load balancer that terminates TLS: Stripe delivers live-mode events
// to HTTPS endpoints only.
//
// Allowlist: with Options.Allowlist set, the webhook answers 403 {"error":"forbidden"} to any
// caller whose address is not on the list, before reading the request body, and nothing is sent.
// The list is the sender's published source addresses: for Stripe, stripehook.WebhookIPs(),
// shipped in that package as of the date noted there. A sender changes its list from time to
// time, and a stale list refuses the sender itself: set AllowlistOptions.Refresh to fetch it at
// run time (for Stripe from stripehook.WebhookIPsURL; the last good list is kept when a fetch
// fails). The allowlist is defence in depth, not a substitute for the signature check, which the
// webhook always performs. It is off by default; /healthz and /readyz are never behind it.
//
// Proxies: behind a reverse proxy or load balancer the peer address is the proxy's. List the
// proxies in AllowlistOptions.TrustedProxies (addresses or CIDR prefixes) and the allowlist reads
// X-Forwarded-For, but only when the immediate peer is one of them: it walks the header from the
// right, skipping trusted hops, and judges the first untrusted one, so a caller cannot smuggle an
// allowed address in by sending the header itself. A hop that does not parse is refused. From any
// other peer the header is ignored. Make sure the proxy appends to X-Forwarded-For (most do) and
// that nothing but the proxy can reach the server, or list no proxies.
//
// # Shutdown
//
// When ctx ends (or the HTTP server or the consumer fails), Serve shuts down within
// Options.ShutdownTimeout, in the order that loses nothing:
//
//  1. readiness answers 503; the server stops accepting connections and lets the requests in
//     flight finish, so every event it answered 2xx for is on the channel;
//  2. Pipeline.Settle, when set, waits until every accepted event was processed: needed for an
//     in-process channel (mem://, inproc://), whose queue dies with the process;
//  3. the consumer stops receiving and finishes the messages in flight (within its own
//     channel.ConsumerOptions.DrainTimeout, which should not exceed ShutdownTimeout);
//  4. the receiver is shut down, which flushes the acknowledgements (before this, processed
//     messages may be redelivered), then the dead-letter sender and the sender, flushing sends;
//  5. the sink is closed.
//
// A message still unprocessed at the deadline is not acknowledged, so the broker redelivers it to
// the next process; sinks are idempotent, so nothing is lost or applied twice.
package httpserver
