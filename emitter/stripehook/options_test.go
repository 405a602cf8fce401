package stripehook_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

func olderVersion(t *testing.T) []byte {
	t.Helper()
	p := stripehook.SampleEvent("customer.created", customerID, created)
	return edit(t, p, `"api_version": "2023-10-16"`, `"api_version": "2022-11-15"`)
}

func TestAPIVersionAcceptedByDefault(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, nil)
	p := olderVersion(t)
	if got := deliver(t, url, p, stripehook.Sign(p, secret, time.Now())); got.status != 200 {
		t.Fatalf("got %d %s", got.status, got.body)
	}
	if v := rec.Sent()[0].Meta(stripehook.MetaAPIVersion); v != "2022-11-15" {
		t.Errorf("apiversion = %q, want 2022-11-15", v)
	}
}

func TestStrictAPIVersion(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, &stripehook.Options{StrictAPIVersion: true}, nil)
	p := olderVersion(t)
	expect(t, deliver(t, url, p, stripehook.Sign(p, secret, time.Now())), 400, rejected("unsupported api version"))
	nothingSent(t, rec)

	p = stripehook.SampleEvent("customer.created", customerID, created)
	if !bytes.Contains(p, []byte(`"api_version": "`+stripe.APIVersion+`"`)) {
		t.Fatalf("sample event is not at stripe-go's API version %s", stripe.APIVersion)
	}
	if got := deliver(t, url, p, stripehook.Sign(p, secret, time.Now())); got.status != 200 {
		t.Errorf("matching version: %d %s", got.status, got.body)
	}
}

func TestRefuseTestMode(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, &stripehook.Options{RefuseTestMode: true}, nil)
	p := stripehook.SampleEvent("customer.created", customerID, created) // livemode false
	expect(t, deliver(t, url, p, stripehook.Sign(p, secret, time.Now())), 400, rejected("test-mode event refused"))
	nothingSent(t, rec)

	src, _ := stripehook.New([]string{secret}, &stripehook.Options{RefuseTestMode: true})
	hdr := http.Header{"Stripe-Signature": {stripehook.Sign(p, secret, time.Now())}}
	if _, err := src.Decode(hdr, p); !errors.Is(err, stripehook.ErrTestMode) {
		t.Errorf("Decode error = %v, want ErrTestMode", err)
	}
}

func TestTypeFilter(t *testing.T) {
	cases := []struct {
		types []string
		typ   string
		sent  bool
	}{
		{[]string{"customer.created"}, "customer.created", true},
		{[]string{"customer.created"}, "customer.updated", false},
		{[]string{"customer.*"}, "customer.updated", true},
		{[]string{"customer.*"}, "customer.subscription.created", true},
		{[]string{"customer.*"}, "customers.thing", false},
		{[]string{"customer.*"}, "invoice.paid", false},
		{[]string{"invoice.paid", "customer.*"}, "invoice.paid", true},
		{[]string{"*"}, "anything.at_all", true},
		{nil, "anything.at_all", true},
	}
	for _, c := range cases {
		rec := &recorder{}
		url := serve(t, []string{secret}, rec, &stripehook.Options{Types: c.types}, nil)
		p := stripehook.SampleEvent(c.typ, customerID, created)
		got := deliver(t, url, p, stripehook.Sign(p, secret, time.Now()))
		if got.status != 200 {
			t.Errorf("%q with %q: %d %s", c.typ, c.types, got.status, got.body)
		}
		if n := len(rec.Sent()); (n == 1) != c.sent {
			t.Errorf("%q with %q: sent %d events, want sent=%v", c.typ, c.types, n, c.sent)
		}
		if !c.sent && got.body != `{"received":true,"skipped":true}` {
			t.Errorf("skip body = %s", got.body)
		}
	}
	src, _ := stripehook.New([]string{secret}, &stripehook.Options{Types: []string{"invoice.*"}})
	p := stripehook.SampleEvent("customer.created", customerID, created)
	hdr := http.Header{"Stripe-Signature": {stripehook.Sign(p, secret, time.Now())}}
	if _, err := src.Decode(hdr, p); !errors.Is(err, emitter.ErrSkip) {
		t.Errorf("Decode error = %v, want ErrSkip", err)
	}
}

