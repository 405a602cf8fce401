package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
)

const (
	secret     = "whsec_lambda_test_5ecret"
	customerID = "cus_NffrFeUfNV2Hib"
)

var created = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder is a Sender that keeps a copy of every event it accepts, or fails while fail is set.
type recorder struct {
	mu     sync.Mutex
	events []hookline.Event
	fail   bool
}

func (r *recorder) Send(_ context.Context, ev hookline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("broker unavailable")
	}
	r.events = append(r.events, ev.Clone())
	return nil
}

func (r *recorder) sent() []hookline.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookline.Event(nil), r.events...)
}

// sample returns a Stripe event and the id it has.
func sample(t *testing.T, typ string) ([]byte, string) {
	t.Helper()
	p := stripehook.SampleEvent(typ, customerID, created)
	var env struct{ ID string }
	if err := json.Unmarshal(p, &env); err != nil {
		t.Fatal(err)
	}
	return p, env.ID
}

// quote returns s as a JSON string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
