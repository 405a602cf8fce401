package stripeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError is one error answer in the shape of Stripe's error object
// (https://docs.stripe.com/api/errors): {"error":{"code","doc_url","message","param","type"}}.
type apiError struct {
	status  int
	header  http.Header // extra response headers, e.g. Stripe-Rate-Limited-Reason
	Code    string      `json:"code,omitempty"`
	DocURL  string      `json:"doc_url,omitempty"`
	Message string      `json:"message"`
	Param   string      `json:"param,omitempty"`
	Type    string      `json:"type"`
}

// Error types and codes Stripe documents (https://docs.stripe.com/error-codes).
const (
	typeInvalidRequest  = "invalid_request_error"
	codeResourceMissing = "resource_missing"
	codeRateLimit       = "rate_limit"
	codeLockTimeout     = "lock_timeout"
)

func (e *apiError) body() []byte {
	b, err := json.MarshalIndent(struct {
		Error *apiError `json:"error"`
	}{e}, "", "  ")
	if err != nil {
		panic("stripeapi: " + err.Error()) // cannot happen: strings only
	}
	return b
}

// docURL is the page Stripe links from an error with that code.
func docURL(code string) string {
	if code == "" {
		return ""
	}
	return "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
}

// invalid is a 400 invalid_request_error about param.
func invalid(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param,
		Message: fmt.Sprintf(format, args...)}
}

// unknownParam is Stripe's answer to a parameter the endpoint does not take.
func unknownParam(key string) *apiError {
	return invalid(key, "Received unknown parameter: %s", key)
}

// noSuch is Stripe's answer to an id that names nothing: 404 when the id is in the path,
// 400 when it is a parameter (a list cursor).
func noSuch(status int, noun, id, param string) *apiError {
	return &apiError{status: status, Type: typeInvalidRequest, Code: codeResourceMissing,
		DocURL: docURL(codeResourceMissing), Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", noun, id)}
}

// unrecognizedURL is Stripe's answer to a method and path it does not serve.
func unrecognizedURL(r *http.Request) *apiError {
	return &apiError{status: http.StatusNotFound, Type: typeInvalidRequest,
		Message: fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "+
			"or we can help at https://support.stripe.com/.", r.Method, r.URL.Path)}
}

// missingKey and invalidKey are the 401 answers of Stripe's authentication.
func missingKey() *apiError {
	return &apiError{status: http.StatusUnauthorized, Type: typeInvalidRequest,
		header: http.Header{"Www-Authenticate": {`Basic realm="Stripe"`}},
		Message: "You did not provide an API key. You need to provide your API key in the Authorization " +
			"header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See " +
			"https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."}
}

func invalidKey(key string) *apiError {
	return &apiError{status: http.StatusUnauthorized, Type: typeInvalidRequest,
		header:  http.Header{"Www-Authenticate": {`Basic realm="Stripe"`}},
		Message: "Invalid API Key provided: " + redactKey(key)}
}

// redactKey keeps a key's mode prefix and last four characters, as Stripe's message does.
func redactKey(key string) string {
	prefix := ""
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"} {
		if strings.HasPrefix(key, p) {
			prefix = p
			break
		}
	}
	rest := key[len(prefix):]
	if len(rest) <= 4 {
		return prefix + strings.Repeat("*", len(rest))
	}
	return prefix + strings.Repeat("*", len(rest)-4) + rest[len(rest)-4:]
}

// rateLimited is the answer of Stripe's rate limiter (https://docs.stripe.com/rate-limits):
// 429 with the Stripe-Rate-Limited-Reason header, code rate_limit, no Retry-After.
func rateLimited() *apiError {
	return &apiError{status: http.StatusTooManyRequests, Type: typeInvalidRequest,
		header: http.Header{"Stripe-Rate-Limited-Reason": {"global-rate"}},
		Code:   codeRateLimit, DocURL: docURL(codeRateLimit),
		Message: "Request rate limit exceeded. Too many requests hit the API too quickly. We recommend " +
			"an exponential backoff of your requests. Learn more about rate limits here " +
			"https://stripe.com/docs/rate-limits."}
}

// lockTimeout is Stripe's 429 for an object locked by another request (code lock_timeout).
func lockTimeout() *apiError {
	return &apiError{status: http.StatusTooManyRequests, Type: typeInvalidRequest,
		Code: codeLockTimeout, DocURL: docURL(codeLockTimeout),
		Message: "This object cannot be accessed right now because another API request or Stripe " +
			"process is currently accessing it. If you see this error intermittently, retry the " +
			"request. If you see this error frequently and are making multiple concurrent requests " +
			"to a single object, make your requests serially or at a lower rate."}
}
