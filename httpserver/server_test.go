package httpserver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/httpserver"
)

// A signed event goes over real HTTP through the webhook, the mem:// channel and the consumer
// into the sink; the probes answer; deliveries that must not be sent are not.
func TestEndToEnd(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(nil)
	c := &http.Client{Timeout: 10 * time.Second}

	if st, body := get(t, c, s.base+"/healthz"); st != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", st, body)
	}
	if st, body := get(t, c, s.base+"/readyz"); st != 200 || body != "ok\n" {
		t.Fatalf("/readyz = %d %q", st, body)
	}
	if st, err := r.post(c, s.base+"/webhook", "cus_e2e", nil); err != nil || st != 200 {
		t.Fatalf("webhook answered %d, %v", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.mem.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.mem.Get("cus_e2e"); !ok {
		t.Fatalf("sink lacks cus_e2e: %+v", r.mem.Records())
	}

	// Refused deliveries send nothing.
	body, _ := r.signed("cus_forged")
	req, _ := http.NewRequest(http.MethodPost, s.base+"/webhook", strings.NewReader(string(body)))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, "whsec_wrong", time.Now()))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged signature answered %d, want 400", resp.StatusCode)
	}
	if st, _ := get(t, c, s.base+"/webhook"); st != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook answered %d, want 405", st)
	}
	if got := r.sent.Load(); got != 1 {
		t.Errorf("%d events sent, want 1", got)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
}

// The webhook route is configurable.
func TestWebhookPattern(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(&httpserver.Options{WebhookPattern: "POST /hooks/stripe"})
	c := &http.Client{Timeout: 10 * time.Second}
	if st, err := r.post(c, s.base+"/hooks/stripe", "cus_route", nil); err != nil || st != 200 {
		t.Fatalf("configured route answered %d, %v", st, err)
	}
	if st, err := r.post(c, s.base+"/webhook", "cus_route", nil); err != nil || st != http.StatusNotFound {
		t.Fatalf("default route answered %d, %v; want 404", st, err)
	}
}

// Without a consumer, readiness follows the sender: it fails once the sender does (here: it is
// shut down), while liveness holds.
func TestReadinessFollowsTheSender(t *testing.T) {
	r := newRig(t, rigOptions{})
	srv, err := httpserver.New(r.webhook, httpserver.Pipeline{Sender: r.sender}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, srv, "http")
	c := &http.Client{Timeout: 10 * time.Second}
	if st, _ := get(t, c, s.base+"/readyz"); st != 200 {
		t.Fatalf("/readyz = %d before the failure", st)
	}
	if err := r.sender.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, body := get(t, c, s.base+"/readyz"); st != 503 || body != httpserver.ReasonChannelUnavailable+"\n" {
		t.Fatalf("/readyz = %d %q after the sender failed", st, body)
	}
	if st, _ := get(t, c, s.base+"/healthz"); st != 200 {
		t.Fatalf("/healthz = %d", st)
	}
	if st, err := r.post(c, s.base+"/webhook", "cus_gone", nil); err != nil || st != 503 {
		t.Fatalf("webhook answered %d, %v; want 503", st, err)
	}
}

// Shutting down while deliveries are in flight (slow broker, slow sink) loses nothing: every event
// answered 200 is in the sink when Serve returns.
func TestShutdownLosesNothingInFlight(t *testing.T) {
	r := newRig(t, rigOptions{sendDelay: 20 * time.Millisecond, sinkDelay: 5 * time.Millisecond})
	s := r.serve(&httpserver.Options{ShutdownTimeout: 20 * time.Second})
	c := &http.Client{Timeout: 10 * time.Second}
	var (
		mu       sync.Mutex
		accepted []string
		wg       sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("cus_%d_%d", w, i)
				st, err := r.post(c, s.base+"/webhook", id, nil)
				if err != nil {
					return // the server stopped listening
				}
				if st == 200 {
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 10*time.Second, "40 accepted events", func() bool { return r.sent.Load() >= 40 })
	if err := s.stop(); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range accepted {
		if _, ok := r.mem.Get(id); !ok {
			t.Errorf("%s was answered 200 but is not in the sink", id)
		}
	}
	t.Logf("%d accepted, %d in the sink", len(accepted), r.mem.Len())
	if len(accepted) < 40 {
		t.Fatalf("only %d accepted", len(accepted))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	r := newRig(t, rigOptions{})
	tests := map[string]struct {
		webhook http.Handler
		pipe    httpserver.Pipeline
		opts    *httpserver.Options
	}{
		"nil webhook":        {nil, r.pipe, nil},
		"no sender":          {r.webhook, httpserver.Pipeline{}, nil},
		"cert without key":   {r.webhook, r.pipe, &httpserver.Options{CertFile: "cert.pem"}},
		"missing cert files": {r.webhook, r.pipe, &httpserver.Options{CertFile: "nope.pem", KeyFile: "nope.key"}},
		"TLS without cert":   {r.webhook, r.pipe, &httpserver.Options{TLSConfig: &tls.Config{}}},
		"bad allowed IP": {r.webhook, r.pipe, &httpserver.Options{
			Allowlist: &httpserver.AllowlistOptions{IPs: []string{"3.18.12"}}}},
		"bad proxy CIDR": {r.webhook, r.pipe, &httpserver.Options{
			Allowlist: &httpserver.AllowlistOptions{TrustedProxies: []string{"10.0.0.0/33"}}}},
	}
	for name, tc := range tests {
		if _, err := httpserver.New(tc.webhook, tc.pipe, tc.opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "httpserver: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

// A server without a consumer (the webhook alone) serves and shuts its sender down.
func TestWebhookOnly(t *testing.T) {
	r := newRig(t, rigOptions{})
	srv, err := httpserver.New(r.webhook, httpserver.Pipeline{Sender: r.sender}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, srv, "http")
	c := &http.Client{Timeout: 10 * time.Second}
	if st, _ := get(t, c, s.base+"/readyz"); st != 200 {
		t.Fatalf("/readyz = %d", st)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if r.sender.Health() == nil {
		t.Error("sender still healthy after Serve returned: it was not shut down")
	}
	r.recv.Shutdown(context.Background())
}

// A consumer that fails for good (here: its receiver was shut down under it) ends Serve with an
// error, after the ordered shutdown.
func TestConsumerFailureEndsServe(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(nil)
	if err := r.recv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "httpserver: consumer stopped") {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running after its consumer failed")
	}
	if r.sender.Health() == nil {
		t.Error("sender not shut down")
	}
}

// Options.Metrics is served at GET /metrics next to the webhook; without it there is no /metrics.
func TestMetricsEndpoint(t *testing.T) {
	c := &http.Client{Timeout: 10 * time.Second}
	for _, withMetrics := range []bool{true, false} {
		r := newRig(t, rigOptions{})
		var opts httpserver.Options
		if withMetrics {
			opts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "hookline_test_total 1\n")
			})
		}
		s := r.serve(&opts)
		st, body := get(t, c, s.base+"/metrics")
		switch {
		case withMetrics && (st != 200 || body != "hookline_test_total 1\n"):
			t.Errorf("GET /metrics = %d %q, want the metrics handler's answer", st, body)
		case !withMetrics && st != http.StatusNotFound:
			t.Errorf("GET /metrics without Options.Metrics = %d, want 404", st)
		}
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
	}
}
