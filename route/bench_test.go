package route_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/route"
)

// sampleEvent is a realistic Stripe customer event as the pipeline carries it: about 1.5 KB of
// data.object (2 KB with its envelope).
func sampleEvent(tb testing.TB) hookline.Event {
	tb.Helper()
	at := time.Unix(1709294400, 0)
	body := stripehook.SampleEvent("customer.updated", "cus_NffrFeUfNV2Hib", at)
	var env struct {
		ID   string
		Data struct{ Object json.RawMessage }
	}
	if err := json.Unmarshal(body, &env); err != nil {
		tb.Fatal(err)
	}
	return hookline.Event{
		ID: env.ID, Source: "stripe", Type: "customer.updated", Subject: "cus_NffrFeUfNV2Hib",
		Object: "customer", Action: hookline.Updated, Time: at, Data: env.Data.Object,
		Metadata: map[string]string{"livemode": "false", "apiversion": "2023-10-16"},
	}
}

// benchSpec is a route with a filter and ten mapped columns of mixed kinds.
var benchSpec = route.Spec{
	Name:   "contacts",
	Types:  []string{"customer.*"},
	Filter: `event.data.livemode == false && event.metadata["apiversion"] != ""`,
	Sink:   "discard://",
	Map: []route.Column{
		{Name: "customerid", Expr: "event.subject"},
		{Name: "emailaddress1", Expr: "event.data.email"},
		{Name: "firstname", Expr: "event.data.name.split(' ')[0]"},
		{Name: "lastname", Expr: "event.data.name.split(' ')[1]"},
		{Name: "address1_city", Expr: "event.data.address.city"},
		{Name: "address1_country", Expr: "event.data.address.country"},
		{Name: "balance", Expr: "int(event.data.balance)"},
		{Name: "delinquent", Expr: "event.data.delinquent"},
		{Name: "created", Expr: "timestamp(int(event.data.created))"},
		{Name: "plan", Expr: "event.data.metadata.plan"},
	},
}

func BenchmarkRoute(b *testing.B) {
	ev := sampleEvent(b)
	r, err := route.Compile(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e := route.NewEvent(ev)
		ok, err := r.Match(e)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if _, err := r.Values(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRouteAppendValues(b *testing.B) {
	ev := sampleEvent(b)
	r, err := route.Compile(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	vals := make([]any, 0, 10)
	for b.Loop() {
		e := route.NewEvent(ev)
		ok, err := r.Match(e)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if vals, err = r.AppendValues(vals[:0], e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRouteSharedEvent(b *testing.B) {
	ev := sampleEvent(b)
	r, err := route.Compile(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	vals := make([]any, 0, 10)
	e := route.NewEvent(ev)
	for b.Loop() {
		ok, err := r.Match(e)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if vals, err = r.AppendValues(vals[:0], e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventIndex is the work of an event that its routes share: NewEvent and the first
// read of its payload, which validates it and indexes its members.
func BenchmarkEventIndex(b *testing.B) {
	ev := sampleEvent(b)
	r, err := route.Compile(route.Spec{Name: "r", Sink: "s://", Map: []route.Column{{Name: "c", Expr: "event.data.email"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	vals := make([]any, 0, 1)
	for b.Loop() {
		if vals, err = r.AppendValues(vals[:0], route.NewEvent(ev)); err != nil {
			b.Fatal(err)
		}
	}
}
