package channeltest_test

import (
	"context"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs"
	_ "github.com/hookline/hookline/channel/azureservicebus"
	_ "github.com/hookline/hookline/channel/googlepubsub"
	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/internal/brokerpkg"
)

// These tests link every broker package of this module, so that every broker it has is
// registered.

// facts is what a broker declares about the endpoints of one scheme.
type facts struct {
	system, count string // messaging.system and the delivery count attribute, "" for none
	maxMetadata   int
	inProcess     bool
}

// moduleSchemes is every scheme the module's brokers serve, with the values the OpenTelemetry
// messaging conventions give their brokers.
var moduleSchemes = map[string]facts{
	"mem":          {inProcess: true},
	"inproc":       {inProcess: true},
	"rabbit":       {system: semconv.MessagingSystemRabbitMQ.Value.AsString()},
	"rabbitmq":     {system: semconv.MessagingSystemRabbitMQ.Value.AsString()},
	"awssqs":       {system: semconv.MessagingSystemAWSSQS.Value.AsString(), maxMetadata: 10},
	"awssns":       {system: semconv.MessagingSystemAWSSNS.Value.AsString(), maxMetadata: 10},
	"azuresb":      {system: semconv.MessagingSystemServiceBus.Value.AsString(), count: string(semconv.MessagingServiceBusMessageDeliveryCountKey)},
	"azuresbqueue": {system: semconv.MessagingSystemServiceBus.Value.AsString(), count: string(semconv.MessagingServiceBusMessageDeliveryCountKey)},
	"gcppubsub":    {system: semconv.MessagingSystemGCPPubSub.Value.AsString(), count: string(semconv.MessagingGCPPubSubMessageDeliveryAttemptKey)},
}

// Every broker declares the schemes it serves, and a messaging.system unless it lives in the
// process; no two claim one scheme, and together they serve exactly the module's schemes, with
// the conventions' values.
func TestModuleBrokersDeclareTheirFacts(t *testing.T) {
	owner := map[string]channel.Broker{}
	for _, b := range channel.Brokers() {
		if len(b.Schemes) == 0 {
			t.Errorf("broker %q declares no scheme", b.Name)
		}
		if b.System == "" && !b.InProcess {
			t.Errorf("broker %q declares no messaging.system", b.Name)
		}
		for _, s := range b.Schemes {
			if o, taken := owner[s]; taken {
				t.Errorf("scheme %q is claimed by brokers %q and %q", s, o.Name, b.Name)
			}
			owner[s] = b
		}
	}
	if got, want := slices.Sorted(maps.Keys(owner)), slices.Sorted(maps.Keys(moduleSchemes)); !slices.Equal(got, want) {
		t.Errorf("the registered brokers serve %v, want %v", got, want)
	}
	for s, want := range moduleSchemes {
		b, ok := owner[s]
		if !ok {
			continue
		}
		got := facts{system: b.System, count: b.DeliveryCountAttribute, maxMetadata: b.MaxMetadata, inProcess: b.InProcess}
		if got != want {
			t.Errorf("broker %q for %s://: %+v, want %+v", b.Name, s, got, want)
		}
		if channel.IsInProcess(s+"://events") != want.inProcess {
			t.Errorf("IsInProcess(%s://events) = %t", s, !want.inProcess)
		}
	}
}

// A delivery from a URL of each scheme is traced with its broker's messaging.system and
// delivery count attribute.
func TestSpansCarryTheBrokersFacts(t *testing.T) {
	for s, want := range moduleSchemes {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		p, err := channel.NewProcessor(func(context.Context, hookline.Event) error { return nil },
			&channel.ProcessorOptions{TracerProvider: tp, Subscription: s + "://events"})
		if err != nil {
			t.Fatal(err)
		}
		body, err := channel.Encode(hookline.Event{ID: "evt_1", Source: "stripe", Type: "customer.created"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Process(context.Background(), body, nil, 3); err != nil {
			t.Fatal(err)
		}
		tp.Shutdown(context.Background())
		spans := rec.Ended()
		if len(spans) == 0 || spans[len(spans)-1].Name() != "process events" {
			t.Fatalf("%s://: spans %v, want a last one named \"process events\"", s, spans)
		}
		got := map[attribute.Key]attribute.Value{}
		for _, kv := range spans[len(spans)-1].Attributes() {
			got[kv.Key] = kv.Value
		}
		system, hasSystem := got[semconv.MessagingSystemKey]
		if hasSystem != (want.system != "") || system.AsString() != want.system {
			t.Errorf("%s://: messaging.system %q (set %t), want %q", s, system.AsString(), hasSystem, want.system)
		}
		count := want.count
		if count == "" {
			count = "hookline.message.delivery_count"
		}
		if n := got[attribute.Key(count)]; n.AsInt64() != 3 {
			t.Errorf("%s://: %s = %v, want 3 (attributes %v)", s, count, n.Emit(), got)
		}
	}
}

// The list that names the package to import for a scheme whose package is not linked
// (internal/brokerpkg) agrees with the brokers the packages register once linked.
func TestKnownPackagesMatchTheBrokers(t *testing.T) {
	owner := map[string]channel.Broker{}
	for _, b := range channel.Brokers() {
		for _, s := range b.Schemes {
			owner[s] = b
		}
		if b.InProcess {
			continue // linked with package channel: never to import
		}
		pkg := packageOf(b)
		for _, s := range b.Schemes {
			p, ok := brokerpkg.For(s)
			switch {
			case !ok || !p.Broker:
				t.Errorf("broker %q serves %s://, which no known broker package enables", b.Name, s)
			case pkg != "" && p.Path != pkg:
				t.Errorf("broker %q of package %s serves %s://, which the list says %s enables", b.Name, pkg, s, p.Path)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range brokerpkg.Known {
		for _, s := range p.Schemes {
			if seen[s] {
				t.Errorf("scheme %q is listed twice", s)
			}
			seen[s] = true
			if _, ok := owner[s]; ok != p.Broker {
				t.Errorf("%s:// of %s: a registered broker serves it: %t; the list says %t", s, p.Path, ok, p.Broker)
			}
		}
		if p.SendNeeds != "" && !p.Broker {
			t.Errorf("%s: SendNeeds without a broker to need", p.Path)
		}
	}
}

// packageOf returns the import path of the package whose functions b uses, or "" for a broker
// that has none.
func packageOf(b channel.Broker) string {
	for _, f := range []any{b.Detect, b.Prepare, b.OnSend, b.DeliveryCount} {
		v := reflect.ValueOf(f)
		if v.IsNil() {
			continue
		}
		name := runtime.FuncForPC(v.Pointer()).Name() // path/to/pkg.func, path/to/pkg.init.0.func1
		slash := strings.LastIndexByte(name, '/')
		if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
			return name[:slash+1+dot]
		}
		return name
	}
	return ""
}
