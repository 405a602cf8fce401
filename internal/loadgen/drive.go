package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

const idPrefix = "evt_load"
const idDigits = 16

// template is a signed-event body whose event id is rewritten per request.
type template struct {
	body []byte
	at   int // offset of the id's digits
}

func newTemplate() template {
	placeholder := idPrefix + "0000000000000000"
	body := stripehook.SampleEvent("customer.updated", "cus_load", time.Now())
	var m struct{ ID string }
	// SampleEvent's id is derived from its arguments; swap it for a fixed-width placeholder.
	if i := bytes.Index(body, []byte(`"id": "evt_`)); i >= 0 {
		end := bytes.IndexByte(body[i+8:], '"') + i + 8
		m.ID = string(body[i+7 : end])
		body = bytes.Replace(body, []byte(m.ID), []byte(placeholder), 1)
	}
	return template{body: body, at: bytes.Index(body, []byte(placeholder)) + len(idPrefix)}
}

// event returns the body for event number seq.
func (t template) event(buf []byte, seq int64) []byte {
	buf = append(buf[:0], t.body...)
	d := strconv.AppendInt(make([]byte, 0, idDigits), seq, 10)
	copy(buf[t.at+idDigits-len(d):], d)
	return buf
}

func seqOf(id string) (int64, bool) {
	if len(id) != len(idPrefix)+idDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(id[len(idPrefix):], 10, 64)
	return n, err == nil
}

type result struct {
	start               time.Time
	sent, accepted      int64
	refused             map[int]int64
	errors              int64
	sendingFor          time.Duration
	consumedIn          time.Duration
	webhookLat, sinkLat []time.Duration
	heapMB              []float64 // sampled each second while sending
}

// drive posts signed events to url from conns workers for d, at rate events/s in total (0: no
// limit), recording each request's start so the sink can report webhook-to-sink latency.
func drive(url, secret string, d time.Duration, conns, rate int, rec *recorder) *result {
	tpl := newTemplate()
	res := &result{start: time.Now(), refused: map[int]int64{}}
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
			res.webhookLat = append(res.webhookLat, lat...)
			for k, v := range refused {
				res.refused[k] += v
			}
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.sendingFor = time.Since(res.start)
	res.sent = seq.Load()
	res.accepted = int64(len(res.webhookLat))
	return res
}

func worker(ctx context.Context, url, secret string, tpl template, seq *atomic.Int64, tick <-chan struct{}, rec *recorder) ([]time.Duration, map[int]int64, int64) {
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
		body := tpl.event(buf, n)
		start := time.Now()
		if rec != nil {
			rec.started(n, start)
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

func sampleHeap(ctx context.Context, res *result) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			runtime.ReadMemStats(&ms)
			res.heapMB = append(res.heapMB, float64(ms.HeapInuse)/(1<<20))
		}
	}
}

// recorder is a sink wrapper that measures webhook-to-sink latency per event. Start times live in
// a fixed ring indexed by sequence number, so the recorder's memory does not grow with the run.
type recorder struct {
	starts []atomic.Int64 // unix nanos by seq % len
	mu     sync.Mutex
	lat    []time.Duration
	n      atomic.Int64
}

func newRecorder() *recorder { return &recorder{starts: make([]atomic.Int64, 1<<21)} }

func (r *recorder) started(seq int64, t time.Time) {
	r.starts[seq%int64(len(r.starts))].Store(t.UnixNano())
}

func (r *recorder) wrap(s sink.Sink) sink.Sink {
	return sink.Func(func(ctx context.Context, ev hookline.Event) error {
		if err := s.Write(ctx, ev); err != nil {
			return err
		}
		r.record(ev.ID)
		return nil
	})
}

// record notes that the event with id reached the sink.
func (r *recorder) record(id string) {
	if seq, ok := seqOf(id); ok {
		d := time.Duration(time.Now().UnixNano() - r.starts[seq%int64(len(r.starts))].Load())
		r.mu.Lock()
		r.lat = append(r.lat, d)
		r.mu.Unlock()
	}
	r.n.Add(1)
}

func (r *recorder) consumed() int64 { return r.n.Load() }

func (r *recorder) latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lat)
}

func (res *result) print(w io.Writer, title string) {
	fmt.Fprintf(w, "\n%s\n", title)
	secs := res.sendingFor.Seconds()
	fmt.Fprintf(w, "  accepted  %d events in %.1fs = %.0f events/s (refused %v, transport errors %d)\n",
		res.accepted, secs, float64(res.accepted)/secs, res.refused, res.errors)
	fmt.Fprintf(w, "  webhook latency          p50 %v  p99 %v  max %v\n", pct(res.webhookLat, 50), pct(res.webhookLat, 99), pct(res.webhookLat, 100))
	if res.sinkLat != nil {
		fmt.Fprintf(w, "  consumed  %d events, all done %.1fs after start = %.0f events/s\n",
			len(res.sinkLat), res.consumedIn.Seconds(), float64(len(res.sinkLat))/res.consumedIn.Seconds())
		fmt.Fprintf(w, "  webhook-to-sink latency  p50 %v  p99 %v  max %v\n", pct(res.sinkLat, 50), pct(res.sinkLat, 99), pct(res.sinkLat, 100))
	}
	fmt.Fprintf(w, "  heap in use each second (MB): %s\n", heapText(res.heapMB))
}

func pct(d []time.Duration, p int) time.Duration {
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
