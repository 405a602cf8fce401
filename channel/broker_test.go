package channel

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

func TestRegisterBrokerRefusesBadBrokers(t *testing.T) {
	detect := func(*pubsub.Topic) bool { return false }
	RegisterBroker(Broker{Name: "test-taken", Schemes: []string{"test-taken"}, Detect: detect})
	t.Cleanup(func() { unregisterBroker("test-taken") })
	onSend := func(*pubsub.Message) error { return nil }
	for name, b := range map[string]Broker{
		"no name":                          {Detect: detect},
		"Prepare without Schemes, Detect":  {Name: "test-p", Prepare: func(hookline.Event, SenderOptions, *pubsub.Message) error { return nil }},
		"OnSend without Schemes or Detect": {Name: "test-o", OnSend: onSend},
		"a name taken":                     {Name: "test-taken", Detect: detect},
		"a scheme taken":                   {Name: "test-s", Schemes: []string{"test-free", "test-taken"}},
		"mem:// taken":                     {Name: "test-m", Schemes: []string{"mem"}},
		"a scheme in upper case":           {Name: "test-u", Schemes: []string{"Test-upper"}},
		"an empty scheme":                  {Name: "test-e", Schemes: []string{""}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterBroker did not panic", name)
				}
			}()
			RegisterBroker(b)
		}()
	}
	for _, b := range Brokers() {
		if (b.Name != "test-taken" && slices.Contains(b.Schemes, "test-taken")) || slices.Contains(b.Schemes, "test-free") {
			t.Errorf("a refused broker was registered: %+v", b)
		}
	}
	// Schemes alone are enough for OnSend.
	RegisterBroker(Broker{Name: "test-schemes-only", Schemes: []string{"test-schemes-only"}, OnSend: onSend})
	unregisterBroker("test-schemes-only")
}

// mem:// and inproc:// have their brokers, which live in the process; other schemes do not.
func TestBuiltInBrokers(t *testing.T) {
	for _, c := range []struct {
		url       string
		inProcess bool
	}{
		{"mem://events", true}, {"MEM://events", true}, {"inproc://events", true},
		{"rabbitmq://events", false}, {"memx://events", false}, {"", false}, {"events", false},
	} {
		if got := IsInProcess(c.url); got != c.inProcess {
			t.Errorf("IsInProcess(%q) = %t, want %t", c.url, got, c.inProcess)
		}
	}
	for _, scheme := range []string{"mem", "inproc"} {
		b := brokerOf(scheme)
		if b == nil || b.System != "" || b.MaxMetadata != 0 {
			t.Errorf("broker of %s:// = %+v; want one without messaging.system or metadata limit", scheme, b)
		}
	}
	// A copy: changing what Brokers returns changes no registered broker.
	list := Brokers()
	for i := range list {
		for j := range list[i].Schemes {
			list[i].Schemes[j] = "changed"
		}
	}
	if !IsInProcess("mem://events") {
		t.Error("Brokers handed out the registered brokers' Schemes")
	}
}

// memAlias serves topic URLs of other schemes with in-memory topics: scheme://name opens
// mem://name. It stands in for drivers that package channel's tests do not link.
type memAlias struct{}

func (memAlias) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	return pubsub.OpenTopic(ctx, "mem://"+u.Host)
}

var memAliases sync.Map // scheme -> struct{}: registered on pubsub.DefaultURLMux

// aliasMem makes scheme:// topic URLs open in-memory topics, for the rest of the test binary.
func aliasMem(scheme string) {
	if _, loaded := memAliases.LoadOrStore(scheme, struct{}{}); !loaded {
		pubsub.DefaultURLMux().RegisterTopic(scheme, memAlias{})
	}
}

