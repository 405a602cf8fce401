package channel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookline/hookline"
)

// Decode reads an event written by [Encode], or any CloudEvents 1.0 event in structured JSON mode
// whose extension attributes are strings, numbers or booleans (they become Metadata as text).
// Data aliases body; callers that keep the event beyond body's life must copy it (Event.Clone).
// Every error wraps [ErrFormat].
func Decode(body []byte) (hookline.Event, error) {
	var ev hookline.Event
	if !json.Valid(body) {
		return ev, fmt.Errorf("%w: not valid JSON", ErrFormat)
	}
	s := scanner{b: body}
	s.skipSpace()
	if !s.consume('{') {
		return ev, fmt.Errorf("%w: not a JSON object", ErrFormat)
	}
	var spec, version string
	var dataB64 []byte
	hasB64 := false
	for s.skipSpace(); !s.consume('}'); s.skipSpace() {
		s.consume(',')
		s.skipSpace()
		key := s.str()
		s.skipSpace()
		s.consume(':')
		s.skipSpace()
		raw := s.value()
		var err error
		switch string(key) {
		case "specversion":
			spec, err = text(raw)
		case "id":
			ev.ID, err = text(raw)
		case "source":
			ev.Source, err = text(raw)
		case "type":
			ev.Type, err = text(raw)
		case "subject":
			ev.Subject, err = text(raw)
		case "time":
			ev.Time, err = parseTime(raw)
		case "hooklineversion":
			version, err = text(raw)
		case "data":
			if !bytes.Equal(raw, []byte("null")) {
				ev.Data = raw
			}
		case "data_base64":
			dataB64, hasB64 = raw, true
		case "datacontenttype", "dataschema":
		default:
			err = setMeta(&ev, string(key), raw)
		}
		if err != nil {
			return ev, fmt.Errorf("%w: attribute %q: %v", ErrFormat, key, err)
		}
	}
	if hasB64 {
		d, err := decodeBase64(dataB64)
		if err != nil {
			return ev, fmt.Errorf("%w: attribute \"data_base64\": %v", ErrFormat, err)
		}
		ev.Data = d
	}
	return ev, checkDecoded(ev, spec, version)
}

func checkDecoded(ev hookline.Event, spec, version string) error {
	switch {
	case spec != "1.0":
		return fmt.Errorf("%w: specversion %q, want \"1.0\"", ErrFormat, spec)
	case version != "" && version != FormatVersion:
		return fmt.Errorf("%w: hooklineversion %q is not supported (this build reads %q)", ErrFormat, version, FormatVersion)
	case ev.ID == "" || ev.Source == "" || ev.Type == "":
		return fmt.Errorf("%w: id, source and type are required", ErrFormat)
	}
	return nil
}

func setMeta(ev *hookline.Event, key string, raw []byte) error {
	var v string
	switch raw[0] {
	case '"':
		var err error
		if v, err = text(raw); err != nil {
			return err
		}
	case '{', '[':
		return fmt.Errorf("extension attributes must be strings, numbers or booleans")
	case 'n':
		return nil
	default:
		v = string(raw)
	}
	if ev.Metadata == nil {
		ev.Metadata = make(map[string]string, 8)
	}
	ev.Metadata[key] = v
	return nil
}

// text returns the string value of the JSON string raw.
func text(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", fmt.Errorf("not a string")
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var v string
	err := json.Unmarshal(raw, &v)
	return v, err
}

func parseTime(raw []byte) (time.Time, error) {
	v, err := text(raw)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, v)
}

func decodeBase64(raw []byte) ([]byte, error) {
	v, err := text(raw)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(v)
}

// scanner walks a document already checked by json.Valid, so it only finds boundaries.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str returns the contents of the string at the cursor, without quotes or unescaping.
func (s *scanner) str() []byte {
	raw := s.value()
	if len(raw) < 2 {
		return nil
	}
	return raw[1 : len(raw)-1]
}

// value returns the raw bytes of the value at the cursor and moves past it.
func (s *scanner) value() []byte {
	start := s.i
	depth := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.skipString()
		case c == '{' || c == '[':
			depth++
			s.i++
		case c == '}' || c == ']':
			if depth == 0 {
				return s.b[start:s.i]
			}
			depth--
			s.i++
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':'):
			return s.b[start:s.i]
		default:
			s.i++
		}
		if depth == 0 && s.i > start && (s.b[start] == '"' || s.b[start] == '{' || s.b[start] == '[') {
			return s.b[start:s.i]
		}
	}
	return s.b[start:s.i]
}

func (s *scanner) skipString() {
	s.i++ // opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		default:
			s.i++
		}
	}
}
