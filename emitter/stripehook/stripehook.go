// Package stripehook verifies and decodes Stripe webhook deliveries: it is the [emitter.Source] for
// Stripe. [NewHandler] puts it in front of a Sender as an http.Handler:
//
//	secrets := stripehook.ParseSecrets(os.Getenv("STRIPE_WEBHOOK_SECRET"))
//	h, err := stripehook.NewHandler(secrets, sender, nil, nil)
//	...
//	http.Handle("POST /stripe/webhook", h)
//
// Each delivery becomes one [hookline.Event]: ID is the event id ("evt_..."), Source is "stripe",
// Type the event type ("customer.updated"), Subject the id of data.object ("cus_..."), Object
// data.object's type ("customer"), Action what the type's suffix says (hookline.ActionOfType:
// *.created creates, *.deleted deletes, anything else updates), Time the event's "created" (whole
// seconds, Stripe's precision), Data the JSON of data.object exactly as Stripe sent it, and
// Metadata holds
//
//	livemode    "true" or "false"                               (MetaLivemode)
//	apiversion  the event's api_version, such as "2023-10-16"   (MetaAPIVersion)
//	account     the connected account id, only for Connect      (MetaAccount)
//
// Metadata keys are lower-case letters and digits only, because they travel as CloudEvents
// extension attributes, whose names allow nothing else: Stripe's api_version is "apiversion" here.
//
// Only the envelope is decoded; data.object is kept as raw JSON for the sink, which knows what it
// needs from it. This takes about a third of the time of stripe-go's webhook.ConstructEvent, which
// decodes the whole object into Go structs (see BenchmarkDecode and BenchmarkStripeGoConstructEvent).
//
// # URLs
//
// Importing the package registers the source stripe:// with package emitter, so that package
// pipeline opens it from HOOKLINE_SOURCE (stripe:// is its default), with the secrets of
// STRIPE_WEBHOOK_SECRET ([EnvSecret]). Query parameters set [Options] ([OptionsFromURL]):
//
//	stripe://?types=customer.*,invoice.paid&testmode=refuse&apiversion=strict&tolerance=5m
//
// # Delivery semantics
//
// Stripe delivers each event at least once, retries any answer other than 2xx for up to three
// days, and does not guarantee order. The Handler answers 2xx only after the Sender accepted the
// event, so an event is lost neither here nor in the broker; sinks absorb the repeats (they upsert
// by Subject) and the disorder (they keep the newest Time). An event whose type [Options].Types
// does not select is acknowledged with 200 and not sent.
//
// # Errors
//
// Every refused delivery is answered 400 with one of these reasons, and nothing is sent:
//
//	missing signature header     no Stripe-Signature header (wraps webhook.ErrNotSigned)
//	invalid signature header     unparsable header, or no or several t= (wraps webhook.ErrInvalidHeader)
//	invalid signature            no v1 signature matches any secret (wraps webhook.ErrNoValidSignature)
//	timestamp outside tolerance  t= older than Tolerance (wraps webhook.ErrTooOld) or further than
//	                             Tolerance in the future ([ErrTooNew])
//	malformed event              see "What is refused as malformed" below ([ErrMalformedEvent])
//	unsupported api version      StrictAPIVersion and another api_version ([ErrAPIVersionMismatch])
//	test-mode event refused      RefuseTestMode and livemode false ([ErrTestMode])
//
// Decode returns them as [*emitter.RejectError] wrapping the errors named, so errors.Is works.
//
// # What is refused as malformed
//
// The body is read as every JSON reader reads it (encoding/json decoding into a map, JavaScript's
// JSON.parse, Ruby's JSON, which Stripe itself uses), so the event hookline forwards is the one
// anybody holding the signed body would see: a member name is what it decodes to ("\u0069d" is
// "id"), a repeated member counts as its last occurrence, and only that occurrence's type matters.
// FuzzDecodeDifferential holds the decoder to encoding/json on arbitrary bodies. A signed body is
// refused with 400 "malformed event", and Decode's error says which rule it broke, when:
//
//   - it is not one valid JSON object, or it is not UTF-8: RFC 8259 requires JSON text to be
//     UTF-8, Stripe sends nothing else, and a sink could not store it (SQLite would hold text its
//     clients cannot read, PostgreSQL's jsonb refuses it) after the 200 had told Stripe not to retry;
//   - id is not an event id ("evt_..."), type is empty, or data.object is not an object with an id;
//   - a member has the wrong JSON type: id, type, api_version, account, data.object.id and
//     data.object.object must be strings or null, created an integer or null, livemode a boolean
//     or null;
//   - created is not a time from 1970 to the year 9999: the wire format carries it as an RFC 3339
//     time, which has four-digit years, so a later one could be answered 200 and never be decoded;
//   - one of the strings above contains a control character (U+0000 to U+001F, U+007F to U+009F):
//     Stripe's ids and names never do, and databases and brokers refuse some of them (PostgreSQL's
//     text has no U+0000).
//
// The one intended difference from encoding/json's decoding into Go structs, which stripe-go's
// webhook.ConstructEvent uses: that matches member names case-insensitively ("ID" fills the field
// tagged "id"), and hookline matches them exactly. RFC 8259 names are case-sensitive, Stripe writes
// them in lower case, and matching "ID" as well would let one body name two different events to
// two readers. TestMemberNamesMatchExactly shows the difference.
//
// # Security
//
// The signature is always verified: [New] refuses an empty secret, and there is no option to skip
// verification. Comparison is constant-time (stripe-go's hmac.Equal). The signed timestamp must lie
// within Tolerance of the clock in both directions (stripe-go checks only the past), so a captured
// delivery can be replayed only within that window, and a replay inside it is just another
// redelivery, which idempotent sinks absorb. Several secrets can be active at once to roll a secret
// without downtime. Secrets never appear in errors, logs or responses; response bodies are fixed
// phrases that never echo the request.
package stripehook

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/emitter"
)

