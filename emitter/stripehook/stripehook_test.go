package stripehook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

func TestNewRefusesEmptySecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {}, {""}, {"  \t"}, {secret, ""}, {" ", secret}} {
		_, err := stripehook.New(secrets, nil)
		if err == nil {
			t.Errorf("New(%q) succeeded", secrets)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "stripehook: webhook signing secret") || !strings.Contains(msg, "is empty") ||
			!strings.Contains(msg, "STRIPE_WEBHOOK_SECRET") || strings.Contains(msg, secret) {
			t.Errorf("New(%q) error = %q", secrets, msg)
		}
		if _, err := stripehook.NewHandler(secrets, &recorder{}, nil, nil); err == nil {
			t.Errorf("NewHandler(%q) succeeded", secrets)
		}
	}
}

func TestNewRefusesBadTypes(t *testing.T) {
	for _, typ := range []string{"", "customer*", "*.created", "customer.*.created", ".*"} {
		if _, err := stripehook.New([]string{secret}, &stripehook.Options{Types: []string{typ}}); err == nil {
			t.Errorf("Types %q accepted", typ)
		}
	}
}

func TestNewHandlerRefusesNilSender(t *testing.T) {
	if _, err := stripehook.NewHandler([]string{secret}, nil, nil, nil); err == nil {
		t.Error("NewHandler with a nil Sender succeeded")
	}
}

func TestParseSecrets(t *testing.T) {
	got := stripehook.ParseSecrets(" whsec_a , ,whsec_b,\n")
	if len(got) != 2 || got[0] != "whsec_a" || got[1] != "whsec_b" {
		t.Errorf("ParseSecrets = %q", got)
	}
	if got := stripehook.ParseSecrets(" , "); len(got) != 0 {
		t.Errorf("ParseSecrets(blank) = %q", got)
	}
}

func TestSuccess(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, nil)
	payload := stripehook.SampleEvent("customer.updated", customerID, created)
	got := deliver(t, url, payload, stripehook.Sign(payload, secret, time.Now()))

	var env struct {
		ID   string `json:"id"`
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		t.Fatal(err)
	}
	expect(t, got, 200, `{"received":true,"id":"`+env.ID+`"}`)
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	sent := rec.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d events, want 1", len(sent))
	}
	ev := sent[0]
	if ev.ID != env.ID || ev.Source != "stripe" || ev.Type != "customer.updated" || ev.Subject != customerID ||
		!ev.Time.Equal(created) || ev.Time.Location() != time.UTC {
		t.Errorf("event = %+v", ev)
	}
	if !bytes.Equal(ev.Data, env.Data.Object) || !bytes.HasPrefix(ev.Data, []byte("{\n      \"id\"")) {
		t.Errorf("Data is not data.object as sent:\n%s", ev.Data)
	}
	if ev.Object != "customer" || ev.Action != hookline.Updated {
		t.Errorf("Object, Action = %q, %q, want customer, updated", ev.Object, ev.Action)
	}
	want := map[string]string{"livemode": "false", "apiversion": "2023-10-16"}
	if len(ev.Metadata) != len(want) {
		t.Errorf("Metadata = %v, want %v", ev.Metadata, want)
	}
	for k, v := range want {
		if ev.Meta(k) != v {
			t.Errorf("Metadata[%q] = %q, want %q", k, ev.Meta(k), v)
		}
	}
}

func TestConnectLivemode(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, &stripehook.Options{RefuseTestMode: true}, nil)
	payload := stripehook.SampleEvent("customer.created", customerID, created)
	payload = edit(t, payload, `"object": "event",`, `"object": "event", "account": "acct_1Nv0FGQ9RKHgCVdK",`)
	payload = edit(t, payload, "\n  \"livemode\": false", "\n  \"livemode\": true")
	got := deliver(t, url, payload, stripehook.Sign(payload, secret, time.Now()))
	if got.status != 200 {
		t.Fatalf("got %d %s", got.status, got.body)
	}
	ev := rec.Sent()[0]
	if ev.Meta(stripehook.MetaAccount) != "acct_1Nv0FGQ9RKHgCVdK" || ev.Meta(stripehook.MetaLivemode) != "true" {
		t.Errorf("Metadata = %v", ev.Metadata)
	}
	if ev.Source != stripehook.SourceName {
		t.Errorf("Source = %q", ev.Source)
	}
}

