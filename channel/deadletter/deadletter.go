// Package deadletter lists, replays and discards the messages on a dead-letter channel: hookline's own (the
// consumer's ConsumerOptions.DeadLetter, whose messages carry the reason, kind, attempts and time
// in their metadata) and a broker's native dead-letter queue (a Service Bus queue's
// ?subqueue=deadletter, an SQS redrive queue, a RabbitMQ dead-letter queue, a Pub/Sub dead-letter
// topic's subscription), whose messages lack that metadata: [Message] shows what there is, and
// reads the event's id, type and subject from the body when the metadata lacks them.
//
// # Delivery semantics
//
// [List], [Replay], [ReplayTo] and [Discard] all receive until the channel has brought no new message for Options.Wait
// (or Limit messages were seen) and hold every message meanwhile, so none is received twice. A
// message held past its ack deadline (SQS's visibility timeout, Pub/Sub's ack deadline, Service
// Bus's lock duration) is delivered again; its newest copy replaces the one held, and redeliveries
// do not prolong the wait. List then returns every message to the broker (Nack where the driver
// can; otherwise the message becomes visible again when its ack deadline passes). Replay sends each
// selected message to the target channel and acknowledges it on the dead-letter channel only after
// that send succeeded; a message whose send failed, and every message not selected, is returned to
// the broker. A replay can therefore be repeated: what was not replayed is still there. [ReplayTo]
// does the same through any emitter.Sender (a pipeline's own), sending each message's decoded
// event. Discard acknowledges the selected messages without sending them anywhere, which removes
// them for good (an event Stripe still lists can be brought back with package recovery), and
// returns all others; with Options.DryRun it only counts them.
//
// Returning a message counts as a delivery on most brokers (a Service Bus abandon, a RabbitMQ
// quorum queue's delivery count, SQS's receive count, Pub/Sub's delivery attempt). Give the
// dead-letter channel's own queue no delivery limit, or one far above the listings expected:
// otherwise every listing brings its messages nearer to that queue's own dead-letter queue. gocloud
// receives ahead in the background, so a Receiver may already hold again, unseen, a message it has
// just returned; the next List or Replay on the same Receiver gets it, but after the Receiver is
// shut down it stays invisible until its ack deadline passes (SQS's visibility timeout, Pub/Sub's
// ack deadline, Service Bus's lock duration), and a second run started at once may not see it. Each
// step must also end within that deadline for its acknowledgements to count.
//
// The replayed message is the dead-lettered body, unchanged (hookline's wire format: the event as
// the webhook accepted it), with its metadata less the dead-letter keys (hookline's, and those a
// broker adds when it dead-letters: RabbitMQ's x-death headers, Service Bus's DeadLetterReason and
// DeadLetterErrorDescription, Pub/Sub's CloudPubSubDeadLetterSource* attributes), so the consumer
// of the target channel processes it like a first delivery. The sinks are idempotent, so replaying
// an event that was meanwhile stored changes nothing.
//
// # Errors
//
// Errors start with "deadletter: ". A failed send is counted in Result.Failed and reported; Replay
// (and ReplayTo) goes on with the other messages and returns an error naming the first failure.
package deadletter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
)

// DefaultWait is the default of Options.Wait.
const DefaultWait = 5 * time.Second

// Options selects the messages of [List], [Replay], [ReplayTo] and [Discard].
type Options struct {
	// Wait is how long the channel must bring no new message before it counts as drained.
	// Default [DefaultWait]. gocloud's mem:// polls every 250 ms; brokers answer at once.
	Wait time.Duration
	// Limit bounds the messages received (0: no bound).
	Limit int
	// IDs and Types select messages by event id and by type (exact, or a prefix wildcard like
	// "customer.*"), and Routes by the route whose failure dead-lettered them (Message.Route);
	// empty selects all. Replay, ReplayTo and Discard only.
	IDs, Types, Routes []string
	// DryRun makes Replay, ReplayTo and Discard count what they would do and return every message.
	DryRun bool
	// Progress, when set, is called after each message received with the number so far.
	Progress func(received int)
}

