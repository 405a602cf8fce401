package standardwebhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// stdDecode is the reference that decodePayload is held to: encoding/json's reading of the body
// into maps (names match exactly once their escapes are decoded; a repeated name keeps its last
// value), an RFC 6901 pointer resolved over the decoded document, and the refusals the package
// documentation lists. It is written independently of decode.go and pointer.go on purpose.
func stdDecode(body []byte, ptr string) (p payload, ok bool) {
	var top map[string]json.RawMessage
	if !utf8.Valid(body) || json.Unmarshal(body, &top) != nil || top == nil {
		return p, false
	}
	str := func(raw json.RawMessage) (string, bool) {
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil || s == "" ||
			strings.ContainsFunc(s, unicode.IsControl) {
			return "", false
		}
		return s, true
	}
	typ, ok1 := str(top["type"])
	ts, ok2 := str(top["timestamp"])
	if !ok1 || !ok2 {
		return p, false
	}
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil || at.Unix() < 0 || at.UTC().Year() > 9999 {
		return p, false
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return p, false
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	for _, tok := range strings.Split(ptr, "/")[1:] {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[unescape.Replace(tok)]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || strconv.Itoa(i) != tok || i < 0 || i >= len(v) {
				return p, false
			}
			doc = v[i]
		default:
			return p, false
		}
	}
	subject, isString := doc.(string)
	if !isString || subject == "" || strings.ContainsFunc(subject, unicode.IsControl) {
		return p, false
	}
	data, hasData := top["data"]
	if !hasData {
		data = bytes.TrimSpace(body)
	}
	return payload{typ: typ, subject: subject, at: at.UTC(), data: data}, true
}

// fuzzSeeds are bodies at the edges of what decodePayload reads: escaped, repeated and
// case-variant names, members of the wrong JSON type, times the wire format cannot carry, arrays
// on the pointer's way, and bodies that are not UTF-8.
var fuzzSeeds = []string{
	`{"type":"user.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"u1"}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"u1","\u0069d":"u2"}}`,
	`{"\u0074ype":"a.b","t\u0069mestamp":"2022-11-03T20:26:10+01:00","d\u0061ta":{"\u0069d":"u\u00e9"}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"u1"},"data":{"x":1}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"u1"},"data":null}`,
	`{"type":1,"type":"a.b","timestamp":2,"timestamp":"2022-11-03T20:26:10Z","data":{"id":3,"id":"u"}}`,
	`{"type":"a.b","type":null,"timestamp":"2022-11-03T20:26:10Z","data":{"id":"u"}}`,
	`{"Type":"a","type":"b","timestamp":"2022-11-03T20:26:10Z","Data":{},"data":{"ID":"x","id":"y"}}`,
	`{"type":"a.b","timestamp":"9999-12-31T23:59:59.999999999Z","data":{"id":"u"}}`,
	`{"type":"a.b","timestamp":"9999-12-31T23:59:59-00:01","data":{"id":"u"}}`,
	`{"type":"a.b","timestamp":"1969-12-31T23:59:59.999999999Z","data":{"id":"u"}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10,5Z","data":{"id":"u"}}`,
	`{"type":"a.b","timestamp":"2022-11-03t20:26:10z","data":{"id":"u"}}`,
	`{"type":"a\u0000b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"u"}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"u\u009f"}}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"id":"\ud800"}}`,
	"{\"type\":\"a.b\",\"timestamp\":\"2022-11-03T20:26:10Z\",\"data\":{\"id\":\"u\",\"n\":\"\xff\"}}",
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":[{"id":"u"}]}`,
	`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","id":"top"}`,
	` {"type":"a.b" , "timestamp" : "2022-11-03T20:26:10Z" , "data" : { "id" : "u" } } `,
	`null`, `[]`, `{}`, `{"type":"a.b"} x`,
}

var fuzzPointers = []string{"", "/data/id", "/id", "/data/items/1/id", "/data/a~1b", "/data/~01", "/data/", "/0"}

// FuzzDecode holds decodePayload to stdDecode on arbitrary bodies and subject pointers: the same
// verdict, and for an accepted body the same type, time, subject and data bytes. It never panics.
func FuzzDecode(f *testing.F) {
	for i, typ := range []string{"user.created", "user.updated", "user.deleted"} {
		f.Add(SampleEvent(typ, "user_1", time.Unix(1709294400, int64(i)*250e6)), "")
	}
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), fuzzPointers[i%len(fuzzPointers)])
	}
	f.Add([]byte(`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"items":[{"id":"a"},{"id":"b"}]}}`), "/data/items/1/id")
	f.Add([]byte(`{"type":"a.b","timestamp":"2022-11-03T20:26:10Z","data":{"a/b":"s","~1":"t"}}`), "/data/~01")
	f.Fuzz(func(t *testing.T, body []byte, ptrText string) {
		ptr, err := parsePointer(ptrText)
		if err != nil {
			return
		}
		if ptrText == "" {
			ptrText = DefaultSubject
		}
		got, err := decodePayload(body, ptr)
		want, ok := stdDecode(body, ptrText)
		if (err == nil) != ok {
			t.Fatalf("body %q, pointer %q: decodePayload error %v, encoding/json accepts: %v", body, ptrText, err, ok)
		}
		if err != nil {
			return
		}
		if got.typ != want.typ || !got.at.Equal(want.at) || got.subject != want.subject || !bytes.Equal(got.data, want.data) {
			t.Fatalf("body %q, pointer %q:\n ours          %q %v %q %s\n encoding/json %q %v %q %s",
				body, ptrText, got.typ, got.at, got.subject, got.data, want.typ, want.at, want.subject, want.data)
		}
	})
}

// FuzzVerify holds the verifier to its contract on arbitrary headers and bodies: it never
// panics, and whatever passes it carries, among its signature entries, "v1," and the base64
// HMAC-SHA256 of "<id>.<timestamp>.<body>" under the key (computed here with crypto/hmac
// alone), with a timestamp inside the window.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1709294400, 0)
	src, err := New([]string{secret}, &Options{Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	body := SampleEvent("user.created", "user_1", now)
	valid := Sign("msg_1", now, body, secret)
	f.Add("msg_1", valid.Get(HeaderTimestamp), valid.Get(HeaderSignature), body)
	f.Add("msg_1", valid.Get(HeaderTimestamp), "v1a,x "+valid.Get(HeaderSignature)+" v1,", body)
	f.Add("msg.1", "01709294400", "v1,"+strings.Repeat("A", 44), []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		gotID, err := src.verify(h, body)
		if err != nil {
			return
		}
		key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		n, perr := strconv.ParseInt(ts, 10, 64)
		if gotID != id || !slices.Contains(strings.Fields(sig), want) || perr != nil ||
			time.Unix(n, 0).Sub(now).Abs() > DefaultTolerance {
			t.Fatalf("verified id %q, timestamp %q, signature %q", id, ts, sig)
		}
	})
}
