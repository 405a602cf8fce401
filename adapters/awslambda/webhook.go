package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/emitter"
)

// Acceptor verifies, decodes and sends one webhook delivery; [*emitter.Handler] implements it
// (build one with stripehook.NewHandler).
type Acceptor interface {
	Accept(ctx context.Context, header http.Header, body []byte) emitter.Response
}

var _ Acceptor = (*emitter.Handler)(nil)

// WebhookOptions configures a [Webhook]. A nil *WebhookOptions and zero fields mean the defaults.
type WebhookOptions struct {
	// MaxBodyBytes is the largest body accepted, after base64 decoding; a larger one is answered
	// with 413 before it is decoded. Default emitter.DefaultMaxBodyBytes (1 MiB). Set it to the
	// emitter.HandlerOptions.MaxBodyBytes of the Acceptor, which checks it again.
	MaxBodyBytes int64
}

// Webhook answers webhook deliveries that reach a Lambda function through a Function URL or API
// Gateway. Its methods never return an error: every outcome, including a failed send (503), is
// an HTTP response, because an error would make the service answer 502 without a Retry-After.
// A Webhook is safe for concurrent use.
type Webhook struct {
	acc     Acceptor
	maxBody int64
}

// NewWebhook returns a Webhook that hands each delivery to acc.
func NewWebhook(acc Acceptor, opts *WebhookOptions) (*Webhook, error) {
	if acc == nil {
		return nil, errors.New("awslambda: NewWebhook: Acceptor is nil")
	}
	w := &Webhook{acc: acc, maxBody: emitter.DefaultMaxBodyBytes}
	if opts != nil && opts.MaxBodyBytes > 0 {
		w.maxBody = opts.MaxBodyBytes
	}
	return w, nil
}

// request is what the three payload formats have in common.
type request struct {
	method   string
	header   http.Header
	body     string
	isBase64 bool
}

// FunctionURL handles a request to a Lambda Function URL (payload format 2.0, header names in
// lower case, repeated headers joined by commas).
func (w *Webhook) FunctionURL(ctx context.Context, r events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	resp := w.serve(ctx, request{method: r.RequestContext.HTTP.Method, header: singleValued(r.Headers),
		body: r.Body, isBase64: r.IsBase64Encoded})
	return events.LambdaFunctionURLResponse{StatusCode: resp.Status, Headers: flatten(resp.Header()),
		Body: string(resp.Body())}, nil
}

// HTTPAPI handles a request through an API Gateway HTTP API with payload format 2.0.
func (w *Webhook) HTTPAPI(ctx context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := w.serve(ctx, request{method: r.RequestContext.HTTP.Method, header: singleValued(r.Headers),
		body: r.Body, isBase64: r.IsBase64Encoded})
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: flatten(resp.Header()),
		Body: string(resp.Body())}, nil
}

// RESTAPI handles a request through an API Gateway REST API with a Lambda proxy integration
// (payload format 1.0). Its multiValueHeaders are used when present, else its headers.
func (w *Webhook) RESTAPI(ctx context.Context, r events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	hdr := multiValued(r.MultiValueHeaders)
	if len(hdr) == 0 {
		hdr = singleValued(r.Headers)
	}
	resp := w.serve(ctx, request{method: r.HTTPMethod, header: hdr, body: r.Body, isBase64: r.IsBase64Encoded})
	return events.APIGatewayProxyResponse{StatusCode: resp.Status, Headers: flatten(resp.Header()),
		Body: string(resp.Body())}, nil
}

// payloadShape is enough of a request to tell the three formats apart.
type payloadShape struct {
	Version    string `json:"version"`
	HTTPMethod string `json:"httpMethod"`
}

// Invoke implements lambda.Handler (lambda.StartHandler(w)), for a function behind a Function
// URL, an HTTP API or a REST API: a payload with "httpMethod" is format 1.0 ([Webhook.RESTAPI]),
// any other format 2.0 ([Webhook.FunctionURL], whose request and response are those of an HTTP
// API too).
func (w *Webhook) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var shape payloadShape
	if err := json.Unmarshal(payload, &shape); err != nil {
		return nil, errors.New("awslambda: webhook invoked with a payload that is not a JSON object")
	}
	if shape.HTTPMethod != "" {
		var r events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &r); err != nil {
			return nil, errors.New("awslambda: webhook invoked with a malformed API Gateway REST API request")
		}
		resp, _ := w.RESTAPI(ctx, r)
		return json.Marshal(resp)
	}
	var r events.LambdaFunctionURLRequest
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, errors.New("awslambda: webhook invoked with a malformed Function URL or HTTP API request")
	}
	resp, _ := w.FunctionURL(ctx, r)
	return json.Marshal(resp)
}

// serve checks the method and body and hands the delivery to the Acceptor.
func (w *Webhook) serve(ctx context.Context, r request) emitter.Response {
	if r.method != http.MethodPost {
		return emitter.Response{Status: http.StatusMethodNotAllowed, Reason: emitter.ReasonMethodNotAllowed}
	}
	body, resp, ok := w.body(r)
	if !ok {
		return resp
	}
	return w.acc.Accept(ctx, r.header, body)
}

// body returns the request body, decoded from base64 when the service encoded it, or the
// response that refuses it.
func (w *Webhook) body(r request) ([]byte, emitter.Response, bool) {
	tooLarge := emitter.Response{Status: http.StatusRequestEntityTooLarge, Reason: emitter.ReasonBodyTooLarge}
	if !r.isBase64 {
		if int64(len(r.body)) > w.maxBody {
			return nil, tooLarge, false
		}
		return []byte(r.body), emitter.Response{}, true
	}
	if int64(base64.StdEncoding.DecodedLen(len(r.body))) > w.maxBody+2 { // +2: padding
		return nil, tooLarge, false
	}
	body, err := base64.StdEncoding.DecodeString(r.body)
	if err != nil {
		return nil, emitter.Response{Status: http.StatusBadRequest, Reason: emitter.ReasonUnreadableBody}, false
	}
	if int64(len(body)) > w.maxBody {
		return nil, tooLarge, false
	}
	return body, emitter.Response{}, true
}

// singleValued turns a map of header values (names in any case, as Function URLs and API
// Gateway give them) into an http.Header with canonical names. Names that differ only in case
// are merged.
func singleValued(h map[string]string) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		out.Add(k, v)
	}
	return out
}

// multiValued is singleValued for API Gateway's multiValueHeaders.
func multiValued(h map[string][]string) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			out.Add(k, v)
		}
	}
	return out
}

// flatten joins repeated response headers with commas, as the response formats carry one string
// per name.
func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ",")
	}
	return out
}
