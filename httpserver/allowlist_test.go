package httpserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/httpserver"
)

var client = &http.Client{Timeout: 10 * time.Second}

func xff(v ...string) http.Header { return http.Header{"X-Forwarded-For": v} }

// Off by default: a loopback peer, on no list, is served.
func TestAllowlistOff(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(nil)
	if st, err := r.post(client, s.base+"/webhook", "cus_any", nil); err != nil || st != 200 {
		t.Fatalf("answered %d, %v", st, err)
	}
}

// With the shipped Stripe list, a loopback peer is refused with 403 before its body is read, a
// forged X-Forwarded-For from an untrusted peer is ignored, and nothing is sent. The probes stay
// open.
func TestAllowlistRefusesOthers(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(&httpserver.Options{Allowlist: &httpserver.AllowlistOptions{IPs: stripehook.WebhookIPs()}})
	for _, h := range []http.Header{nil, xff(stripehook.WebhookIPs()[0])} {
		if st, err := r.post(client, s.base+"/webhook", "cus_blocked", h); err != nil || st != 403 {
			t.Fatalf("header %v: answered %d, %v; want 403", h, st, err)
		}
	}
	// A body that never arrives: a server that read it would hang instead of answering.
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/webhook", pr)
	req.Header.Set(stripehook.SignatureHeader, "t=1,v1=00")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("answered %d, want 403", resp.StatusCode)
	}
	if n := r.sent.Load(); n != 0 {
		t.Fatalf("%d events sent from a refused address", n)
	}
	if st, _ := get(t, client, s.base+"/readyz"); st != 200 {
		t.Fatalf("/readyz = %d behind the allowlist", st)
	}
}

// An allowed peer is served.
func TestAllowlistAllows(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(&httpserver.Options{Allowlist: &httpserver.AllowlistOptions{IPs: []string{"198.51.100.0/24", "127.0.0.1"}}})
	if st, err := r.post(client, s.base+"/webhook", "cus_ok", nil); err != nil || st != 200 {
		t.Fatalf("answered %d, %v", st, err)
	}
	if n := r.sent.Load(); n != 1 {
		t.Fatalf("%d events sent, want 1", n)
	}
}

// Behind a trusted proxy (the loopback peer), the rightmost untrusted X-Forwarded-For hop is
// judged.
func TestTrustedProxy(t *testing.T) {
	r := newRig(t, rigOptions{})
	s := r.serve(&httpserver.Options{Allowlist: &httpserver.AllowlistOptions{IPs: stripehook.WebhookIPs(),
		TrustedProxies: []string{"127.0.0.0/8", "10.1.0.0/16"}}})
	stripe := stripehook.WebhookIPs()[0]
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"stripe via the proxy", xff(stripe), 200},
		{"stripe via two trusted hops", xff(stripe + ", 10.1.2.3"), 200},
		{"stripe on two header lines", xff(stripe, "10.1.2.3:4711"), 200},
		{"spoofed left of an untrusted hop", xff(stripe + ", 203.0.113.9"), 403},
		{"untrusted client", xff("203.0.113.9"), 403},
		{"garbled hop", xff(stripe + ", not-an-ip"), 403},
		{"no header: the proxy itself", nil, 403},
		{"stripe as IPv4-in-IPv6", xff("::ffff:" + stripe), 200},
	}
	for _, tc := range tests {
		if st, err := r.post(client, s.base+"/webhook", "cus_proxy", tc.header); err != nil || st != tc.want {
			t.Errorf("%s: answered %d, %v; want %d", tc.name, st, err, tc.want)
		}
	}
}

// The list is replaced from a JSON document like Stripe's; a failed refresh keeps the last good
// list.
func TestAllowlistRefresh(t *testing.T) {
	var doc atomic.Value
	doc.Store(`{"WEBHOOKS":["198.51.100.7","198.51.100.8"]}`)
	var status atomic.Int64
	status.Store(200)
	ips := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, doc.Load().(string))
	}))
	defer ips.Close()

	r := newRig(t, rigOptions{})
	s := r.serve(&httpserver.Options{Allowlist: &httpserver.AllowlistOptions{
		TrustedProxies: []string{"127.0.0.1"},
		Refresh:        &httpserver.RefreshOptions{URL: ips.URL, Interval: time.Hour, Client: ips.Client(), MaxBytes: 1024},
	}})
	answer := func(addr string) int {
		st, err := r.post(client, s.base+"/webhook", "cus_refresh", xff(addr))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Serve fetches once at start.
	eventually(t, 10*time.Second, "the refreshed list", func() bool { return answer("198.51.100.7") == 200 })
	if st := answer(stripehook.WebhookIPs()[0]); st != 403 {
		t.Fatalf("an address no longer listed answered %d", st)
	}

	ctx := context.Background()
	for name, set := range map[string]func(){
		"server error":  func() { status.Store(500) },
		"malformed":     func() { status.Store(200); doc.Store(`{"WEBHOOKS":[`) },
		"bad address":   func() { doc.Store(`{"WEBHOOKS":["198.51.100.9","nonsense"]}`) },
		"empty list":    func() { doc.Store(`{"WEBHOOKS":[]}`) },
		"too large":     func() { doc.Store(`{"WEBHOOKS":["` + strings.Repeat("1", 2000) + `"]}`) },
		"wrong key":     func() { doc.Store(`{"API":["198.51.100.9"]}`) },
		"not JSON list": func() { doc.Store(`<html>maintenance</html>`) },
	} {
		set()
		if err := s.srv.RefreshAllowlist(ctx); err == nil {
			t.Errorf("%s: refresh succeeded", name)
		}
		if st := answer("198.51.100.8"); st != 200 {
			t.Fatalf("%s: the last good list was not kept (answered %d)", name, st)
		}
	}
	status.Store(200)
	doc.Store(`{"WEBHOOKS":["198.51.100.9"]}`)
	if err := s.srv.RefreshAllowlist(ctx); err != nil {
		t.Fatal(err)
	}
	if answer("198.51.100.9") != 200 || answer("198.51.100.8") != 403 {
		t.Fatal("a good refresh after failures did not replace the list")
	}
}

func TestRefreshNotConfigured(t *testing.T) {
	r := newRig(t, rigOptions{})
	srv, err := httpserver.New(r.webhook, r.pipe, &httpserver.Options{Allowlist: &httpserver.AllowlistOptions{IPs: []string{"127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RefreshAllowlist(context.Background()); err == nil {
		t.Fatal("RefreshAllowlist without Refresh options succeeded")
	}
}

// An allowlist needs its list and a refresh its URL: no sender's list is assumed.
func TestAllowlistNeedsItsList(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, a := range []*httpserver.AllowlistOptions{{}, {IPs: []string{"127.0.0.1"}, Refresh: &httpserver.RefreshOptions{}}} {
		if _, err := httpserver.New(r.webhook, r.pipe, &httpserver.Options{Allowlist: a}); err == nil ||
			!strings.Contains(err.Error(), "stripehook.WebhookIP") {
			t.Errorf("allowlist %+v: %v, want an error naming the sender's list", a, err)
		}
	}
}
