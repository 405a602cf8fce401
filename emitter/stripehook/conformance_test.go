package stripehook_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/emittertest"
	"github.com/hookline/hookline/emitter/stripehook"
)

// TestConformance runs the emitter conformance suite on the Stripe source.
func TestConformance(t *testing.T) {
	emittertest.Run(t, emittertest.Harness{
		Name: "stripehook",
		New: func(secrets []string, now func() time.Time) (emitter.Source, error) {
			src, err := stripehook.New(secrets, &stripehook.Options{Now: now})
			if err != nil {
				return nil, err
			}
			return src, nil
		},
		// A secret as the Stripe dashboard shows one: whsec_ and random characters.
		Secret: func() string {
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			return "whsec_" + hex.EncodeToString(key)
		},
		// Stripe's event id is in the body: the id the suite passes is the one Sample put there.
		Sign: func(_ string, body []byte, secret string, at time.Time) http.Header {
			return http.Header{stripehook.SignatureHeader: {stripehook.Sign(body, secret, at)}}
		},
		Sample:    stripeSample,
		Malformed: stripeMalformed,
		Tolerance: webhook.DefaultTolerance,
	})
}

// stripeSample is a sample Stripe event and what the source must make of it, read from the
// body with encoding/json.
func stripeSample(typ, subject string, at time.Time) ([]byte, hookline.Event) {
	body := stripehook.SampleEvent(typ, subject, at)
	var env struct {
		ID         string `json:"id"`
		APIVersion string `json:"api_version"`
		Livemode   bool   `json:"livemode"`
		Data       struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		panic(err)
	}
	return body, hookline.Event{
		ID: env.ID, Source: stripehook.SourceName, Type: typ, Subject: subject,
		Object: "customer", // SampleEvent's data.object is always a customer
		Action: hookline.ActionOfType(typ),
		Time:   time.Unix(at.Unix(), 0), // Stripe's precision: whole seconds
		Data:   env.Data.Object,
		Metadata: map[string]string{
			stripehook.MetaLivemode: strconv.FormatBool(env.Livemode), stripehook.MetaAPIVersion: env.APIVersion,
		},
	}
}

var stripeMalformed = [][]byte{
	[]byte(`{"id":"cus_1","type":"customer.created","created":1709290800,"data":{"object":{"id":"cus_1"}}}`),
	[]byte(`{"id":"evt_1","created":1709290800,"data":{"object":{"id":"cus_1"}}}`),
	[]byte(`{"id":"evt_1","type":"customer.created","data":{"object":{"id":"cus_1"}}}`),
	[]byte(`{"id":"evt_1","type":"customer.created","created":"1709290800","data":{"object":{"id":"cus_1"}}}`),
	[]byte(`{"id":"evt_1","type":"customer.created","created":1709290800,"data":{"object":{"name":"x"}}}`),
	[]byte(`{"id":"evt_1","type":"customer.created","created":1709290800,"data":{"object":[]}}`),
	[]byte(`{"id":"evt_1","type":"customer.created","created":1709290800,"livemode":"no","data":{"object":{"id":"c"}}}`),
	[]byte("{\"id\":\"evt_1\",\"type\":\"customer.created\",\"created\":1709290800,\"data\":{\"object\":{\"id\":\"c\xff\"}}}"),
}
