package httpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// AllowlistOptions restrict the webhook to known source addresses (see # Security).
type AllowlistOptions struct {
	// IPs are the addresses (or CIDR prefixes) that may call the webhook: the sender's
	// published list, such as stripehook.WebhookIPs() for Stripe. Required unless Refresh is
	// set, in which case nobody is allowed until its first fetch.
	IPs []string
	// TrustedProxies are the addresses or CIDR prefixes of reverse proxies and load balancers in
	// front of the server. Only when the immediate peer is one of them is X-Forwarded-For read,
	// from the right, skipping trusted hops: the first untrusted hop is the client. Default: none,
	// X-Forwarded-For is ignored.
	TrustedProxies []string
	// Refresh, when set, replaces the list at run time from a JSON document such as Stripe's.
	Refresh *RefreshOptions
}

// ReasonForbidden is the webhook's answer (403) to a caller outside the allowlist.
const ReasonForbidden = "forbidden"

// allowlist decides from a request's addresses whether it may reach the webhook.
type allowlist struct {
	allowed atomic.Pointer[ipSet]
	trusted *ipSet // nil: no trusted proxies
	refresh *RefreshOptions
	log     *slog.Logger
}

// ipSet is a set of single addresses plus prefixes, for lookups by address.
type ipSet struct {
	addrs    map[netip.Addr]struct{}
	prefixes []netip.Prefix
	source   []string // as configured, for logs
}

func parseIPSet(list []string) (*ipSet, error) {
	s := &ipSet{addrs: make(map[netip.Addr]struct{}, len(list)), source: list}
	for _, raw := range list {
		raw = strings.TrimSpace(raw)
		if strings.Contains(raw, "/") {
			p, err := netip.ParsePrefix(raw)
			if err != nil {
				return nil, fmt.Errorf("httpserver: bad CIDR prefix %q", raw)
			}
			s.prefixes = append(s.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("httpserver: bad IP address %q", raw)
		}
		s.addrs[a.Unmap()] = struct{}{}
	}
	return s, nil
}

func (s *ipSet) contains(a netip.Addr) bool {
	if s == nil {
		return false
	}
	a = a.Unmap()
	if _, ok := s.addrs[a]; ok {
		return true
	}
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func newAllowlist(o *AllowlistOptions, log *slog.Logger) (*allowlist, error) {
	if len(o.IPs) == 0 && o.Refresh == nil {
		return nil, errors.New("httpserver: AllowlistOptions.IPs is empty: give the addresses the sender publishes " +
			"(for Stripe, stripehook.WebhookIPs()) or a Refresh, or leave Options.Allowlist nil for no allowlist")
	}
	allowed, err := parseIPSet(o.IPs)
	if err != nil {
		return nil, err
	}
	a := &allowlist{log: log}
	a.allowed.Store(allowed)
	if len(o.TrustedProxies) > 0 {
		if a.trusted, err = parseIPSet(o.TrustedProxies); err != nil {
			return nil, err
		}
	}
	if o.Refresh != nil {
		if o.Refresh.URL == "" {
			return nil, errors.New("httpserver: RefreshOptions.URL is empty: give the URL of the sender's list (for Stripe, stripehook.WebhookIPsURL)")
		}
		r := o.Refresh.withDefaults()
		a.refresh = &r
	}
	return a, nil
}

// wrap returns next behind the allowlist: other callers get 403 before their body is read.
func (a *allowlist) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, ok := a.clientAddr(r)
		if !ok || !a.allowed.Load().contains(client) {
			a.log.Debug("httpserver: webhook caller not allowed", "peer", r.RemoteAddr, "client", client)
			forbid(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbid(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	// The body stays unread; closing the connection spares reading it to keep the connection.
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte(`{"error":"` + ReasonForbidden + `"}`))
}

// clientAddr returns the address the allowlist judges: the peer's, or, when the peer is a trusted
// proxy, the rightmost untrusted hop of X-Forwarded-For. ok is false for an address that cannot
// be parsed (a garbled forwarded header is refused, never skipped).
func (a *allowlist) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok || !a.trusted.contains(peer) {
		return peer, ok
	}
	hops := forwardedHops(r.Header.Values("X-Forwarded-For"))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			return netip.Addr{}, false
		}
		client = hop
		if !a.trusted.contains(hop) {
			break
		}
	}
	return client, true
}

// forwardedHops splits X-Forwarded-For header lines into hops, in order.
func forwardedHops(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, h := range strings.Split(line, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

// parseHop parses an address with or without a port ("203.0.113.7", "203.0.113.7:443",
// "2001:db8::1", "[2001:db8::1]:443").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
