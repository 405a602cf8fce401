package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/httpserver"
	"github.com/hookline/hookline/internal/eventlog"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
)

// Options configures [Open]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Logger receives the pipeline's logs: one line per event written ("event stored", or
	// "event ignored" when the sink already held it or a newer one), dead letters, refused
	// deliveries, failed sends, readiness changes; records about an event carry event_id,
	// event_type, event_subject, trace_id and span_id. Default: none.
	Logger *slog.Logger
	// Sink, when set, is written to instead of the sink that Config.Sink names (which is then
	// not opened); the pipeline does not close it. A unit test passes a *sink.Memory here.
	Sink sink.Sink
	// WrapSink, when set, wraps the sink (for example to count or to fail writes in a test).
	WrapSink func(sink.Sink) sink.Sink
	// Sinks, with a configuration file's routes (Config.Routes), gives a route the sink it
	// writes to instead of the one its URL names, by route name: the pipeline does not close
	// it. A unit test passes a *sink.Memory here.
	Sinks map[string]sink.Sink
	// Consumer tunes the consumer loop (attempts, backoff, concurrency, MaxDeliveries). Its
	// DeadLetter is replaced by the pipeline's own (Config.DeadLetter); its OnAck, if set, is
	// called besides the pipeline's own; its Logger defaults to Logger and its DrainTimeout to
	// DrainTimeout.
	Consumer *channel.ConsumerOptions
	// Handler tunes the webhook (body limit, send timeout). Its Logger defaults to Logger.
	Handler *emitter.HandlerOptions
	// Source, when set, verifies and decodes the webhook's deliveries instead of the source
	// that Config.Source names (which is then not opened, nor Config.Secrets read): a source
	// built by the program, such as stripehook.New with its Options.
	Source emitter.Source
	// DrainTimeout bounds shutdown. Default 30s.
	DrainTimeout time.Duration
	// ReconnectInterval is the least time between two attempts to reopen a failed topic or
	// subscription (see channel.SenderOptions). Default channel.DefaultReconnectInterval.
	ReconnectInterval time.Duration
	// TracerProvider traces the webhook, the sends and the consumer (spans in the packages
	// emitter and channel, # Observability); Handler.TracerProvider and Consumer.TracerProvider,
	// when set, take precedence. Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider records the webhook's, the channel's and the pipeline's metrics (packages
	// emitter and channel, # Observability, and [Pipeline]); Handler.MeterProvider and
	// Consumer.MeterProvider, when set, take precedence. Default: the global provider,
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Metrics, when set, is served at GET /metrics on the webhook's port (see
	// httpserver.Options.Metrics); package telemetry gives the Prometheus handler.
	Metrics http.Handler
	// Console, when set, is served under /console/ on the webhook's port and told what happens
	// to each event: the operator console of package console.
	Console Console
}

// Console is an operator console served with the pipeline under /console/ (package console
// implements it). Open attaches it; the pipeline tells it of every event accepted and of how
// every delivery ended, and closes it in Serve's shutdown. Its prefix must be /console/, where
// the pipeline's server mounts it.
type Console interface {
	http.Handler
	// Attach is called once by Open, with the pipeline, before anything is accepted.
	Attach(p *Pipeline) error
	// Accepted is told of each event the channel accepted from the webhook or through
	// [Pipeline.Sender]. ev.Data is valid only during the call (the webhook reuses its buffer).
	Accepted(ctx context.Context, ev hookline.Event)
	// Settled is told how each delivery ended (channel.ConsumerOptions.OnSettled).
	Settled(ctx context.Context, s channel.Settled)
	// Close stops what the console runs and releases what it opened. Serve calls it in its
	// shutdown, after the last request and before the consumer and the channel stop.
	Close(ctx context.Context) error
}

// Pipeline is the whole flow in one process: webhook → channel → consumer → sink.
type Pipeline struct {
	cfg      Config
	log      *slog.Logger
	sender   *channel.Sender
	recv     *channel.Receiver
	dlSender *channel.Sender
	dlRecv   *channel.Receiver // only for an in-process dead-letter topic
	sink     sink.Sink
	ownsSink bool      // opened from Config.Sink, so closed with the pipeline
	routes   []*routed // the configuration file's routes, each with its sink; nil without one
	consumer *channel.Consumer
	pending  *Backlog // nil unless the channel is in-process (IsInProcess)
	srv      *httpserver.Server
	dst      emitter.Sender // what the webhook sends with: the sender, guarded by pending when in-process
	drain    time.Duration
	every    time.Duration // reconnect interval
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	sinkName string // the hookline.sink metric attribute
	unwatch  func() // stops the backlog gauge
	console  Console
}

