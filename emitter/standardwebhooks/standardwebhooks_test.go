package standardwebhooks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// The test vector that the specification's reference libraries all check (the Go library's
// TestWebhookSign among them): secret, message id, timestamp and payload, and the signature a
// conforming sender computes from them.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSpecTestVector(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	h := standardwebhooks.Sign(vectorID, at, []byte(vectorPayload), vectorSecret)
	if got := h.Get("webhook-signature"); got != vectorSignature {
		t.Errorf("Sign = %q, want the vector's %q", got, vectorSignature)
	}
	if h.Get("webhook-id") != vectorID || h.Get("webhook-timestamp") != strconv.Itoa(vectorTimestamp) {
		t.Errorf("Sign set %v", h)
	}

	// The vector's own headers pass verification; its payload is not an event (no type), so the
	// delivery is then refused as malformed, not for its signature.
	src := newSource(t, at.Add(time.Minute), vectorSecret)
	vector := http.Header{
		"Webhook-Id": {vectorID}, "Webhook-Timestamp": {strconv.Itoa(vectorTimestamp)},
		"Webhook-Signature": {vectorSignature},
	}
	decodeErr(t, src, vector, []byte(vectorPayload), "malformed event", standardwebhooks.ErrMalformedEvent)
	decodeErr(t, src, vector, []byte(`{"test": 2432232315}`), "invalid signature", standardwebhooks.ErrNoValidSignature)
}

func TestNewRefusesBadSecrets(t *testing.T) {
	cases := []struct {
		secrets []string
		says    string
	}{
		{nil, "is empty"},
		{[]string{}, "is empty"},
		{[]string{""}, "is empty"},
		{[]string{" \t"}, "is empty"},
		{[]string{secret, ""}, "secret 2 of 2 is empty"},
		{[]string{secret[6:]}, "does not start with whsec_"},
		{[]string{"whsec_"}, "empty key"},
		{[]string{"whsec_not base64!"}, "is not whsec_ followed by base64"},
		{[]string{secret + "="}, "is not whsec_ followed by base64"},
		{[]string{"v1", secret}, `secret 1 of 2 is "v1"`},
	}
	for _, c := range cases {
		_, err := standardwebhooks.New(c.secrets, nil)
		if err == nil {
			t.Errorf("New(%q) succeeded", c.secrets)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "standardwebhooks: webhook signing secret") || !strings.Contains(msg, c.says) ||
			!strings.Contains(msg, standardwebhooks.EnvSecret) || strings.Contains(msg, secret[6:]) {
			t.Errorf("New(%q) error = %q, want one that says %q and names %s", c.secrets, msg, c.says, standardwebhooks.EnvSecret)
		}
		if _, err := standardwebhooks.NewHandler(c.secrets, discard{}, nil, nil); err == nil {
			t.Errorf("NewHandler(%q) succeeded", c.secrets)
		}
	}
	if _, err := standardwebhooks.New([]string{" " + secret + "\n"}, nil); err != nil {
		t.Errorf("New with white space around the secret: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []standardwebhooks.Options{
		{Subject: "data/id"}, {Subject: "/data/~2"}, {Subject: "/data~"},
		{Types: []string{"user*"}}, {Types: []string{"*.created"}}, {Types: []string{""}},
	} {
		if _, err := standardwebhooks.New([]string{secret}, &o); err == nil ||
			!strings.HasPrefix(err.Error(), "standardwebhooks: Options.") {
			t.Errorf("New(%+v) error = %v", o, err)
		}
	}
}

func TestParseSecrets(t *testing.T) {
	got := standardwebhooks.ParseSecrets(" whsec_a , ,whsec_b,\n")
	if len(got) != 2 || got[0] != "whsec_a" || got[1] != "whsec_b" {
		t.Errorf("ParseSecrets = %q", got)
	}
	if got := standardwebhooks.ParseSecrets(" , "); len(got) != 0 {
		t.Errorf("ParseSecrets(blank) = %q", got)
	}
}

func TestGenerateSecret(t *testing.T) {
	a, b := standardwebhooks.GenerateSecret(), standardwebhooks.GenerateSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+32 {
		t.Errorf("GenerateSecret = %q, %q", a, b)
	}
	if _, err := standardwebhooks.New([]string{a, b}, nil); err != nil {
		t.Error(err)
	}
}

func TestAccepted(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil)
	for _, typ := range []string{"user.created", "user.updated", "user.deleted", "organization.membership.created"} {
		body := standardwebhooks.SampleEvent(typ, subject, created)
		id := "msg_" + strings.ReplaceAll(typ, ".", "_")
		expect(t, deliver(t, url, body, standardwebhooks.Sign(id, time.Now(), body, secret)), 200, accepted(id))

		sent := rec.Sent()
		got := sent[len(sent)-1]
		var p struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		want := hookline.Event{ID: id, Source: "standardwebhooks", Type: typ, Subject: subject,
			Object: typ[:strings.LastIndexByte(typ, '.')], Action: hookline.ActionOfType(typ), Time: created}
		if got.ID != want.ID || got.Source != want.Source || got.Type != want.Type || got.Subject != want.Subject ||
			got.Object != want.Object || got.Action != want.Action || !got.Time.Equal(want.Time) || got.Metadata != nil {
			t.Errorf("sent %+v, want %+v", got, want)
		}
		if !bytes.Equal(got.Data, p.Data) {
			t.Errorf("Data = %s, want data exactly as sent: %s", got.Data, p.Data)
		}
	}
}