// Message is one dead-lettered message, with what its metadata and body say.
type Message struct {
	// EventID, Type and Subject identify the event (from the ce_id, ce_type and ce_subject
	// metadata, else from the body); empty when neither says.
	EventID, Type, Subject string
	// Reason, Kind, Attempts and Delivery are hookline's dead-letter metadata (see
	// channel.MetaDeadLetterReason and the keys beside it); empty on a broker's native
	// dead-letter queue.
	Reason, Kind, Attempts, Delivery string
	// Route is the route of a configuration whose failure dead-lettered the event, read from
	// its reason (hookline.RouteOf); empty when the failure was no route's.
	Route string
	// When is when hookline dead-lettered it; zero when unknown.
	When time.Time
	// Body and Metadata are the message as received.
	Body     []byte
	Metadata map[string]string

	msg *pubsub.Message
}

func newMessage(m *pubsub.Message) Message {
	md := m.Metadata
	out := Message{EventID: md["ce_id"], Type: md["ce_type"], Subject: md["ce_subject"],
		Reason: md[channel.MetaDeadLetterReason], Kind: md[channel.MetaDeadLetterKind],
		Attempts: md[channel.MetaDeadLetterAttempts], Delivery: md[channel.MetaDeadLetterDelivery],
		Body: m.Body, Metadata: md, msg: m}
	out.When, _ = time.Parse(time.RFC3339Nano, md[channel.MetaDeadLetterTime])
	out.Route = hookline.RouteOf(out.Reason)
	if out.EventID == "" || out.Type == "" {
		if ev, err := channel.Decode(m.Body); err == nil {
			out.EventID, out.Type, out.Subject = ev.ID, ev.Type, ev.Subject
		}
	}
	return out
}

// List receives the messages on from and returns them, having returned them all to the broker.
func List(ctx context.Context, from *channel.Receiver, opts *Options) ([]Message, error) {
	held, err := drain(ctx, from, opts)
	for _, m := range held {
		giveBack(m.msg)
	}
	return held, err
}

// Result counts what [Replay], [ReplayTo] and [Discard] did.
type Result struct {
	// Received counts the messages seen; Selected those the options select; Replayed those
	// sent to the target and acknowledged (Replay, ReplayTo); Discarded those acknowledged
	// without being sent anywhere (Discard); Failed those whose send failed (returned).
	Received, Selected, Replayed, Discarded, Failed int
}

// Replay sends the messages on from that opts selects to to, acknowledging each on from once its
// send succeeded, and returns all others to the broker.
func Replay(ctx context.Context, from *channel.Receiver, to *channel.Sender, opts *Options) (Result, error) {
	res, done, err := settle(ctx, from, opts, "replay", func(ctx context.Context, m Message) error {
		return to.SendMessage(ctx, &pubsub.Message{Body: m.Body, Metadata: replayMetadata(m.Metadata)})
	})
	res.Replayed = done
	return res, err
}

// ReplayTo is [Replay] to any emitter.Sender, such as a pipeline's own (pipeline.Pipeline.Sender,
// which for an in-process channel counts what it sends in the pipeline's backlog): each selected
// message's body is decoded (channel.Decode) and the event sent with to.Send, which writes its
// metadata afresh, as for an event the webhook accepted. A message that does not decode counts
// as failed and stays on the dead-letter channel.
func ReplayTo(ctx context.Context, from *channel.Receiver, to emitter.Sender, opts *Options) (Result, error) {
	res, done, err := settle(ctx, from, opts, "replay", func(ctx context.Context, m Message) error {
		ev, err := channel.Decode(m.Body)
		if err != nil {
			return err
		}
		return to.Send(ctx, ev)
	})
	res.Replayed = done
	return res, err
}

// Discard acknowledges the messages on from that opts selects, which removes them from the
// dead-letter channel for good, and returns all others to the broker. With Options.DryRun it
// only counts them.
func Discard(ctx context.Context, from *channel.Receiver, opts *Options) (Result, error) {
	res, done, err := settle(ctx, from, opts, "discard", func(context.Context, Message) error { return nil })
	res.Discarded = done
	return res, err
}

