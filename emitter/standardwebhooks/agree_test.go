package standardwebhooks_test

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	reference "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// TestAgreesWithReferenceLibrary holds this package to the specification's own Go library on
// generated deliveries: what either signs, the other verifies, and both compute the same
// signature. The library is used here only as an independent oracle (see the package doc for
// why the verifier is not built on it).
func TestAgreesWithReferenceLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"user.created", "invoice.paid", "contact.deleted", "a.b.c.updated"}
	for i := range 200 {
		secret := standardwebhooks.GenerateSecret()
		ref, err := reference.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1600000000+rng.Int64N(200000000), 0)
		at := now.Add(time.Duration(rng.Int64N(int64(10*time.Minute))) - 5*time.Minute)
		id := "msg_" + strconv.FormatUint(rng.Uint64(), 36)
		body := standardwebhooks.SampleEvent(types[i%len(types)], "user_"+strconv.Itoa(i), now.Add(-time.Duration(i)*time.Millisecond))

		ours := standardwebhooks.Sign(id, at, body, secret)
		theirs, err := ref.Sign(id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		if ours.Get("webhook-signature") != theirs {
			t.Fatalf("signature %q, the reference library signs %q", ours.Get("webhook-signature"), theirs)
		}
		if err := ref.VerifyIgnoringTimestamp(body, ours); err != nil {
			t.Fatalf("the reference library refuses our delivery: %v", err)
		}
		src, err := standardwebhooks.New([]string{secret}, &standardwebhooks.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(reference.HeaderWebhookID, id)
		h.Set(reference.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(reference.HeaderWebhookSignature, theirs)
		if ev, err := src.Decode(h, body); err != nil || ev.ID != id {
			t.Fatalf("a delivery signed by the reference library: %+v, %v", ev, err)
		}
		body[len(body)/2] ^= 1
		if _, err := src.Decode(h, body); err == nil {
			t.Fatal("a tampered delivery was accepted")
		}
		if err := ref.VerifyIgnoringTimestamp(body, ours); err == nil {
			t.Fatal("the reference library accepts a tampered delivery: the oracle is broken")
		}
	}
}