// rejection is one delivery that must be refused with 400 and reason, Decode's error wrapping is.
type rejection struct {
	name   string
	header string
	body   []byte
	reason string
	is     error
}

// signatureRejections are deliveries of good refused for their Stripe-Signature header.
func signatureRejections(good []byte, now time.Time) []rejection {
	return []rejection{
		{name: "missing header", body: good, reason: "missing signature header", is: webhook.ErrNotSigned},
		{name: "garbage header", header: "garbage", body: good, reason: "invalid signature header", is: webhook.ErrInvalidHeader},
		{name: "no timestamp", header: "v1=abcd", body: good, reason: "invalid signature header", is: webhook.ErrInvalidHeader},
		{name: "bad timestamp", header: "t=soon,v1=abcd", body: good, reason: "invalid signature header", is: webhook.ErrInvalidHeader},
		{name: "no v1 signature", header: sig(good, now) + ",v0=abcd", body: good, reason: "invalid signature", is: webhook.ErrNoValidSignature},
		{name: "wrong secret", header: sig(good, now, otherSecret), body: good, reason: "invalid signature", is: webhook.ErrNoValidSignature},
		{name: "tampered body", header: sig(good, now, secret), body: bytes.Replace(good, []byte("Jenny"), []byte("Jonny"), 1),
			reason: "invalid signature", is: webhook.ErrNoValidSignature},
		{name: "too old", header: sig(good, now.Add(-6*time.Minute), secret), body: good,
			reason: "timestamp outside tolerance", is: webhook.ErrTooOld},
		{name: "too far in the future", header: sig(good, now.Add(6*time.Minute), secret), body: good,
			reason: "timestamp outside tolerance", is: stripehook.ErrTooNew},
		{name: "far future, overflowing a Duration", header: sig(good, time.Unix(1<<62, 0), secret), body: good,
			reason: "timestamp outside tolerance", is: stripehook.ErrTooNew},
		{name: "far past, overflowing a Duration", header: sig(good, time.Unix(-1<<62, 0), secret), body: good,
			reason: "timestamp outside tolerance", is: webhook.ErrTooOld},
		{name: "replay with a second timestamp",
			// Signed 10 minutes ago; a fresh t= put in front must not pass the window check.
			header: "t=" + itoa(now.Unix()) + "," + sig(good, now.Add(-10*time.Minute), secret), body: good,
			reason: "invalid signature header", is: webhook.ErrInvalidHeader},
	}
}

// malformedRejections are validly signed edits of good that are not usable events.
func malformedRejections(t *testing.T, good []byte, now time.Time) []rejection {
	var out []rejection
	for _, m := range []struct{ name, old, new string }{
		{"not JSON", `{`, `[`},
		{"no id", `"id": "evt_`, `"xid": "evt_`},
		{"id not an event id", `"id": "evt_`, `"id": "ch_`},
		{"no type", `"type": "customer.created"`, `"type": ""`},
		{"no created", "\"created\": 1709294400,\n  \"data\"", "\"created\": 0,\n  \"data\""},
		{"created a string", "\"created\": 1709294400,\n  \"data\"", "\"created\": \"1709294400\",\n  \"data\""},
		{"data.object null", "\"object\": {\n      \"id\"", "\"object\": null, \"x\": {\n      \"id\""},
		{"data.object an array", "\"object\": {\n      \"id\": \"cus_NffrFeUfNV2Hib\",",
			"\"object\": [{\"id\": \"cus_NffrFeUfNV2Hib\"}], \"x\": {"},
		{"data.object without id", `"id": "cus_NffrFeUfNV2Hib"`, `"xid": "cus_NffrFeUfNV2Hib"`},
		{"data missing", `"data": {`, `"xdata": {`},
		// Issue 8: values the rest of the pipeline cannot carry are refused at the door.
		{"created after year 9999", "\"created\": 1709294400,\n  \"data\"", "\"created\": 253402300800,\n  \"data\""},
		{"data.object not UTF-8", `"name": "Jenny Rosen"`, "\"name\": \"Jenny \xffRosen\""},
		{"object id with a control character", `"id": "cus_NffrFeUfNV2Hib"`, `"id": "cus_\u0000NffrFeUfNV2Hib"`},
	} {
		p := edit(t, good, m.old, m.new)
		out = append(out, rejection{name: m.name, header: stripehook.Sign(p, secret, now), body: p,
			reason: "malformed event", is: stripehook.ErrMalformedEvent})
	}
	return out
}

