package standardwebhooks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/emittertest"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

var (
	// secret and otherSecret hold 24-byte keys, as senders issue them; their text must never
	// appear in a response or an error.
	secret      = "whsec_" + base64.StdEncoding.EncodeToString([]byte("test 5ecret never echoed"))
	otherSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("another 5ecret, unechoed"))
)

const (
	msgID   = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	userID  = "user_29w83sxmDNGwOuEthce5gg56FcC"
	evType  = "user.updated"
	subject = userID
)

// created is when the sample events happened: a time with sub-second digits, as Svix writes it.
var created = time.Date(2024, 3, 1, 12, 0, 0, 344522000, time.UTC)

// recorder is a Sender that keeps a deep copy of every event it accepts.
type recorder = emittertest.Recorder

// discard is a Sender that accepts everything and keeps nothing.
type discard struct{}

func (discard) Send(context.Context, hookline.Event) error { return nil }

// fixedClock returns a Now option for a clock that reads at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

func serve(t *testing.T, secrets []string, dst emitter.Sender, opts *standardwebhooks.Options) string {
	t.Helper()
	h, err := standardwebhooks.NewHandler(secrets, dst, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

type result struct {
	status int
	body   string
}

// deliver POSTs body to url with the given headers.
func deliver(t *testing.T, url string, body []byte, header http.Header) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, string(b)}
}

// expect checks status and body, and that the body gives no secret away.
func expect(t *testing.T, got result, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Errorf("got %d %s, want %d %s", got.status, got.body, status, body)
	}
	for _, s := range []string{secret, otherSecret, secret[6:], otherSecret[6:], "5ecret"} {
		if strings.Contains(got.body, s) {
			t.Errorf("response body %q contains a secret", got.body)
		}
	}
}

func rejected(reason string) string { return `{"error":"` + reason + `"}` }
func accepted(id string) string     { return `{"received":true,"id":"` + id + `"}` }

func nothingSent(t *testing.T, rec *recorder) {
	t.Helper()
	if n := len(rec.Sent()); n != 0 {
		t.Errorf("sent %d events, want none", n)
	}
}

// decodeErr decodes with a fresh Source and returns the error, checking that it is a
// RejectError with status 400 and the given reason, and that it wraps want.
func decodeErr(t *testing.T, src *standardwebhooks.Source, header http.Header, body []byte, reason string, want error) {
	t.Helper()
	_, err := src.Decode(header, body)
	var re *emitter.RejectError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || re.Reason != reason {
		t.Fatalf("Decode error = %v, want a 400 RejectError %q", err, reason)
	}
	if !errors.Is(err, want) {
		t.Errorf("Decode error = %v, does not wrap %v", err, want)
	}
	for _, s := range []string{secret, secret[6:], otherSecret[6:]} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}

// newSource returns a Source for secrets whose clock reads now.
func newSource(t *testing.T, now time.Time, secrets ...string) *standardwebhooks.Source {
	t.Helper()
	src, err := standardwebhooks.New(secrets, &standardwebhooks.Options{Now: fixedClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}
