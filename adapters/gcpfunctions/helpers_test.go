package gcpfunctions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
)

const testSecret = "whsec_gcpfunctions_test_secret"

// env is a fixed environment for Options.Getenv.
type env map[string]string

func (e env) get(key string) string { return e[key] }

// logBuffer collects log output for assertions; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
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
func testEvent(id, subject string) hookline.Event {
	return hookline.Event{
		ID: id, Source: stripehook.SourceName, Type: "customer.updated", Subject: subject,
		Time: time.Unix(1700000000, 0).UTC(), Data: []byte(`{"id":"` + subject + `","object":"customer"}`),
		Metadata: map[string]string{"object": "customer", "livemode": "false"},
	}
}

func encode(t *testing.T, ev hookline.Event) []byte {
	t.Helper()
	b, err := channel.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBody returns a Pub/Sub push request body for a message with data and attributes, as
// Pub/Sub sends it (with the snake_case duplicates), with deliveryAttempt when positive.
func pushBody(t *testing.T, data []byte, attrs map[string]string, attempt int) []byte {
	t.Helper()
	msg := map[string]any{
		"data":         base64.StdEncoding.EncodeToString(data),
		"messageId":    "2070443601311540",
		"message_id":   "2070443601311540",
		"publishTime":  "2024-02-26T19:13:55.749Z",
		"publish_time": "2024-02-26T19:13:55.749Z",
	}
	if len(attrs) > 0 {
		msg["attributes"] = attrs
	}
	body := map[string]any{"message": msg, "subscription": "projects/hookline-test/subscriptions/hookline"}
	if attempt > 0 {
		body["deliveryAttempt"] = attempt
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const pubsubSource = "//pubsub.googleapis.com/projects/hookline-test/topics/stripe-events"

// postBinaryCloudEvent posts data as a binary-mode CloudEvent, with the headers Eventarc sends
// for a Pub/Sub message.
func postBinaryCloudEvent(t *testing.T, typ string, data []byte) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, fnProcess, data)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Ce-Id", "2070443601311540")
	req.Header.Set("Ce-Source", pubsubSource)
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Time", "2024-02-26T19:13:55.749Z")
	return do(t, req)
}

// postStructuredCloudEvent posts data as a structured-mode CloudEvent (application/cloudevents+json).
func postStructuredCloudEvent(t *testing.T, typ string, data []byte) result {
	t.Helper()
	ce := map[string]any{
		"specversion": "1.0", "id": "2070443601311541", "source": pubsubSource, "type": typ,
		"time": "2024-02-26T19:13:55.749Z", "datacontenttype": "application/json",
		"data": json.RawMessage(data),
	}
	b, err := json.Marshal(ce)
	if err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, http.MethodPost, fnProcess, b)
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	return do(t, req)
}

func is2xx(status int) bool { return status >= 200 && status <= 299 }

func wantContains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s = %q, want it to contain %q", what, s, sub)
	}
}
