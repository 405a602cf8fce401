package emitter

import (
	"net/http"
	"time"
)

// Reasons the Handler itself gives. Sources give their own through [RejectError].
const (
	ReasonMethodNotAllowed = "method not allowed"
	ReasonBodyTooLarge     = "body too large"
	ReasonUnreadableBody   = "unreadable body"
	ReasonRejected         = "rejected"
	ReasonUnavailable      = "temporarily unavailable"
)

// Reasons the sources of this module give a refused delivery (400, through [Reject]), the same
// for every sender, so that the refusal metrics and alerts need one list.
const (
	ReasonMissingSignature = "missing signature header"
	ReasonInvalidHeader    = "invalid signature header"
	ReasonInvalidSignature = "invalid signature"
	ReasonTimestamp        = "timestamp outside tolerance"
	ReasonMalformed        = "malformed event"
)

// Response is how to answer one delivery: the result of [Handler.Accept].
//
// Its body ([Response.AppendBody]) is a tiny JSON object: {"received":true,"id":"evt_..."} when
// the event was sent, {"received":true,"skipped":true} when the Source skipped it, and
// {"error":"<reason>"} otherwise. [Response.Header] gives the headers to send with it.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Reason is a short fixed phrase for a status other than 200, such as "invalid signature".
	Reason string
	// EventID is the id of the event that was sent, on success.
	EventID string
	// Skipped reports a 200 for an authentic delivery the Source chose not to forward.
	Skipped bool
	// RetryAfter is how long the caller should wait before retrying, with 503.
	RetryAfter time.Duration
}

// AppendBody appends the JSON response body to b and returns the extended slice.
func (r Response) AppendBody(b []byte) []byte {
	switch {
	case r.Status >= 200 && r.Status <= 299 && r.Skipped:
		return append(b, `{"received":true,"skipped":true}`...)
	case r.Status >= 200 && r.Status <= 299:
		b = append(b, `{"received":true`...)
		// The id comes from a verified delivery; it is still only echoed when it needs no escaping.
		if r.EventID != "" && len(r.EventID) <= 255 && jsonSafe(r.EventID) {
			b = append(b, `,"id":"`...)
			b = append(b, r.EventID...)
			b = append(b, '"')
		}
		return append(b, '}')
	}
	reason := r.Reason
	if reason == "" || !jsonSafe(reason) {
		reason = http.StatusText(r.Status)
		if reason == "" {
			reason = ReasonRejected
		}
	}
	b = append(b, `{"error":"`...)
	b = append(b, reason...)
	return append(b, `"}`...)
}

// Body returns the JSON response body.
func (r Response) Body() []byte { return r.AppendBody(make([]byte, 0, 64)) }

// Header returns the headers to send with r: Content-Type, X-Content-Type-Options, Allow with 405
// and Retry-After (whole seconds, rounded up) with a positive RetryAfter.
func (r Response) Header() http.Header {
	h := http.Header{
		"Content-Type":           {contentTypeJSON[0]},
		"X-Content-Type-Options": {noSniff[0]},
	}
	if r.Status == http.StatusMethodNotAllowed {
		h["Allow"] = []string{http.MethodPost}
	}
	if r.RetryAfter > 0 {
		h["Retry-After"] = []string{retryAfterSeconds(r.RetryAfter)}
	}
	return h
}

// jsonSafe reports whether s can be written inside a JSON string as is: printable ASCII other
// than the quote and the backslash.
func jsonSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
