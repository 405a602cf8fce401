package console

import (
	"strings"
	"testing"
	"time"
)

// A session is accepted until its expiry, by the server's clock, and not after; a cookie that
// was altered, or signed under another token, is refused; a revoked one is refused until it
// would have expired, and then forgotten.
func TestSessions(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s := newSessions("token-one-0123456789", time.Hour)
	s.now = func() time.Time { return now }

	a, exp := s.issue()
	b, _ := s.issue()
	if a == b || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("two logins got %q and %q, expiring %s", a, b, exp)
	}
	if _, _, ok := s.check(a); !ok {
		t.Fatal("a new session is refused")
	}
	now = now.Add(59 * time.Minute)
	if _, _, ok := s.check(a); !ok {
		t.Fatal("a session is refused before its expiry")
	}
	now = now.Add(time.Minute)
	if _, _, ok := s.check(a); ok {
		t.Fatal("a session is accepted at its expiry")
	}

	now = now.Add(-30 * time.Minute)
	body, sig, _ := strings.Cut(b, ".")
	raw, _ := b64.DecodeString(body)
	raw[len(raw)-1]++ // a later expiry
	for name, v := range map[string]string{
		"expiry changed": b64.EncodeToString(raw) + "." + sig,
		"signature cut":  body + "." + sig[:10],
		"no signature":   body,
		"empty":          "",
		"another token's": func() string {
			o := newSessions("token-two-0123456789", time.Hour)
			o.now = s.now
			v, _ := o.issue()
			return v
		}(),
	} {
		if _, _, ok := s.check(v); ok {
			t.Errorf("%s cookie %q is accepted", name, v)
		}
	}

	s.revoke(b)
	if _, _, ok := s.check(b); ok {
		t.Fatal("a revoked session is accepted")
	}
	s.revoke("forged." + sig) // not a session: nothing kept
	if n := s.revokedCount(); n != 1 {
		t.Fatalf("%d revocations kept, want 1", n)
	}
	now = now.Add(time.Hour) // b has expired: the next revocation forgets it
	c, _ := s.issue()
	s.revoke(c)
	if n := s.revokedCount(); n != 1 {
		t.Errorf("%d revocations kept after one expired, want 1", n)
	}
}
