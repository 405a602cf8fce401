package dataverse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
)

// Dataverse error codes the sink treats specially.
const (
	// codeSegmentNotFound: the entity set (or another URL segment) does not exist ("Resource not
	// found for the segment 'x'", Learn: Troubleshoot Dataverse Web API client errors). A 404
	// with it is a configuration error, not an absent row.
	codeSegmentNotFound = "0x8006088a"
	// codeODataError: the request does not fit the table's definition, e.g. a property that does
	// not exist. Dataverse answers it with 400, and with 404 for some missing metadata.
	codeODataError = "0x80060888"
)

// configNotFound reports whether a 404 body says that the URL names no table or column (a
// configuration error) rather than no row.
func configNotFound(body []byte) bool {
	code := parseAPIError(body).Code
	return strings.EqualFold(code, codeSegmentNotFound) || code == codeODataError
}

// defaultRetryAfter is the wait asked for after a 429 that has no usable Retry-After.
const defaultRetryAfter = 5 * time.Second

// maxMessage bounds how much of Dataverse's error message goes into an error.
const maxMessage = 1000

// classify maps an HTTP status that the write path did not handle (412 and some 404s are) to a
// hookline code. This is the one table of the package:
//
//	401                  Unknown    (after one token refresh): fix the application user
//	403                  Unknown    missing privilege: fix the security role; events wait
//	408, 409, 429        Transient  timeout, concurrent create of the same key, throttled
//	other 4xx            Permanent  validation (400), missing table or column (404), 405,
//	                                413, 422, ...: the same request fails the same way again
//	5xx                  Transient
//	anything else        Unknown    (1xx, 3xx: a proxy or a redirect this sink does not follow)
func classify(status int) hookline.ErrorCode {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return hookline.Unknown
	case status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooManyRequests:
		return hookline.Transient
	case status >= 500 && status <= 599:
		return hookline.Transient
	case status >= 400 && status <= 499:
		return hookline.Permanent
	}
	return hookline.Unknown
}

// apiError is Dataverse's error body: {"error":{"code":"0x...","message":"..."}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// parseAPIError reads the error body; it returns zero values when body is not one.
func parseAPIError(body []byte) apiError {
	var b struct {
		Error apiError `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return apiError{}
	}
	if len(b.Error.Message) > maxMessage {
		b.Error.Message = b.Error.Message[:maxMessage] + "..."
	}
	return b.Error
}

// statusError turns an unhandled response into a classified error naming what was tried, the
// status, and Dataverse's error code and message.
func statusError(what string, r *response, now time.Time) error {
	e := parseAPIError(r.body)
	var detail strings.Builder
	fmt.Fprintf(&detail, "dataverse: %s: %d %s", what, r.status, http.StatusText(r.status))
	if e.Code != "" || e.Message != "" {
		fmt.Fprintf(&detail, ": Dataverse error %s: %s", e.Code, e.Message)
	}
	switch r.status {
	case http.StatusForbidden:
		detail.WriteString(" (the application user's security role lacks a privilege on this table)")
	case http.StatusNotFound:
		if configNotFound(r.body) {
			detail.WriteString(" (check the entity set name and the column names)")
		}
	case http.StatusBadRequest:
		if strings.Contains(e.Message, "does not exist on type") || strings.Contains(e.Message, "Could not find a property") {
			detail.WriteString(" (the table has no such column: `hookline check` lists what the configuration " +
				"needs, and `hookline dataverse setup` creates it)")
		}
	}
	code := classify(r.status)
	err := hookline.Errorf(code, "%s", detail.String())
	if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
		d := retryAfter(r.header.Get("Retry-After"), now)
		if d == 0 && r.status == http.StatusTooManyRequests {
			d = defaultRetryAfter
		}
		if d > 0 {
			return hookline.WithRetryAfter(fmt.Errorf("%w (retry after %v)", err, d), d)
		}
	}
	return err
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date. It returns 0 when v is
// empty, malformed or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
