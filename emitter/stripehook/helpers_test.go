package stripehook_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/emittertest"
	"github.com/hookline/hookline/emitter/stripehook"
)

const (
	secret      = "whsec_test_5ecret_never_echoed"
	otherSecret = "whsec_another_5ecret_never_echoed"
	customerID  = "cus_NffrFeUfNV2Hib"
)

var created = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder is a Sender that keeps a deep copy of every event it accepts.
type recorder = emittertest.Recorder

// failingSender fails every send, like a broker that refuses messages.
type failingSender struct{}

func (failingSender) Send(context.Context, hookline.Event) error {
	return fmt.Errorf("broker unavailable")
}

// blockingSender blocks until ctx ends, like a broker that does not answer.
type blockingSender struct{}

func (blockingSender) Send(ctx context.Context, _ hookline.Event) error {
	<-ctx.Done()
	return ctx.Err()
}

// discard is a Sender that accepts everything and keeps nothing.
type discard struct{}

func (discard) Send(context.Context, hookline.Event) error { return nil }

func serve(t *testing.T, secrets []string, dst emitter.Sender, opts *stripehook.Options, hopts *emitter.HandlerOptions) string {
	t.Helper()
	h, err := stripehook.NewHandler(secrets, dst, opts, hopts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

type result struct {
	status int
	header http.Header
	body   string
}

// deliver POSTs body to url with the given Stripe-Signature header (none when sig is "").
func deliver(t *testing.T, url string, body []byte, sig string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(stripehook.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

// expect checks status and body, and that the body gives nothing away.
func expect(t *testing.T, got result, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Errorf("got %d %s, want %d %s", got.status, got.body, status, body)
	}
	for _, s := range []string{secret, otherSecret, "5ecret"} {
		if strings.Contains(got.body, s) {
			t.Errorf("response body %q contains a secret", got.body)
		}
	}
}

func rejected(reason string) string { return `{"error":"` + reason + `"}` }

func nothingSent(t *testing.T, rec *recorder) {
	t.Helper()
	if n := len(rec.Sent()); n != 0 {
		t.Errorf("sent %d events, want none", n)
	}
}

// sig returns a header with one v1 signature per secret, all over the timestamp at.
func sig(payload []byte, at time.Time, secrets ...string) string {
	h := fmt.Sprintf("t=%d", at.Unix())
	for _, s := range secrets {
		h += ",v1=" + hex.EncodeToString(webhook.ComputeSignature(at, payload, s))
	}
	return h
}

// edit replaces old with new in a sample event, failing if old is absent.
func edit(t *testing.T, payload []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(payload, []byte(old)) {
		t.Fatalf("sample event lacks %q", old)
	}
	return bytes.Replace(payload, []byte(old), []byte(new), 1)
}

// senderFunc adapts a function to emitter.Sender.
type senderFunc func(ctx context.Context) error

func (f senderFunc) Send(ctx context.Context, _ hookline.Event) error { return f(ctx) }
