package standardwebhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookline/hookline/emitter"
)

// headerSet names the three headers of one naming scheme, as http.Header keys them.
type headerSet struct{ id, timestamp, signature string }

// headerSets are the specification's names, then Svix's.
var headerSets = [...]headerSet{
	{http.CanonicalHeaderKey(HeaderID), http.CanonicalHeaderKey(HeaderTimestamp), http.CanonicalHeaderKey(HeaderSignature)},
	{http.CanonicalHeaderKey(SvixHeaderID), http.CanonicalHeaderKey(SvixHeaderTimestamp), http.CanonicalHeaderKey(SvixHeaderSignature)},
}

// signedHeaders is what a delivery's headers say about its signature.
type signedHeaders struct {
	id        string    // webhook-id, as signed
	timestamp string    // webhook-timestamp, as signed
	at        time.Time // the timestamp read
	v1        [][]byte  // the base64 of each v1 signature
}

// verify checks the delivery's signature headers against body: a v1 signature made with one of
// the keys over "<id>.<timestamp>.<body>", with a timestamp within the tolerance window on either
// side of the clock. It returns the webhook-id.
func (s *Source) verify(header http.Header, body []byte) (string, error) {
	sh, err := readHeaders(header)
	if err != nil {
		return "", err
	}
	if err := s.checkSignature(&sh, body); err != nil {
		return "", err
	}
	age := s.now().Sub(sh.at)
	switch {
	case age > s.tolerance:
		return "", emitter.Reject(emitter.ReasonTimestamp, fmt.Errorf("%w (signed %v ago, tolerance %v)",
			ErrTooOld, age.Truncate(time.Second), s.tolerance))
	case age < -s.tolerance: // not -age > tolerance: -age overflows for a far-future timestamp
		return "", emitter.Reject(emitter.ReasonTimestamp, fmt.Errorf("%w (signed %v ahead, tolerance %v)",
			ErrTooNew, (-age).Truncate(time.Second), s.tolerance))
	}
	return sh.id, nil
}

// readHeaders reads the signature headers of one naming scheme: the specification's when a
// webhook-signature header is present, else Svix's.
func readHeaders(header http.Header) (signedHeaders, error) {
	var sh signedHeaders
	set := headerSets[0]
	if len(header[set.signature]) == 0 {
		set = headerSets[1]
	}
	sigs, ids, stamps := header[set.signature], header[set.id], header[set.timestamp]
	switch {
	case len(sigs) == 0:
		return sh, emitter.Reject(emitter.ReasonMissingSignature, fmt.Errorf("%w: no %s or %s header", ErrNotSigned, HeaderSignature, SvixHeaderSignature))
	case len(ids) == 0 || ids[0] == "":
		return sh, emitter.Reject(emitter.ReasonMissingSignature, fmt.Errorf("%w: a signature without its %s header", ErrNotSigned, strings.ToLower(set.id)))
	case len(stamps) == 0 || stamps[0] == "":
		return sh, emitter.Reject(emitter.ReasonMissingSignature, fmt.Errorf("%w: a signature without its %s header", ErrNotSigned, strings.ToLower(set.timestamp)))
	case len(ids) > 1 || len(stamps) > 1:
		return sh, invalidHeader("the id or the timestamp is given twice")
	}
	sh.id, sh.timestamp = ids[0], stamps[0]
	if err := checkID(sh.id); err != nil {
		return sh, err
	}
	var err error
	if sh.at, err = parseTimestamp(sh.timestamp); err != nil {
		return sh, err
	}
	if sh.v1, err = v1Signatures(sigs); err != nil {
		return sh, err
	}
	return sh, nil
}

// checkID refuses an id that sinks could not store, or that makes the signed content ambiguous.
func checkID(id string) error {
	switch {
	case !utf8.ValidString(id):
		return invalidHeader("the id is not UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return invalidHeader("the id holds a control character")
	case strings.Contains(id, "."):
		return invalidHeader(`the id holds a full stop, which the specification forbids ("<id>.<timestamp>.<body>" ` +
			`would be ambiguous)`)
	}
	return nil
}

// parseTimestamp reads a webhook-timestamp: Unix seconds, decimal digits only, up to the year
// 9999 (time.Unix wraps around for much larger values).
func parseTimestamp(v string) (time.Time, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, invalidHeader("the timestamp is not Unix seconds")
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > maxTime.Unix() {
		return time.Time{}, invalidHeader("the timestamp is out of range")
	}
	return time.Unix(n, 0), nil
}

// v1Signatures returns the base64 signatures of the v1 entries in the signature header values
// (space-separated "<version>,<signature>" entries; several header lines are read as one list).
// Entries of other versions are ignored, but a header without any v1 entry is invalid.
func v1Signatures(values []string) ([][]byte, error) {
	var sigs [][]byte
	others := 0
	for _, v := range values {
		b := []byte(v) // one copy, so that the comparisons below need no conversion
		for entry := range bytes.FieldsSeq(b) {
			version, sig, ok := bytes.Cut(entry, []byte{','})
			if ok && string(version) == "v1" {
				sigs = append(sigs, sig)
			} else {
				others++
			}
		}
	}
	if len(sigs) == 0 {
		return nil, invalidHeader(fmt.Sprintf("no v1 signature among %d entries (only v1, HMAC-SHA256, is supported)", others))
	}
	return sigs, nil
}

func invalidHeader(why string) error {
	return emitter.Reject(emitter.ReasonInvalidHeader, fmt.Errorf("%w: %s", ErrInvalidHeader, why))
}

// checkSignature reports whether any v1 signature matches the body under any key.
func (s *Source) checkSignature(sh *signedHeaders, body []byte) error {
	var (
		buf      [128]byte
		expected [signatureLen]byte
	)
	prefix := signedPrefix(buf[:0], sh.id, sh.timestamp)
	for _, key := range s.keys {
		signature(&expected, key, prefix, body)
		for _, sig := range sh.v1 {
			if hmac.Equal(sig, expected[:]) {
				return nil
			}
		}
	}
	return emitter.Reject(emitter.ReasonInvalidSignature, fmt.Errorf("%w (tried %d secrets against %d v1 signatures)",
		ErrNoValidSignature, len(s.keys), len(sh.v1)))
}

// signatureLen is the length of a v1 signature: the base64 of a SHA-256 sum.
const signatureLen = 44

// signedPrefix appends what the signed content holds before the body, "<id>.<timestamp>.", to b.
func signedPrefix(b []byte, id, timestamp string) []byte {
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, timestamp...)
	return append(b, '.')
}

// signature writes the base64 v1 signature of prefix+body under key to dst.
func signature(dst *[signatureLen]byte, key, prefix, body []byte) {
	var sum [sha256.Size]byte
	mac := hmac.New(sha256.New, key)
	mac.Write(prefix)
	mac.Write(body)
	base64.StdEncoding.Encode(dst[:], mac.Sum(sum[:0]))
}