// settle is Replay's and Discard's loop: it drains from, runs act on each selected message
// (unless DryRun or the drain failed) and acknowledges the message once act succeeded, returning
// every other message to the broker. done counts the messages acknowledged.
func settle(ctx context.Context, from *channel.Receiver, opts *Options, verb string, act func(context.Context, Message) error) (res Result, done int, _ error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	held, err := drain(ctx, from, &o)
	res.Received = len(held)
	var first error
	for _, m := range held {
		if !selected(m, o) || o.DryRun || err != nil {
			res.Selected += b2i(selected(m, o))
			giveBack(m.msg)
			continue
		}
		res.Selected++
		if aerr := act(ctx, m); aerr != nil {
			res.Failed++
			first = cmpErr(first, fmt.Errorf("deadletter: %s %s: %w", verb, m.label(), aerr))
			giveBack(m.msg)
			continue
		}
		m.msg.Ack()
		done++
	}
	return res, done, errors.Join(err, first)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (m Message) label() string {
	if m.EventID != "" {
		return m.EventID
	}
	return "message " + m.msg.LoggableID
}

// drain receives until from has brought nothing new for o.Wait or o.Limit messages were
// received. Only a new message extends the wait: a message held past its ack deadline comes
// back (every deadline, for as long as it is held), and counting that as activity would keep a
// channel whose ack deadline is shorter than o.Wait from ever counting as drained.
func drain(ctx context.Context, from *channel.Receiver, opts *Options) ([]Message, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	var held []Message
	lastNew := time.Now()
	for o.Limit <= 0 || len(held) < o.Limit {
		left := o.Wait - time.Since(lastNew)
		if left <= 0 {
			return held, nil // nothing new for o.Wait: drained
		}
		rctx, cancel := context.WithTimeout(ctx, left)
		m, err := from.Receive(rctx)
		cancel()
		switch {
		case err == nil:
			var isNew bool
			if held, isNew = hold(held, newMessage(m)); isNew {
				lastNew = time.Now()
				if o.Progress != nil {
					o.Progress(len(held))
				}
			}
		case ctx.Err() != nil:
			return held, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			return held, nil // idle for o.Wait: drained
		default:
			return held, fmt.Errorf("deadletter: receive: %w", err)
		}
	}
	return held, nil
}

// hold adds m to held and reports true, or replaces the copy held already and reports false: a
// message held past its ack deadline is delivered again, and only the newest delivery can still
// be acknowledged. A redelivery has the same id, body and metadata as the copy held. The id
// alone does not tell: RabbitMQ's id is the event id, and the same event dead-lettered twice
// (Stripe sent it twice, or a replay failed again) is two messages, with two reasons or times,
// both to be shown and replayed.
func hold(held []Message, m Message) ([]Message, bool) {
	if id := m.msg.LoggableID; id != "" {
		for i := range held {
			if h := held[i]; h.msg.LoggableID == id && bytes.Equal(h.Body, m.Body) && maps.Equal(h.Metadata, m.Metadata) {
				held[i] = m
				return held, false
			}
		}
	}
	return append(held, m), true
}

// giveBack returns m to the broker: at once where the driver can nack, otherwise when its ack
// deadline passes.
func giveBack(m *pubsub.Message) {
	if m.Nackable() {
		m.Nack()
	}
}

// Selects reports whether o's IDs, Types and Routes select m (List returns every message; a
// caller that shows only some filters with it).
func Selects(m Message, o *Options) bool {
	if o == nil {
		return true
	}
	return selected(m, *o)
}

func selected(m Message, o Options) bool {
	if len(o.IDs) > 0 && !slices.Contains(o.IDs, m.EventID) {
		return false
	}
	if len(o.Routes) > 0 && !slices.Contains(o.Routes, m.Route) {
		return false
	}
	types, err := emitter.NewTypes(o.Types)
	return err == nil && types.Allows(m.Type)
}

// brokerDeadLetterKeys and brokerDeadLetterPrefixes name the metadata that brokers add to the
// messages they dead-letter: RabbitMQ's x-death headers, the application properties of a
// Service Bus dead-letter queue's messages, and the attributes Pub/Sub adds to messages it
// forwards to a dead-letter topic.
var (
	brokerDeadLetterKeys     = []string{"x-death", "DeadLetterReason", "DeadLetterErrorDescription"}
	brokerDeadLetterPrefixes = []string{"x-first-death-", "x-last-death-", "CloudPubSubDeadLetterSource"}
)

// replayMetadata is md less hookline's dead-letter keys and the brokers'.
func replayMetadata(md map[string]string) map[string]string {
	out := maps.Clone(md)
	for _, k := range []string{channel.MetaDeadLetterReason, channel.MetaDeadLetterKind, channel.MetaDeadLetterAttempts,
		channel.MetaDeadLetterDelivery, channel.MetaDeadLetterTime} {
		delete(out, k)
	}
	maps.DeleteFunc(out, func(k, _ string) bool {
		return slices.Contains(brokerDeadLetterKeys, k) ||
			slices.ContainsFunc(brokerDeadLetterPrefixes, func(p string) bool { return strings.HasPrefix(k, p) })
	})
	return out
}
