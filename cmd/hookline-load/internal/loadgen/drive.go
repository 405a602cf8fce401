// Package loadgen drives a webhook with signed Stripe events over loopback and measures it: the
// engine of cmd/hookline-load and of the broker load tests. Its client is a minimal HTTP/1.1
// keep-alive client (like wrk), so that on a small machine the load generator leaves the CPU to
// the server it measures.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

const idPrefix = "evt_load"
const idDigits = 16

// subjectDigits is the width of the number in a subject made by a Template of several subjects.
const subjectDigits = 8

// Template is a Stripe event body whose event id, and customer id when it has several, is
// rewritten per request.
type Template struct {
	body     []byte
	at       int   // offset of the id's digits
	subjects int64 // customers the events are about, one after the other
	subAt    []int // offsets of the customer id's digits
}

// NewTemplate returns the template of customer.updated events about one customer, cus_load.
func NewTemplate() Template { return NewTemplateSubjects(1) }

// NewTemplateSubjects returns the template of customer.updated events about subjects customers
// in turn (cus_load00000000, cus_load00000001, ...), for a sink that stores a row per customer.
func NewTemplateSubjects(subjects int) Template {
	subject := "cus_load"
	if subjects > 1 {
		subject += strings.Repeat("0", subjectDigits)
	}
	placeholder := idPrefix + "0000000000000000"
	body := stripehook.SampleEvent("customer.updated", subject, time.Now())
	// SampleEvent's id is derived from its arguments; swap it for a fixed-width placeholder.
	if i := bytes.Index(body, []byte(`"id": "evt_`)); i >= 0 {
		end := bytes.IndexByte(body[i+8:], '"') + i + 8
		body = bytes.Replace(body, body[i+7:end], []byte(placeholder), 1)
	}
	t := Template{body: body, at: bytes.Index(body, []byte(placeholder)) + len(idPrefix), subjects: int64(max(1, subjects))}
	if subjects > 1 {
		quoted := []byte(`"` + subject + `"`)
		for off := 0; ; {
			i := bytes.Index(body[off:], quoted)
			if i < 0 {
				break
			}
			t.subAt = append(t.subAt, off+i+1+len("cus_load"))
			off += i + len(quoted)
		}
	}
	return t
}

// Size is the length of an event's body in bytes.
func (t Template) Size() int { return len(t.body) }

// Event returns the body for event number seq, built in buf: its id holds seq, its customer is
// number seq modulo the template's subjects.
func (t Template) Event(buf []byte, seq int64) []byte {
	buf = append(buf[:0], t.body...)
	d := strconv.AppendInt(make([]byte, 0, idDigits), seq, 10)
	copy(buf[t.at+idDigits-len(d):], d)
	if len(t.subAt) > 0 {
		d = strconv.AppendInt(d[:0], seq%t.subjects, 10)
		for _, at := range t.subAt {
			copy(buf[at+subjectDigits-len(d):], d)
		}
	}
	return buf
}

// SeqOf returns the sequence number of an event id made by Template.Event.
func SeqOf(id string) (int64, bool) {
	if len(id) != len(idPrefix)+idDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(id[len(idPrefix):], 10, 64)
	return n, err == nil
}

// Result is what one [Drive] measured.
type Result struct {
	Start          time.Time
	Sent, Accepted int64
	Refused        map[int]int64 // answers other than 2xx, by status
	Errors         int64         // transport errors
	SendingFor     time.Duration
	ConsumedIn     time.Duration   // from Start until the sink had every accepted event
	WebhookLatency []time.Duration // per accepted request
	SinkLatency    []time.Duration // webhook request start to sink write, per event; nil without a Recorder
	HeapMB         []float64       // heap in use, sampled each second while sending
	CPU            time.Duration   // the process's CPU time (user and system) from Start until every event was consumed
	cpu0           time.Duration
}

// Drive posts signed events to url from conns workers for d, at rate events/s in total (0: no
// limit), recording each request's start so the sink can report webhook-to-sink latency.
func Drive(url, secret string, d time.Duration, conns, rate int, rec *Recorder) *Result {
	return DriveTemplate(NewTemplate(), url, secret, d, conns, rate, rec)
}

