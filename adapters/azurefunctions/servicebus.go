package azurefunctions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	// The processor's spans and metrics name Service Bus (messaging.system) through its
	// channel.Broker, which this package registers.
	_ "github.com/hookline/hookline/channel/azureservicebus"
)

// ServiceBusMessage is a message delivered by a serviceBusTrigger binding, decoded from an
// invocation request by [DecodeServiceBusMessage].
type ServiceBusMessage struct {
	// Body is the message body.
	Body []byte
	// MessageID, DeliveryCount (1 on the first delivery), SequenceNumber, EnqueuedTime,
	// ContentType, CorrelationID, SessionID and Subject come from the trigger metadata; each is
	// zero when the host did not send it.
	MessageID      string
	DeliveryCount  int
	SequenceNumber int64
	EnqueuedTime   time.Time
	ContentType    string
	CorrelationID  string
	SessionID      string
	Subject        string
	// Properties are the message's application properties (metadata "ApplicationProperties" of
	// the Service Bus extension 5.x, "UserProperties" of 4.x), as strings: numbers and booleans
	// in their JSON form.
	Properties map[string]string
}

// DecodeServiceBusMessage reads the message of the serviceBusTrigger binding called name from
// an invocation request.
//
// The host passes the body in one of these forms, told apart without ambiguity for a message
// whose body is a JSON object (as hookline's are):
//
//   - "dataType": "binary" in function.json: a base64 string of the exact bytes. Recommended.
//   - "dataType": "string": the text, as a JSON string, usually JSON-encoded a second time by the
//     host (a string holding "\"{...}\""); both levels are undone. Exact for UTF-8 bodies.
//   - no dataType: a JSON body may arrive parsed, as a JSON object; it is re-serialized as
//     received. The bytes then differ from the message (white space, and whatever the host's
//     JSON reader normalizes), which hookline's decoder tolerates, but set a dataType.
//
// A body in any other form is passed on as it is and, not being a hookline event, dead-lettered
// by the processor.
func DecodeServiceBusMessage(req InvokeRequest, name string) (ServiceBusMessage, error) {
	raw, ok := binding(req.Data, name)
	if !ok || isNull(raw) {
		return ServiceBusMessage{}, &BindingError{Binding: name, Found: keys(req.Data)}
	}
	body, err := messageBody(raw)
	if err != nil {
		return ServiceBusMessage{}, err
	}
	m := ServiceBusMessage{Body: body}
	md := req.Metadata
	m.MessageID = metaString(md, "MessageId")
	if n, ok := metaInt(md, "DeliveryCount"); ok && n > 0 && n < 1<<31 {
		m.DeliveryCount = int(n)
	}
	m.SequenceNumber, _ = metaInt(md, "SequenceNumber")
	m.EnqueuedTime = metaTime(md, "EnqueuedTimeUtc")
	m.ContentType = metaString(md, "ContentType")
	m.CorrelationID = metaString(md, "CorrelationId")
	m.SessionID = metaString(md, "SessionId")
	m.Subject = metaString(md, "Subject")
	if m.Subject == "" {
		m.Subject = metaString(md, "Label") // extension 4.x
	}
	if m.Properties, err = properties(md); err != nil {
		return ServiceBusMessage{}, err
	}
	return m, nil
}

// BindingError reports an invocation request without the expected binding: function.json names
// it differently from Options.Bindings.
type BindingError struct {
	Binding string
	Found   []string
}

func (e *BindingError) Error() string {
	return fmt.Sprintf("azurefunctions: invocation has no binding %q in Data (found %q): the binding's name in function.json must match Options.Bindings",
		e.Binding, e.Found)
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// messageBody undoes the host's encodings of a message body (see DecodeServiceBusMessage).
func messageBody(raw json.RawMessage) ([]byte, error) {
	t := bytes.TrimSpace(raw)
	switch t[0] {
	case '{', '[':
		return bytes.Clone(t), nil
	case '"':
	default:
		return nil, errors.New("azurefunctions: message body is neither a string nor a JSON object")
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, fmt.Errorf("azurefunctions: message body: %w", err)
	}
	if inner, ok := unquoteTwice(s); ok {
		s = inner // JSON-encoded a second time by the host
	}
	if strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{") {
		return []byte(s), nil // text of a JSON object; base64 never starts with '{'
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return []byte(s), nil
}

func metaString(md map[string]json.RawMessage, key string) string {
	raw, ok := binding(md, key)
	if !ok {
		return ""
	}
	s, _ := looseString(raw)
	return s
}

func metaInt(md map[string]json.RawMessage, key string) (int64, bool) {
	raw, ok := binding(md, key)
	if !ok {
		return 0, false
	}
	return looseInt(raw)
}

// metaTime reads a UTC time: RFC 3339, or without a zone (a .NET DateTime of unspecified kind).
func metaTime(md map[string]json.RawMessage, key string) time.Time {
	s := metaString(md, key)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// properties reads ApplicationProperties (or UserProperties): a JSON object, or a string
// holding one.
func properties(md map[string]json.RawMessage) (map[string]string, error) {
	raw, ok := binding(md, "ApplicationProperties")
	if !ok || isNull(raw) {
		if raw, ok = binding(md, "UserProperties"); !ok || isNull(raw) {
			return nil, nil
		}
	}
	t := bytes.TrimSpace(raw)
	if t[0] == '"' {
		s, _ := looseString(t)
		t = []byte(s)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(t, &obj); err != nil {
		return nil, fmt.Errorf("azurefunctions: application properties: %w", err)
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		if s, ok := propertyString(v); ok {
			out[k] = s
		}
	}
	return out, nil
}

// propertyString renders one application property: strings as they are, null dropped, anything
// else in its compact JSON form.
func propertyString(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	switch {
	case isNull(t):
		return "", false
	case t[0] == '"':
		var s string
		return s, json.Unmarshal(t, &s) == nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, t) != nil {
		return "", false
	}
	return buf.String(), true
}
