// Package standardwebhooks verifies and decodes deliveries from any sender that follows the
// Standard Webhooks specification (v1.0.0): OpenAI, Twilio, Supabase, Clerk, Resend and every
// other Svix customer. It is the [emitter.Source] for them; [NewHandler] puts it in front of a
// Sender as an http.Handler:
//
//	secrets := standardwebhooks.ParseSecrets(os.Getenv(standardwebhooks.EnvSecret))
//	h, err := standardwebhooks.NewHandler(secrets, sender, nil, nil)
//	...
//	http.Handle("POST /webhook", h)
//
// A delivery carries three headers, webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature (a space-separated list of "v1,<base64>" entries); Svix and Resend name them
// svix-id, svix-timestamp and svix-signature, which are accepted too. The signature is
// HMAC-SHA256 of "<id>.<timestamp>.<body>" under the key that the secret "whsec_<base64>" holds.
//
// Each delivery becomes one [hookline.Event]: ID is the webhook-id ("msg_..."), Source is
// "standardwebhooks", Type the payload's "type" ("user.created"), Time the payload's "timestamp"
// (RFC 3339, with the sub-second digits it was written with, to the nanosecond; never the
// webhook-timestamp header, which changes on every retry), Subject the string that the JSON
// pointer [Options].Subject reaches (default "/data/id"), Object the type up to its last dot
// ("user"), Action what the type's suffix says (hookline.ActionOfType: *.created creates,
// *.deleted deletes, anything else updates), and Data the JSON of the payload's "data" member
// exactly as sent, or the whole body when it has no "data" member. Metadata is empty.
//
// The verifier is written here rather than taken from the specification's Go library
// (github.com/standard-webhooks/standard-webhooks/libraries/go), which the module proxy serves
// and agree_test.go checks this package against: that library reads only the webhook-* header
// names, checks the timestamp against the wall clock with a fixed five-minute window, accepts a
// secret without its whsec_ prefix, and says "no matching signature" for a header with no v1
// entry at all. Wrapping it would have meant doing each of those here and leaving it only the
// HMAC, which crypto/hmac does in a few lines.
//
// # URLs
//
// Importing the package registers the source standardwebhooks:// with package emitter, so that
// package pipeline opens it from HOOKLINE_SOURCE=standardwebhooks:// (with the secrets of
// HOOKLINE_WEBHOOK_SECRET). [OptionsFromURL] reads Options from the query of a source URL such as
//
//	standardwebhooks://?subject=/data/object/id&tolerance=10m&types=user.*,session.created
//
//	subject    the JSON pointer of the subject (Options.Subject)
//	tolerance  a Go duration (Options.Tolerance)
//	types      comma-separated types, "prefix.*" wildcards or "*" (Options.Types); may repeat
//
// Any other parameter is an error. The secrets never travel in the URL: they come from
// HOOKLINE_WEBHOOK_SECRET ([EnvSecret]).
//
// # Delivery semantics
//
// Senders deliver each message at least once, retry any answer other than 2xx for days with a
// new webhook-timestamp (and a new signature) each time but the same webhook-id, and do not
// guarantee order. The Handler answers 2xx only after the Sender accepted the event, so an event
// is lost neither here nor in the broker; sinks absorb the repeats (the event id stays the same)
// and the disorder (they keep the newest Time, which is the event's own, not the attempt's). An
// event whose type [Options].Types does not select is acknowledged with 200 and not sent.
//
// # Errors
//
// Every refused delivery is answered 400 with one of these reasons, and nothing is sent:
//
//	missing signature header     no signature header, or a signature without its id or timestamp ([ErrNotSigned])
//	invalid signature header     the timestamp is not Unix seconds, the id or timestamp is given twice,
//	                             the id is not usable (below), or no entry is v1 ([ErrInvalidHeader])
//	invalid signature            no v1 signature matches any secret ([ErrNoValidSignature])
//	timestamp outside tolerance  webhook-timestamp older than Tolerance ([ErrTooOld]) or further than
//	                             Tolerance in the future ([ErrTooNew])
//	malformed event              see below ([ErrMalformedEvent])
//
// Decode returns them as [*emitter.RejectError] wrapping the errors named, so errors.Is works.
// The reasons are fixed phrases, and the errors behind them say which rule a delivery broke
// without quoting it.
//
// A webhook-id is refused when it is empty, not UTF-8, or holds a control character or a full
// stop: the specification forbids the full stop in ids, because with one "<id>.<timestamp>.<body>"
// could be split into another id, timestamp and body under the same signature.
//
// A signed body is refused as malformed when it is not one JSON object, not UTF-8 (RFC 8259
// requires it, and a sink could not store it), or when its "type" is not a non-empty string, its
// "timestamp" is not an RFC 3339 time from 1970 to the year 9999, or the subject pointer does not
// reach a non-empty string; or when the type or the subject holds a control character (U+0000 to
// U+001F, U+007F to U+009F), which databases and brokers refuse in part. The body is read as
// encoding/json reads it into maps (and JavaScript's JSON.parse): a member name is what it
// decodes to ("\u0074ype" is "type"), names match exactly, and a repeated member counts as its
// last occurrence. FuzzDecode holds the decoder to encoding/json.
//
// # Security
//
// The signature is always verified: [New] refuses an empty list of secrets, an empty secret and
// one that is not whsec_ followed by base64, and there is no option to skip verification. Only
// v1 (HMAC-SHA256) signatures are checked; other versions, such as the asymmetric v1a, are
// ignored, so a delivery signed only with those is refused. Comparison is constant-time
// (hmac.Equal). The signature is checked before the timestamp, so a caller without a secret
// learns nothing but "invalid signature"; the timestamp must then lie within Tolerance of the
// clock in both directions, so a captured delivery can be replayed only within that window, and
// a replay inside it is just another redelivery, which idempotent sinks absorb. Several secrets
// can be active at once to roll a secret without downtime. Secrets never appear in errors, logs
// or responses.
package standardwebhooks

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookline/hookline/emitter"
)

