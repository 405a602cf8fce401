package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// destination is where recover and backfill send events: the channel, and for an in-process
// (mem://, inproc://) channel also the consumer into the sink, which must have stored everything before the
// command exits.
type destination struct {
	emitter.Sender
	sender   *channel.Sender
	recv     *channel.Receiver
	sink     sink.Sink
	backlog  *pipeline.Backlog
	consumer *channel.Consumer
	done     chan error
	stop     context.CancelFunc
}

// openDestination opens the channel named by channelURL (HOOKLINE_CHANNEL, default mem://...),
// and for an in-process channel the sink named by sinkURL and a consumer into it with copts (its
// batches; pipeline.NewConsumer). A dry run opens nothing and sends nowhere.
func openDestination(ctx context.Context, channelURL, sinkURL string, dryRun bool, copts *channel.ConsumerOptions) (*destination, error) {
	if dryRun {
		return &destination{Sender: discardSender{}}, nil
	}
	if channelURL == "" {
		channelURL = pipeline.DefaultChannel
	}
	if err := channel.CheckTopicURL(channelURL); err != nil {
		return nil, fmt.Errorf("%s: %w", pipeline.EnvChannel, err)
	}
	if !pipeline.IsInProcess(channelURL) {
		s, err := channel.OpenSender(ctx, channelURL, nil)
		if err != nil {
			return nil, err
		}
		return &destination{Sender: s, sender: s}, nil
	}
	if sinkURL == "" {
		return nil, fmt.Errorf("%s is the in-process channel %s, which nothing outside this process receives: "+
			"set %s to the sink to write to (the command then runs the consumer itself), or %s to your broker",
			pipeline.EnvChannel, channelURL, pipeline.EnvSink, pipeline.EnvChannel)
	}
	// The in-process channel is this run's own: a topic name of its own (on the same scheme)
	// keeps any other in-process subscriber from receiving the recovered events.
	scheme, _, _ := strings.Cut(channelURL, "://")
	return openInProcess(ctx, fmt.Sprintf("%s://hookline-%d", strings.ToLower(scheme), time.Now().UnixNano()), sinkURL, copts)
}

func openInProcess(ctx context.Context, channelURL, sinkURL string, copts *channel.ConsumerOptions) (_ *destination, err error) {
	if err := sink.CheckURL(sinkURL); err != nil {
		return nil, fmt.Errorf("%s: %w", pipeline.EnvSink, err)
	}
	d := &destination{backlog: pipeline.NewBacklog(10000), done: make(chan error, 1)}
	defer func() {
		if err != nil {
			d.close(context.Background())
		}
	}()
	if d.sender, err = channel.OpenSender(ctx, channelURL, nil); err != nil {
		return nil, err
	}
	if d.recv, err = channel.OpenReceiver(ctx, channelURL, nil); err != nil {
		return nil, err
	}
	if d.sink, err = sink.Open(ctx, sinkURL); err != nil {
		return nil, err
	}
	o := *copts
	o.OnAck = d.backlog.Release
	if d.consumer, err = pipeline.NewConsumer(d.recv, d.sink, &o); err != nil {
		return nil, err
	}
	d.Sender = d.backlog.Guard(d.sender)
	var runCtx context.Context
	runCtx, d.stop = context.WithCancel(context.WithoutCancel(ctx))
	go func() { d.done <- d.consumer.Run(runCtx) }()
	return d, nil
}

// finish waits until the in-process consumer settled every event sent (within timeout), then
// closes everything. Stats says what the consumer did, for the command's last line.
func (d *destination) finish(ctx context.Context, timeout time.Duration) (channel.Stats, error) {
	var errs []error
	var stats channel.Stats
	if d.consumer != nil {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		if err := d.backlog.Wait(wctx); err != nil {
			errs = append(errs, fmt.Errorf("%d events sent but not stored within %s: %w", d.backlog.Len(), timeout, err))
		}
		cancel()
		stats = d.consumer.Stats()
	}
	errs = append(errs, d.close(ctx))
	return stats, errors.Join(errs...)
}

func (d *destination) close(ctx context.Context) error {
	var errs []error
	if d.stop != nil {
		d.stop()
		errs = append(errs, <-d.done)
	}
	if d.recv != nil {
		errs = append(errs, d.recv.Shutdown(ctx))
	}
	if d.sender != nil {
		errs = append(errs, d.sender.Shutdown(ctx))
	}
	if d.sink != nil {
		errs = append(errs, d.sink.Close())
	}
	return errors.Join(errs...)
}

type discardSender struct{}

func (discardSender) Send(context.Context, hookline.Event) error { return nil }
