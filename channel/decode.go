package channel

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/jsonscan"
)

// Decode reads an event written by [Encode], or any CloudEvents 1.0 event in structured JSON mode
// whose extension attributes are strings, numbers or booleans (they become Metadata as text,
// but for "object" and "action", which become Event.Object and Event.Action). A message without
// "action" (another producer's) gets the one hookline.ActionOfType gives its type. Data aliases
// body; callers that keep the event beyond body's life must copy it (Event.Clone). Every error
// wraps [ErrFormat].
func Decode(body []byte) (hookline.Event, error) {
	var ev hookline.Event
	var spec, version string
	var dataB64 []byte
	var err error
	var bad string
	valid := jsonscan.Object(body, func(key, raw []byte) {
		if err != nil {
			return
		}
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
		case "object":
			ev.Object, err = text(raw)
		case "action":
			var a string
			if a, err = text(raw); err == nil {
				ev.Action = hookline.Action(a)
				err = checkAction(ev.Action)
			}
		case "data":
			if string(raw) != "null" {
				ev.Data = raw
			}
		case "data_base64":
			dataB64 = raw
		case "datacontenttype", "dataschema":
		default:
			err = setMeta(&ev, string(key), raw)
		}
		if err != nil {
			bad = string(key)
		}
	})
	if !valid {
		return ev, fmt.Errorf("%w: not a valid JSON object", ErrFormat)
	}
	if err != nil {
		return ev, fmt.Errorf("%w: attribute %q: %v", ErrFormat, bad, err)
	}
	if dataB64 != nil {
		if ev.Data, err = decodeBase64(dataB64); err != nil {
			return ev, fmt.Errorf("%w: attribute \"data_base64\": %v", ErrFormat, err)
		}
	}
	if ev.Action == "" {
		ev.Action = hookline.ActionOfType(ev.Type)
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
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("not a string")
	}
	return jsonscan.String(raw)
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
