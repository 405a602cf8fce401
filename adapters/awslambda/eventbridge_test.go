package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
)

const stripeSource = "aws.partner/stripe.com/ed_test_61RzUyhMkfVsX5NTJ16RzNyQE0SQNvfGbrMe1cFmTCEK"

// eventBridgeEvent is an EventBridge event as a rule delivers it to Lambda, with a Stripe
// snapshot event as its detail and its type as detail-type.
func eventBridgeEvent(t *testing.T, source string, detail []byte) events.EventBridgeEvent {
	t.Helper()
	var typ struct{ Type string }
	_ = json.Unmarshal(detail, &typ)
	raw := serverlesstest.EventBridgeEvent(source, typ.Type, detail)
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func newEventBridge(t *testing.T, dst *recorder, opts *awslambda.EventBridgeOptions) *awslambda.EventBridge {
	t.Helper()
	b, err := awslambda.NewEventBridge(dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventBridgeStripeEventIsSent(t *testing.T) {
	rec := &recorder{}
	b := newEventBridge(t, rec, nil)
	p, id := sample(t, "customer.updated")
	if err := b.Handle(context.Background(), eventBridgeEvent(t, stripeSource, p)); err != nil {
		t.Fatal(err)
	}
	want, _ := stripehook.DecodeUnverified(p, nil)
	sent := rec.sent()
	if len(sent) != 1 || sent[0].ID != id || sent[0].Source != "stripe" || sent[0].Subject != customerID ||
		!sent[0].Time.Equal(created) || string(sent[0].Data) != string(want.Data) || sent[0].Object != "customer" {
		t.Errorf("sent %+v", sent)
	}
}

func TestEventBridgeRefusesOtherSources(t *testing.T) {
	rec := &recorder{}
	p, _ := sample(t, "customer.updated")
	for _, src := range []string{"my.app", "aws.partner/stripe.com", "aws.partner/stripe.community/x",
		"aws.partner/example.com/stripe.com/x", "aws.partner/stripe.com/", ""} {
		err := newEventBridge(t, rec, nil).Handle(context.Background(), eventBridgeEvent(t, src, p))
		if !errors.Is(err, awslambda.ErrNotStripe) || hookline.Code(err) != hookline.Permanent {
			t.Errorf("source %q: %v", src, err)
		}
	}
	// With Sources, only those names.
	b := newEventBridge(t, rec, &awslambda.EventBridgeOptions{Sources: []string{stripeSource}})
	err := b.Handle(context.Background(), eventBridgeEvent(t, "aws.partner/stripe.com/ed_other", p))
	if !errors.Is(err, awslambda.ErrNotStripe) {
		t.Errorf("other Stripe source: %v", err)
	}
	if len(rec.sent()) != 0 {
		t.Error("refused events were sent")
	}
	if err := b.Handle(context.Background(), eventBridgeEvent(t, stripeSource, p)); err != nil {
		t.Errorf("listed source: %v", err)
	}
}

func TestEventBridgeErrors(t *testing.T) {
	rec := &recorder{}
	b := newEventBridge(t, rec, &awslambda.EventBridgeOptions{Stripe: &stripehook.Options{Types: []string{"customer.*"}}})
	invoice := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid","created":1709294400,
		"data":{"object":{"id":"in_1","object":"invoice"}}}`)
	if err := b.Handle(context.Background(), eventBridgeEvent(t, stripeSource, invoice)); err != nil {
		t.Errorf("skipped type: %v", err)
	}
	thin := []byte(`{"id":"evt_test_65R","object":"v2.core.event","type":"v1.billing.meter.no_meter_found",
		"created":"2024-09-25T18:56:48.123Z","related_object":null}`)
	err := b.Handle(context.Background(), eventBridgeEvent(t, stripeSource, thin))
	if !errors.Is(err, stripehook.ErrMalformedEvent) || hookline.Code(err) != hookline.Permanent {
		t.Errorf("thin event: %v", err)
	}
	rec.fail = true
	p, _ := sample(t, "customer.created")
	err = b.Handle(context.Background(), eventBridgeEvent(t, stripeSource, p))
	if err == nil || hookline.Code(err) != hookline.Transient {
		t.Errorf("failed send: %v", err)
	}
	if len(rec.sent()) != 0 {
		t.Error("sent")
	}
}

func TestNewEventBridgeChecksOptions(t *testing.T) {
	for name, opts := range map[string]*awslambda.EventBridgeOptions{
		"foreign source": {Sources: []string{"my.app"}},
		"bare prefix":    {Sources: []string{awslambda.StripeSourcePrefix}},
		"bad types":      {Stripe: &stripehook.Options{Types: []string{"a*b"}}},
	} {
		if _, err := awslambda.NewEventBridge(&recorder{}, opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := awslambda.NewEventBridge(nil, nil); err == nil {
		t.Error("nil sender accepted")
	}
}
