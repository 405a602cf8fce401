// Package gcpfunctionstest runs functions through the Go Functions Framework in a test binary and
// builds the requests that Google's services send them: Pub/Sub push requests and Eventarc's
// messagePublished CloudEvents, in binary and structured mode.
//
// The shapes follow Google's documentation of Pub/Sub push delivery (the JSON body with message,
// subscription and deliveryAttempt) and of Eventarc's Pub/Sub events (the push body as the data of
// a google.cloud.pubsub.topic.v1.messagePublished CloudEvent, with ce-* headers and content type
// application/json in binary mode).
package gcpfunctionstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

// StartFramework serves every registered function with funcframework.StartHostPort on a free
// loopback port, each at "/" + its name, and returns the server's base URL once it answers.
// Register the functions first (functions.HTTP, functions.CloudEvent). The framework keeps one
// global registry and cannot be stopped: call StartFramework once per test binary, from TestMain.
// It unsets FUNCTION_TARGET, with which the framework would serve only one function at "/".
func StartFramework() (string, error) {
	os.Unsetenv("FUNCTION_TARGET")
	var lastErr error
	for range 5 { // a port found free may be taken before the framework listens on it
		port, err := freePort()
		if err != nil {
			return "", err
		}
		failed := make(chan error, 1)
		go func() { failed <- funcframework.StartHostPort("127.0.0.1", port) }()
		addr := net.JoinHostPort("127.0.0.1", port)
		if lastErr = waitListening(addr, failed); lastErr == nil {
			return "http://" + addr, nil
		}
	}
	return "", lastErr
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func waitListening(addr string, failed <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-failed:
			return err
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("gcpfunctionstest: nothing listens on %s after 10s", addr)
}

// Subscription and Source name the subscription and topic the requests claim to come from.
const (
	Subscription = "projects/hookline-test/subscriptions/hookline"
	Source       = "//pubsub.googleapis.com/projects/hookline-test/topics/stripe-events"
)

// PushBody returns a Pub/Sub push request body for a message with data and attributes, as
// Pub/Sub sends it (with the snake_case duplicates of messageId and publishTime), and with
// deliveryAttempt when attempt is positive (Pub/Sub sends it only for subscriptions with a
// dead-letter policy).
func PushBody(data []byte, attributes map[string]string, attempt int) []byte {
	msg := map[string]any{
		"data":         base64.StdEncoding.EncodeToString(data),
		"messageId":    "2070443601311540",
		"message_id":   "2070443601311540",
		"publishTime":  "2024-02-26T19:13:55.749Z",
		"publish_time": "2024-02-26T19:13:55.749Z",
	}
	if len(attributes) > 0 {
		msg["attributes"] = attributes
	}
	body := map[string]any{"message": msg, "subscription": Subscription}
	if attempt > 0 {
		body["deliveryAttempt"] = attempt
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// BinaryCloudEvent returns a POST to url of a binary-mode CloudEvent of type typ with data as
// its body, with the headers Eventarc sends for a Pub/Sub message.
func BinaryCloudEvent(ctx context.Context, url, typ string, data []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Ce-Id", "2070443601311540")
	req.Header.Set("Ce-Source", Source)
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Time", "2024-02-26T19:13:55.749Z")
	return req, nil
}

// StructuredCloudEvent returns a POST to url of a structured-mode CloudEvent
// (application/cloudevents+json) of type typ with data, which must be JSON, as its data.
func StructuredCloudEvent(ctx context.Context, url, typ string, data []byte) (*http.Request, error) {
	ce := map[string]any{
		"specversion": "1.0", "id": "2070443601311541", "source": Source, "type": typ,
		"time": "2024-02-26T19:13:55.749Z", "datacontenttype": "application/json",
		"data": json.RawMessage(data),
	}
	b, err := json.Marshal(ce)
	if err != nil {
		return nil, fmt.Errorf("gcpfunctionstest: data is not JSON: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	return req, nil
}
