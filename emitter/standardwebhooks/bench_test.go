package standardwebhooks_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/standardwebhooks"
)

func benchDecode(b *testing.B, secrets []string, signWith string) {
	src, err := standardwebhooks.New(secrets, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := standardwebhooks.SampleEvent(evType, subject, created)
	h := standardwebhooks.Sign(msgID, time.Now(), body, signWith)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Decode(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: signature verification and payload decoding of a sample event.
func BenchmarkDecode(b *testing.B) { benchDecode(b, []string{secret}, secret) }

// BenchmarkDecodeRotation: two secrets active, the delivery signed with the second (worst case).
func BenchmarkDecodeRotation(b *testing.B) { benchDecode(b, []string{otherSecret, secret}, secret) }

// BenchmarkDecodeLarge: a 64 KiB payload, where the HMAC over the body dominates.
func BenchmarkDecodeLarge(b *testing.B) {
	src, err := standardwebhooks.New([]string{secret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"type":"user.updated","timestamp":"2024-03-01T12:00:00.5Z","data":{"id":"user_1","bio":"` +
		string(bytes.Repeat([]byte("x"), 64<<10)) + `"}}`)
	h := standardwebhooks.Sign(msgID, time.Now(), body, secret)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Decode(h, body); err != nil {
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
	h, err := standardwebhooks.NewHandler([]string{secret}, discard{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := standardwebhooks.SampleEvent(evType, subject, created)
	sig := standardwebhooks.Sign(msgID, time.Now(), body, secret)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodPost, "/webhook", nil)
		req.Header = sig.Clone()
		req.ContentLength = int64(len(body))
		r := bytes.NewReader(body)
		rc := io.NopCloser(r)
		w := &nopWriter{hdr: http.Header{}}
		for pb.Next() {
			r.Reset(body)
			req.Body = rc
			clear(w.hdr)
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}
