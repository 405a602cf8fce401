package serverlesstest

import (
	"encoding/base64"
	"encoding/json"
)

// LambdaFunctionURLRequest is a Function URL request as AWS documents it (payload format 2.0)
// carrying a Stripe delivery of body signed sig, with the body base64-encoded as Function URLs
// send a body whose content type is not text.
func LambdaFunctionURLRequest(method string, body []byte, sig string) []byte {
	return []byte(`{
  "version": "2.0",
  "rawPath": "/",
  "rawQueryString": "",
  "headers": {
    "content-type": "application/json; charset=utf-8",
    "stripe-signature": ` + quote(sig) + `,
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "accept": "*/*; q=0.5, application/xml",
    "cache-control": "no-cache",
    "x-amzn-tls-version": "TLSv1.3",
    "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
    "x-amzn-trace-id": "Root=1-65f1a2b3-0123456789abcdef01234567",
    "x-forwarded-proto": "https",
    "host": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.eu-west-1.on.aws",
    "x-forwarded-port": "443",
    "x-forwarded-for": "54.187.174.169"
  },
  "requestContext": {
    "accountId": "anonymous",
    "apiId": "abcdefghijklmnopqrstuvwxyz0123456",
    "domainName": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.eu-west-1.on.aws",
    "domainPrefix": "abcdefghijklmnopqrstuvwxyz0123456",
    "http": {
      "method": ` + quote(method) + `,
      "path": "/",
      "protocol": "HTTP/1.1",
      "sourceIp": "54.187.174.169",
      "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    },
    "requestId": "6f1c2b7e-3d4a-4b5c-9d8e-0f1a2b3c4d5e",
    "routeKey": "$default",
    "stage": "$default",
    "time": "01/Mar/2024:12:00:01 +0000",
    "timeEpoch": 1709294401000
  },
  "body": ` + quote(base64.StdEncoding.EncodeToString(body)) + `,
  "isBase64Encoded": true
}`)
}

// EventBridgeEvent is an EventBridge event as a rule delivers it to Lambda, with a Stripe event
// as its detail and typ as its detail-type.
func EventBridgeEvent(source, typ string, detail []byte) []byte {
	return []byte(`{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": ` + quote(typ) + `,
  "source": ` + quote(source) + `,
  "account": "123456789012",
  "time": "2024-03-01T12:00:01Z",
  "region": "eu-west-1",
  "resources": [],
  "detail": ` + string(detail) + `
}`)
}

// quote returns s as a JSON string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
