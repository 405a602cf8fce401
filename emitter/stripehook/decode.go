package stripehook

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/jsonscan"
	"github.com/stripe/stripe-go/v76"
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
		return hookline.Event{}, reject(reasonMalformed, err)
	}
	if s.refuseTest && !env.Livemode {
		return hookline.Event{}, reject(reasonTestMode, fmt.Errorf("%w: %s", ErrTestMode, env.ID))
	}
	if s.strict && env.APIVersion != stripe.APIVersion {
		return hookline.Event{}, reject(reasonAPIVersion, fmt.Errorf("%w: event %s has %q, want %q",
			ErrAPIVersionMismatch, env.ID, env.APIVersion, stripe.APIVersion))
	}
	if !s.types.allows(env.Type) {
		return hookline.Event{}, fmt.Errorf("stripehook: type %q not selected: %w", env.Type, emitter.ErrSkip)
	}
	return toEvent(&env, &obj), nil
}

// decodeEnvelope validates body as JSON and reads the envelope of a Stripe event and the head of
// its data.object in one pass, without decoding the object itself (encoding/json took three
// quarters of Decode's time doing that). Member names match exactly, as Stripe writes them; a
// repeated member counts as its last occurrence, as with encoding/json. Errors wrap
// ErrMalformedEvent.
func decodeEnvelope(body []byte) (envelope, objectHead, error) {
	var env envelope
	var obj, head objectHead
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return env, obj, malformed("not a JSON object")
	}
	var err error
	var bad string
	valid := jsonscan.Walk(body, 3, func(path [][]byte, v []byte) {
		if err != nil || len(path) > 1 && string(path[0]) != "data" {
			return
		}
		switch {
		case len(path) == 1 && string(path[0]) != "data":
			err = env.set(string(path[0]), v)
		case len(path) == 2 && string(path[1]) == "object":
			// data.object is complete: its head is the one just read.
			env.Object, obj, head = v, head, objectHead{}
		case len(path) == 3 && string(path[1]) == "object" && string(path[2]) == "id":
			head.ID, err = str(v)
		case len(path) == 3 && string(path[1]) == "object" && string(path[2]) == "object":
			head.Object, err = str(v)
		}
		if err != nil {
			bad = pathString(path)
		}
	})
	if !valid {
		return env, obj, malformed("not valid JSON")
	}
	if err != nil {
		return env, obj, malformed("%s: %v", bad, err)
	}
	switch {
	case !strings.HasPrefix(env.ID, "evt_") || len(env.ID) == len("evt_"):
		return env, obj, malformed("id is not an event id")
	case env.Type == "":
		return env, obj, malformed("no type")
	case env.Created <= 0:
		return env, obj, malformed("no created")
	case len(env.Object) == 0 || env.Object[0] != '{':
		return env, obj, malformed("data.object is not a JSON object")
	case obj.ID == "":
		return env, obj, malformed("data.object has no id")
	}
	return env, obj, nil
}

func pathString(path [][]byte) string {
	parts := make([]string, len(path))
	for i, k := range path {
		parts[i] = string(k)
	}
	return strings.Join(parts, ".")
}

// set stores the envelope member key, whose raw JSON value is v.
func (env *envelope) set(key string, v []byte) error {
	var err error
	switch key {
	case "id":
		env.ID, err = str(v)
	case "type":
		env.Type, err = str(v)
	case "api_version":
		env.APIVersion, err = str(v)
	case "account":
		env.Account, err = str(v)
	case "created":
		if string(v) != "null" {
			env.Created, err = strconv.ParseInt(string(v), 10, 64)
		}
	case "livemode":
		if string(v) != "null" && string(v) != "true" && string(v) != "false" {
			return errors.New("not a boolean")
		}
		env.Livemode = string(v) == "true"
	}
	return err
}

// str reads a JSON string value; null reads as "".
func str(v []byte) (string, error) {
	if string(v) == "null" {
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
	md := make(map[string]string, 4)
	if obj.Object != "" {
		md[MetaObject] = obj.Object
	}
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
		Time:     time.Unix(env.Created, 0).UTC(),
		Data:     bytes.Clone(env.Object), // no alias of the body, which the handler reuses
		Metadata: md,
	}
}

// typeFilter selects event types: exact names, "prefix.*" wildcards, or everything.
type typeFilter struct {
	all      bool
	exact    map[string]bool
	prefixes []string // each ends with "."
}

func newTypeFilter(types []string) (typeFilter, error) {
	f := typeFilter{all: len(types) == 0}
	for _, t := range types {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			f.all = true
		case strings.HasSuffix(t, ".*") && len(t) > 2 && !strings.Contains(t[:len(t)-2], "*"):
			f.prefixes = append(f.prefixes, t[:len(t)-1])
		case t != "" && !strings.Contains(t, "*"):
			if f.exact == nil {
				f.exact = make(map[string]bool)
			}
			f.exact[t] = true
		default:
			return f, fmt.Errorf("stripehook: Options.Types: %q is neither an event type, a prefix wildcard "+
				"like \"customer.*\", nor \"*\"", t)
		}
	}
	return f, nil
}

func (f typeFilter) allows(typ string) bool {
	if f.all || f.exact[typ] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}
