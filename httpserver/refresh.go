package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Defaults for the zero [RefreshOptions].
const (
	DefaultRefreshInterval = 6 * time.Hour
	DefaultRefreshMaxBytes = 64 << 10
	DefaultRefreshTimeout  = 10 * time.Second
)

// RefreshOptions replace the allowlist at run time from a JSON document of the shape Stripe
// publishes (stripehook.WebhookIPsURL), {"WEBHOOKS":["3.18.12.63", ...]}: once when Serve
// starts, then every Interval. A failed
// fetch, a body that is too large or malformed, or an empty or invalid list keeps the last good
// list (and is logged).
type RefreshOptions struct {
	// URL of the JSON document: for Stripe, stripehook.WebhookIPsURL. Required.
	URL string
	// Interval between fetches. Default 6h.
	Interval time.Duration
	// Client fetches the document. Default: a client with a 10s timeout.
	Client *http.Client
	// MaxBytes bounds the document. Default 64 KiB.
	MaxBytes int64
}

func (o RefreshOptions) withDefaults() RefreshOptions {
	setDefault(&o.Interval, DefaultRefreshInterval)
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultRefreshMaxBytes
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultRefreshTimeout}
	}
	return o
}

// RefreshAllowlist fetches the allowlist once now, as configured in AllowlistOptions.Refresh,
// and replaces the current list with it. On error the current list stays. It fails when the
// allowlist or its refresh is not configured.
func (s *Server) RefreshAllowlist(ctx context.Context) error {
	if s.allow == nil || s.allow.refresh == nil {
		return errors.New("httpserver: no allowlist refresh configured")
	}
	return s.allow.refreshOnce(ctx)
}

func (a *allowlist) refreshLoop(ctx context.Context) {
	if a.refresh == nil {
		return
	}
	t := time.NewTicker(a.refresh.Interval)
	defer t.Stop()
	for {
		if err := a.refreshOnce(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("httpserver: allowlist refresh failed; keeping the last good list", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *allowlist) refreshOnce(ctx context.Context) error {
	list, err := fetchIPs(ctx, a.refresh)
	if err != nil {
		return err
	}
	set, err := parseIPSet(list)
	if err != nil {
		return fmt.Errorf("httpserver: allowlist from %s: %w", a.refresh.URL, err)
	}
	a.allowed.Store(set)
	a.log.Info("httpserver: allowlist refreshed", "url", a.refresh.URL, "addresses", len(list))
	return nil
}

// fetchIPs downloads and decodes the WEBHOOKS list at o.URL.
func fetchIPs(ctx context.Context, o *RefreshOptions) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("httpserver: allowlist refresh: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpserver: allowlist refresh: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("httpserver: allowlist refresh from %s: status %d", o.URL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("httpserver: allowlist refresh from %s: %w", o.URL, err)
	}
	if int64(len(body)) > o.MaxBytes {
		return nil, fmt.Errorf("httpserver: allowlist refresh from %s: body larger than %d bytes", o.URL, o.MaxBytes)
	}
	var doc struct {
		Webhooks []string `json:"WEBHOOKS"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("httpserver: allowlist refresh from %s: malformed JSON: %w", o.URL, err)
	}
	if len(doc.Webhooks) == 0 {
		return nil, fmt.Errorf("httpserver: allowlist refresh from %s: no WEBHOOKS addresses", o.URL)
	}
	return doc.Webhooks, nil
}
