package emittertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// rig is one source behind a real Handler on a test server, with its clock and its Sender.
type rig struct {
	h       *Harness
	src     emitter.Source
	clock   *clock
	rec     *Recorder
	url     string
	secrets []string // for the leak checks
}

// newRig builds a source for secrets with h.New, and serves it with a Handler configured by
// hopts (nil: the defaults).
func newRig(t *testing.T, h *Harness, secrets []string, hopts *emitter.HandlerOptions) *rig {
	t.Helper()
	r := &rig{h: h, clock: newClock(), rec: &Recorder{}, secrets: secrets}
	var err error
	if r.src, err = h.New(secrets, r.clock.now); err != nil {
		t.Fatalf("%s: New: %v", h.Name, err)
	}
	if r.src == nil {
		t.Fatalf("%s: New returned a nil source", h.Name)
	}
	handler, err := emitter.NewHandler(r.src, r.rec, hopts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// post delivers body with header to the Handler and returns the answer's status and body.
func (r *rig) post(t *testing.T, header http.Header, body []byte) (int, string) {
	t.Helper()
	status, answer, err := r.do(header, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, answer
}

// do is post for any goroutine: it returns the error instead of failing a test.
func (r *rig) do(header http.Header, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// sample returns a sample delivery and its event, failing t on a harness whose want is empty.
func (r *rig) sample(t *testing.T, typ, subject string) ([]byte, hookline.Event) {
	t.Helper()
	body, want := r.h.Sample(typ, subject, created)
	if len(body) == 0 || want.ID == "" {
		t.Fatalf("%s: Harness.Sample(%q, %q) returned an empty body or an event without id", r.h.Name, typ, subject)
	}
	return body, want
}

// expectAccepted delivers body with header and fails t unless the Handler answers 200 and sent
// exactly want.
func (r *rig) expectAccepted(t *testing.T, what string, header http.Header, body []byte, want hookline.Event) hookline.Event {
	t.Helper()
	status, answer := r.post(t, header, body)
	sent := r.rec.take()
	if status != http.StatusOK {
		t.Fatalf("%s: %s: answered %d %s, want 200", r.h.Name, what, status, answer)
	}
	if len(sent) != 1 {
		t.Fatalf("%s: %s: answered 200 %s and sent %d events, want 1", r.h.Name, what, answer, len(sent))
	}
	if d := diff(sent[0], want); d != "" {
		t.Fatalf("%s: %s: sent an event that differs from the harness's:%s", r.h.Name, what, d)
	}
	return sent[0]
}

// expectRefused fails t unless Decode refuses body with header with a 4xx *emitter.RejectError,
// the Handler answers with the same status, nothing is sent, and neither says a secret.
func (r *rig) expectRefused(t *testing.T, what string, header http.Header, body []byte) {
	t.Helper()
	_, err := r.src.Decode(header, body)
	var re *emitter.RejectError
	switch {
	case err == nil:
		t.Fatalf("%s: accepted %s (Decode returned no error)", r.h.Name, what)
	case errors.Is(err, emitter.ErrSkip):
		t.Fatalf("%s: skipped %s (Decode returned ErrSkip): it must be refused", r.h.Name, what)
	case !errors.As(err, &re):
		t.Fatalf("%s: %s: Decode error %v is not a *emitter.RejectError", r.h.Name, what, err)
	case re.Status < 400 || re.Status > 499:
		t.Fatalf("%s: %s: RejectError status %d, want 4xx", r.h.Name, what, re.Status)
	}
	r.noSecretIn(t, what, "the Decode error", err.Error())
	status, answer := r.post(t, header, body)
	if sent := r.rec.take(); len(sent) != 0 {
		t.Fatalf("%s: sent %d events for %s (answered %d %s)", r.h.Name, len(sent), what, status, answer)
	}
	if status != re.Status {
		t.Fatalf("%s: %s: the Handler answered %d %s, want the RejectError's %d", r.h.Name, what, status, answer, re.Status)
	}
	r.noSecretIn(t, what, "the answer", answer)
}

// noSecretIn fails t if text holds one of the rig's secrets, or the part after a "whsec_".
func (r *rig) noSecretIn(t *testing.T, what, where, text string) {
	t.Helper()
	for _, s := range r.secrets {
		_, key, _ := strings.Cut(s, "_")
		for _, leak := range []string{s, key} {
			if len(leak) >= 8 && strings.Contains(text, leak) {
				t.Fatalf("%s: %s: %s quotes a secret: %s", r.h.Name, what, where, text)
			}
		}
	}
}

// diff describes how got differs from want in the fields a source sets, or returns "".
func diff(got, want hookline.Event) string {
	var b strings.Builder
	field := func(name string, g, w any, same bool) {
		if !same {
			fmt.Fprintf(&b, "\n  %s = %v, want %v", name, g, w)
		}
	}
	field("ID", got.ID, want.ID, got.ID == want.ID)
	field("Source", got.Source, want.Source, got.Source == want.Source)
	field("Type", got.Type, want.Type, got.Type == want.Type)
	field("Subject", got.Subject, want.Subject, got.Subject == want.Subject)
	field("Object", got.Object, want.Object, got.Object == want.Object)
	field("Action", got.Action, want.Action, got.Action == want.Action)
	field("Time", got.Time, want.Time, got.Time.Equal(want.Time))
	field("Data", string(got.Data), string(want.Data), bytes.Equal(got.Data, want.Data))
	field("Metadata", got.Metadata, want.Metadata, maps.Equal(got.Metadata, want.Metadata))
	return b.String()
}