func TestSvixHeaders(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil)
	body := standardwebhooks.SampleEvent(evType, subject, created)
	h := standardwebhooks.Sign(msgID, time.Now(), body, secret)
	svix := http.Header{
		"svix-id": h["Webhook-Id"], "svix-timestamp": h["Webhook-Timestamp"], "svix-signature": h["Webhook-Signature"],
	}
	expect(t, deliver(t, url, body, svix), 200, accepted(msgID))

	// The two sets are never mixed: the webhook-* set is read when its signature is there.
	mixed := http.Header{"Webhook-Signature": h["Webhook-Signature"], "Svix-Id": h["Webhook-Id"],
		"Svix-Timestamp": h["Webhook-Timestamp"]}
	expect(t, deliver(t, url, body, mixed), 400, rejected("missing signature header"))
	if n := len(rec.Sent()); n != 1 {
		t.Errorf("sent %d events, want 1", n)
	}
}

// entries returns a signature header of the given entries, with the valid signature of body
// among them where "valid" is written.
func entries(t *testing.T, body []byte, at time.Time, list ...string) http.Header {
	t.Helper()
	h := standardwebhooks.Sign(msgID, at, body, secret)
	valid := h.Get("webhook-signature")
	for i, e := range list {
		if e == "valid" {
			list[i] = valid
		}
	}
	h.Set("webhook-signature", strings.Join(list, " "))
	return h
}

func TestSignatureEntries(t *testing.T) {
	body := standardwebhooks.SampleEvent(evType, subject, created)
	now := time.Unix(1709294400, 0)
	src := newSource(t, now, secret)
	wrong := standardwebhooks.Sign(msgID, now, body, otherSecret).Get("webhook-signature")
	asym := "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	for _, ok := range [][]string{
		{"valid"}, {wrong, "valid"}, {"valid", wrong}, {asym, "valid"}, {"v2,abc", "valid", asym},
		{"nonsense", "v1,", "valid"}, {"valid", "", ""},
	} {
		if _, err := src.Decode(entries(t, body, now, ok...), body); err != nil {
			t.Errorf("entries %q: %v", ok, err)
		}
	}
	decodeErr(t, src, entries(t, body, now, asym), body, "invalid signature header", standardwebhooks.ErrInvalidHeader)
	decodeErr(t, src, entries(t, body, now, asym, "v2,abc"), body, "invalid signature header", standardwebhooks.ErrInvalidHeader)
	decodeErr(t, src, entries(t, body, now, wrong, asym), body, "invalid signature", standardwebhooks.ErrNoValidSignature)
	decodeErr(t, src, entries(t, body, now, "v1,"+strings.Repeat("A", 43)+"="), body, "invalid signature",
		standardwebhooks.ErrNoValidSignature)
	// A v1 signature with another version's label is not a v1 signature.
	v1a := strings.Replace(entries(t, body, now, "valid").Get("webhook-signature"), "v1,", "v1a,", 1)
	decodeErr(t, src, entries(t, body, now, v1a), body, "invalid signature header", standardwebhooks.ErrInvalidHeader)
	// Entries on several header lines form one list.
	h := entries(t, body, now, wrong)
	h.Add("webhook-signature", entries(t, body, now, "valid").Get("webhook-signature"))
	if _, err := src.Decode(h, body); err != nil {
		t.Errorf("signature on a second header line: %v", err)
	}
}

func TestRolledSecrets(t *testing.T) {
	body := standardwebhooks.SampleEvent(evType, subject, created)
	now := time.Unix(1709294400, 0)
	third := standardwebhooks.GenerateSecret()
	src := newSource(t, now, otherSecret, secret)
	for _, s := range []string{secret, otherSecret} {
		if _, err := src.Decode(standardwebhooks.Sign(msgID, now, body, s), body); err != nil {
			t.Errorf("signed with one of the secrets: %v", err)
		}
	}
	decodeErr(t, src, standardwebhooks.Sign(msgID, now, body, third), body, "invalid signature", standardwebhooks.ErrNoValidSignature)
}