// Open checks cfg ([Config.Check]; the sink URL only when Options.Sink is nil) and connects
// everything in the order that loses nothing: the topic, then its subscription (mempubsub drops
// messages sent before one exists), the dead-letter topic, the sink, and only then the webhook
// that accepts events. Nothing is received or accepted until [Pipeline.Serve]. It opens only
// what Config.Role runs (# Roles): a webhook has no subscription, dead-letter topic, sink or
// consumer; a consumer has no source, and a topic only for a console to send with.
func Open(ctx context.Context, cfg Config, opts *Options) (_ *Pipeline, err error) {
	if opts == nil {
		opts = &Options{}
	}
	cfg = cfg.withDefaults()
	masked := cfg.masked()
	defer func() { err = redact.Error(err, masked) }() // a driver's error may quote a URL
	if err := cfg.check(opts.Source == nil, opts.Sink == nil); err != nil {
		return nil, err
	}
	a := &Pipeline{cfg: cfg, log: opts.Logger, drain: opts.DrainTimeout, every: opts.ReconnectInterval,
		tp: opts.TracerProvider, mp: opts.MeterProvider, sinkName: sinkName(opts.Sink, cfg.Sink), console: opts.Console}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	} else {
		a.log = slog.New(redact.Handler(a.log.Handler(), masked))
	}
	if a.drain <= 0 {
		a.drain = 30 * time.Second
	}
	defer func() {
		if err != nil {
			a.close(context.Background())
		}
	}()
	if a.console != nil && !cfg.Role.consumer() {
		return nil, fmt.Errorf("pipeline: %s=%s: the console lists and replays what the consumer settles; serve it where the consumer runs (%s or %s)",
			EnvRole, cfg.Role, RoleConsumer, RoleAll)
	}
	if err = a.openChannels(ctx); err != nil {
		return nil, err
	}
	if cfg.Role.consumer() {
		if err = a.openSinks(ctx, opts); err != nil {
			return nil, err
		}
		if err = a.newConsumer(opts.Consumer); err != nil {
			return nil, err
		}
	}
	if err = a.newServer(opts); err != nil {
		return nil, err
	}
	if a.console != nil {
		if err = a.console.Attach(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// openSinks opens the sink, or each route's, and has each that can check its destination check
// it, so that a configuration that cannot work accepts nothing.
func (a *Pipeline) openSinks(ctx context.Context, opts *Options) error {
	if len(a.cfg.Routes.Routes) > 0 {
		var err error
		if a.routes, err = openRoutes(ctx, a.cfg.Routes, opts.Sinks); err != nil {
			return err
		}
		a.sink, a.ownsSink = routeSinks(a.routes), true
		return a.checkSinks(ctx, a.routes)
	}
	if a.sink = opts.Sink; a.sink == nil {
		var err error
		if a.sink, err = sink.Open(ctx, a.cfg.Sink); err != nil {
			return err
		}
		a.ownsSink = true
	}
	if opts.WrapSink != nil {
		a.sink = opts.WrapSink(a.sink)
	}
	return a.checkSinks(ctx, []*routed{{sink: a.sink}})
}

// checkSinks runs the sinks' checks (sink.Checker) and fails with what they found.
func (a *Pipeline) checkSinks(ctx context.Context, rs []*routed) error {
	problems, err := checkRoutes(ctx, rs)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return &ProblemsError{Problems: problems}
	}
	return nil
}

func (a *Pipeline) openChannels(ctx context.Context) error {
	var err error
	sopts := &channel.SenderOptions{ReconnectInterval: a.every, TracerProvider: a.tp, MeterProvider: a.mp}
	ropts := &channel.ReceiverOptions{ReconnectInterval: a.every}
	if a.cfg.Role.webhook() || a.console != nil { // a console replays and recovers into the channel
		if a.sender, err = channel.OpenSender(ctx, a.cfg.Channel, sopts); err != nil {
			return err
		}
	}
	if !a.cfg.Role.consumer() {
		return nil // the dead letters are the consumer's
	}
	if a.recv, err = channel.OpenReceiver(ctx, a.cfg.Subscription, ropts); err != nil {
		return err
	}
	if IsInProcess(a.cfg.Channel) {
		a.pending = NewBacklog(a.cfg.MaxPending)
		a.unwatch = backlogGauge(a.mp, a.pending)
	}
	if a.cfg.DeadLetter == "" {
		a.log.Warn("no dead-letter channel configured: events that cannot be processed stay in the broker; set " + EnvDeadLetter)
		return nil
	}
	if a.dlSender, err = channel.OpenSender(ctx, a.cfg.DeadLetter, sopts); err != nil {
		return err
	}
	if IsInProcess(a.cfg.DeadLetter) {
		// An in-process dead-letter topic is read here and logged: nothing else in the process
		// reads it (and on mem://, without a subscription its messages would vanish). With a
		// console, the console lists and replays what it holds instead.
		if a.dlRecv, err = channel.OpenReceiver(ctx, a.cfg.DeadLetter, ropts); err != nil {
			return err
		}
	}
	return nil
}

func (a *Pipeline) newConsumer(base *channel.ConsumerOptions) error {
	var o channel.ConsumerOptions
	if base != nil {
		o = *base
	}
	o.DeadLetter = a.dlSender
	if o.Logger == nil {
		o.Logger = a.log
	}
	if o.TracerProvider == nil {
		o.TracerProvider = a.tp
	}
	if o.MeterProvider == nil {
		o.MeterProvider = a.mp
	}
	if o.Sink == "" {
		o.Sink = a.sinkName
	}
	if a.pending != nil {
		release, user := a.pending.Release, o.OnAck
		o.OnAck = release
		if user != nil {
			o.OnAck = func() { release(); user() }
		}
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = a.drain
	}
	if a.console != nil {
		settled, user := a.console.Settled, o.OnSettled
		if a.dlRecv != nil {
			// The console keeps the in-process dead letters for replay instead of the log
			// reading them (logDeadLetters): the log still says each one, at ERROR, here.
			console := settled
			settled = func(ctx context.Context, s channel.Settled) {
				console(ctx, s)
				if s.Outcome == channel.OutcomeDeadLettered {
					a.logDeadLetter(ctx, s.Event.ID, s.Event.Type, s.Event.Subject, s.Kind, s.Reason, strconv.Itoa(len(s.Attempts)), "") // ctx has the trace
				}
			}
		}
		o.OnSettled = settled
		if user != nil {
			o.OnSettled = func(ctx context.Context, s channel.Settled) { settled(ctx, s); user(ctx, s) }
		}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = a.cfg.BatchSize
	}
	if o.BatchWait <= 0 {
		o.BatchWait = a.cfg.BatchWait
	}
	var err error
	if a.routes == nil {
		a.consumer, err = consumeInto(a.recv, a.sink, a.log, slog.LevelInfo, &o)
		return err
	}
	observer, _ := a.console.(RouteObserver)
	meters := newRouteMeters(a.mp)
	if o.MaxBatch != 1 && batching(a.routes) {
		a.consumer, err = channel.NewBatchConsumer(a.recv, routeBatch(a.routes, a.log, slog.LevelInfo, meters, observer), &o)
	} else {
		a.consumer, err = channel.NewConsumer(a.recv, routeTo(a.routes, a.log, slog.LevelInfo, meters, observer), &o)
	}
	return err
}

// newServer builds the webhook and the server that runs it with the consumer.
func (a *Pipeline) newServer(opts *Options) error {
	if a.sender != nil {
		a.dst = a.sender
	}
	if a.pending != nil {
		a.dst = a.pending.Guard(a.sender)
	}
	if a.console != nil {
		a.dst = observed{a.dst, a.console}
	}
	var hopts emitter.HandlerOptions
	if opts.Handler != nil {
		hopts = *opts.Handler
	}
	if hopts.Logger == nil {
		hopts.Logger = a.log
	}
	if hopts.TracerProvider == nil {
		hopts.TracerProvider = a.tp
	}
	if hopts.MeterProvider == nil {
		hopts.MeterProvider = a.mp
	}
	var h http.Handler = http.NotFoundHandler() // a consumer's webhook path
	if a.cfg.Role.webhook() {
		src := opts.Source
		if src == nil {
			var err error
			if src, err = emitter.OpenSource(a.cfg.Source, a.cfg.Secrets); err != nil {
				return err
			}
		}
		var err error
		if h, err = emitter.NewHandler(src, a.dst, &hopts); err != nil {
			return err
		}
	}
	p := httpserver.Pipeline{Sender: a.sender, Consumer: a.consumer}
	if a.ownsSink {
		p.Sink = a.sink
	}
	if a.pending != nil || a.console != nil {
		p.Settle = a.settle
	}
	var err error
	a.srv, err = httpserver.New(h, p, &httpserver.Options{
		Addr:            a.cfg.Addr,
		WebhookPattern:  "/webhook", // the webhook answers other methods itself (405)
		ShutdownTimeout: a.drain,
		Logger:          a.log,
		Metrics:         opts.Metrics,
		Console:         consoleHandler(a.console),
	})
	return err
}

func consoleHandler(c Console) http.Handler {
	if c == nil {
		return nil
	}
	return c
}

// observed tells the console of each event its sender put on the channel.
type observed struct {
	s emitter.Sender
	c Console
}

func (o observed) Send(ctx context.Context, ev hookline.Event) error {
	if err := o.s.Send(ctx, ev); err != nil {
		return err
	}
	o.c.Accepted(ctx, ev)
	return nil
}

// Config returns the pipeline's configuration, with its defaults applied. It holds the webhook
// secrets: show it only through redact-aware code (package console masks them).
func (a *Pipeline) Config() Config { return a.cfg }

// Readiness returns what GET /readyz answers: "" when the pipeline is ready, else a short fixed
// reason ("channel unavailable", "consumer stopped", "shutting down") and the error behind it.
// With a consumer (RoleAll, RoleConsumer) the subscription's health and the running consumer
// decide; a webhook alone (RoleWebhook) is ready while its topic can take sends.
func (a *Pipeline) Readiness() (reason string, err error) { return a.srv.Readiness() }

// Backlog returns how many events an in-process channel accepted and has not yet settled, and
// false for a broker's channel, whose backlog the broker keeps.
func (a *Pipeline) Backlog() (int, bool) {
	if a.pending == nil {
		return 0, false
	}
	return a.pending.Len(), true
}

// DeadLetters returns the receiver of an in-process dead-letter topic (nil for a broker's, or
// none). Without a console the pipeline reads it itself and logs each message; with one, the
// messages stay on it for the console to list and replay (package channel/deadletter).
func (a *Pipeline) DeadLetters() *channel.Receiver {
	if a.console == nil {
		return nil
	}
	return a.dlRecv
}

// settle runs in the shutdown once the last request finished and before the consumer and the
// channel stop: it closes the console (so that a recovery it runs stops sending while the channel
// still takes its sends), then waits until every event an in-process channel accepted was
// processed.
func (a *Pipeline) settle(ctx context.Context) error {
	if a.console != nil {
		if err := a.console.Close(ctx); err != nil {
			a.log.Warn("pipeline: closing the console", "error", err.Error())
		}
	}
	if a.pending == nil {
		return nil
	}
	if err := a.pending.Wait(ctx); err != nil {
		return fmt.Errorf("pipeline: %d accepted events not processed before the drain deadline: %w", a.pending.Len(), err)
	}
	return nil
}

// Handler serves POST /webhook, GET /healthz and GET /readyz. Use it to mount the pipeline in a
// server of your own; [Pipeline.Serve] runs the consumer and the shutdown order around it.
func (a *Pipeline) Handler() http.Handler { return a.srv.Handler() }

// Sender returns what the webhook sends accepted events with: the channel's sender, and for an
// in-process (mem://) channel that sender guarded by the pipeline's bound on pending events, so
// that [Pipeline.Serve] waits for what was sent through it before it stops. Use it to put events
// of another source into the pipeline, such as a scheduled recovery (recovery.RunEvery, as
// `hookline serve` does). Sends must end before Serve returns: Serve shuts the channel down.
// It is nil in a consumer-only process (RoleConsumer) without a console.
func (a *Pipeline) Sender() emitter.Sender { return a.dst }

// Consumer returns the consumer loop, for its statistics; nil in a webhook-only process
// (RoleWebhook).
func (a *Pipeline) Consumer() *channel.Consumer { return a.consumer }

// Serve accepts webhooks on ln and processes events until ctx ends, then shuts down in the order
// that loses nothing (httpserver does it): stop accepting requests and let those in
// flight finish; for an in-process channel wait until every accepted event was processed; stop
// the consumer after its in-flight work; flush acknowledgements and sends; close the sink.
func (a *Pipeline) Serve(ctx context.Context, ln net.Listener) error {
	dlCtx, stopDeadLetters := context.WithCancel(context.WithoutCancel(ctx))
	dlDone := make(chan struct{})
	go func() {
		defer close(dlDone)
		if a.dlRecv != nil && a.console == nil {
			a.logDeadLetters(dlCtx)
		}
	}()
	switch a.cfg.Role {
	case RoleWebhook:
		a.log.Info("hookline listening", "role", string(a.cfg.Role), "webhook", "http://"+ln.Addr().String()+"/webhook",
			"channel", redact.String(a.cfg.Channel))
	case RoleConsumer:
		a.log.Info("hookline listening", "role", string(a.cfg.Role), "health", "http://"+ln.Addr().String()+"/healthz",
			"subscription", redact.String(a.cfg.Subscription), "sink", redact.String(a.cfg.Sink))
	default:
		a.log.Info("hookline listening", "role", string(a.cfg.Role), "webhook", "http://"+ln.Addr().String()+"/webhook",
			"channel", redact.String(a.cfg.Channel), "sink", redact.String(a.cfg.Sink))
	}
	err := a.srv.Serve(ctx, ln)
	if a.unwatch != nil {
		a.unwatch()
	}
	stopDeadLetters()
	<-dlDone

	if a.dlRecv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), a.drain)
		defer cancel()
		err = errors.Join(err, a.dlRecv.Shutdown(sctx))
	}
	return err
}

