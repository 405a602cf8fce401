package channel

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/jsonscan"
)

// FormatVersion is the version of the wire format written by [Encode], carried in the
// "hooklineversion" extension attribute. [Decode] reads this version and messages without the
// attribute (plain CloudEvents from other producers).
const FormatVersion = "1"

// ContentType is the content type of an encoded message, set as the "content-type" metadata.
const ContentType = "application/cloudevents+json; charset=utf-8"

// reserved are the attribute names the format uses itself; metadata may not take them.
var reserved = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true, "time": true,
	"datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
	"hooklineversion": true, "object": true, "action": true,
}

// ErrFormat is wrapped by every error [Decode] returns for a message that is not a valid encoded
// event. Such a message can never be processed: the consumer dead-letters it.
var ErrFormat = errors.New("channel: message is not a hookline event")

// Encode writes ev in the wire format: a CloudEvents 1.0 event in structured JSON mode.
//
//	{"specversion":"1.0","id":"evt_1","source":"stripe","type":"customer.created",
//	 "subject":"cus_1","time":"2024-01-02T03:04:05Z","hooklineversion":"1",
//	 "object":"customer","action":"created","livemode":"false", ...,
//	 "datacontenttype":"application/json","data":{...}}
//
// Event.Object and Event.Action travel as the extension attributes "object" and "action" (each
// when not empty); Time with all the precision it has (RFC 3339 with up to nine fractional
// digits).
//
// Metadata entries become string extension attributes, so their keys must be valid CloudEvents
// attribute names (lower-case ASCII letters and digits) and not one of the names above. Data that
// is valid UTF-8 JSON, with no white space around it and other than null, is embedded as "data";
// anything else is carried as "data_base64" with content type application/octet-stream, so any
// bytes survive unchanged.
//
// Whatever Encode accepts, [Decode] gives back unchanged (Time as the same instant, in UTC; an
// empty Metadata as nil). So Encode refuses what the format cannot carry exactly: strings (id,
// source, type, subject, metadata values) that are not valid UTF-8, and a Time outside the years
// 0000 to 9999 that RFC 3339 can write.
func Encode(ev hookline.Event) ([]byte, error) {
	if ev.ID == "" || ev.Source == "" || ev.Type == "" {
		return nil, fmt.Errorf("channel: encode: event needs id, source and type (got %q, %q, %q)", ev.ID, ev.Source, ev.Type)
	}
	if err := checkEncodable(ev); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 256+len(ev.Data)+32*len(ev.Metadata))
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, ev.ID)
	b = appendAttr(b, "source", ev.Source)
	b = appendAttr(b, "type", ev.Type)
	if ev.Subject != "" {
		b = appendAttr(b, "subject", ev.Subject)
	}
	if !ev.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = ev.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"hooklineversion":"`+FormatVersion+`"`...)
	if ev.Object != "" {
		b = appendAttr(b, "object", ev.Object)
	}
	if ev.Action != "" {
		b = appendAttr(b, "action", string(ev.Action))
	}
	for k, v := range ev.Metadata {
		b = appendAttr(b, k, v)
	}
	switch {
	case ev.Data == nil:
	case embeddable(ev.Data):
		b = append(b, `,"datacontenttype":"application/json","data":`...)
		b = append(b, ev.Data...)
	default:
		b = append(b, `,"datacontenttype":"application/octet-stream","data_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, ev.Data)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// checkEncodable refuses an event that Decode could not give back unchanged.
func checkEncodable(ev hookline.Event) error {
	for _, f := range [...]struct{ name, v string }{{"id", ev.ID}, {"source", ev.Source}, {"type", ev.Type},
		{"subject", ev.Subject}, {"object", ev.Object}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("channel: encode: event %s is not valid UTF-8", f.name)
		}
	}
	if err := checkAction(ev.Action); err != nil {
		return fmt.Errorf("channel: encode: %w", err)
	}
	if !ev.Time.IsZero() {
		if y := ev.Time.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("channel: encode: event time %d is outside the years 0000 to 9999 that RFC 3339 can write", y)
		}
	}
	for k, v := range ev.Metadata {
		if err := checkExtensionName(k); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("channel: encode: metadata %q is not valid UTF-8", k)
		}
	}
	return nil
}

// checkAction refuses an Action other than the three of package hookline (or none).
func checkAction(a hookline.Action) error {
	switch a {
	case "", hookline.Created, hookline.Updated, hookline.Deleted:
		return nil
	}
	return fmt.Errorf("action %q is not one of created, updated, deleted", a)
}

// embeddable reports whether data can stand in the message as the JSON value "data" and be read
// back byte for byte: valid JSON text (so UTF-8), without white space around it that a reader
// would drop, and not null, which means no data.
func embeddable(data []byte) bool {
	return len(data) > 0 && !isJSONSpace(data[0]) && !isJSONSpace(data[len(data)-1]) &&
		string(data) != "null" && utf8.Valid(data) && jsonscan.Valid(data)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func checkExtensionName(k string) error {
	if k == "" || reserved[k] {
		return fmt.Errorf("channel: encode: metadata key %q is reserved by the wire format", k)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("channel: encode: metadata key %q is not a CloudEvents attribute name: use lower-case letters a-z and digits only", k)
		}
	}
	return nil
}

func appendAttr(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does for quotes, backslashes
// and control characters, and replacing invalid UTF-8 with U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
