package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/sink"
)

// Defaults for the zero [Options].
const (
	DefaultAddr              = ":8080"
	DefaultWebhookPattern    = "POST /webhook"
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 30 * time.Second
)

// Options configures a [Server]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Addr is the address ListenAndServe listens on. Default ":8080" (every interface).
	Addr string
	// WebhookPattern is the http.ServeMux pattern of the webhook. Default "POST /webhook"; a
	// pattern without a method ("/webhook") lets the webhook answer other methods itself (405).
	WebhookPattern string

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are those of http.Server.
	// Defaults 5s, 30s, 30s and 120s. WriteTimeout must exceed the webhook's send budget
	// (emitter.HandlerOptions.SendTimeout, default 10s), or a slow broker's 503 never arrives.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers. Default 64 KiB.
	MaxHeaderBytes int
	// ShutdownTimeout bounds the whole shutdown after ctx ends (see the package doc, # Shutdown).
	// Default 30s.
	ShutdownTimeout time.Duration

	// CertFile and KeyFile, when set, are a PEM certificate (chain) and its key: the server then
	// speaks only HTTPS. They are read once, by New.
	CertFile, KeyFile string
	// TLSConfig, when set, is used for HTTPS (a copy of it, with MinVersion raised to TLS 1.2 if
	// lower). It must provide a certificate unless CertFile and KeyFile do.
	TLSConfig *tls.Config

	// Allowlist, when set, restricts the webhook to source addresses (see # Security). Default:
	// off, every address may call the webhook (the signature check still applies).
	Allowlist *AllowlistOptions

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger

	// Metrics, when set, is served at GET /metrics next to the webhook, for platforms that scrape
	// one port: typically the Prometheus handler of package telemetry. Default: no /metrics.
	// The Allowlist does not apply to it; expose the port accordingly.
	Metrics http.Handler
	// Console, when set, is served under /console/ next to the webhook: the operator console of
	// package console, which checks its own access token. The Allowlist does not apply to it.
	Console http.Handler
}

// Pipeline is what the server runs besides HTTP, and shuts down after it.
type Pipeline struct {
	// Sender is the channel the webhook sends to: readiness reports its health (unless a
	// Consumer runs, whose receiver decides), and shutdown flushes it. Required unless Consumer
	// is set: a consumer-only process (pipeline's RoleConsumer) sends nothing.
	Sender *channel.Sender
	// Consumer, when set, is run for the server's lifetime. The server takes the rest from it:
	// readiness reports the health of its Receiver, whose Shutdown flushes acknowledgements after
	// the consumer stopped, and its DeadLetter sender, if any, is shut down after it.
	Consumer *channel.Consumer
	// Sink, when set, is closed last.
	Sink sink.Sink
	// Settle, when set, is called during shutdown after the last HTTP request finished and before
	// the consumer is stopped. It returns once every event the webhook accepted was processed, or
	// with ctx's error at the shutdown deadline. An in-process channel (mem://, inproc://) needs it: what is
	// still queued when the consumer stops is lost with the process.
	Settle func(ctx context.Context) error
}

// Server serves the webhook, /healthz and /readyz, and runs the consumer. Build it with [New] and
// run it once with [Server.Serve] or [Server.ListenAndServe].
type Server struct {
	pipe     Pipeline
	opts     Options
	log      *slog.Logger
	tls      *tls.Config // nil: plain HTTP
	mux      *http.ServeMux
	allow    *allowlist // nil: off
	stopping atomic.Bool
	consumer atomic.Pointer[error] // set when the consumer's Run returned
	ready    atomic.Bool           // last readiness answer, to log changes only
	started  atomic.Bool
}

// New returns a server for webhook (typically an *emitter.Handler) and the pipeline p.
func New(webhook http.Handler, p Pipeline, opts *Options) (*Server, error) {
	if webhook == nil {
		return nil, errors.New("httpserver: New: webhook handler is nil")
	}
	if p.Sender == nil && p.Consumer == nil {
		return nil, errors.New("httpserver: New: Pipeline.Sender and Pipeline.Consumer are both nil")
	}
	s := &Server{pipe: p}
	if opts != nil {
		s.opts = *opts
	}
	s.opts.withDefaults()
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.tls, err = tlsConfig(&s.opts); err != nil {
		return nil, err
	}
	if s.opts.Allowlist != nil {
		if s.allow, err = newAllowlist(s.opts.Allowlist, s.log); err != nil {
			return nil, err
		}
		webhook = s.allow.wrap(webhook)
	}
	s.ready.Store(true)
	s.mux = http.NewServeMux()
	s.mux.Handle(s.opts.WebhookPattern, webhook)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.opts.Metrics != nil {
		s.mux.Handle("GET /metrics", s.opts.Metrics)
	}
	if s.opts.Console != nil {
		s.mux.Handle(ConsolePrefix, s.opts.Console)
	}
	return s, nil
}

func (o *Options) withDefaults() {
	setDefault(&o.Addr, DefaultAddr)
	setDefault(&o.WebhookPattern, DefaultWebhookPattern)
	setDefault(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
}

func setDefault[T string | int | time.Duration](p *T, def T) {
	var zero T
	if *p == zero || (*p < zero) {
		*p = def
	}
}

// ConsolePrefix is the path under which Options.Console is served.
const ConsolePrefix = "/console/"

// Handler returns the server's routes: the webhook (behind the allowlist, when on), GET /healthz
// and GET /readyz (and /metrics and /console/ when set). Serve uses it; tests and other servers may mount it themselves.
func (s *Server) Handler() http.Handler { return s.mux }

// ListenAndServe listens on Options.Addr and calls [Server.Serve].
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.mux,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
