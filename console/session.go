package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// DefaultSessionTTL is how long a login lasts unless Options.SessionTTL says otherwise.
const DefaultSessionTTL = 12 * time.Hour

// sessions issues and checks the session cookies of logins. A session is signed, not stored:
// the cookie holds a random id and the expiry, with an HMAC-SHA256 over both under a key
// derived from the access token. So every replica that has the same token accepts it with no
// shared store, the server checks the expiry itself, and changing the token ends every
// session. Logging out revokes the session's id on the instance that served it until it
// would have expired anyway.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session id → its expiry, pruned once past it
}

const (
	sessionIDLen  = 16
	sessionRawLen = sessionIDLen + 8 // the id, then the expiry in Unix seconds, big-endian
)

var b64 = base64.RawURLEncoding

func newSessions(token string, ttl time.Duration) *sessions {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("hookline console session v2"))
	return &sessions{key: mac.Sum(nil), ttl: ttl, now: time.Now, revoked: map[string]time.Time{}}
}

// issue returns a new session's cookie value and its expiry.
func (s *sessions) issue() (string, time.Time) {
	raw := make([]byte, sessionRawLen)
	rand.Read(raw[:sessionIDLen]) // never fails (crypto/rand)
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	binary.BigEndian.PutUint64(raw[sessionIDLen:], uint64(exp.Unix()))
	body := b64.EncodeToString(raw)
	return body + "." + b64.EncodeToString(s.sign(body)), exp
}

func (s *sessions) sign(body string) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

// check returns the session's id and expiry when value is a session this key signed, not
// expired and not revoked.
func (s *sessions) check(value string) (id string, exp time.Time, ok bool) {
	body, sig, found := strings.Cut(value, ".")
	if !found {
		return "", time.Time{}, false
	}
	mac, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.sign(body)) {
		return "", time.Time{}, false
	}
	raw, err := b64.DecodeString(body)
	if err != nil || len(raw) != sessionRawLen {
		return "", time.Time{}, false
	}
	exp = time.Unix(int64(binary.BigEndian.Uint64(raw[sessionIDLen:])), 0)
	if !s.now().Before(exp) {
		return "", time.Time{}, false
	}
	id = string(raw[:sessionIDLen])
	s.mu.Lock()
	_, gone := s.revoked[id]
	s.mu.Unlock()
	return id, exp, !gone
}

// revoke ends the session of value, if it is one, and forgets the revocations that expired.
func (s *sessions) revoke(value string) {
	id, exp, ok := s.check(value)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.revoked {
		if !now.Before(e) {
			delete(s.revoked, k)
		}
	}
	s.revoked[id] = exp
}

// revokedCount returns how many revocations are kept (for tests).
func (s *sessions) revokedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.revoked)
}
