package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/eventlog"
	"github.com/hookline/hookline/route"
	"github.com/hookline/hookline/sink"
)

// EnvConfig names the configuration file of routes (package route): with it, each event goes to
// every route that matches it, instead of everything to HOOKLINE_SINK.
const EnvConfig = "HOOKLINE_CONFIG"

// Route outcomes of [RouteOutcome] and of the hookline.route.events metric.
const (
	RouteStored   = "stored"
	RouteIgnored  = "ignored"
	RouteFailed   = "failed"
	RouteSkipped  = "skipped"
	RouteUnrouted = "unrouted" // the metric's outcome for an event no route matched
)

// routed is one compiled route with the sink it writes to.
type routed struct {
	*route.Route
	sink   sink.Sink
	record sink.RecordSink // the sink, when the route maps columns
	owned  bool            // opened from the route's URL, so closed with the pipeline
}

// RouteProblem is a problem of one route found before the first event: a sink's Problem
// (sink.Checker), or an error of the route itself in Problem with no Column.
type RouteProblem struct {
	Route string
	// Pos is where the configuration file maps the column; zero for a column of the sink's own.
	Pos route.Pos
	sink.Problem
}

func (p RouteProblem) String() string {
	s := fmt.Sprintf("route %q", p.Route)
	if p.Column != "" {
		s += fmt.Sprintf(", column %s", p.Column)
	}
	if p.Pos.Line > 0 {
		s += " (" + p.Pos.String() + ")"
	}
	s += ": " + p.Problem.Problem
	if p.Fix != "" {
		s += " (" + p.Fix + ")"
	}
	return s
}

// ProblemsError is the error of [Open] when a sink refused a route's configuration before the
// first event (its Problems), as `hookline check` reports them.
type ProblemsError struct{ Problems []RouteProblem }

func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "pipeline: the configuration cannot work: " + strings.Join(lines, "; ")
}

// openRoutes compiles the routes of cfg and opens their sinks (those of given instead, by route
// name), refusing a route that maps columns for a sink that keeps whole objects.
func openRoutes(ctx context.Context, cfg route.Config, given map[string]sink.Sink) (_ []*routed, err error) {
	compiled, err := route.CompileAll(cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", EnvConfig, err)
	}
	var out []*routed
	defer func() {
		if err != nil {
			closeRoutes(out)
		}
	}()
	for _, r := range compiled {
		rt := &routed{Route: r, sink: given[r.Name()]}
		if rt.sink == nil {
			if rt.sink, err = sink.Open(ctx, r.Sink()); err != nil {
				return out, fmt.Errorf("pipeline: route %q: %w", r.Name(), err)
			}
			rt.owned = true
		}
		out = append(out, rt)
		if len(r.Columns()) > 0 {
			rec, ok := rt.sink.(sink.RecordSink)
			if !ok {
				return out, fmt.Errorf("pipeline: route %q (%s): its sink keeps whole events and takes no map: "+
					"remove map:, or route to a sink that writes columns (dataverse://)", r.Name(), r.Spec().Pos)
			}
			rt.record = rec
		}
	}
	return out, nil
}

func closeRoutes(rs []*routed) error {
	var errs []error
	for _, r := range rs {
		if r.owned {
			errs = append(errs, r.sink.Close())
		}
	}
	return errors.Join(errs...)
}

// name is the route's name; "default" for the one sink of a configuration without routes.
func (r *routed) name() string {
	if r.Route == nil {
		return "default"
	}
	return r.Route.Name()
}

// columns are the route's mapped columns as its sink checks them; nil when the sink maps the
// event itself.
func (r *routed) columns() []sink.Column {
	if r.Route == nil || len(r.Columns()) == 0 {
		return nil
	}
	return r.Columns()
}

// columnPos returns where the configuration maps column, or the zero Pos.
func (r *routed) columnPos(column string) route.Pos {
	if r.Route != nil {
		for _, c := range r.Spec().Map {
			if c.Name == column {
				return c.Pos
			}
		}
	}
	return route.Pos{}
}

// checkRoutes asks every route's sink that can check its destination (sink.Checker) whether it
// takes the route's columns. The error is a failure to check, not a problem found.
func checkRoutes(ctx context.Context, rs []*routed) ([]RouteProblem, error) {
	var problems []RouteProblem
	for _, r := range rs {
		c, ok := r.sink.(sink.Checker)
		if !ok {
			continue
		}
		found, err := c.CheckColumns(ctx, r.columns())
		if err != nil {
			return problems, fmt.Errorf("pipeline: route %q: checking its sink: %w", r.name(), err)
		}
		for _, p := range found {
			problems = append(problems, RouteProblem{Route: r.name(), Pos: r.columnPos(p.Column), Problem: p})
		}
	}
	return problems, nil
}

// CheckRoutes compiles the routes of cfg, opens their sinks and asks each that can check its
// destination (the Dataverse sink reads the table's metadata) whether it takes the route's
// columns, then closes them: what `hookline check` runs, and what [Open] runs before it accepts
// anything. A configuration without routes checks its one sink, with the columns the sink maps
// itself. The error is a configuration that does not compile or a sink that could not be
// opened or reached; the problems are what the sinks refused.
func CheckRoutes(ctx context.Context, cfg Config) ([]RouteProblem, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(false, true); err != nil {
		return nil, err
	}
	rs, err := openRoutes(ctx, cfg.routesOrSink(), nil)
	if err != nil {
		return nil, err
	}
	defer closeRoutes(rs)
	return checkRoutes(ctx, rs)
}

