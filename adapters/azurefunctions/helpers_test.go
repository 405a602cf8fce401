package azurefunctions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/pipeline"
)

const testSecret = "whsec_azurefunctions_test_secret"

// isConfigError reports whether err is, or wraps, a [*pipeline.ConfigError].
func isConfigError(err error) bool {
	var ce *pipeline.ConfigError
	return errors.As(err, &ce)
}

// env is a fixed environment for Options.Getenv.
type env = serverlesstest.Env

func testLogger(t *testing.T) (*slog.Logger, *serverlesstest.LogBuffer) {
	return serverlesstest.Logger(t)
}

var memSeq atomic.Int64

// memChannel opens an in-memory topic and its subscription (the subscription first exists
// before anything is sent, as mem:// requires) and returns the sender and the receiver.
func memChannel(t *testing.T, name string) (*channel.Sender, *channel.Receiver) {
	t.Helper()
	ctx := context.Background()
	url := fmt.Sprintf("mem://azf-%s-%d", name, memSeq.Add(1))
	s, err := channel.OpenSender(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := channel.OpenReceiver(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Shutdown(sctx)
		_ = s.Shutdown(sctx)
	})
	return s, r
}

// receive returns the next message on r, failing t after a few seconds.
func receive(t *testing.T, r *channel.Receiver) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	m.Ack()
	return m
}

// expectNothing fails t when r delivers a message within a short wait.
func expectNothing(t *testing.T, r *channel.Receiver) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if m, err := r.Receive(ctx); err == nil {
		m.Ack()
		t.Fatalf("a message was sent: %s", m.Body)
	}
}

// startHandler serves h on a loopback port with [Serve], as the custom handler does under the
// host, and returns its base URL.
func startHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, &ServeOptions{DrainTimeout: 5 * time.Second}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// app serves a webhook and a processor built from opts and returns the base URL.
func app(t *testing.T, opts *Options) (string, *Webhook, *Processor) {
	t.Helper()
	w, p := NewWebhook(opts), NewProcessor(opts)
	t.Cleanup(func() {
		_ = w.Close(context.Background())
		_ = p.Close(context.Background())
	})
	h, err := Routes{Webhook: w, Processor: p}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return startHandler(t, h), w, p
}

// result is a response read whole.
type result struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, url string, header http.Header, body []byte) result {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// hostHeader is what the host sends with every invocation request (DefaultHttpWorkerService.AddHeaders).
func hostHeader() http.Header {
	return http.Header{
		"Content-Type":                   {"application/json; charset=utf-8"},
		"X-Azure-Functions-Hostversion":  {"4.1037.1.1"},
		"X-Azure-Functions-Invocationid": {"8a7c1d2e-0f3b-4c5d-9e6f-1a2b3c4d5e6f"},
		"User-Agent":                     {"Azure-Functions-Host/4.1037.1.1"},
	}
}

// stripePayload is a sample event whose bytes a re-encoding would change: non-ASCII UTF-8,
// JSON escapes (\u00e9, \/, \t) and CRLF line ends.
func stripePayload(id string) []byte {
	p := stripehook.SampleEvent("customer.updated", id, time.Now().Truncate(time.Second))
	p = bytes.Replace(p, []byte(`"Jenny Rosen"`), []byte(`"Zoë Ødegård \u00e9 \/ – \t 😀"`), 1)
	return bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))
}

func eventID(t *testing.T, payload []byte) string {
	t.Helper()
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

// httpInvocation is the host's invocation request for an HTTP trigger named req, in the shape
// of the custom handler documentation's example and GetRequestAsJObject.
func httpInvocation(t *testing.T, method string, header http.Header, body []byte) []byte {
	t.Helper()
	req := map[string]any{
		"Url":     "https://hookline-app.azurewebsites.net/api/webhook",
		"Method":  method,
		"Query":   map[string]string{},
		"Headers": header,
		"Params":  map[string]string{},
	}
	if len(body) > 0 {
		req["Body"] = string(body)
	}
	inv := map[string]any{
		"Data":     map[string]any{"req": req},
		"Metadata": map[string]any{"Query": map[string]string{}, "Headers": header},
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stripeHeader is what Stripe sends with a delivery of payload, as the host lists it.
func stripeHeader(payload []byte, secret string) http.Header {
	return http.Header{
		"Content-Type":     {"application/json; charset=utf-8"},
		"Content-Length":   {fmt.Sprint(len(payload))},
		"Stripe-Signature": {stripehook.Sign(payload, secret, time.Now())},
		"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		"Host":             {"hookline-app.azurewebsites.net"},
	}
}

// testEvent returns an event as the webhook would send it.
func testEvent(id, subject string) hookline.Event { return serverlesstest.Event(id, subject) }

func encode(t *testing.T, ev hookline.Event) []byte { return serverlesstest.Encode(t, ev) }

// decodeStrict decodes b into v, refusing unknown fields, and fails t otherwise.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
}

// jsonKeys returns the member names of the JSON object b, sorted.
func jsonKeys(t *testing.T, b []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}
