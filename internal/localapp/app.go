package localapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/httpserver"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
	_ "github.com/hookline/hookline/sink/dataverse" // dataverse://
	_ "github.com/hookline/hookline/sink/sqlsink"   // sqlite:// and postgres://
)

// Options are the parts of the wiring that tests and the load command change.
type Options struct {
	Logger *slog.Logger
	// WrapSink, when set, wraps the sink opened from the configured URL.
	WrapSink func(sink.Sink) sink.Sink
	// Consumer and Handler tune the consumer loop and the webhook (nil: defaults).
	Consumer *channel.ConsumerOptions
	Handler  *emitter.HandlerOptions
	Stripe   *stripehook.Options
	// DrainTimeout bounds shutdown. Default 30s.
	DrainTimeout time.Duration
	// ReconnectInterval is the least time between two attempts to reopen a failed topic or
	// subscription (see channel.SenderOptions). Default channel.DefaultReconnectInterval.
	ReconnectInterval time.Duration
}

// App is the running pipeline: webhook → channel → consumer → sink.
type App struct {
	cfg      Config
	log      *slog.Logger
	sender   *channel.Sender
	recv     *channel.Receiver
	dlSender *channel.Sender
	dlRecv   *channel.Receiver // only for the in-process mem:// dead-letter topic
	sink     sink.Sink
	consumer *channel.Consumer
	pending  *pending // nil unless the channel is mem://
	srv      *httpserver.Server
	drain    time.Duration
	every    time.Duration // reconnect interval
}

// Open connects everything in the order that loses nothing: the topic, then its subscription
// (mempubsub drops messages sent before one exists), the dead-letter topic, the sink, and only
// then the webhook that accepts events.
func Open(ctx context.Context, cfg Config, opts *Options) (_ *App, err error) {
	if opts == nil {
		opts = &Options{}
	}
	cfg = cfg.withDefaults()
	a := &App{cfg: cfg, log: opts.Logger, drain: opts.DrainTimeout, every: opts.ReconnectInterval}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.drain <= 0 {
		a.drain = 30 * time.Second
	}
	defer func() {
		if err != nil {
			a.close(context.Background())
		}
	}()
	if err = a.openChannels(ctx); err != nil {
		return nil, err
	}
	if a.sink, err = sink.Open(ctx, cfg.Sink); err != nil {
		return nil, err
	}
	if opts.WrapSink != nil {
		a.sink = opts.WrapSink(a.sink)
	}
	if err = a.newConsumer(opts.Consumer); err != nil {
		return nil, err
	}
	return a, a.newServer(opts)
}