// routesOrSink returns the configuration's routes, or a single route named "default" that
// takes every event to Sink.
func (c Config) routesOrSink() route.Config {
	if len(c.Routes.Routes) > 0 {
		return c.Routes
	}
	return route.Config{Routes: []route.Spec{{Name: "default", Sink: c.Sink}}}
}

// routeMeters counts what the routes did.
type routeMeters struct{ events metric.Int64Counter }

func newRouteMeters(mp metric.MeterProvider) routeMeters {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	// Creating an instrument fails only for an invalid name or unit; a noop one is returned then.
	c, _ := mp.Meter("github.com/hookline/hookline/pipeline").Int64Counter("hookline.route.events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Events each route of a configuration file handled, by hookline.route and hookline.outcome: "+
			"stored, ignored (the sink held it or a newer event), failed; unrouted: no route matched."))
	return routeMeters{events: c}
}

// routeSinks closes the routes' sinks at shutdown, as the server closes the pipeline's one sink;
// it is not written to (each route writes its own sink).
type routeSinks []*routed

func (routeSinks) Write(context.Context, hookline.Event) error {
	return errors.New("pipeline: the routes write their own sinks")
}

func (rs routeSinks) Close() error { return closeRoutes(rs) }

func (m routeMeters) record(ctx context.Context, rt, outcome string) {
	if m.events.Enabled(ctx) {
		m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("hookline.route", rt), attribute.String("hookline.outcome", outcome)))
	}
}

// routeTo returns the consumer's handler for routes: each event goes to every route that
// matches it, in the configuration's order. The event is settled when every matching route
// stored or ignored it; a route's failure stops the call with a hookline.RouteError that keeps
// the failure's code (a transient one retries the event, and the routes that stored it ignore it
// the next time; a permanent one dead-letters it with the route in its reason). An event no route
// matches is acknowledged and counted as unrouted.
func routeTo(rs []*routed, log *slog.Logger, level slog.Level, meters routeMeters, observer RouteObserver) channel.Handler {
	return func(ctx context.Context, ev hookline.Event) error {
		e := route.NewEvent(ev)
		var outcomes []RouteOutcome
		if observer != nil {
			outcomes = make([]RouteOutcome, 0, len(rs))
		}
		matched, stored := 0, 0
		var failure error
		for _, r := range rs {
			outcome, err := r.handle(ctx, ev, e)
			if outcome != RouteSkipped {
				matched++
				meters.record(ctx, r.Name(), outcome)
			}
			if outcome == RouteStored {
				stored++
			}
			if observer != nil {
				o := RouteOutcome{Route: r.Name(), Outcome: outcome}
				if err != nil {
					o.Err = err.Error()
				}
				outcomes = append(outcomes, o)
			}
			if err != nil {
				failure = &hookline.RouteError{Route: r.Name(), Err: err}
				break
			}
		}
		if observer != nil {
			observer.Routed(ctx, ev, outcomes)
		}
		if failure != nil {
			return failure
		}
		if settleRouted(ctx, ev, matched, stored, log, level, meters) {
			channel.ReportIgnored(ctx)
		}
		return nil
	}
}

// settleRouted logs and counts an event every matching route took: unrouted when none matched,
// ignored when none changed its sink. It reports whether the event changed nothing.
func settleRouted(ctx context.Context, ev hookline.Event, matched, stored int, log *slog.Logger, level slog.Level,
	meters routeMeters) (ignored bool) {
	msg := "event stored"
	switch {
	case matched == 0:
		meters.record(ctx, "", RouteUnrouted)
		msg, ignored = "event unrouted: no route matches it", true
	case stored == 0:
		msg, ignored = "event ignored: the sinks already hold it or a newer event", true
	}
	if log.Enabled(ctx, level) {
		log.LogAttrs(ctx, level, msg, eventlog.Attrs(ctx, ev, slog.Int("routes", matched))...)
	}
	return ignored
}

// prepare decides whether the route takes the event e and maps its columns (nil when the sink
// maps the event itself). Its errors are Permanent: the event cannot be routed.
func (r *routed) prepare(e *route.Event) (ok bool, columns map[string]any, err error) {
	if ok, err = r.Match(e); err != nil || !ok {
		return false, nil, hookline.MarkPermanent(err)
	}
	if r.record != nil {
		if columns, err = r.Values(e); err != nil {
			return false, nil, hookline.MarkPermanent(err)
		}
	}
	return true, columns, nil
}

// handle runs one route on ev: RouteSkipped when it does not match, else what its sink did.
func (r *routed) handle(ctx context.Context, ev hookline.Event, e *route.Event) (string, error) {
	ok, cols, err := r.prepare(e)
	if err != nil {
		return RouteFailed, err
	}
	if !ok {
		return RouteSkipped, nil
	}
	var res sink.Result
	if cols != nil {
		res, err = r.record.ApplyRecord(ctx, ev, cols)
	} else {
		res, err = sink.Apply(ctx, r.sink, ev)
	}
	if err != nil {
		return RouteFailed, err
	}
	return r.noted(ctx, res), nil
}

// noted returns the route outcome of a write that ended with res, adding a "route" event to
// the span of ctx (the event's process span).
func (r *routed) noted(ctx context.Context, res sink.Result) string {
	outcome := RouteStored
	if res == sink.Ignored {
		outcome = RouteIgnored
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("route", trace.WithAttributes(
			attribute.String("hookline.route", r.Name()), attribute.String("hookline.outcome", outcome)))
	}
	return outcome
}