// A rabbit:// sender must not publish through gocloud's driver alone (transient messages): without
// a registered broker that claims the scheme, opening fails and names the package to import.
func TestRabbitSenderNeedsItsBroker(t *testing.T) {
	aliasMem("rabbit") // in place of gocloud's rabbitpubsub, which these tests do not link
	ctx := context.Background()
	for _, u := range []string{"rabbit://refused", "RABBIT://refused"} {
		_, err := OpenSender(ctx, u, nil)
		if err == nil || !strings.Contains(err.Error(), `import _ "github.com/hookline/hookline/channel/rabbitmq"`) {
			t.Errorf("OpenSender(%s) without the broker: err = %v; want one naming channel/rabbitmq", u, err)
		}
		if err := CheckTopicURL(u); err == nil || !strings.Contains(err.Error(), "channel/rabbitmq") {
			t.Errorf("CheckTopicURL(%s) without the broker: err = %v; want one naming channel/rabbitmq", u, err)
		}
	}
	RegisterBroker(Broker{
		Name:    "test-rabbit",
		Schemes: []string{"rabbit"},
		OnSend: func(m *pubsub.Message) error {
			m.Metadata["persistent"] = "yes, " + m.Metadata["ce_id"]
			return nil
		},
	})
	t.Cleanup(func() { unregisterBroker("test-rabbit") })
	if err := CheckTopicURL("rabbit://checked"); err != nil {
		t.Errorf("CheckTopicURL with the broker registered: %v", err)
	}
	// A broker without Prepare has no native features: the options are accepted and do nothing.
	name := fmt.Sprintf("needs-broker-%d", time.Now().UnixNano())
	s, err := OpenSender(ctx, "rabbit://"+name, &SenderOptions{Deduplicate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	r, err := OpenReceiver(ctx, "mem://"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	if err := s.Send(ctx, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	forwarded := &pubsub.Message{Body: []byte("raw"), Metadata: map[string]string{"ce_id": "evt_fwd"}}
	if err := s.SendMessage(ctx, forwarded); err != nil {
		t.Fatal(err)
	}
	if len(forwarded.Metadata) != 1 {
		t.Errorf("SendMessage changed the caller's message: metadata %v", forwarded.Metadata)
	}
	// mem:// does not keep the order of two sends: compare as a set.
	got := map[string]bool{}
	for range 2 {
		m, err := r.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		got[m.Metadata["persistent"]] = true
	}
	for _, want := range []string{"yes, " + testEvent(1).ID, "yes, evt_fwd"} {
		if !got[want] {
			t.Errorf("OnSend: metadata %q values %v, want %q among them", "persistent", got, want)
		}
	}
}

// NewSender finds the broker that recognises a topic opened by other means.
func TestNewSenderUsesTheBrokerThatDetectsTheTopic(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("mem://new-sender-broker-%d", time.Now().UnixNano())
	topic, err := pubsub.OpenTopic(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	RegisterBroker(Broker{
		Name:   "test-new-sender",
		Detect: func(t *pubsub.Topic) bool { return t == topic },
		OnSend: func(m *pubsub.Message) error { m.Metadata["seen"] = "1"; return nil },
	})
	t.Cleanup(func() { unregisterBroker("test-new-sender") })
	s := NewSender(topic)
	defer s.Shutdown(ctx)
	r, err := OpenReceiver(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	if err := s.Send(ctx, testEvent(2)); err != nil {
		t.Fatal(err)
	}
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	if m.Metadata["seen"] != "1" {
		t.Errorf("metadata %v: the detected broker's OnSend did not run", m.Metadata)
	}
}

// A count that is only a lower bound is not reported by DeliveryCount, and the consumer adds the
// deliveries it sees to it.
func TestLowerBoundDeliveryCount(t *testing.T) {
	RegisterBroker(Broker{
		Name: "test-lower-bound",
		DeliveryCount: func(m *pubsub.Message) (int, bool, bool) {
			if m.Metadata["redelivered"] == "" {
				return 0, false, false
			}
			return 2, false, true
		},
	})
	t.Cleanup(func() { unregisterBroker("test-lower-bound") })
	m := &pubsub.Message{Metadata: map[string]string{"redelivered": "true"}}
	if n, exact := deliveries(m); n != 2 || exact {
		t.Errorf("deliveries = %d, %t; want 2, false", n, exact)
	}
	if n, ok := DeliveryCount(m); ok {
		t.Errorf("DeliveryCount = %d, true for a lower bound", n)
	}
	if n, exact := deliveries(&pubsub.Message{}); n != 1 || exact {
		t.Errorf("deliveries of a message no broker knows = %d, %t; want 1, false", n, exact)
	}
}

// Every ProcessorOptions field is a consumer rule that the Processor passes on.
func TestProcessorOptionsAreConsumerRules(t *testing.T) {
	var po ProcessorOptions
	pv := reflect.ValueOf(&po).Elem()
	for i := range pv.NumField() {
		f := pv.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.String:
			f.SetString(pv.Type().Field(i).Name)
		case reflect.Interface:
			switch f.Type() {
			case reflect.TypeFor[trace.TracerProvider]():
				f.Set(reflect.ValueOf(sdktrace.NewTracerProvider()))
			case reflect.TypeFor[metric.MeterProvider]():
				f.Set(reflect.ValueOf(sdkmetric.NewMeterProvider()))
			default:
				t.Fatalf("field %s: interface %s not covered by this test", pv.Type().Field(i).Name, f.Type())
			}
		default:
			t.Fatalf("field %s: kind %s not covered by this test", pv.Type().Field(i).Name, f.Kind())
		}
	}
	cv := reflect.ValueOf(po.consumerOptions()).Elem()
	for i := range pv.NumField() {
		name := pv.Type().Field(i).Name
		if name == "Subscription" {
			continue // not a rule: it names what the Processor's spans describe
		}
		got := cv.FieldByName(name)
		if !got.IsValid() || !reflect.DeepEqual(got.Interface(), pv.Field(i).Interface()) {
			t.Errorf("ProcessorOptions.%s is not passed on to the consumer rules", name)
		}
	}
}
