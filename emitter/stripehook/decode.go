package stripehook

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v76"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/jsonscan"
)

// envelope holds the fields of a Stripe event that the pipeline needs; data.object stays raw.
type envelope struct {
	ID         string
	Type       string
	Created    int64
	Livemode   bool
	APIVersion string
	Account    string
	Object     []byte // data.object, raw
}

// objectHead holds the two fields of data.object the event needs.
type objectHead struct {
	ID     string
	Object string
}

// Decode verifies the delivery's signature and decodes the event. It returns an error wrapping
// [emitter.ErrSkip] for an authentic event that [Options].Types does not select, and a
// [*emitter.RejectError] for a delivery it refuses (see the package documentation). The returned
// Event does not share memory with body.
func (s *Source) Decode(header http.Header, body []byte) (hookline.Event, error) {
	if err := s.verify(header.Get(SignatureHeader), body); err != nil {
		return hookline.Event{}, err
	}
	return s.decodeBody(body)
}

// decodeBody decodes an event whose authenticity has been established, and applies the options.
func (s *Source) decodeBody(body []byte) (hookline.Event, error) {
	env, obj, err := decodeEnvelope(body)
	if err != nil {
		return hookline.Event{}, emitter.Reject(emitter.ReasonMalformed, err)
	}
	if s.refuseTest && !env.Livemode {
		return hookline.Event{}, emitter.Reject(reasonTestMode, fmt.Errorf("%w: %s", ErrTestMode, env.ID))
	}
	if s.strict && env.APIVersion != stripe.APIVersion {
		return hookline.Event{}, emitter.Reject(reasonAPIVersion, fmt.Errorf("%w: event %s has %q, want %q",
			ErrAPIVersionMismatch, env.ID, env.APIVersion, stripe.APIVersion))
	}
	if !s.types.Allows(env.Type) {
		return hookline.Event{}, fmt.Errorf("stripehook: type %q not selected: %w", env.Type, emitter.ErrSkip)
	}
	return toEvent(&env, &obj), nil
}

// maxCreated is the latest "created" the pipeline can carry: 9999-12-31T23:59:59Z, the last
// second an RFC 3339 time (the wire format's "time") can name.
const maxCreated = 253402300799

// rawEnvelope holds the raw JSON values of the members decodeEnvelope reads, each the last
// occurrence of its name, as every mainstream JSON reader takes it.
type rawEnvelope struct {
	id, typ, created, livemode, apiVersion, account []byte
	object, objectID, objectType                    []byte // data.object and its two head members
}

// decodeEnvelope validates body as JSON and reads the envelope of a Stripe event and the head of
// its data.object in one pass, without decoding the object itself (encoding/json took three
// quarters of Decode's time doing that). It reads the body as encoding/json's map decoding,
// JavaScript's JSON.parse and Ruby's JSON do: member names match exactly once their escapes are
// decoded (jsonscan.Walk decodes them), a repeated member counts as its last occurrence, and only
// that occurrence's type matters. The package documentation lists what it refuses. Errors wrap ErrMalformedEvent.
func decodeEnvelope(body []byte) (envelope, objectHead, error) {
	var env envelope
	var obj objectHead
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return env, obj, malformed("not a JSON object")
	}
	raw, valid := scanEnvelope(body)
	if !valid {
		return env, obj, malformed("not valid JSON")
	}
	if !utf8.Valid(body) {
		return env, obj, malformed("not UTF-8 (RFC 8259 requires JSON text to be UTF-8)")
	}
	if err := raw.decode(&env, &obj); err != nil {
		return env, obj, err
	}
	switch {
	case !strings.HasPrefix(env.ID, "evt_") || len(env.ID) == len("evt_"):
		return env, obj, malformed("id is not an event id")
	case env.Type == "":
		return env, obj, malformed("no type")
	case env.Created <= 0:
		return env, obj, malformed("no created")
	case env.Created > maxCreated:
		return env, obj, malformed("created %d is after the year 9999", env.Created)
	case len(env.Object) == 0 || env.Object[0] != '{':
		return env, obj, malformed("data.object is not a JSON object")
	case obj.ID == "":
		return env, obj, malformed("data.object has no id")
	}
	return env, obj, nil
}