// close shuts down what Open opened when Open fails; after Serve, the server has done it.
func (a *Pipeline) close(ctx context.Context) error {
	var errs []error
	if a.unwatch != nil {
		a.unwatch()
	}
	for _, f := range []func(context.Context) error{
		shutdownOf(a.recv), shutdownOf(a.dlRecv), sendShutdownOf(a.sender), sendShutdownOf(a.dlSender),
	} {
		if f != nil {
			errs = append(errs, f(ctx))
		}
	}
	if a.sink != nil && a.ownsSink {
		errs = append(errs, a.sink.Close())
	}
	return errors.Join(errs...)
}

func shutdownOf(r *channel.Receiver) func(context.Context) error {
	if r == nil {
		return nil
	}
	return r.Shutdown
}

func sendShutdownOf(s *channel.Sender) func(context.Context) error {
	if s == nil {
		return nil
	}
	return s.Shutdown
}

// logDeadLetters logs what lands on the in-process dead-letter topic, so it is not silent.
func (a *Pipeline) logDeadLetters(ctx context.Context) {
	for {
		m, err := a.dlRecv.Subscription().Receive(ctx)
		if err != nil {
			return
		}
		md := m.Metadata
		a.logDeadLetter(ctx, md["ce_id"], md["ce_type"], md["ce_subject"], md[channel.MetaDeadLetterKind],
			md[channel.MetaDeadLetterReason], md[channel.MetaDeadLetterAttempts], traceIDOf(md[channel.MetaTraceparent]))
		m.Ack()
	}
}

