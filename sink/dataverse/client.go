package dataverse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hookline/hookline"
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 1 << 20

// response is what a request got back: the status, headers and at most maxResponse bytes of
// the body.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request is one Web API call.
type request struct {
	method string
	path   string // after the base URL, e.g. contacts(new_key='cus_1')?$select=...
	body   []byte // JSON, or nil
	header map[string]string
	what   string // for errors and logs: "PATCH contacts(new_key='cus_1') (event evt_1)"
	// maxResponse, if set, replaces maxResponse for this request.
	maxResponse int64
}

// maxThrottleWaits is how many times a request refused with 429 is sent again, each time after
// the pause its Retry-After asked for, before its error (which carries the Retry-After) is
// returned.
const maxThrottleWaits = 3

// maxThrottleWait is the longest Retry-After the sink waits itself; a longer one is returned as
// the error's RetryAfter for the consumer to honour.
const maxThrottleWait = time.Minute

// do sends req within the concurrency limit, with a bearer token; a 401 refreshes the token and
// sends once more, and a 429 pauses all of the sink's requests for its Retry-After and sends
// again (up to maxThrottleWaits times). It returns a response for any HTTP status, and an error
// only when no response came (ctx's error unwrapped, or a Transient network error) or the token
// was refused twice.
func (s *Sink) do(ctx context.Context, req request) (*response, error) {
	refreshed, waits := false, 0
	for {
		if err := s.lim.acquire(ctx); err != nil {
			return nil, err
		}
		resp, err := s.attempt(ctx, req)
		s.lim.release()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.status == http.StatusUnauthorized && !refreshed:
			refreshed = true
			continue
		case resp.status == http.StatusUnauthorized:
			return nil, s.auth.refusedError(req.what)
		case resp.status == http.StatusTooManyRequests:
			d := retryAfter(resp.header.Get("Retry-After"), s.o.Now())
			if d == 0 {
				d = defaultRetryAfter
			}
			s.lim.throttled(min(d, maxThrottleWait))
			s.log.WarnContext(ctx, "dataverse: throttled, pausing all requests", "request", req.what,
				"code", parseAPIError(resp.body).Code, "retry_after", d, "concurrency", s.lim.current())
			if waits < maxThrottleWaits && d <= maxThrottleWait {
				waits++
				continue
			}
		case resp.status < 500:
			s.lim.succeeded()
		}
		return resp, nil
	}
}

// attempt sends req once with a token, and on 401 invalidates that token.
func (s *Sink) attempt(ctx context.Context, req request) (*response, error) {
	tok, err := s.auth.token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := s.send(ctx, req, tok)
	if err != nil {
		return nil, err
	}
	hint, _ := strconv.Atoi(resp.header.Get("x-ms-dop-hint"))
	s.lim.answered(hint)
	if resp.status == http.StatusUnauthorized {
		s.log.DebugContext(ctx, "dataverse: 401, refreshing the token", "request", req.what)
		s.auth.invalidate(ctx, tok)
	}
	return resp, nil
}

// send makes one HTTP request.
func (s *Sink) send(ctx context.Context, req request, token string) (*response, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, s.base+req.path, body)
	if err != nil {
		return nil, hookline.Errorf(hookline.Permanent, "dataverse: %s: %w", req.what, err)
	}
	h := hr.Header
	h.Set("OData-MaxVersion", "4.0")
	h.Set("OData-Version", "4.0")
	h.Set("Accept", "application/json")
	if req.body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	for k, v := range s.bypass {
		h.Set(k, v)
	}
	for k, v := range req.header {
		h.Set(k, v)
	}
	h.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := s.client.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// *url.Error names the method and URL, never the headers: the token stays out.
		return nil, hookline.Errorf(hookline.Transient, "dataverse: %s: %w", req.what, err)
	}
	defer resp.Body.Close()
	limit := int64(maxResponse)
	if req.maxResponse > 0 {
		limit = req.maxResponse
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, hookline.Errorf(hookline.Transient, "dataverse: %s: reading the response: %w", req.what, err)
	}
	s.log.DebugContext(ctx, "dataverse: request", "request", req.what, "status", resp.StatusCode,
		"duration", time.Since(start))
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// defaultClient returns the HTTP client used when Options.HTTPClient is nil.
func defaultClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	t.MaxIdleConns = max(t.MaxIdleConns, conns)
	return &http.Client{
		Transport: t,
		Timeout:   2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // never replay the Authorization header elsewhere
		},
	}
}

// entityPath returns the path of the row of the entity set whose key column is id.
func (s *Sink) entityPath(id string) string {
	return fmt.Sprintf("%s(%s='%s')", s.o.EntitySet, s.o.KeyColumn, escapeKey(id))
}
