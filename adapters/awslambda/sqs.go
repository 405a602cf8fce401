package awslambda

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	// The SQS processor's spans and metrics name SQS (messaging.system) through its
	// channel.Broker, which this package registers.
	_ "github.com/hookline/hookline/channel/amazonsqs"
)

// MessageProcessor handles one message pushed by a runtime; [*channel.Processor] implements it.
// A nil error means the message is done (processed or dead-lettered), an error that it must be
// delivered again.
type MessageProcessor interface {
	Process(ctx context.Context, body []byte, metadata map[string]string, delivery int) error
}

// DefaultSQSConcurrency is the number of records of one batch processed at once by default.
const DefaultSQSConcurrency = 4

// SQSOptions configures an [SQSHandler]. A nil *SQSOptions and zero fields mean the defaults.
type SQSOptions struct {
	// Concurrency bounds the records of one batch processed at once. Default
	// DefaultSQSConcurrency; 1 processes them one after another. Records from a FIFO queue are
	// always processed one after another (see [SQSHandler.Handle]).
	Concurrency int
	// Logger receives one record per message that goes back to the queue. Default: discard.
	Logger *slog.Logger
}

// SQSHandler is the processor as an SQS-triggered Lambda function that reports partial batch
// failures. It is safe for concurrent use.
type SQSHandler struct {
	proc        MessageProcessor
	concurrency int
	log         *slog.Logger
}

// NewSQSHandler returns an SQSHandler that hands each record to p.
func NewSQSHandler(p MessageProcessor, opts *SQSOptions) (*SQSHandler, error) {
	if p == nil {
		return nil, errors.New("awslambda: NewSQSHandler: MessageProcessor is nil")
	}
	var o SQSOptions
	if opts != nil {
		o = *opts
	}
	h := &SQSHandler{proc: p, concurrency: o.Concurrency, log: o.Logger}
	if h.concurrency <= 0 {
		h.concurrency = DefaultSQSConcurrency
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Handle processes a batch and reports the messages to deliver again in BatchItemFailures.
// Handle never returns an error. The event source mapping MUST have FunctionResponseTypes
// [ReportBatchItemFailures]: without it Lambda ignores the report, counts the invocation as a
// success and deletes the whole batch, failed messages included.
//
// Records of a standard queue are processed concurrently, at most Concurrency at once; sinks
// are idempotent and keep the newest event per object, so order within a batch does not
// matter. Records of a FIFO queue (an event source ARN ending in ".fifo") are processed in
// order, and after the first failure the rest of the batch is not processed but reported as
// failed too, so that SQS delivers the group's messages again in their order, as AWS documents
// for FIFO queues.
func (h *SQSHandler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	failed := make([]bool, len(ev.Records))
	if fifo(ev.Records) {
		for i := range ev.Records {
			if failed[i] = h.process(ctx, &ev.Records[i]) != nil; failed[i] {
				for j := i + 1; j < len(ev.Records); j++ {
					failed[j] = true
				}
				break
			}
		}
	} else {
		h.processConcurrently(ctx, ev.Records, failed)
	}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

func (h *SQSHandler) processConcurrently(ctx context.Context, records []events.SQSMessage, failed []bool) {
	slots := make(chan struct{}, h.concurrency)
	var wg sync.WaitGroup
	for i := range records {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			failed[i] = h.process(ctx, &records[i]) != nil
		}()
	}
	wg.Wait()
}

func fifo(records []events.SQSMessage) bool {
	return len(records) > 0 && strings.HasSuffix(records[0].EventSourceARN, ".fifo")
}

// process hands one record to the processor; a panic counts as a failure.
func (h *SQSHandler) process(ctx context.Context, r *events.SQSMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("awslambda: processor panicked")
		}
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "awslambda: message goes back to the queue",
				slog.String("message_id", r.MessageId), slog.String("error", err.Error()))
		}
	}()
	body, md := Message(r)
	return h.proc.Process(ctx, body, md, ReceiveCount(r))
}

// Message returns the body and metadata of an SQS record as the gocloud driver that sent it
// (gocloud.dev/pubsub/awssnssqs, which package channel uses) would have received them: the
// string values of the message attributes, with gocloud's escaping of names and values undone,
// and the body base64-decoded when the "base64encoded" attribute says gocloud encoded it.
// Attributes without a string value (Binary) are left out.
func Message(r *events.SQSMessage) ([]byte, map[string]string) {
	md := make(map[string]string, len(r.MessageAttributes))
	encoded := false
	for k, a := range r.MessageAttributes {
		if a.StringValue == nil {
			continue
		}
		if k == "base64encoded" {
			encoded = true
			continue
		}
		v := *a.StringValue
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		md[unescapeName(k)] = v
	}
	if encoded {
		if b, err := base64.StdEncoding.DecodeString(r.Body); err == nil {
			return b, md
		}
	}
	return []byte(r.Body), md
}

// escapedRune is gocloud's escape of one rune in a metadata name: "__0x" hex "__".
var escapedRune = regexp.MustCompile(`__0x([0-9a-fA-F]+)__`)

func unescapeName(k string) string {
	if !strings.Contains(k, "__0x") {
		return k
	}
	return escapedRune.ReplaceAllStringFunc(k, func(m string) string {
		n, err := strconv.ParseUint(m[4:len(m)-2], 16, 32)
		if err != nil {
			return m
		}
		return string(rune(n))
	})
}

// ReceiveCount returns the record's ApproximateReceiveCount (1 on the first delivery), or 0 when
// it has none, which leaves the limit on deliveries to the queue's redrive policy.
func ReceiveCount(r *events.SQSMessage) int {
	n, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 0
	}
	return n
}
