package awslambda_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
)

func newWebhook(t *testing.T, dst emitter.Sender, maxBody int64) *awslambda.Webhook {
	t.Helper()
	h, err := stripehook.NewHandler([]string{secret}, dst, nil, &emitter.HandlerOptions{MaxBodyBytes: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	w, err := awslambda.NewWebhook(h, &awslambda.WebhookOptions{MaxBodyBytes: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// functionURLRequest is a Function URL request as AWS documents it (payload format 2.0), with the
// body base64-encoded as Function URLs send a body whose content type is not text.
func functionURLRequest(method string, body []byte, sig string) string {
	return string(serverlesstest.LambdaFunctionURLRequest(method, body, sig))
}

// restAPIRequest is an API Gateway REST API proxy request (payload format 1.0) with the header
// names as Stripe sends them and a plain-text body.
func restAPIRequest(method string, body []byte, sig string) string {
	return `{
  "resource": "/stripe/webhook",
  "path": "/stripe/webhook",
  "httpMethod": ` + quote(method) + `,
  "headers": {
    "Content-Type": "application/json; charset=utf-8",
    "Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    "Stripe-Signature": ` + quote(sig) + `,
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "X-Forwarded-For": "54.187.174.169"
  },
  "multiValueHeaders": {
    "Content-Type": ["application/json; charset=utf-8"],
    "Host": ["a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"],
    "Stripe-Signature": [` + quote(sig) + `],
    "User-Agent": ["Stripe/1.0 (+https://stripe.com/docs/webhooks)"],
    "X-Forwarded-For": ["54.187.174.169"]
  },
  "queryStringParameters": null,
  "multiValueQueryStringParameters": null,
  "pathParameters": null,
  "stageVariables": null,
  "requestContext": {
    "resourceId": "abc123",
    "resourcePath": "/stripe/webhook",
    "httpMethod": ` + quote(method) + `,
    "extendedRequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "requestTime": "01/Mar/2024:12:00:01 +0000",
    "path": "/prod/stripe/webhook",
    "accountId": "123456789012",
    "protocol": "HTTP/1.1",
    "stage": "prod",
    "domainPrefix": "a1b2c3d4e5",
    "requestTimeEpoch": 1709294401000,
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "identity": {"sourceIp": "54.187.174.169", "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
    "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    "apiId": "a1b2c3d4e5"
  },
  "body": ` + quote(string(body)) + `,
  "isBase64Encoded": false
}`
}

// answer is the part of a response the tests check.
type answer struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func invoke(t *testing.T, w *awslambda.Webhook, payload string) answer {
	t.Helper()
	out, err := w.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var a answer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return a
}

func TestFunctionURLBase64Body(t *testing.T) {
	rec := &recorder{}
	w := newWebhook(t, rec, 0)
	p, id := sample(t, "customer.updated")
	a := invoke(t, w, functionURLRequest("POST", p, stripehook.Sign(p, secret, time.Now())))
	if a.StatusCode != 200 || a.Body != `{"received":true,"id":"`+id+`"}` {
		t.Fatalf("got %d %s", a.StatusCode, a.Body)
	}
	if a.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers = %v", a.Headers)
	}
	sent := rec.sent()
	if len(sent) != 1 || sent[0].ID != id || sent[0].Subject != customerID || sent[0].Type != "customer.updated" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestFunctionURLTyped(t *testing.T) {
	rec := &recorder{}
	w := newWebhook(t, rec, 0)
	p, _ := sample(t, "customer.created")
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal([]byte(functionURLRequest("POST", p, "t=1,v1=00")), &req); err != nil {
		t.Fatal(err)
	}
	resp, err := w.FunctionURL(context.Background(), req)
	if err != nil || resp.StatusCode != 400 || resp.Body != `{"error":"invalid signature"}` {
		t.Fatalf("bad signature: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	req.Body = "%%% not base64"
	resp, _ = w.FunctionURL(context.Background(), req)
	if resp.StatusCode != 400 || resp.Body != `{"error":"unreadable body"}` {
		t.Errorf("bad base64: %d %s", resp.StatusCode, resp.Body)
	}
	if len(rec.sent()) != 0 {
		t.Error("refused deliveries were sent")
	}
}

func TestHTTPAPI(t *testing.T) {
	rec := &recorder{}
	w := newWebhook(t, rec, 0)
	p, id := sample(t, "customer.created")
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(functionURLRequest("POST", p, stripehook.Sign(p, secret, time.Now()))), &req); err != nil {
		t.Fatal(err)
	}
	req.RouteKey, req.RawPath = "POST /stripe/webhook", "/stripe/webhook"
	resp, err := w.HTTPAPI(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, id) {
		t.Fatalf("got %d %s %v", resp.StatusCode, resp.Body, err)
	}
}

func TestRESTAPI(t *testing.T) {
	rec := &recorder{}
	w := newWebhook(t, rec, 0)
	p, id := sample(t, "customer.deleted")
	a := invoke(t, w, restAPIRequest("POST", p, stripehook.Sign(p, secret, time.Now())))
	if a.StatusCode != 200 || a.Body != `{"received":true,"id":"`+id+`"}` {
		t.Fatalf("got %d %s", a.StatusCode, a.Body)
	}
	// Only single-valued headers, as a REST API sends when multiValueHeaders is absent.
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal([]byte(restAPIRequest("POST", p, stripehook.Sign(p, secret, time.Now()))), &req); err != nil {
		t.Fatal(err)
	}
	req.MultiValueHeaders = nil
	resp, _ := w.RESTAPI(context.Background(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("headers only: %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(rec.sent()); n != 2 {
		t.Errorf("sent %d events, want 2", n)
	}
}

func TestWebhookRefusals(t *testing.T) {
	rec := &recorder{}
	w := newWebhook(t, rec, 4096)
	p, _ := sample(t, "customer.created")
	sig := stripehook.Sign(p, secret, time.Now())
	big := append(p, make([]byte, 4096)...)
	for name, tc := range map[string]struct {
		payload string
		status  int
		header  string
	}{
		"GET function URL": {functionURLRequest("GET", p, sig), 405, "Allow"},
		"GET REST API":     {restAPIRequest("GET", p, sig), 405, "Allow"},
		"big base64 body":  {functionURLRequest("POST", big, sig), 413, ""},
		"big plain body":   {restAPIRequest("POST", big, sig), 413, ""},
		"no signature":     {restAPIRequest("POST", p, ""), 400, ""},
	} {
		a := invoke(t, w, tc.payload)
		if a.StatusCode != tc.status || (tc.header != "" && a.Headers[tc.header] == "") {
			t.Errorf("%s: got %d %v %s", name, a.StatusCode, a.Headers, a.Body)
		}
	}
	if len(rec.sent()) != 0 {
		t.Error("refused deliveries were sent")
	}
}

func TestWebhookSendFailureIs503(t *testing.T) {
	rec := &recorder{fail: true}
	w := newWebhook(t, rec, 0)
	p, _ := sample(t, "customer.created")
	a := invoke(t, w, functionURLRequest("POST", p, stripehook.Sign(p, secret, time.Now())))
	if a.StatusCode != 503 || a.Headers["Retry-After"] != "5" {
		t.Errorf("got %d %v %s", a.StatusCode, a.Headers, a.Body)
	}
}

func TestInvokeRefusesNonJSON(t *testing.T) {
	w := newWebhook(t, &recorder{}, 0)
	if _, err := w.Invoke(context.Background(), []byte(`"just a string"`)); err == nil {
		t.Error("Invoke accepted a payload that is not an object")
	}
	if _, err := awslambda.NewWebhook(nil, nil); err == nil {
		t.Error("NewWebhook accepted a nil Acceptor")
	}
}
