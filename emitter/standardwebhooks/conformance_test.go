package standardwebhooks_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/emittertest"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// harness is the Standard Webhooks source as the conformance suite sees it.
func harness() emittertest.Harness {
	return emittertest.Harness{
		Name: "standardwebhooks",
		New: func(secrets []string, now func() time.Time) (emitter.Source, error) {
			src, err := standardwebhooks.New(secrets, &standardwebhooks.Options{Now: now})
			if err != nil {
				return nil, err
			}
			return src, nil
		},
		Secret: standardwebhooks.GenerateSecret,
		Sign: func(id string, body []byte, secret string, at time.Time) http.Header {
			return standardwebhooks.Sign(id, at, body, secret)
		},
		Sample: func(typ, subject string, at time.Time) ([]byte, hookline.Event) {
			body := standardwebhooks.SampleEvent(typ, subject, at)
			var p struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				panic(err)
			}
			sum := sha256.Sum256(body)
			return body, hookline.Event{
				ID: "msg_" + hex.EncodeToString(sum[:12]), Source: "standardwebhooks", Type: typ, Subject: subject,
				Object: typ[:strings.LastIndexByte(typ, '.')], Action: hookline.ActionOfType(typ), Time: at, Data: p.Data,
			}
		},
		Malformed: [][]byte{
			[]byte(`{"timestamp":"2024-03-01T11:00:00Z","data":{"id":"cus_1"}}`),
			[]byte(`{"type":"customer.created","data":{"id":"cus_1"}}`),
			[]byte(`{"type":"customer.created","timestamp":"1709290800","data":{"id":"cus_1"}}`),
			[]byte(`{"type":"customer.created","timestamp":"2024-03-01T11:00:00Z","data":{"name":"x"}}`),
			[]byte(`{"type":"customer.created","timestamp":"2024-03-01T11:00:00Z","data":{"id":7}}`),
			[]byte(`{"type":"customer.created","timestamp":"2024-03-01T11:00:00Z","data":{"id":"cus_\u0000"}}`),
			[]byte("{\"type\":\"customer.created\",\"timestamp\":\"2024-03-01T11:00:00Z\",\"data\":{\"id\":\"cus_\xff\"}}"),
		},
		Tolerance: standardwebhooks.DefaultTolerance,
	}
}

func TestConformance(t *testing.T) { emittertest.Run(t, harness()) }
