package stripehook

import (
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// DecodeUnverified decodes a Stripe event WITHOUT VERIFYING ANY SIGNATURE: it returns the same
// [hookline.Event] that [Source.Decode] returns for a signed delivery of the same event, and the
// same errors for a malformed event (a [*emitter.RejectError] wrapping [ErrMalformedEvent],
// [ErrAPIVersionMismatch] or [ErrTestMode]) or one that [Options].Types does not select (wrapping
// [emitter.ErrSkip]). Options.Tolerance and Options.Now are ignored: there is no signed timestamp.
//
// # Security
//
// Whoever can put bytes in body can make this function produce any event they like. Call it only
// for events whose authenticity some other party has established, and only after checking that
// party's evidence. Its uses in this module: events listed from Stripe's API with the account's key (package
// recovery), and Stripe's Amazon EventBridge event destination:
// Stripe publishes to a partner event source named "aws.partner/stripe.com/...", EventBridge
// refuses that source on PutEvents from anyone else (sources starting with "aws." are reserved),
// and adapters/awslambda checks the source before it calls this function. Never call it on the
// body of an HTTP request: use [Source.Decode], which checks the Stripe-Signature header.
func DecodeUnverified(body []byte, opts *Options) (hookline.Event, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	s := &Source{strict: o.StrictAPIVersion, refuseTest: o.RefuseTestMode}
	var err error
	if s.types, err = emitter.NewTypes(o.Types); err != nil {
		return hookline.Event{}, err
	}
	return s.decodeBody(body)
}
