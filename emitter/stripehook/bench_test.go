package stripehook_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/emitter/stripehook"
)

// benchPayload is a signed ~2 KB customer.updated event.
func benchPayload(b *testing.B, secret string) ([]byte, string) {
	b.Helper()
	p := stripehook.SampleEvent("customer.updated", customerID, created)
	return p, stripehook.Sign(p, secret, time.Now())
}

func benchDecode(b *testing.B, secrets []string, signWith string) {
	src, err := stripehook.New(secrets, nil)
	if err != nil {
		b.Fatal(err)
	}
	p, sig := benchPayload(b, signWith)
	hdr := http.Header{"Stripe-Signature": {sig}}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Decode(hdr, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: signature verification and envelope decoding of a ~2 KB event.
func BenchmarkDecode(b *testing.B) { benchDecode(b, []string{secret}, secret) }

// BenchmarkDecodeRotation: two secrets active, the delivery signed with the second (worst case).
func BenchmarkDecodeRotation(b *testing.B) { benchDecode(b, []string{otherSecret, secret}, secret) }

// BenchmarkStripeGoConstructEvent: the same work done by stripe-go, which decodes the whole event.
func BenchmarkStripeGoConstructEvent(b *testing.B) {
	p, sig := benchPayload(b, secret)
	opts := webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.ConstructEventWithOptions(p, sig, secret, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// nopWriter is a minimal http.ResponseWriter, so the benchmark measures the handler.
type nopWriter struct {
	hdr    http.Header
	status int
}

func (w *nopWriter) Header() http.Header         { return w.hdr }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkHandler: ServeHTTP end to end (body read, verification, decoding, send to a no-op
// Sender, response) without the network.
func BenchmarkHandler(b *testing.B) {
	h, err := stripehook.NewHandler([]string{secret}, discard{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	p, sig := benchPayload(b, secret)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodPost, "/stripe/webhook", nil)
		req.Pattern = "POST /stripe/webhook" // as http.ServeMux sets it
		req.Header.Set("Stripe-Signature", sig)
		req.ContentLength = int64(len(p))
		r := bytes.NewReader(p)
		body := io.NopCloser(r)
		w := &nopWriter{hdr: http.Header{}}
		for pb.Next() {
			r.Reset(p)
			req.Body = body
			clear(w.hdr)
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}