// scanEnvelope validates body and collects the raw values decodeEnvelope reads.
func scanEnvelope(body []byte) (rawEnvelope, bool) {
	// One allocation for all the state the walk's callback keeps: the values read so far, the
	// data.object (with its head) seen in the data member being read, and the head of the
	// data.object being read. A later occurrence of a member replaces an earlier one whole.
	s := &struct {
		raw      rawEnvelope
		inData   [3][]byte // data.object, its id, its object
		inObject [2][]byte // id, object
	}{}
	valid := jsonscan.Walk(body, 3, func(path [][]byte, v []byte) {
		switch {
		case len(path) == 1 && string(path[0]) == "data":
			s.raw.object, s.raw.objectID, s.raw.objectType = s.inData[0], s.inData[1], s.inData[2]
			s.inData = [3][]byte{}
		case len(path) == 1:
			s.raw.setTop(path[0], v)
		case string(path[0]) != "data" || string(path[1]) != "object":
		case len(path) == 2:
			s.inData = [3][]byte{v, s.inObject[0], s.inObject[1]}
			s.inObject = [2][]byte{}
		case string(path[2]) == "id":
			s.inObject[0] = v
		case string(path[2]) == "object":
			s.inObject[1] = v
		}
	})
	return s.raw, valid
}

// setTop records the top-level member key (other than data), whose raw value is v.
func (raw *rawEnvelope) setTop(key, v []byte) {
	switch string(key) {
	case "id":
		raw.id = v
	case "type":
		raw.typ = v
	case "created":
		raw.created = v
	case "livemode":
		raw.livemode = v
	case "api_version":
		raw.apiVersion = v
	case "account":
		raw.account = v
	}
}

// decode converts the raw values into env and obj, checking their JSON types.
func (raw *rawEnvelope) decode(env *envelope, obj *objectHead) error {
	strs := []struct {
		name string
		v    []byte
		dst  *string
	}{
		{"id", raw.id, &env.ID}, {"type", raw.typ, &env.Type}, {"api_version", raw.apiVersion, &env.APIVersion},
		{"account", raw.account, &env.Account}, {"data.object.id", raw.objectID, &obj.ID},
		{"data.object.object", raw.objectType, &obj.Object},
	}
	for _, f := range strs {
		s, err := str(f.v)
		if err != nil {
			return malformed("%s: %v", f.name, err)
		}
		if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
			return malformed("%s: contains the control character %U", f.name, []rune(s[i:])[0])
		}
		*f.dst = s
	}
	if raw.created != nil && string(raw.created) != "null" {
		n, err := strconv.ParseInt(string(raw.created), 10, 64)
		if err != nil {
			return malformed("created: not an integer")
		}
		env.Created = n
	}
	switch string(raw.livemode) {
	case "", "null", "false":
	case "true":
		env.Livemode = true
	default:
		return malformed("livemode: not a boolean")
	}
	env.Object = raw.object
	return nil
}

// str reads a JSON string value; null or an absent member (nil) reads as "".
func str(v []byte) (string, error) {
	if v == nil || string(v) == "null" {
		return "", nil
	}
	if len(v) == 0 || v[0] != '"' {
		return "", errors.New("not a string")
	}
	return jsonscan.String(v)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedEvent, fmt.Sprintf(format, args...))
}

func toEvent(env *envelope, obj *objectHead) hookline.Event {
	md := make(map[string]string, 3)
	md[MetaLivemode] = "false"
	if env.Livemode {
		md[MetaLivemode] = "true"
	}
	md[MetaAPIVersion] = env.APIVersion
	if env.Account != "" {
		md[MetaAccount] = env.Account
	}
	return hookline.Event{
		ID:       env.ID,
		Source:   SourceName,
		Type:     env.Type,
		Subject:  obj.ID,
		Object:   obj.Object,
		Action:   hookline.ActionOfType(env.Type),
		Time:     time.Unix(env.Created, 0).UTC(), // Stripe's precision: whole seconds
		Data:     bytes.Clone(env.Object),         // no alias of the body, which the handler reuses
		Metadata: md,
	}
}

// CheckTypes reports whether types is a valid [Options].Types: exact event types, prefix
// wildcards like "customer.*", or "*".
func CheckTypes(types []string) error {
	_, err := emitter.NewTypes(types)
	return err
}
