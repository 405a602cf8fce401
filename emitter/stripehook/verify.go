package stripehook

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/emitter"
)

// verify checks the Stripe-Signature header sig against body: a v1 signature made with one of the
// secrets, over a timestamp within the tolerance window on either side of the clock.
//
// The signature is checked with stripe-go's webhook.ValidatePayloadIgnoringTolerance, and the
// window here, with one clock (Options.Now) for both bounds: stripe-go's own window check reads
// the wall clock and looks only into the past. The signature is checked first, so a caller
// without a secret learns nothing but "invalid signature".
func (s *Source) verify(sig string, body []byte) error {
	if sig == "" {
		return emitter.Reject(emitter.ReasonMissingSignature, fmt.Errorf("stripehook: %w", webhook.ErrNotSigned))
	}
	signed, err := signedAt(sig)
	if err != nil {
		return emitter.Reject(emitter.ReasonInvalidHeader, err)
	}
	if err := s.checkSignature(sig, body); err != nil {
		return err
	}
	age := s.now().Sub(signed)
	switch {
	case age > s.tolerance:
		return emitter.Reject(emitter.ReasonTimestamp, fmt.Errorf("stripehook: %w (signed %v ago, tolerance %v)",
			webhook.ErrTooOld, age.Truncate(time.Second), s.tolerance))
	case age < -s.tolerance: // not -age > tolerance: -age overflows for a far-future timestamp
		return emitter.Reject(emitter.ReasonTimestamp, fmt.Errorf("%w (signed %v ahead, tolerance %v)",
			ErrTooNew, (-age).Truncate(time.Second), s.tolerance))
	}
	return nil
}

// checkSignature reports whether any v1 signature in sig matches body under any secret.
func (s *Source) checkSignature(sig string, body []byte) error {
	err := webhook.ErrNoValidSignature
	for _, secret := range s.secrets {
		err = webhook.ValidatePayloadIgnoringTolerance(body, sig, secret)
		if err == nil {
			return nil
		}
		if errors.Is(err, webhook.ErrInvalidHeader) {
			return emitter.Reject(emitter.ReasonInvalidHeader, fmt.Errorf("stripehook: %w", err))
		}
	}
	return emitter.Reject(emitter.ReasonInvalidSignature, fmt.Errorf("stripehook: %w (tried %d secrets)", err, len(s.secrets)))
}

// signedAt returns the t= timestamp of a Stripe-Signature header ("t=1495999758,v1=ab12,...").
// A header without exactly one valid t= is invalid. stripe-go signs with the last t= it finds; a
// header with two could otherwise pass the window check with one and the signature with another,
// replaying an old delivery, so it is refused.
func signedAt(header string) (time.Time, error) {
	var (
		ts    int64
		found bool
	)
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return time.Time{}, fmt.Errorf("stripehook: %w: element without '='", webhook.ErrInvalidHeader)
		}
		if k != "t" {
			continue
		}
		if found {
			return time.Time{}, fmt.Errorf("stripehook: %w: several timestamps", webhook.ErrInvalidHeader)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("stripehook: %w: timestamp is not an integer", webhook.ErrInvalidHeader)
		}
		ts, found = n, true
	}
	if !found {
		return time.Time{}, fmt.Errorf("stripehook: %w: no timestamp", webhook.ErrInvalidHeader)
	}
	return time.Unix(ts, 0), nil
}
