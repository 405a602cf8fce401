// Package sampleid derives the ids and values of the sources' sample events from what they are
// about, so that a sample is the same every time it is made (a redelivery keeps its id).
package sampleid

import "crypto/sha256"

// Sum is the SHA-256 of s, for values derived from a sample's key.
func Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Token derives n base62 characters (n <= 32) from key and purpose, like the random part of a
// sender's ids.
func Token(key, purpose string, n int) string {
	h := Sum(purpose + "\x00" + key)
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[int(h[i])%len(base62)]
	}
	return string(b)
}
