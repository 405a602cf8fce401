package stripehook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Sample is one signed delivery that [SendSamples] posts, and what a pipeline should make of it.
type Sample struct {
	Type, Customer string
	Created        time.Time
	Note           string
}

// Samples returns a short story that shows the guarantees: a customer is created and updated, the
// update arrives twice (Stripe retries), an older update arrives late, and a second customer is
// created and deleted.
func Samples(now time.Time) []Sample {
	t0 := now.Add(-10 * time.Minute).Truncate(time.Second)
	return []Sample{
		{"customer.created", "cus_demo_alice", t0, "new row"},
		{"customer.updated", "cus_demo_alice", t0.Add(2 * time.Minute), "row updated"},
		{"customer.updated", "cus_demo_alice", t0.Add(2 * time.Minute), "same event again: no change"},
		{"customer.updated", "cus_demo_alice", t0.Add(1 * time.Minute), "older than the row: ignored"},
		{"customer.created", "cus_demo_bob", t0, "new row"},
		{"customer.deleted", "cus_demo_bob", t0.Add(3 * time.Minute), "row marked deleted"},
	}
}

// SendSamples posts samples (nil: Samples(time.Now())) to webhookURL, each a [SampleEvent]
// signed with secret ([Sign]), and writes one line per delivery to out. It fails on the first
// answer that is not 2xx. It is the sample sender of examples/local, for trying a pipeline
// without a Stripe account.
func SendSamples(ctx context.Context, client *http.Client, webhookURL, secret string, samples []Sample, out io.Writer) error {
	if samples == nil {
		samples = Samples(time.Now())
	}
	for _, s := range samples {
		body := SampleEvent(s.Type, s.Customer, s.Created)
		status, err := postSigned(ctx, client, webhookURL, body, Sign(body, secret, time.Now()))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %-17s %-15s -> %d  (%s)\n", s.Created.Format("15:04:05"), s.Type, s.Customer, status, s.Note)
		if status/100 != 2 {
			return fmt.Errorf("stripehook: %s answered %d for %s: check that the signing secret matches the server's", webhookURL, status, s.Type)
		}
	}
	return nil
}

func postSigned(ctx context.Context, client *http.Client, url string, body []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(SignatureHeader, signature)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("stripehook: post to %s: %w (is the server running?)", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
