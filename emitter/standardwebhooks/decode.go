package standardwebhooks

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/jsonscan"
)

// Decode verifies the delivery's signature and decodes the event. It returns an error wrapping
// [emitter.ErrSkip] for an authentic event that [Options].Types does not select, and a
// [*emitter.RejectError] for a delivery it refuses (see the package documentation). The returned
// Event does not share memory with body.
func (s *Source) Decode(header http.Header, body []byte) (hookline.Event, error) {
	id, err := s.verify(header, body)
	if err != nil {
		return hookline.Event{}, err
	}
	p, err := decodePayload(body, s.subject)
	if err != nil {
		return hookline.Event{}, emitter.Reject(emitter.ReasonMalformed, err)
	}
	if !s.types.Allows(p.typ) {
		return hookline.Event{}, fmt.Errorf("standardwebhooks: event type not selected: %w", emitter.ErrSkip)
	}
	return hookline.Event{
		ID:      id,
		Source:  SourceName,
		Type:    p.typ,
		Subject: p.subject,
		Object:  objectOf(p.typ),
		Action:  hookline.ActionOfType(p.typ),
		Time:    p.at,
		Data:    bytes.Clone(p.data), // no alias of the body, which the handler reuses
	}, nil
}

// objectOf returns the object type that an event type names: the type up to its last full stop
// ("user" for "user.created"), or the whole type when it has none.
func objectOf(typ string) string {
	if i := strings.LastIndexByte(typ, '.'); i >= 0 {
		return typ[:i]
	}
	return typ
}

// payload is what the event takes from a body.
type payload struct {
	typ, subject string
	at           time.Time
	data         []byte // the raw "data" member, or the whole body
}

// rawPayload holds the raw values of the top-level members decodePayload reads, each the last
// occurrence of its name.
type rawPayload struct {
	typ, timestamp, data []byte
	root                 []byte // the member the subject pointer starts at
}

// Times a payload's timestamp may name: from the Unix epoch to the last instant that an RFC 3339
// time in UTC (the wire format's) can write.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// decodePayload validates body and reads the event from it in one pass over the top level (and
// one over the member the subject pointer starts at), reading it as encoding/json reads it into
// maps. The package documentation lists what it refuses. Errors wrap ErrMalformedEvent and never
// quote the body.
func decodePayload(body []byte, subject pointer) (payload, error) {
	var p payload
	if t := trimSpace(body); len(t) == 0 || t[0] != '{' {
		return p, malformed("not a JSON object")
	}
	raw, valid := scanPayload(body, subject.tokens[0])
	switch {
	case !valid:
		return p, malformed("not valid JSON")
	case !utf8.Valid(body):
		return p, malformed("not UTF-8 (RFC 8259 requires JSON text to be UTF-8)")
	}
	var err error
	if p.typ, err = text("type", raw.typ); err != nil {
		return p, err
	}
	if p.at, err = timestamp(raw.timestamp); err != nil {
		return p, err
	}
	if p.subject, err = subjectOf(raw.root, subject); err != nil {
		return p, err
	}
	p.data = raw.data
	if p.data == nil {
		p.data = trimSpace(body)
	}
	return p, nil
}

// scanPayload validates body and collects the raw values decodePayload reads; root is the name
// of the top-level member where the subject pointer starts.
func scanPayload(body []byte, root string) (rawPayload, bool) {
	var raw rawPayload
	valid := jsonscan.Walk(body, 1, func(path [][]byte, v []byte) {
		switch string(path[0]) {
		case "type":
			raw.typ = v
		case "timestamp":
			raw.timestamp = v
		case "data":
			raw.data = v
		}
		if string(path[0]) == root {
			raw.root = v
		}
	})
	return raw, valid
}

// text reads the member name, whose raw value is v: a non-empty JSON string without control
// characters.
func text(name string, v []byte) (string, error) {
	if v == nil || string(v) == "null" {
		return "", malformed("no %s", name)
	}
	if v[0] != '"' {
		return "", malformed("%s is not a string", name)
	}
	s, err := jsonscan.String(v)
	switch {
	case err != nil:
		return "", malformed("%s is not a string", name)
	case s == "":
		return "", malformed("%s is empty", name)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return "", malformed("%s contains the control character %U", name, []rune(s[i:])[0])
	}
	return s, nil
}

// timestamp reads the payload's timestamp, whose raw value is v.
func timestamp(v []byte) (time.Time, error) {
	s, err := text("timestamp", v)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed("timestamp is not an RFC 3339 time")
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, malformed("timestamp is not a time from 1970 to the year 9999")
	}
	return t.UTC(), nil
}

// subjectOf reads the string the subject pointer reaches from root.
func subjectOf(root []byte, subject pointer) (string, error) {
	v, ok := subject.resolve(root)
	if !ok {
		return "", malformed("the subject pointer reaches nothing")
	}
	return text("subject", v)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedEvent, fmt.Sprintf(format, args...))
}
