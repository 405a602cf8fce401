package gcpfunctions_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/gcpfunctions/gcpfunctionstest"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
)

const testSecret = "whsec_gcpfunctions_test_secret"

// env is a fixed environment for Options.Getenv.
type env = serverlesstest.Env

func testLogger(t *testing.T) (*slog.Logger, *serverlesstest.LogBuffer) {
	return serverlesstest.Logger(t)
}

// result is a response read whole.
type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func newRequest(t *testing.T, method, fn string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, frameworkURL+"/"+fn, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// postStripe posts a Stripe delivery of payload, signed with secret, to the webhook function.
func postStripe(t *testing.T, payload []byte, secret string) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, fnWebhook, payload)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(payload, secret, time.Now()))
	return do(t, req)
}

// testEvent returns an event as the webhook would send it.
func testEvent(id, subject string) hookline.Event { return serverlesstest.Event(id, subject) }

func encode(t *testing.T, ev hookline.Event) []byte { return serverlesstest.Encode(t, ev) }

func pushBody(t *testing.T, data []byte, attrs map[string]string, attempt int) []byte {
	t.Helper()
	return gcpfunctionstest.PushBody(data, attrs, attempt)
}

func postBinaryCloudEvent(t *testing.T, typ string, data []byte) result {
	t.Helper()
	req, err := gcpfunctionstest.BinaryCloudEvent(context.Background(), frameworkURL+"/"+fnProcess, typ, data)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func postStructuredCloudEvent(t *testing.T, typ string, data []byte) result {
	t.Helper()
	req, err := gcpfunctionstest.StructuredCloudEvent(context.Background(), frameworkURL+"/"+fnProcess, typ, data)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func is2xx(status int) bool { return status >= 200 && status <= 299 }

func wantContains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s = %q, want it to contain %q", what, s, sub)
	}
}