// DriveTemplate is Drive with the events of tpl.
func DriveTemplate(tpl Template, url, secret string, d time.Duration, conns, rate int, rec *Recorder) *Result {
	res := &Result{Start: time.Now(), Refused: map[int]int64{}}
	res.cpu0 = processCPU()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var seq atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := pacer(ctx, rate)
	go sampleHeap(ctx, res)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat, refused, errs := worker(ctx, url, secret, tpl, &seq, tick, rec)
			mu.Lock()
			res.WebhookLatency = append(res.WebhookLatency, lat...)
			for k, v := range refused {
				res.Refused[k] += v
			}
			res.Errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.SendingFor = time.Since(res.Start)
	res.Sent = seq.Load()
	res.Accepted = int64(len(res.WebhookLatency))
	res.CPU = processCPU() - res.cpu0 // AwaitConsumed adds the rest
	return res
}

// processCPU returns the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUPerEvent is the process's CPU time per accepted event, load generator included: a steadier
// measure of a variant's cost than events/s on a shared machine.
func (res *Result) CPUPerEvent() time.Duration {
	if res.Accepted == 0 {
		return 0
	}
	return res.CPU / time.Duration(res.Accepted)
}

func worker(ctx context.Context, url, secret string, tpl Template, seq *atomic.Int64, tick <-chan struct{}, rec *Recorder) ([]time.Duration, map[int]int64, int64) {
	var lat []time.Duration
	refused := map[int]int64{}
	var errs int64
	buf := make([]byte, 0, len(tpl.body))
	var c *rawConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return lat, refused, errs
			}
		}
		if ctx.Err() != nil {
			return lat, refused, errs
		}
		if c == nil {
			var err error
			if c, err = dialRaw(url, secret); err != nil {
				errs++
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		n := seq.Add(1)
		body := tpl.Event(buf, n)
		start := time.Now()
		if rec != nil {
			rec.Started(n, start)
		}
		status, err := c.post(body, start)
		if err != nil {
			errs++
			c.close()
			c = nil
			continue
		}
		if status/100 == 2 {
			lat = append(lat, time.Since(start))
		} else {
			refused[status]++
		}
	}
}

// pacer emits rate ticks per second until ctx ends; nil means no pacing.
func pacer(ctx context.Context, rate int) <-chan struct{} {
	if rate <= 0 {
		return nil
	}
	ch := make(chan struct{})
	go func() {
		interval := time.Second / time.Duration(rate)
		next := time.Now()
		for {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func sampleHeap(ctx context.Context, res *Result) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			runtime.ReadMemStats(&ms)
			res.HeapMB = append(res.HeapMB, float64(ms.HeapInuse)/(1<<20))
		}
	}
}

// Recorder is a sink wrapper that measures webhook-to-sink latency per event. Start times live in
// a fixed ring indexed by sequence number, so the recorder's memory does not grow with the run.
type Recorder struct {
	starts []atomic.Int64 // unix nanos by seq % len
	mu     sync.Mutex
	lat    []time.Duration
	n      atomic.Int64
}

func NewRecorder() *Recorder { return &Recorder{starts: make([]atomic.Int64, 1<<21)} }

// Started notes when the request for event seq began.
func (r *Recorder) Started(seq int64, t time.Time) {
	r.starts[seq%int64(len(r.starts))].Store(t.UnixNano())
}

// Wrap returns s recording each event it writes. A sink that writes batches stays one.
func (r *Recorder) Wrap(s sink.Sink) sink.Sink {
	if b, ok := s.(sink.BatchApplier); ok {
		return batchRecorder{b, r}
	}
	return sink.Func(func(ctx context.Context, ev hookline.Event) error {
		if err := s.Write(ctx, ev); err != nil {
			return err
		}
		r.Record(ev.ID)
		return nil
	})
}

