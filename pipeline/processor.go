package pipeline

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/lazy"
	"github.com/hookline/hookline/sink"
)

// Processor is the consumer rules ([channel.Processor]) opened on first use: on the first
// message it reads the configuration and opens the sink (unless Options.Sink is set) and the
// dead-letter channel (unless Options.DeadLetter is set or HOOKLINE_DEADLETTER is empty). A
// failed start is tried again on the next message.
type Processor struct {
	platform Platform
	opts     FunctionOptions
	parts    *lazy.Value[*processorParts]
}

type processorParts struct {
	p        *channel.Processor
	sink     sink.Sink
	ownsSink bool
	dead     *channel.Sender
	ownsDead bool
}

// NewProcessor returns the processor of platform. It opens nothing yet and never fails, but it
// checks the configuration at once ([Processor.Check]) and logs at ERROR, once, what can never
// work (no sink, a URL whose scheme no linked sink or driver serves, an in-memory dead-letter
// channel), so that the platform's log says it when the instance starts.
func NewProcessor(platform Platform, opts FunctionOptions) *Processor {
	p := &Processor{platform: platform, opts: opts.WithDefaults()}
	p.parts = lazy.New(p.build)
	if err := p.Check(); err != nil {
		p.opts.Logger.Error(platform.Name+": processor is not configured", slog.String("error", err.Error()))
	}
	return p
}

// Check reads the configuration and reports, without connecting to anything, what can never
// work: a configuration error ([IsConfigError]) or nil.
func (p *Processor) Check() error {
	cfg := FunctionConfigFromEnv(p.opts.Getenv)
	return p.platform.CheckProcessor(cfg, p.opts.Sink != nil, p.opts.DeadLetter != nil)
}

func (p *Processor) build(ctx context.Context) (_ *processorParts, err error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	cfg := FunctionConfigFromEnv(p.opts.Getenv)
	parts := &processorParts{sink: p.opts.Sink, dead: p.opts.DeadLetter}
	defer func() {
		if err != nil {
			_ = parts.close(ctx)
		}
	}()
	if parts.sink == nil {
		if parts.sink, err = sink.Open(ctx, cfg.Sink); err != nil {
			return nil, err
		}
		parts.ownsSink = true
	}
	if parts.dead == nil && cfg.DeadLetter != "" {
		if parts.dead, err = channel.OpenSender(ctx, cfg.DeadLetter, nil); err != nil {
			return nil, err
		}
		parts.ownsDead = true
	}
	if parts.dead == nil {
		p.opts.Logger.Warn(p.platform.Name + ": " + EnvDeadLetter + " is not set: messages that cannot be processed are " + p.platform.NoDeadLetter)
	}
	var copts channel.ProcessorOptions
	if p.opts.Consumer != nil {
		copts = *p.opts.Consumer
	}
	if copts.Logger == nil {
		copts.Logger = p.opts.Logger
	}
	copts.DeadLetter = parts.dead
	if copts.Sink == "" {
		copts.Sink = sinkName(p.opts.Sink, cfg.Sink)
	}
	if copts.Subscription == "" {
		copts.Subscription = cfg.Subscription
		if copts.Subscription == "" && p.platform.Broker != "" {
			copts.Subscription = p.platform.Broker + "://"
		}
	}
	if parts.p, err = channel.NewProcessor(storeTo(parts.sink, p.opts.Logger, slog.LevelDebug), &copts); err != nil {
		return nil, err
	}
	return parts, nil
}

func (pp *processorParts) close(ctx context.Context) error {
	var errs []error
	if pp.ownsDead && pp.dead != nil {
		errs = append(errs, pp.dead.Shutdown(ctx))
	}
	if pp.ownsSink && pp.sink != nil {
		errs = append(errs, pp.sink.Close())
	}
	return errors.Join(errs...)
}

// Get returns the consumer rules, opening the sink and the dead-letter channel on first use. An
// error is a configuration error ([IsConfigError]) or the sink's or channel's.
func (p *Processor) Get(ctx context.Context) (*channel.Processor, error) {
	parts, err := p.parts.Get(ctx)
	if err != nil {
		return nil, err
	}
	return parts.p, nil
}

// Stats returns the processor's counters, zero before the first message.
func (p *Processor) Stats() channel.Stats {
	if parts, ok := p.parts.Built(); ok {
		return parts.p.Stats()
	}
	return channel.Stats{}
}

// Close shuts the dead-letter channel down and closes the sink, if the processor opened them.
func (p *Processor) Close(ctx context.Context) error {
	if parts, ok := p.parts.Built(); ok {
		return parts.close(ctx)
	}
	return nil
}