func TestTolerance(t *testing.T) {
	body := standardwebhooks.SampleEvent(evType, subject, created)
	now := time.Unix(1709294400, 0)
	for _, c := range []struct {
		tolerance time.Duration
		offset    time.Duration // signed at now+offset
		want      error
	}{
		{0, 0, nil},
		{0, -5 * time.Minute, nil},
		{0, 5 * time.Minute, nil},
		{0, -5*time.Minute - time.Second, standardwebhooks.ErrTooOld},
		{0, 5*time.Minute + time.Second, standardwebhooks.ErrTooNew},
		{time.Hour, -59 * time.Minute, nil},
		{time.Hour, 61 * time.Minute, standardwebhooks.ErrTooNew},
		{time.Minute, -2 * time.Minute, standardwebhooks.ErrTooOld},
		{0, 200 * 365 * 24 * time.Hour, standardwebhooks.ErrTooNew},
	} {
		src, err := standardwebhooks.New([]string{secret}, &standardwebhooks.Options{Tolerance: c.tolerance, Now: fixedClock(now)})
		if err != nil {
			t.Fatal(err)
		}
		h := standardwebhooks.Sign(msgID, now.Add(c.offset), body, secret)
		if c.want == nil {
			if _, err := src.Decode(h, body); err != nil {
				t.Errorf("tolerance %v, signed %v from now: %v", c.tolerance, c.offset, err)
			}
			continue
		}
		decodeErr(t, src, h, body, "timestamp outside tolerance", c.want)
	}
	// Timestamps beyond time.Duration's range from now, both ways.
	src := newSource(t, now, secret)
	decodeErr(t, src, standardwebhooks.Sign(msgID, time.Unix(0, 0), body, secret), body,
		"timestamp outside tolerance", standardwebhooks.ErrTooOld)
	decodeErr(t, src, standardwebhooks.Sign(msgID, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), body, secret), body,
		"timestamp outside tolerance", standardwebhooks.ErrTooNew)
}

func TestHeaderRefusals(t *testing.T) {
	body := standardwebhooks.SampleEvent(evType, subject, created)
	now := time.Unix(1709294400, 0)
	src := newSource(t, now, secret)
	signed := func(edit func(h http.Header)) http.Header {
		h := standardwebhooks.Sign(msgID, now, body, secret)
		edit(h)
		return h
	}
	missing := []http.Header{
		{},
		signed(func(h http.Header) { h.Del("webhook-signature") }),
		signed(func(h http.Header) { h.Del("webhook-id") }),
		signed(func(h http.Header) { h.Set("webhook-id", "") }),
		signed(func(h http.Header) { h.Del("webhook-timestamp") }),
	}
	for _, h := range missing {
		decodeErr(t, src, h, body, "missing signature header", standardwebhooks.ErrNotSigned)
	}
	invalid := []http.Header{
		signed(func(h http.Header) { h.Set("webhook-timestamp", "1709294400.5") }),
		signed(func(h http.Header) { h.Set("webhook-timestamp", "+1709294400") }),
		signed(func(h http.Header) { h.Set("webhook-timestamp", "-1") }),
		signed(func(h http.Header) { h.Set("webhook-timestamp", "99999999999999999999") }),
		signed(func(h http.Header) { h.Set("webhook-timestamp", "9223372036854775807") }),
		signed(func(h http.Header) { h.Set("webhook-timestamp", "253402300800") }),
		signed(func(h http.Header) { h.Add("webhook-timestamp", "1709294400") }),
		signed(func(h http.Header) { h.Add("webhook-id", msgID) }),
		signed(func(h http.Header) { h.Set("webhook-id", "msg.1") }),
		signed(func(h http.Header) { h.Set("webhook-id", "msg_\x7f") }),
		signed(func(h http.Header) { h.Set("webhook-id", "msg_\xff") }),
		signed(func(h http.Header) { h.Set("webhook-signature", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") }),
	}
	for _, h := range invalid {
		decodeErr(t, src, h, body, "invalid signature header", standardwebhooks.ErrInvalidHeader)
	}
	// The signature covers the id and the timestamp.
	decodeErr(t, src, signed(func(h http.Header) { h.Set("webhook-id", "msg_other") }), body,
		"invalid signature", standardwebhooks.ErrNoValidSignature)
	decodeErr(t, src, signed(func(h http.Header) { h.Set("webhook-timestamp", "1709294401") }), body,
		"invalid signature", standardwebhooks.ErrNoValidSignature)
}

func TestTypes(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, &standardwebhooks.Options{Types: []string{"user.*", "session.created"}})
	for _, c := range []struct {
		typ  string
		sent bool
	}{{"user.created", true}, {"user.email.updated", true}, {"session.created", true}, {"session.ended", false}, {"users.created", false}} {
		body := standardwebhooks.SampleEvent(c.typ, subject, created)
		want := `{"received":true,"skipped":true}`
		if c.sent {
			want = accepted(msgID)
		}
		expect(t, deliver(t, url, body, standardwebhooks.Sign(msgID, time.Now(), body, secret)), 200, want)
	}
	if n := len(rec.Sent()); n != 3 {
		t.Errorf("sent %d events, want 3", n)
	}
	src, err := standardwebhooks.New([]string{secret}, &standardwebhooks.Options{Types: []string{"user.created"}})
	if err != nil {
		t.Fatal(err)
	}
	body := standardwebhooks.SampleEvent("user.deleted", subject, created)
	if _, err := src.Decode(standardwebhooks.Sign(msgID, time.Now(), body, secret), body); !errors.Is(err, emitter.ErrSkip) {
		t.Errorf("unselected type: %v, want ErrSkip", err)
	}
}
