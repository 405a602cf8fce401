package standardwebhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// secretPrefix starts every symmetric Standard Webhooks secret.
const secretPrefix = "whsec_"

// parseSecret returns the key of a "whsec_<base64>" secret. Its errors complete the sentence
// "webhook signing secret ... " and never quote the secret.
func parseSecret(secret string) ([]byte, error) {
	secret = strings.TrimSpace(secret)
	switch {
	case secret == "":
		return nil, errors.New("is empty")
	case secret == "v1":
		// Supabase shows its secrets as "v1,whsec_...", which ParseSecrets splits at the comma.
		return nil, errors.New(`is "v1", the signature version that some senders show before the secret: ` +
			`leave out "v1,"`)
	case !strings.HasPrefix(secret, secretPrefix):
		return nil, errors.New("does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(secret[len(secretPrefix):])
	switch {
	case err != nil:
		var pos base64.CorruptInputError
		if errors.As(err, &pos) {
			return nil, fmt.Errorf("is not whsec_ followed by base64 (invalid at character %d after whsec_)", int64(pos))
		}
		return nil, errors.New("is not whsec_ followed by base64")
	case len(key) == 0:
		return nil, errors.New("has an empty key after whsec_")
	}
	return key, nil
}

// GenerateSecret returns a fresh signing secret: "whsec_" and the base64 of 24 random bytes, the
// size the specification requires at least (and Svix issues). It is for tests and for senders
// that sign with this package ([Sign]).
func GenerateSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key) // crypto/rand.Read never fails; it crashes the program instead
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}