func (a *App) openChannels(ctx context.Context) error {
	var err error
	sopts, ropts := &channel.SenderOptions{ReconnectInterval: a.every}, &channel.ReceiverOptions{ReconnectInterval: a.every}
	if a.sender, err = channel.OpenSender(ctx, a.cfg.Channel, sopts); err != nil {
		return err
	}
	if a.recv, err = channel.OpenReceiver(ctx, a.cfg.Subscription, ropts); err != nil {
		return err
	}
	if isMem(a.cfg.Channel) {
		a.pending = newPending(a.cfg.MaxPending)
	}
	if a.cfg.DeadLetter == "" {
		a.log.Warn("no dead-letter channel configured: events that cannot be processed stay in the broker; set " + EnvDeadLetter)
		return nil
	}
	if a.dlSender, err = channel.OpenSender(ctx, a.cfg.DeadLetter, sopts); err != nil {
		return err
	}
	if isMem(a.cfg.DeadLetter) {
		// An in-process dead-letter topic needs a subscription, or its messages vanish.
		if a.dlRecv, err = channel.OpenReceiver(ctx, a.cfg.DeadLetter, ropts); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) newConsumer(base *channel.ConsumerOptions) error {
	var o channel.ConsumerOptions
	if base != nil {
		o = *base
	}
	o.DeadLetter = a.dlSender
	if o.Logger == nil {
		o.Logger = a.log
	}
	if a.pending != nil {
		o.OnAck = a.pending.release
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = a.drain
	}
	var err error
	a.consumer, err = channel.NewConsumer(a.recv, a.store, &o)
	return err
}

// store writes one event to the sink and logs it.
func (a *App) store(ctx context.Context, ev hookline.Event) error {
	if err := a.sink.Write(ctx, ev); err != nil {
		return err
	}
	a.log.Info("event stored", "id", ev.ID, "type", ev.Type, "subject", ev.Subject)
	return nil
}

// newServer builds the webhook and the server that runs it with the consumer.
func (a *App) newServer(opts *Options) error {
	var dst emitter.Sender = a.sender
	if a.pending != nil {
		dst = a.pending.guard(a.sender)
	}
	hopts := emitter.HandlerOptions{Logger: a.log}
	if opts.Handler != nil {
		hopts = *opts.Handler
	}
	h, err := stripehook.NewHandler(a.cfg.Secrets, dst, opts.Stripe, &hopts)
	if err != nil {
		return err
	}
	p := httpserver.Pipeline{Sender: a.sender, Receiver: a.recv, Consumer: a.consumer,
		DeadLetter: a.dlSender, Sink: a.sink}
	if a.pending != nil {
		p.Settle = a.settle
	}
	a.srv, err = httpserver.New(h, p, &httpserver.Options{
		Addr:            a.cfg.Addr,
		WebhookPattern:  "/webhook", // the webhook answers other methods itself (405)
		ShutdownTimeout: a.drain,
		Logger:          a.log,
	})
	return err
}

// settle waits until every event the in-process channel accepted was processed.
func (a *App) settle(ctx context.Context) error {
	if err := a.pending.wait(ctx); err != nil {
		return fmt.Errorf("localapp: %d accepted events not processed before the drain deadline: %w", a.pending.count(), err)
	}
	return nil
}

// Handler serves POST /webhook, GET /healthz and GET /readyz.
func (a *App) Handler() http.Handler { return a.srv.Handler() }

// Consumer returns the consumer loop, for its statistics.
func (a *App) Consumer() *channel.Consumer { return a.consumer }

// Serve accepts webhooks on ln and processes events until ctx ends, then shuts down in the order
// that loses nothing (adapters/httpserver does it): stop accepting requests and let those in
// flight finish; for an in-process channel wait until every accepted event was processed; stop
// the consumer after its in-flight work; flush acknowledgements and sends; close the sink.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	dlCtx, stopDeadLetters := context.WithCancel(context.WithoutCancel(ctx))
	dlDone := make(chan struct{})
	go func() {
		defer close(dlDone)
		if a.dlRecv != nil {
			a.logDeadLetters(dlCtx)
		}
	}()
	a.log.Info("hookline listening", "webhook", "http://"+ln.Addr().String()+"/webhook",
		"channel", a.cfg.Channel, "sink", redact.String(a.cfg.Sink))
	err := a.srv.Serve(ctx, ln)
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
func (a *App) close(ctx context.Context) error {
	var errs []error
	for _, f := range []func(context.Context) error{
		shutdownOf(a.recv), shutdownOf(a.dlRecv), sendShutdownOf(a.sender), sendShutdownOf(a.dlSender),
	} {
		if f != nil {
			errs = append(errs, f(ctx))
		}
	}
	if a.sink != nil {
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
func (a *App) logDeadLetters(ctx context.Context) {
	for {
		m, err := a.dlRecv.Subscription().Receive(ctx)
		if err != nil {
			return
		}
		a.log.Error("event dead-lettered", "id", m.Metadata["ce_id"], "type", m.Metadata["ce_type"],
			"kind", m.Metadata[channel.MetaDeadLetterKind], "reason", m.Metadata[channel.MetaDeadLetterReason],
			"attempts", m.Metadata[channel.MetaDeadLetterAttempts])
		m.Ack()
	}
}