// TestTypeFilterDoesNotBypassVerification: a filtered type still needs a valid signature.
func TestTypeFilterDoesNotBypassVerification(t *testing.T) {
	url := serve(t, []string{secret}, &recorder{}, &stripehook.Options{Types: []string{"invoice.*"}}, nil)
	p := stripehook.SampleEvent("customer.created", customerID, created)
	expect(t, deliver(t, url, p, stripehook.Sign(p, otherSecret, time.Now())), 400, rejected("invalid signature"))
}

func TestSecretRotation(t *testing.T) {
	const third = "whsec_third_5ecret"
	rec := &recorder{}
	url := serve(t, []string{secret, otherSecret}, rec, nil, nil)
	p := stripehook.SampleEvent("customer.created", customerID, created)
	now := time.Now()
	for name, h := range map[string]string{
		"old secret":               sig(p, now, secret),
		"new secret":               sig(p, now, otherSecret),
		"two signatures, old+new":  sig(p, now, secret, otherSecret),
		"two signatures, one ours": sig(p, now, third, otherSecret),
	} {
		if got := deliver(t, url, p, h); got.status != 200 {
			t.Errorf("%s: %d %s", name, got.status, got.body)
		}
	}
	expect(t, deliver(t, url, p, sig(p, now, third)), 400, rejected("invalid signature"))
	if n := len(rec.Sent()); n != 4 {
		t.Errorf("sent %d events, want 4", n)
	}
}

func TestDecodedEventDoesNotAliasBody(t *testing.T) {
	src, _ := stripehook.New([]string{secret}, nil)
	p := stripehook.SampleEvent("customer.created", customerID, created)
	hdr := http.Header{"Stripe-Signature": {stripehook.Sign(p, secret, time.Now())}}
	ev, err := src.Decode(hdr, p)
	if err != nil {
		t.Fatal(err)
	}
	before := string(ev.Data)
	for i := range p {
		p[i] = 'x'
	}
	if string(ev.Data) != before {
		t.Error("Event.Data changed with the body")
	}
}

func TestLogsHoldNoSecretsOrBodies(t *testing.T) {
	var logs bytes.Buffer
	hopts := &emitter.HandlerOptions{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	url := serve(t, []string{secret}, failingSender{}, nil, hopts)
	p := stripehook.SampleEvent("customer.created", customerID, created)
	deliver(t, url, p, stripehook.Sign(p, secret, time.Now()))      // send fails: logged
	deliver(t, url, p, stripehook.Sign(p, otherSecret, time.Now())) // refused: debug log
	l := logs.String()
	for _, bad := range []string{"5ecret", "Jenny", "jenny.rosen", "v1="} {
		if strings.Contains(l, bad) {
			t.Errorf("log contains %q:\n%s", bad, l)
		}
	}
	if !strings.Contains(l, "customer.created") || !strings.Contains(l, "evt_") || !strings.Contains(l, "invalid signature") {
		t.Errorf("log lacks the event id, type or reason:\n%s", l)
	}
}

func TestSampleEvent(t *testing.T) {
	a := stripehook.SampleEvent("customer.updated", customerID, created)
	b := stripehook.SampleEvent("customer.updated", customerID, created)
	c := stripehook.SampleEvent("customer.updated", "cus_Other", created)
	if !bytes.Equal(a, b) {
		t.Error("SampleEvent is not deterministic")
	}
	if len(a) < 1500 || len(a) > 2600 {
		t.Errorf("SampleEvent is %d bytes, want about 2 KB", len(a))
	}
	// stripe-go decodes it in full at its own API version, and verifies Sign's header.
	for _, p := range [][]byte{a, c} {
		ev, err := webhook.ConstructEvent(p, stripehook.Sign(p, secret, time.Now()), secret)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != "customer.updated" || ev.Data.Object["object"] != "customer" || ev.Data.PreviousAttributes == nil {
			t.Errorf("stripe-go decoded %+v", ev)
		}
	}
	ea, _ := webhook.ConstructEvent(a, stripehook.Sign(a, secret, time.Now()), secret)
	ec, _ := webhook.ConstructEvent(c, stripehook.Sign(c, secret, time.Now()), secret)
	if ea.ID == ec.ID || !strings.HasPrefix(ea.ID, "evt_") {
		t.Errorf("event ids %q and %q", ea.ID, ec.ID)
	}
}
