package emittertest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/emittertest"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// liarEnv names the source the suite runs on in the child process of TestSuiteCatchesLies.
const liarEnv = "HOOKLINE_EMITTERTEST_SUBJECT"

// newFunc is Harness.New.
type newFunc func(secrets []string, now func() time.Time) (emitter.Source, error)

// subjects are sources built on standardwebhooks, honest or not, and what the suite must say of
// them: "" when it must pass, else a text its failure must contain.
var subjects = map[string]struct {
	new  newFunc
	want string
}{
	"honest": {honest, ""},
	"skips verification": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		return d.src.Decode(standardwebhooks.Sign(orForged(h.Get("webhook-id")), d.now(), body, d.secrets[0]), body)
	}), "accepted another body under a valid signature"},
	"checks only the past, as stripe-go does": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		if ts, _ := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64); time.Unix(ts, 0).After(d.now()) {
			return d.src.Decode(standardwebhooks.Sign(h.Get("webhook-id"), d.now(), body, d.secrets[0]), body)
		}
		return d.src.Decode(h, body)
	}), "accepted a delivery signed 5m1s ahead"},
	"time from the header": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		ev, err := d.src.Decode(h, body)
		ts, _ := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
		ev.Time = time.Unix(ts, 0)
		return ev, err
	}), "Time = 2024-03-01 12:00:00 +0000 UTC, want 2024-03-01 11:00:00.250123456 +0000 UTC"},
	"a new id for a repeat": {func(secrets []string, now func() time.Time) (emitter.Source, error) {
		var (
			mu   sync.Mutex
			seen = map[string]bool{}
		)
		return lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
			ev, err := d.src.Decode(h, body)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && seen[ev.ID] {
				ev.ID += "_again"
			}
			seen[ev.ID] = true
			return ev, err
		})(secrets, now)
	}, "the same delivery signed again 3m0s later: sent an event that differs"},
	"first secret only": {func(secrets []string, now func() time.Time) (emitter.Source, error) {
		return honest(secrets[:min(1, len(secrets))], now)
	}, "a delivery signed with secret 2 of 3: answered 400"},
	"plain errors": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		ev, err := d.src.Decode(h, body)
		if re := (*emitter.RejectError)(nil); errors.As(err, &re) {
			err = errors.New(re.Reason)
		}
		return ev, err
	}), "is not a *emitter.RejectError"},
	"skips what it refuses": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		ev, err := d.src.Decode(h, body)
		if err != nil {
			err = emitter.ErrSkip
		}
		return ev, err
	}), "it must be refused"},
	"forwards malformed events": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		ev, err := d.src.Decode(h, body)
		if errors.Is(err, standardwebhooks.ErrMalformedEvent) {
			return hookline.Event{ID: h.Get("webhook-id"), Source: "standardwebhooks", Type: "unknown", Data: body}, nil
		}
		return ev, err
	}), "accepted malformed body"},
	"quotes the secret": {lie(func(d decoder, h http.Header, body []byte) (hookline.Event, error) {
		ev, err := d.src.Decode(h, body)
		if err != nil {
			err = &emitter.RejectError{Status: 400, Reason: "invalid", Err: errors.New("not signed with " + d.secrets[0])}
		}
		return ev, err
	}), "the Decode error quotes a secret"},
	"runs without a secret": {func(secrets []string, now func() time.Time) (emitter.Source, error) {
		if len(secrets) == 0 || secrets[len(secrets)-1] == "" {
			secrets = []string{"whsec_ZGVmYXVsdCBzZWNyZXQ="}
		}
		return honest(secrets, now)
	}, "a source without a secret forwards forgeries"},
}

func honest(secrets []string, now func() time.Time) (emitter.Source, error) {
	src, err := standardwebhooks.New(secrets, &standardwebhooks.Options{Now: now})
	if err != nil {
		return nil, err
	}
	return src, nil
}

// decoder is what a lying Decode works with: the honest source, its secrets and its clock.
type decoder struct {
	src     emitter.Source
	secrets []string
	now     func() time.Time
}

type liar struct {
	d      decoder
	decode func(d decoder, h http.Header, body []byte) (hookline.Event, error)
}

func (l liar) Decode(h http.Header, body []byte) (hookline.Event, error) {
	return l.decode(l.d, h, body)
}

// lie returns a Harness.New whose source decodes with decode around an honest source.
func lie(decode func(d decoder, h http.Header, body []byte) (hookline.Event, error)) newFunc {
	return func(secrets []string, now func() time.Time) (emitter.Source, error) {
		src, err := honest(secrets, now)
		if err != nil {
			return nil, err
		}
		return liar{decoder{src, secrets, now}, decode}, nil
	}
}

func orForged(id string) string {
	if id == "" {
		return "msg_forged"
	}
	return id
}

// TestSuiteCatchesLies runs the suite, in a child process each, on the sources above: it must
// pass on the honest one and fail, saying why, on the others.
func TestSuiteCatchesLies(t *testing.T) {
	if name := os.Getenv(liarEnv); name != "" {
		emittertest.Run(t, harness(subjects[name].new))
		return
	}
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	for name, c := range subjects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesLies$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), liarEnv+"="+name)
			out, err := cmd.CombinedOutput()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("the suite failed on an honest source: %v\n%s", err, out)
			case c.want != "" && err == nil:
				t.Fatalf("the suite passed on a source that lies (%s):\n%s", name, out)
			case c.want != "" && !strings.Contains(string(out), c.want):
				t.Fatalf("the suite failed, but not with %q:\n%s", c.want, out)
			}
		})
	}
}

// harness is the Standard Webhooks harness with the source that newSource builds.
func harness(newSource newFunc) emittertest.Harness {
	return emittertest.Harness{
		Name:   "standardwebhooks",
		New:    newSource,
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
				Object: "customer", Action: hookline.ActionOfType(typ), Time: at, Data: p.Data,
			}
		},
		Malformed: [][]byte{[]byte(`{"type":"customer.created","data":{"id":"cus_1"}}`)},
		Tolerance: standardwebhooks.DefaultTolerance,
	}
}