// TestRejections covers every refusal through real HTTP: status, fixed reason, nothing sent, no
// secret in the body, and the error Decode returns.
func TestRejections(t *testing.T) {
	now := time.Now()
	good := stripehook.SampleEvent("customer.created", customerID, created)
	cases := append(signatureRejections(good, now), malformedRejections(t, good, now)...)
	src, err := stripehook.New([]string{secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, deliver(t, url, c.body, c.header), 400, rejected(c.reason))
			hdr := http.Header{}
			if c.header != "" {
				hdr.Set("Stripe-Signature", c.header)
			}
			_, err := src.Decode(hdr, c.body)
			var re *emitter.RejectError
			if !errors.As(err, &re) || re.Status != 400 || re.Reason != c.reason || !errors.Is(err, c.is) {
				t.Errorf("Decode error = %v, want a 400 %q RejectError wrapping %v", err, c.reason, c.is)
			}
			if err != nil && strings.Contains(err.Error(), "5ecret") {
				t.Errorf("Decode error %q contains a secret", err)
			}
		})
	}
	nothingSent(t, rec)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestToleranceWindow(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := &recorder{}
	opts := &stripehook.Options{Tolerance: time.Minute, Now: func() time.Time { return now }}
	url := serve(t, []string{secret}, rec, opts, nil)
	payload := stripehook.SampleEvent("customer.created", customerID, created)
	for _, d := range []time.Duration{-time.Minute, -59 * time.Second, 0, 59 * time.Second, time.Minute} {
		if got := deliver(t, url, payload, stripehook.Sign(payload, secret, now.Add(d))); got.status != 200 {
			t.Errorf("signed %v from now: %d %s", d, got.status, got.body)
		}
	}
	for _, d := range []time.Duration{-61 * time.Second, 61 * time.Second, -24 * time.Hour, 24 * time.Hour} {
		got := deliver(t, url, payload, stripehook.Sign(payload, secret, now.Add(d)))
		expect(t, got, 400, rejected("timestamp outside tolerance"))
	}
	if n := len(rec.Sent()); n != 5 {
		t.Errorf("sent %d events, want 5", n)
	}
}

func TestSendFailures(t *testing.T) {
	payload := stripehook.SampleEvent("customer.created", customerID, created)
	for _, c := range []struct {
		name string
		dst  emitter.Sender
	}{{"error", failingSender{}}, {"timeout", blockingSender{}}} {
		t.Run(c.name, func(t *testing.T) {
			hopts := &emitter.HandlerOptions{SendTimeout: 50 * time.Millisecond, RetryAfter: 30 * time.Second}
			url := serve(t, []string{secret}, c.dst, nil, hopts)
			got := deliver(t, url, payload, stripehook.Sign(payload, secret, time.Now()))
			expect(t, got, 503, rejected("temporarily unavailable"))
			if ra := got.header.Get("Retry-After"); ra != "30" {
				t.Errorf("Retry-After = %q, want 30", ra)
			}
		})
	}
}

func TestMethodAndSize(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, &emitter.HandlerOptions{MaxBodyBytes: 1024})
	payload := stripehook.SampleEvent("customer.created", customerID, created) // ~1.9 KB
	sigHdr := stripehook.Sign(payload, secret, time.Now())

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Stripe-Signature", sigHdr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	expect(t, deliver(t, url, payload, sigHdr), 413, rejected("body too large"))
	nothingSent(t, rec)
}

func TestContextCarriesToSender(t *testing.T) {
	// The Sender's context has the SendTimeout deadline.
	var deadline time.Duration
	dst := senderFunc(func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("no deadline")
		}
		deadline = time.Until(d)
		return nil
	})
	url := serve(t, []string{secret}, dst, nil, &emitter.HandlerOptions{SendTimeout: 3 * time.Second})
	payload := stripehook.SampleEvent("customer.created", customerID, created)
	deliver(t, url, payload, stripehook.Sign(payload, secret, time.Now()))
	if deadline <= 0 || deadline > 3*time.Second {
		t.Errorf("deadline in %v, want within 3s", deadline)
	}
}
