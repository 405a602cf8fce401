package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/hookline/hookline/emitter/stripehook"
)

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func postJSON(t *testing.T, url string, header http.Header, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func stripeHeader(payload []byte, secret string) http.Header {
	return http.Header{
		"Content-Type":     {"application/json; charset=utf-8"},
		"Stripe-Signature": {stripehook.Sign(payload, secret, time.Now())},
	}
}

// postForwarded sends a delivery as the host forwards it with enableForwardingHttpRequest.
func postForwarded(t *testing.T, base string, payload []byte, secret string) int {
	t.Helper()
	status, _ := postJSON(t, base+"/api/webhook", stripeHeader(payload, secret), payload)
	return status
}

// postInvocation sends a delivery as the host's default invocation request and returns
// Outputs.res.statusCode.
func postInvocation(t *testing.T, base string, payload []byte, secret string) string {
	t.Helper()
	inv, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"req": map[string]any{
			"Url": "https://app.azurewebsites.net/api/webhook", "Method": "POST", "Query": map[string]string{},
			"Headers": stripeHeader(payload, secret), "Params": map[string]string{}, "Body": string(payload),
		}},
		"Metadata": map[string]any{},
	})
	status, body := postJSON(t, base+"/webhook", http.Header{"Content-Type": {"application/json"}}, inv)
	var out struct {
		Outputs struct {
			Res struct{ StatusCode string }
		}
	}
	if err := json.Unmarshal(body, &out); err != nil || status != http.StatusOK {
		t.Fatalf("invocation: %d %s", status, body)
	}
	return out.Outputs.Res.StatusCode
}

// trigger stands in for the host's Service Bus trigger: it receives n messages from queue in
// peek-lock mode, invokes the processor with each (dataType binary: the body in base64; metadata
// as "Message metadata" lists it), completes the message on a 2xx answer and abandons it
// otherwise, and checks each answer is want.
func trigger(t *testing.T, ctx context.Context, client *azservicebus.Client, base, queue string, n, want int) {
	t.Helper()
	r, err := client.NewReceiverForQueue(queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	for got := 0; got < n; {
		msgs, err := r.ReceiveMessages(ctx, n-got, nil)
		if err != nil {
			t.Fatalf("receive from %s: %v", queue, err)
		}
		for _, m := range msgs {
			got++
			status, body := postJSON(t, base+"/processor", http.Header{"Content-Type": {"application/json"}}, invocation(t, m))
			if status != want {
				t.Errorf("message %s: processor answered %d %s, want %d", m.MessageID, status, body, want)
			}
			if status >= 200 && status <= 299 {
				err = r.CompleteMessage(ctx, m, nil)
			} else {
				err = r.AbandonMessage(ctx, m, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func invocation(t *testing.T, m *azservicebus.ReceivedMessage) []byte {
	t.Helper()
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	md := map[string]any{
		"MessageId":             quoted(m.MessageID),
		"DeliveryCount":         fmt.Sprint(m.DeliveryCount),
		"ApplicationProperties": m.ApplicationProperties,
	}
	if m.SequenceNumber != nil {
		md["SequenceNumber"] = *m.SequenceNumber
	}
	if m.EnqueuedTime != nil {
		md["EnqueuedTimeUtc"] = quoted(m.EnqueuedTime.UTC().Format(time.RFC3339Nano))
	}
	b, err := json.Marshal(map[string]any{
		"Data":     map[string]any{"message": base64.StdEncoding.EncodeToString(m.Body)},
		"Metadata": md,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readSubjects returns the event id per object id in the SQLite sink's table.
func readSubjects(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(context.Background(), `SELECT id, event_id FROM stripe_objects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var id, ev string
		if err := rs.Scan(&id, &ev); err != nil {
			t.Fatal(err)
		}
		out[id] = ev
	}
	return out
}