// SourceName is the Source of every event this package produces.
const SourceName = "standardwebhooks"

// EnvSecret is the environment variable that holds the signing secrets, comma-separated while a
// secret is rolled. Read it with [ParseSecrets].
const EnvSecret = "HOOKLINE_WEBHOOK_SECRET"

// The headers of a delivery, as the specification names them, and as Svix and Resend name them.
// Either set is accepted (the webhook-* set when a webhook-signature header is present), never a
// mix of the two.
const (
	HeaderID            = "webhook-id"
	HeaderTimestamp     = "webhook-timestamp"
	HeaderSignature     = "webhook-signature"
	SvixHeaderID        = "svix-id"
	SvixHeaderTimestamp = "svix-timestamp"
	SvixHeaderSignature = "svix-signature"
)

// Defaults for the zero [Options].
const (
	DefaultTolerance = 5 * time.Minute
	DefaultSubject   = "/data/id"
)

// Options configures a [Source]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Tolerance is how far the webhook-timestamp may lie from the clock, in either direction.
	// Default (zero or negative): 5 minutes.
	Tolerance time.Duration
	// Subject is the JSON pointer (RFC 6901) of the event's subject in the payload: it must reach
	// a non-empty string. "~1" in a token stands for "/" and "~0" for "~"
	// ("/data/a~1b" is member "a/b" of "data"); a token that is a decimal index selects an array
	// element. Default: "/data/id".
	Subject string
	// Types, when not empty, selects the event types to forward; others are acknowledged and
	// skipped. An entry is an exact type ("user.created"), a prefix wildcard ("user.*" matches
	// every type starting with "user.", including "user.email.updated"), or "*" for all.
	Types []string
	// Now returns the current time, for tests. Default: time.Now.
	Now func() time.Time
}

// Source verifies and decodes Standard Webhooks deliveries. It implements [emitter.Source] and
// is safe for concurrent use.
type Source struct {
	keys      [][]byte
	tolerance time.Duration
	subject   pointer
	types     emitter.Types
	now       func() time.Time
}

var _ emitter.Source = (*Source)(nil)

const secretHelp = "set " + EnvSecret + " to the whsec_... signing secret that the sender shows for this endpoint " +
	"(several, comma-separated, while a secret is rolled)"

// New returns a Source that accepts deliveries signed with any of secrets (several are active
// while a secret is rolled). Each secret is "whsec_" followed by the base64 of the key, as
// senders show it; surrounding white space is removed, as [ParseSecrets] does. New refuses an
// empty list, an empty secret, a secret in another form, and invalid Options.
func New(secrets []string, opts *Options) (*Source, error) {
	if len(secrets) == 0 {
		return nil, errors.New("standardwebhooks: webhook signing secret is empty: " + secretHelp)
	}
	s := &Source{keys: make([][]byte, len(secrets))}
	for i, secret := range secrets {
		key, err := parseSecret(secret)
		if err != nil {
			if len(secrets) == 1 {
				return nil, fmt.Errorf("standardwebhooks: webhook signing secret %v: %s", err, secretHelp)
			}
			return nil, fmt.Errorf("standardwebhooks: webhook signing secret %d of %d %v: %s",
				i+1, len(secrets), err, secretHelp)
		}
		s.keys[i] = key
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	s.tolerance = o.Tolerance
	if s.tolerance <= 0 {
		s.tolerance = DefaultTolerance
	}
	s.now = o.Now
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.subject, err = parsePointer(o.Subject); err != nil {
		return nil, err
	}
	if s.types, err = emitter.NewTypes(o.Types); err != nil {
		return nil, fmt.Errorf("standardwebhooks: Options.Types: %w", err)
	}
	return s, nil
}

// ParseSecrets splits a comma-separated list of secrets (as HOOKLINE_WEBHOOK_SECRET may hold
// while a secret is rolled), trimming white space and dropping empty entries.
func ParseSecrets(commaSeparated string) []string {
	var out []string
	for s := range strings.SplitSeq(commaSeparated, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// NewHandler returns an [emitter.Handler] that verifies deliveries with a Source built by [New]
// from secrets and opts, and sends the events with dst.
func NewHandler(secrets []string, dst emitter.Sender, opts *Options, hopts *emitter.HandlerOptions) (*emitter.Handler, error) {
	src, err := New(secrets, opts)
	if err != nil {
		return nil, err
	}
	return emitter.NewHandler(src, dst, hopts)
}

// Errors that refusals wrap; see the package documentation for when each applies.
var (
	ErrNotSigned        = errors.New("standardwebhooks: delivery is not signed")
	ErrInvalidHeader    = errors.New("standardwebhooks: invalid signature header")
	ErrNoValidSignature = errors.New("standardwebhooks: no valid v1 signature")
	ErrTooOld           = errors.New("standardwebhooks: signature timestamp is too old")
	ErrTooNew           = errors.New("standardwebhooks: signature timestamp is too far in the future")
	ErrMalformedEvent   = errors.New("standardwebhooks: malformed event")
)