// SourceName is the Source of every event this package produces.
const SourceName = "stripe"

// SignatureHeader is the header that carries Stripe's signature.
const SignatureHeader = "Stripe-Signature"

// Metadata keys set on every event (MetaAccount only for Connect events). See the package
// documentation for why they are spelled this way.
const (
	MetaLivemode   = "livemode"
	MetaAPIVersion = "apiversion"
	MetaAccount    = "account"
)

// Options configures a [Source]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Tolerance is how far the signed timestamp may lie from the clock, in either direction.
	// Default (zero or negative): webhook.DefaultTolerance, 5 minutes.
	Tolerance time.Duration
	// StrictAPIVersion refuses events whose api_version is not stripe.APIVersion of stripe-go v76
	// ("2023-10-16"). By default any version is accepted: the signature proves the event authentic,
	// data.object is passed on as raw JSON, and the version travels in the "apiversion" metadata.
	StrictAPIVersion bool
	// RefuseTestMode refuses events with livemode false (for a production endpoint).
	// This check and StrictAPIVersion come before Types, so a misconfigured endpoint shows up on
	// every delivery, not only on the selected types.
	RefuseTestMode bool
	// Types, when not empty, selects the event types to forward; others are acknowledged and
	// skipped. An entry is an exact type ("customer.created"), a prefix wildcard ("customer.*"
	// matches every type starting with "customer.", including "customer.subscription.created"),
	// or "*" for all.
	Types []string
	// Now returns the current time, for tests. Default: time.Now.
	Now func() time.Time
}

// Source verifies and decodes Stripe webhook deliveries. It implements [emitter.Source] and is
// safe for concurrent use.
type Source struct {
	secrets    []string
	tolerance  time.Duration
	strict     bool
	refuseTest bool
	types      emitter.Types
	now        func() time.Time
}

var _ emitter.Source = (*Source)(nil)

const secretHelp = "set STRIPE_WEBHOOK_SECRET to the whsec_... value from the Stripe dashboard or `stripe listen`"

// New returns a Source that accepts deliveries signed with any of secrets (several are active
// while a secret is rolled). It refuses an empty list and an empty or blank secret; surrounding
// white space is removed from each secret, as [ParseSecrets] does.
func New(secrets []string, opts *Options) (*Source, error) {
	if len(secrets) == 0 {
		return nil, errors.New("stripehook: webhook signing secret is empty: " + secretHelp)
	}
	s := &Source{secrets: make([]string, len(secrets))}
	for i, secret := range secrets {
		secret = strings.TrimSpace(secret)
		if secret == "" {
			if len(secrets) == 1 {
				return nil, errors.New("stripehook: webhook signing secret is empty: " + secretHelp)
			}
			return nil, fmt.Errorf("stripehook: webhook signing secret %d of %d is empty: %s",
				i+1, len(secrets), secretHelp)
		}
		s.secrets[i] = secret
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	s.tolerance = o.Tolerance
	if s.tolerance <= 0 {
		s.tolerance = webhook.DefaultTolerance
	}
	s.strict, s.refuseTest, s.now = o.StrictAPIVersion, o.RefuseTestMode, o.Now
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.types, err = emitter.NewTypes(o.Types); err != nil {
		return nil, fmt.Errorf("stripehook: Options.Types: %w", err)
	}
	return s, nil
}

// ParseSecrets splits a comma-separated list of secrets (as STRIPE_WEBHOOK_SECRET may hold while a
// secret is rolled), trimming white space and dropping empty entries.
func ParseSecrets(commaSeparated string) []string { return emitter.ParseSecrets(commaSeparated) }

// NewHandler returns an [emitter.Handler] that verifies deliveries with a Source built by [New]
// from secrets and opts, and sends the events with dst.
func NewHandler(secrets []string, dst emitter.Sender, opts *Options, hopts *emitter.HandlerOptions) (*emitter.Handler, error) {
	src, err := New(secrets, opts)
	if err != nil {
		return nil, err
	}
	return emitter.NewHandler(src, dst, hopts)
}

// Errors for refusals that stripe-go's webhook package has no error for; see the package
// documentation for the complete list.
var (
	ErrTooNew             = errors.New("stripehook: signature timestamp is too far in the future")
	ErrMalformedEvent     = errors.New("stripehook: malformed event")
	ErrAPIVersionMismatch = errors.New("stripehook: event api_version does not match stripe-go's")
	ErrTestMode           = errors.New("stripehook: test-mode event refused")
)

// Reasons of Stripe's own refusals, besides those of package emitter (fixed phrases; see
// emitter.RejectError).
const (
	reasonAPIVersion = "unsupported api version"
	reasonTestMode   = "test-mode event refused"
)
