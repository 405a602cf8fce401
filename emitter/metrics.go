package emitter

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// meterName is the instrumentation scope of the Handler's metrics.
const meterName = "github.com/hookline/hookline/emitter"

// Attributes of hookline.webhook.deliveries.
const (
	// AttrOutcome is what became of a delivery: accepted, skipped, refused or failed.
	AttrOutcome = attribute.Key("hookline.outcome")
	// AttrReason is the reason of a refused or failed delivery, the fixed phrase of its answer.
	AttrReason = attribute.Key("hookline.reason")
)

// Outcomes of a delivery.
const (
	OutcomeAccepted = "accepted" // sent to the channel, answered 200
	OutcomeSkipped  = "skipped"  // authentic, not forwarded by the Source's choice, answered 200
	OutcomeRefused  = "refused"  // answered 4xx: forged, replayed, malformed, too large, ...
	OutcomeFailed   = "failed"   // the channel did not take it, answered 503: the source retries
)

// noExemplar is the context of counter increments: without the span in it, the SDK attaches
// no exemplar (a sampled trace id) to them, which would cost more than the increment itself.
// Durations are recorded with the span's context, so their exemplars lead to slow traces.
var noExemplar = context.Background()

// durationBuckets are the boundaries the HTTP conventions advise for request durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// meters records the Handler's metrics. Attribute sets are built once per combination (a few
// dozen at most: methods, status codes and reasons are small fixed sets) and reused.
type meters struct {
	deliveries metric.Int64Counter
	duration   metric.Float64Histogram
	mu         sync.RWMutex
	opts       map[setKey][2]metric.MeasurementOption // of deliveries and duration
}

type setKey struct {
	method, route, scheme, reason string
	status                        int
	skipped                       bool
}

func newMeters(mp metric.MeterProvider) *meters {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	// Creating an instrument fails only for an invalid name or unit; a noop one is returned then.
	d, _ := httpconv.NewServerRequestDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...))
	deliveries, _ := m.Int64Counter("hookline.webhook.deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries by outcome (accepted, skipped, refused, failed) and reason."))
	return &meters{deliveries: deliveries, duration: d.Inst(), opts: map[setKey][2]metric.MeasurementOption{}}
}

// record counts one delivery answered with resp after d. method is the request's method,
// route its route ("" when unknown), scheme "http" or "https" ("" when unknown).
func (m *meters) record(ctx context.Context, d time.Duration, method, route, scheme string, resp Response) {
	if !m.deliveries.Enabled(ctx) && !m.duration.Enabled(ctx) {
		return
	}
	if _, known := spanMethod(method); !known {
		method = "_OTHER"
	}
	key := setKey{method: method, route: route, scheme: scheme, status: resp.Status, skipped: resp.Skipped}
	if resp.Status >= 400 {
		key.reason = errorType(resp)
	}
	m.mu.RLock()
	opts, ok := m.opts[key]
	m.mu.RUnlock()
	if !ok {
		sets := key.sets()
		opts = [2]metric.MeasurementOption{metric.WithAttributeSet(sets[0]), metric.WithAttributeSet(sets[1])}
		m.mu.Lock()
		if len(m.opts) < maxSets { // methods, statuses and reasons are small sets; this bounds a surprise
			m.opts[key] = opts
		}
		m.mu.Unlock()
	}
	m.deliveries.Add(noExemplar, 1, opts[0])
	m.duration.Record(ctx, d.Seconds(), opts[1])
}

// maxSets bounds the cached attribute sets.
const maxSets = 256

// sets builds the attribute sets of k: of hookline.webhook.deliveries and of
// http.server.request.duration.
func (k setKey) sets() [2]attribute.Set {
	outcome := OutcomeAccepted
	switch {
	case k.status >= 500:
		outcome = OutcomeFailed
	case k.status >= 400:
		outcome = OutcomeRefused
	case k.skipped:
		outcome = OutcomeSkipped
	}
	delivery := []attribute.KeyValue{AttrOutcome.String(outcome), semconv.HTTPResponseStatusCode(k.status)}
	if k.reason != "" {
		delivery = append(delivery, AttrReason.String(k.reason))
	}
	req := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(k.method), semconv.HTTPResponseStatusCode(k.status)}
	if k.route != "" {
		req = append(req, semconv.HTTPRoute(k.route))
	}
	if k.scheme != "" {
		req = append(req, semconv.URLScheme(k.scheme))
	}
	if k.status >= 500 {
		// The conventions set error.type on a server's duration for 5xx only.
		req = append(req, semconv.ErrorTypeKey.String(k.reason))
	}
	return [2]attribute.Set{attribute.NewSet(delivery...), attribute.NewSet(req...)}
}

// schemeOf returns the URL scheme r was received on.
func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// DefaultRefusalLogInterval is the default of [HandlerOptions].RefusalLogInterval.
const DefaultRefusalLogInterval = 10 * time.Second

// refusalLog rate-limits the warnings about refused deliveries: at most one per reason per
// interval, the next one saying how many were left out meanwhile. A flood of forgeries thus
// writes a line every interval, while the first refusal (a wrong or rolled signing secret) is
// logged at once.
type refusalLog struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]*refusals
}

type refusals struct {
	at         time.Time
	suppressed int
}

// maxReasons bounds the reasons tracked; Sources give fixed phrases, so this is never reached
// by a well-behaved one.
const maxReasons = 64

// allow reports whether a refusal for reason at now is logged, and how many refusals for it were
// not logged since the last that was.
func (l *refusalLog) allow(reason string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.last[reason]
	if r == nil {
		if len(l.last) >= maxReasons {
			clear(l.last)
		}
		l.last[reason] = &refusals{at: now}
		return true, 0
	}
	if now.Sub(r.at) < l.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.at, r.suppressed = now, 0
	return true, n
}
