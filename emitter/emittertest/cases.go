package emittertest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

func testAccepts(t *testing.T, h *Harness) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	for _, typ := range Types {
		body, want := r.sample(t, typ, "cus_accepts")
		r.expectAccepted(t, "a valid "+typ+" delivery", h.Sign(want.ID, body, secret, T0), body, want)
	}
}

func testTampered(t *testing.T, h *Harness) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	body, want := r.sample(t, Types[1], "cus_tampered")
	other, _ := r.sample(t, Types[1], "cus_tampered_other")
	header := h.Sign(want.ID, body, secret, T0)
	r.expectRefused(t, "another body under a valid signature", header, other)
	r.expectRefused(t, "the signed body with a space added", header, append(append([]byte(nil), body...), ' '))
	r.expectRefused(t, "the signed body with a space before it", header, append([]byte(" "), body...))
	// The signature itself was fine.
	r.expectAccepted(t, "the untampered delivery", header, body, want)
}

func testUnsigned(t *testing.T, h *Harness) {
	r := newRig(t, h, []string{h.Secret()}, nil)
	body, _ := r.sample(t, Types[0], "cus_unsigned")
	r.expectRefused(t, "a delivery without headers", http.Header{}, body)
	r.expectRefused(t, "a delivery with only a content type", http.Header{"Content-Type": {"application/json"}}, body)
}

func testWrongSecret(t *testing.T, h *Harness) {
	held, other := h.Secret(), h.Secret()
	if held == other {
		t.Fatalf("%s: Harness.Secret returned the same secret twice", h.Name)
	}
	r := newRig(t, h, []string{held}, nil)
	r.secrets = append(r.secrets, other) // neither may be quoted
	body, want := r.sample(t, Types[0], "cus_wrong_secret")
	r.expectRefused(t, "a delivery signed with another secret", h.Sign(want.ID, body, other, T0), body)
}

// window checks the tolerance on one side of the clock: side is +1 for the future, -1 for the past.
func window(t *testing.T, h *Harness, side time.Duration, name string) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	body, want := r.sample(t, Types[1], "cus_"+name)
	outside := T0.Add(side * (h.Tolerance + time.Second))
	inside := T0.Add(side * (h.Tolerance - time.Second))
	r.expectRefused(t, fmt.Sprintf("a delivery signed %v %s", h.Tolerance+time.Second, name), h.Sign(want.ID, body, secret, outside), body)
	r.expectRefused(t, "a delivery signed a day "+name, h.Sign(want.ID, body, secret, T0.Add(side*24*time.Hour)), body)
	r.expectAccepted(t, fmt.Sprintf("a delivery signed %v %s", h.Tolerance-time.Second, name), h.Sign(want.ID, body, secret, inside), body, want)
}

func testStale(t *testing.T, h *Harness)  { window(t, h, -1, "ago") }
func testFuture(t *testing.T, h *Harness) { window(t, h, +1, "ahead") }

// commonMalformed are bodies that no source of JSON events can accept.
var commonMalformed = []string{``, `not json`, `[]`, `"customer.created"`, `{}`, `{"type":`}

func testMalformed(t *testing.T, h *Harness) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	bodies := append([][]byte(nil), h.Malformed...)
	for _, b := range commonMalformed {
		bodies = append(bodies, []byte(b))
	}
	for i, body := range bodies {
		id := fmt.Sprintf("msg_emittertest_malformed_%d", i)
		r.expectRefused(t, fmt.Sprintf("malformed body %q", body), h.Sign(id, body, secret, T0), body)
	}
}

func testOversize(t *testing.T, h *Harness) {
	secret := h.Secret()
	body, want := h.Sample(Types[0], "cus_oversize", created)
	header := h.Sign(want.ID, body, secret, T0)
	r := newRig(t, h, []string{secret}, &emitter.HandlerOptions{MaxBodyBytes: int64(len(body)) - 1})
	status, answer := r.post(t, header, body)
	if sent := r.rec.take(); status != http.StatusRequestEntityTooLarge || len(sent) != 0 {
		t.Fatalf("%s: a body one byte past MaxBodyBytes: answered %d %s and sent %d events, want 413 and none",
			h.Name, status, answer, len(sent))
	}
	r = newRig(t, h, []string{secret}, &emitter.HandlerOptions{MaxBodyBytes: int64(len(body))})
	r.expectAccepted(t, "a body of exactly MaxBodyBytes", header, body, want)
}

func testRedelivery(t *testing.T, h *Harness) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	body, want := r.sample(t, Types[1], "cus_redelivered")
	first := r.expectAccepted(t, "the first attempt", h.Sign(want.ID, body, secret, T0), body, want)
	for _, later := range []time.Duration{3 * time.Minute, 2 * time.Hour} {
		r.clock.set(T0.Add(later))
		again := r.expectAccepted(t, fmt.Sprintf("the same delivery signed again %v later", later),
			h.Sign(want.ID, body, secret, r.clock.now()), body, want)
		if again.ID != first.ID || !again.Time.Equal(first.Time) {
			t.Fatalf("%s: a redelivery became event %s at %v; the first attempt was %s at %v",
				h.Name, again.ID, again.Time, first.ID, first.Time)
		}
	}
}

func testSeveralSecrets(t *testing.T, h *Harness) {
	secrets := []string{h.Secret(), h.Secret(), h.Secret()}
	r := newRig(t, h, secrets, nil)
	body, want := r.sample(t, Types[0], "cus_several")
	for i, s := range secrets {
		r.expectAccepted(t, fmt.Sprintf("a delivery signed with secret %d of 3", i+1), h.Sign(want.ID, body, s, T0), body, want)
	}
	r.expectRefused(t, "a delivery signed with a fourth secret", h.Sign(want.ID, body, h.Secret(), T0), body)
}

func testNoSecret(t *testing.T, h *Harness) {
	now := newClock().now
	for _, secrets := range [][]string{nil, {}, {""}, {h.Secret(), ""}} {
		if src, err := h.New(secrets, now); err == nil {
			t.Fatalf("%s: New(%q) returned %T and no error: a source without a secret forwards forgeries",
				h.Name, secrets, src)
		}
	}
}

func testConcurrent(t *testing.T, h *Harness) {
	secret := h.Secret()
	r := newRig(t, h, []string{secret}, nil)
	type delivery struct {
		header http.Header
		body   []byte
		want   hookline.Event
	}
	var ds []delivery
	for i := range 24 {
		body, want := r.sample(t, Types[i%len(Types)], fmt.Sprintf("cus_concurrent_%d", i))
		ds = append(ds, delivery{h.Sign(want.ID, body, secret, T0), body, want})
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(ds))
	for _, d := range ds {
		wg.Go(func() {
			status, answer, err := r.do(d.header, d.body)
			if err != nil || status != http.StatusOK {
				errs <- fmt.Sprintf("answered %d %s (%v) for %s", status, answer, err, d.want.ID)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("%s: concurrent deliveries: %s", h.Name, e)
	}
	sent := map[string]hookline.Event{}
	for _, ev := range r.rec.take() {
		sent[ev.ID] = ev
	}
	for _, d := range ds {
		if dd := diff(sent[d.want.ID], d.want); dd != "" {
			t.Fatalf("%s: concurrent deliveries: event %s:%s", h.Name, d.want.ID, dd)
		}
	}
}
