package stripeapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// newClient returns stripe-go v76's real client pointed at srv with key, retrying as
// MaxNetworkRetries says.
func newClient(srv *stripeapi.Server, key string, retries int64) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(srv.URL()),
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	sc := &client.API{}
	sc.Init(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return sc
}

// iterator is what every stripe-go list iterator has.
type iterator interface {
	Next() bool
	Current() interface{}
	Err() error
}

// ids drains it and returns the ids it yielded, and its error.
func ids(it iterator) ([]string, error) {
	var out []string
	for it.Next() {
		out = append(out, reflect.ValueOf(it.Current()).Elem().FieldByName("ID").String())
	}
	return out, it.Err()
}

// stripeError returns err as a *stripe.Error, failing t when it is not one.
func stripeError(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *stripe.Error", err, err)
	}
	return se
}

// errorBody is Stripe's error object.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param"`
		Type    string `json:"type"`
	} `json:"error"`
}

// get sends GET srv.URL()+path with the bearer key (none when key is ""), and returns the
// status, the headers and the body decoded as an error object (zero when it is not one).
func get(t *testing.T, srv *stripeapi.Server, path, key string) (int, http.Header, errorBody) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, errorBody) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e errorBody
	json.Unmarshal(b, &e)
	return resp.StatusCode, resp.Header, e
}

// addEvents stores n customer.created events created at created, for customers
// cus_<prefix>_<i>, and returns their ids in the order they were added.
func addEvents(srv *stripeapi.Server, prefix string, n int, created time.Time, delivered bool) []string {
	var out []string
	for i := range n {
		ev := stripeapi.NewEvent("customer.created", prefix+"_"+itoa(i), created)
		ev.Delivered = delivered
		srv.AddEvent(ev)
		out = append(out, ev.ID())
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// reversed returns a reversed copy of s.
func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}