// batchRecorder records the events a BatchApplier wrote.
type batchRecorder struct {
	sink.BatchApplier
	r *Recorder
}

func (b batchRecorder) Write(ctx context.Context, ev hookline.Event) error {
	_, err := b.Apply(ctx, ev)
	return err
}

func (b batchRecorder) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	res, err := b.BatchApplier.Apply(ctx, ev)
	if err == nil {
		b.r.Record(ev.ID)
	}
	return res, err
}

func (b batchRecorder) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	out := b.BatchApplier.ApplyBatch(ctx, items)
	for i, o := range out {
		if o.Err == nil {
			b.r.Record(items[i].Event.ID)
		}
	}
	return out
}

// Record notes that the event with id reached the sink.
func (r *Recorder) Record(id string) {
	if seq, ok := SeqOf(id); ok {
		d := time.Duration(time.Now().UnixNano() - r.starts[seq%int64(len(r.starts))].Load())
		r.mu.Lock()
		r.lat = append(r.lat, d)
		r.mu.Unlock()
	}
	r.n.Add(1)
}

// Consumed is the number of events recorded.
func (r *Recorder) Consumed() int64 { return r.n.Load() }

// Latencies returns the recorded webhook-to-sink latencies.
func (r *Recorder) Latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lat)
}

// Print writes a report of res under title.
func (res *Result) Print(w io.Writer, title string) {
	fmt.Fprintf(w, "\n%s\n", title)
	secs := res.SendingFor.Seconds()
	fmt.Fprintf(w, "  accepted  %d events in %.1fs = %.0f events/s (refused %v, transport errors %d)\n",
		res.Accepted, secs, float64(res.Accepted)/secs, res.Refused, res.Errors)
	fmt.Fprintf(w, "  webhook latency          p50 %v  p99 %v  max %v\n", Pct(res.WebhookLatency, 50), Pct(res.WebhookLatency, 99), Pct(res.WebhookLatency, 100))
	if res.SinkLatency != nil {
		fmt.Fprintf(w, "  consumed  %d events, all done %.1fs after start = %.0f events/s\n",
			len(res.SinkLatency), res.ConsumedIn.Seconds(), float64(len(res.SinkLatency))/res.ConsumedIn.Seconds())
		fmt.Fprintf(w, "  webhook-to-sink latency  p50 %v  p99 %v  max %v\n", Pct(res.SinkLatency, 50), Pct(res.SinkLatency, 99), Pct(res.SinkLatency, 100))
	}
	fmt.Fprintf(w, "  heap in use each second (MB): %s\n", heapText(res.HeapMB))
	fmt.Fprintf(w, "  CPU per event %.1fµs (the process, load generator included)\n", float64(res.CPUPerEvent().Nanoseconds())/1000)
}

// Pct returns the p-th percentile of d (sorting d).
func Pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := (len(d) - 1) * p / 100
	return d[i].Round(10 * time.Microsecond)
}

func heapText(h []float64) string {
	b := make([]byte, 0, 8*len(h))
	for i, v := range h {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, v, 'f', 0, 64)
	}
	return string(b)
}

// Serve serves h on a loopback port and returns its URL and a function that stops it.
func Serve(h http.Handler) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", srv.Close, nil
}

// AwaitConsumed waits until rec counted every event res accepted (at most a minute), then
// completes res with the consumption figures.
func (res *Result) AwaitConsumed(rec *Recorder) {
	deadline := time.Now().Add(60 * time.Second)
	for rec.Consumed() < res.Accepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	res.ConsumedIn = time.Since(res.Start)
	res.CPU = processCPU() - res.cpu0
	res.SinkLatency = rec.Latencies()
}

// AcceptedPerSecond is the number of events the webhook accepted per second of sending.
func (res *Result) AcceptedPerSecond() float64 {
	return float64(res.Accepted) / res.SendingFor.Seconds()
}

// ConsumedPerSecond is the number of events that reached the sink per second of the run.
func (res *Result) ConsumedPerSecond() float64 {
	return float64(len(res.SinkLatency)) / res.ConsumedIn.Seconds()
}
