package gcpfunctions

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MessagePublishedType is the CloudEvent type of a Pub/Sub message delivered by Eventarc (a
// Cloud Functions --trigger-topic function).
const MessagePublishedType = "google.cloud.pubsub.topic.v1.messagePublished"

// PushRequest is the JSON body of a Pub/Sub push request, which is also the data of a
// messagePublished CloudEvent (Google's MessagePublishedData):
//
//	{"message":{"data":"<base64>","attributes":{"k":"v"},"messageId":"...","publishTime":"...",
//	            "orderingKey":"..."},
//	 "subscription":"projects/P/subscriptions/S","deliveryAttempt":3}
//
// deliveryAttempt is present only when the subscription has a dead-letter policy. Unknown fields
// (such as the snake_case duplicates message_id and publish_time that Pub/Sub also sends) are
// ignored.
type PushRequest struct {
	Message      Message `json:"message"`
	Subscription string  `json:"subscription"`
	// DeliveryAttempt is Pub/Sub's delivery attempt (1 on the first delivery), 0 when absent.
	DeliveryAttempt int `json:"deliveryAttempt,omitempty"`
}

// Message is a Pub/Sub message as a push request carries it.
type Message struct {
	// Data is the message body, decoded from the base64 of the request.
	Data        Base64            `json:"data,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	MessageID   string            `json:"messageId,omitempty"`
	PublishTime string            `json:"publishTime,omitempty"`
	OrderingKey string            `json:"orderingKey,omitempty"`
}

// Base64 is bytes that travel in JSON as a base64 string. Unmarshalling accepts what the
// protobuf JSON mapping of bytes accepts: standard or URL-safe alphabet, padded or not.
// Marshalling writes standard, padded base64, as Pub/Sub does.
type Base64 []byte

// MarshalJSON implements json.Marshaler.
func (b Base64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *Base64) UnmarshalJSON(raw []byte) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("gcpfunctions: message data is not a base64 string: %w", err)
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	out, err := enc.DecodeString(s)
	if err != nil {
		return fmt.Errorf("gcpfunctions: message data is not valid base64: %w", err)
	}
	*b = out
	return nil
}

// ErrNotPushRequest is wrapped by [DecodePushRequest]'s errors.
var ErrNotPushRequest = errors.New("gcpfunctions: not a Pub/Sub push request")

// DecodePushRequest decodes a push request body (or a messagePublished CloudEvent's data). It
// fails when body is not a JSON object with a "message" object.
func DecodePushRequest(body []byte) (PushRequest, error) {
	var probe struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return PushRequest{}, fmt.Errorf("%w: %v", ErrNotPushRequest, err)
	}
	if len(probe.Message) == 0 || probe.Message[0] != '{' {
		return PushRequest{}, fmt.Errorf("%w: no \"message\" object", ErrNotPushRequest)
	}
	var req PushRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return PushRequest{}, fmt.Errorf("%w: %v", ErrNotPushRequest, err)
	}
	if req.DeliveryAttempt < 0 {
		req.DeliveryAttempt = 0
	}
	return req, nil
}
