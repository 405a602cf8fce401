package azurefunctions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// InvokeRequest is the body of the host's invocation request to a custom handler: Data holds
// the trigger and input binding values by binding name, Metadata the trigger metadata.
//
// The values are kept raw because the host serializes them loosely (see [ServiceBusMessage]).
type InvokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is the custom handler's answer to an invocation: Outputs by output binding
// name, Logs for the invocation log (Application Insights), and ReturnValue for a $return
// binding.
type InvokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// HTTPResponse is the value of an http output binding in [InvokeResponse.Outputs].
//
// The host reads it into its HttpOutputBindingResponse type, whose StatusCode and Status are
// strings and which some host versions require to have all four members; so all four are
// always written, with StatusCode and Status the same decimal code.
type HTTPResponse struct {
	StatusCode string            `json:"statusCode"`
	Status     string            `json:"status"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// HTTPRequest is the value of an httpTrigger binding in an invocation request, as the host
// builds it from the original request (Url, Method, Query, Headers, Params, Body).
type HTTPRequest struct {
	URL    string
	Method string
	// Header holds the request headers under canonical keys.
	Header http.Header
	// Params holds the route parameters.
	Params map[string]string
	// Body is the request body. The host passes a text body as a string and an
	// application/octet-stream or multipart body as base64; both are turned back into bytes.
	Body []byte
}

// rawHTTPRequest is the JSON shape of the httpTrigger value. Query is a JSON object in current
// hosts and a JSON-encoded string in older ones; it is not needed and not decoded.
type rawHTTPRequest struct {
	URL     string                     `json:"Url"`
	Method  string                     `json:"Method"`
	Headers map[string]json.RawMessage `json:"Headers"`
	Params  map[string]json.RawMessage `json:"Params"`
	Body    json.RawMessage            `json:"Body"`
}

// DecodeHTTPRequest decodes the httpTrigger value raw (Data.<binding> of an invocation request).
func DecodeHTTPRequest(raw json.RawMessage) (HTTPRequest, error) {
	var r rawHTTPRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		return HTTPRequest{}, fmt.Errorf("azurefunctions: http trigger value: %w", err)
	}
	req := HTTPRequest{URL: r.URL, Method: strings.ToUpper(r.Method), Header: make(http.Header, len(r.Headers))}
	for k, v := range r.Headers {
		vals, err := stringList(v)
		if err != nil {
			return HTTPRequest{}, fmt.Errorf("azurefunctions: http trigger header %q: %w", k, err)
		}
		for _, s := range vals {
			req.Header.Add(k, s)
		}
	}
	if len(r.Params) > 0 {
		req.Params = make(map[string]string, len(r.Params))
		for k, v := range r.Params {
			var s string
			if json.Unmarshal(v, &s) == nil {
				req.Params[k] = s
			}
		}
	}
	body, err := requestBody(r.Body, req.Header.Get("Content-Type"))
	if err != nil {
		return HTTPRequest{}, err
	}
	req.Body = body
	return req, nil
}

// requestBody turns the Body member back into bytes: absent or null when the request had none,
// base64 for the media types the host reads as bytes (application/octet-stream, multipart/*),
// and otherwise the text itself.
func requestBody(raw json.RawMessage, contentType string) ([]byte, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("azurefunctions: http trigger Body is not a string")
	}
	if binaryMedia(contentType) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("azurefunctions: http trigger Body of %s is not base64: %w", contentType, err)
		}
		return b, nil
	}
	return []byte(s), nil
}

// binaryMedia reports whether the host passes a body of this content type as bytes (base64).
func binaryMedia(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

// NewHTTPResponse renders an HTTP answer as the value of an http output binding. Headers with
// several values are joined with ", ".
func NewHTTPResponse(status int, header http.Header, body []byte) HTTPResponse {
	code := strconv.Itoa(status)
	h := make(map[string]string, len(header))
	for k, v := range header {
		h[k] = strings.Join(v, ", ")
	}
	return HTTPResponse{StatusCode: code, Status: code, Body: string(body), Headers: h}
}

// binding returns data[name], or the one key that equals name ignoring case (the host's JSON
// reader matches names that way).
func binding(data map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := data[name]; ok {
		return v, true
	}
	for k, v := range data {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// looseString reads a metadata value the way the host may have written it: a JSON string, a
// JSON string holding a JSON-encoded string (the host encodes scalar values with
// JsonConvert.SerializeObject before serializing the payload), a number or a boolean. It
// reports false for null, objects and arrays.
func looseString(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", false
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			return "", false
		}
		if inner, ok := unquoteTwice(s); ok {
			return inner, true
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	default: // number, true, false
		return string(t), true
	}
}

// unquoteTwice reports the string s encodes when s is itself a JSON string literal.
func unquoteTwice(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) != nil {
		return "", false
	}
	return inner, true
}

// looseInt reads an integer metadata value (see looseString).
func looseInt(raw json.RawMessage) (int64, bool) {
	s, ok := looseString(raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// stringList reads a header value: an array of strings (the documented shape) or one string.
func stringList(raw json.RawMessage) ([]string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var vals []string
		if err := json.Unmarshal(t, &vals); err != nil {
			return nil, err
		}
		return vals, nil
	}
	if isNull(t) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, errors.New("not a string or an array of strings")
	}
	return []string{s}, nil
}