// logDeadLetter says at ERROR that an event was dead-lettered on the in-process dead-letter
// topic, with the trace the event came in: traceID when ctx has no span of it.
func (a *Pipeline) logDeadLetter(ctx context.Context, id, typ, subject, kind, reason, attempts, traceID string) {
	attrs := eventlog.Of(ctx, id, typ, subject,
		slog.String("kind", kind), slog.String("reason", reason), slog.String("attempts", attempts))
	if traceID != "" {
		attrs = append(attrs, slog.String(eventlog.KeyTrace, traceID))
	}
	a.log.LogAttrs(ctx, slog.LevelError, "event dead-lettered", attrs...)
}

// RouteOutcome is what one route of a configuration did with an event in one handler call:
// Outcome is "stored", "ignored" (the sink already held it or a newer event), "failed" (with
// Err) or "skipped" (the route does not match the event).
type RouteOutcome struct {
	Route   string `json:"route"`
	Outcome string `json:"outcome"`
	Err     string `json:"error,omitempty"`
}

// RouteObserver is a Console that is also told what each route did with each event (the
// console's event page shows it). The pipeline calls Routed after each handler call of an
// event that a configuration file's routes handled.
type RouteObserver interface {
	Routed(ctx context.Context, ev hookline.Event, outcomes []RouteOutcome)
}
