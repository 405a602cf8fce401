// Package swsign signs Standard Webhooks deliveries for tests, written from the specification
// (standardwebhooks.com, v1.0.0, "Signature scheme") and not from package
// emitter/standardwebhooks, so that the tests that use it check that package against the spec
// rather than against itself: the signed content is "<webhook-id>.<webhook-timestamp>.<body>",
// the key is the base64 after the secret's "whsec_" prefix, and the signature header holds
// "v1,<base64 of HMAC-SHA256>".
package swsign

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Secret returns a fresh secret in the spec's format: "whsec_" and the base64 of 32 random bytes.
func Secret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// Headers returns the webhook-id, webhook-timestamp and webhook-signature headers of a delivery
// of body with id, signed at at with secret. It panics on a secret not in the spec's format.
func Headers(secret, id string, at time.Time, body []byte) http.Header {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(fmt.Sprintf("swsign: secret is not whsec_<base64>: %v", err))
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// Payload returns a delivery body as Standard Webhooks senders write it: {"type": typ,
// "timestamp": at in RFC 3339 with its fraction, "data": {"id": subject, "name": name}}.
func Payload(typ, subject, name string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"type":%q,"timestamp":%q,"data":{"id":%q,"name":%q}}`,
		typ, at.UTC().Format(time.RFC3339Nano), subject, name)
}

// Post sends body to url with the headers of Headers and returns the status.
func Post(client *http.Client, url, secret, id string, at time.Time, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	for k, v := range Headers(secret, id, at, body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
