package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

const (
	token  = "test-console-token-0123456789"
	secret = "whsec_console_test"
)

var seq atomic.Int64

// running is a pipeline on inproc:// with a console, serving on a loopback port.
type running struct {
	base    string // http://127.0.0.1:port
	console *console.Console
	store   *sink.Memory
}

// start runs a pipeline whose sink fails permanently for the event ids in failing.
func start(t *testing.T, opts console.Options, failing func(id string) bool) *running {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	con, err := console.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	store := sink.NewMemory()
	var s sink.Sink = store
	if failing != nil {
		s = failingSink{store, failing}
	}
	ch := fmt.Sprintf("inproc://console-test-%d", seq.Add(1))
	ctx, stop := context.WithCancel(context.Background())
	p, err := pipeline.Open(ctx, pipeline.Config{Channel: ch, Secrets: []string{secret}}, &pipeline.Options{Sink: s, Console: con})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &running{base: "http://" + ln.Addr().String(), console: con, store: store}
}

// failingSink fails permanently for the events fails picks, and writes the others to store. It
// has Write and Close only: embedding *sink.Memory would bring its Apply, which the pipeline
// prefers to Write.
type failingSink struct {
	store *sink.Memory
	fails func(id string) bool
}

func (f failingSink) Write(ctx context.Context, ev hookline.Event) error {
	if f.fails(ev.ID) {
		return hookline.Errorf(hookline.Permanent, "dataverse: column new_stripecustomerid does not exist")
	}
	return f.store.Write(ctx, ev)
}

func (f failingSink) Close() error { return nil }

// post sends a signed event to the webhook and returns its id.
func (r *running) post(t *testing.T, typ, object string, body []byte) {
	t.Helper()
	if body == nil {
		body = stripehook.SampleEvent(typ, object, time.Now())
	}
	req, _ := http.NewRequest(http.MethodPost, r.base+"/webhook", bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

func (r *running) api(t *testing.T, method, path, tok string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+"/console/"+path, body)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewNeedsAToken(t *testing.T) {
	for tok, want := range map[string]string{"": console.EnvToken, "short": "at least 16"} {
		if _, err := console.New(console.Options{Token: tok}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(token %q) = %v, want an error saying %q", tok, err, want)
		}
	}
}

type eventsAnswer struct {
	Events []console.Event `json:"events"`
}

// The API lists what the webhook accepted and the sink stored, with the token only.
func TestEventsAPI(t *testing.T) {
	r := start(t, console.Options{}, func(id string) bool { return false })
	r.post(t, "customer.created", "cus_a", nil)
	r.post(t, "customer.updated", "cus_b", nil)
	waitFor(t, "two stored events", func() bool { return r.store.Len() == 2 })

	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		if code, body := r.api(t, "GET", "api/events", tok, nil); code != http.StatusUnauthorized || bytes.Contains(body, []byte("cus_")) {
			t.Errorf("GET api/events with token %q = %d %s, want 401 and no data", tok, code, body)
		}
	}
	var got eventsAnswer
	waitFor(t, "both events stored in the console", func() bool {
		code, body := r.api(t, "GET", "api/events?status=stored", token, nil)
		if code != http.StatusOK {
			t.Fatalf("GET api/events = %d %s", code, body)
		}
		got = eventsAnswer{}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		return len(got.Events) == 2
	})
	if got.Events[0].Subject != "cus_b" || got.Events[1].Subject != "cus_a" || got.Events[0].Type != "customer.updated" {
		t.Errorf("events = %+v, want cus_b then cus_a, newest first", got.Events)
	}
	code, body := r.api(t, "GET", "api/events?type=customer.c*", token, nil)
	if err := json.Unmarshal(body, &got); err != nil || code != 200 || len(got.Events) != 1 || got.Events[0].Subject != "cus_a" {
		t.Errorf("filter by type prefix: %d %s", code, body)
	}
	id := got.Events[0].ID
	code, body = r.api(t, "GET", "api/events/"+id, token, nil)
	var one struct {
		console.Event
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &one); err != nil || code != 200 || one.ID != id || len(one.Deliveries) != 1 ||
		one.Deliveries[0].Outcome != "stored" || !bytes.Contains(one.Data, []byte(`"cus_a"`)) {
		t.Errorf("GET api/events/%s = %d %s", id, code, body)
	}
}

// A browser logs in with a form; the cookie it gets is HttpOnly and SameSite=Strict, and a
// cross-site POST is refused even with it.
func TestLoginAndCrossSiteRefusal(t *testing.T) {
	r := start(t, console.Options{}, nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(r.base+"/console/login", url.Values{"token": {"nope-nope-nope-nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a wrong token = %d, want 401", resp.StatusCode)
	}
	noRedirect := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(r.base+"/console/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, token) {
		t.Fatalf("login = %d, Set-Cookie %q", resp.StatusCode, ck)
	}
	resp, err = client.Get(r.base + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<h1>Events</h1>")) {
		t.Errorf("GET events after login = %d\n%s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest(http.MethodPost, r.base+"/console/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
	}
}

// Event data is shown as text: a <script> in it is escaped, never markup.
func TestEventDataIsEscaped(t *testing.T) {
	r := start(t, console.Options{}, nil)
	body := stripehook.SampleEvent("customer.created", "cus_x", time.Now())
	body = bytes.Replace(body, []byte(`"cus_x"`), []byte(`"cus_x", "name": "<script>alert(1)</script>"`), 1)
	r.post(t, "", "", body)
	var id string
	waitFor(t, "the event stored", func() bool {
		_, b := r.api(t, "GET", "api/events?object=cus_x&status=stored", token, nil)
		var got eventsAnswer
		json.Unmarshal(b, &got)
		if len(got.Events) == 1 {
			id = got.Events[0].ID
		}
		return id != ""
	})
	req, _ := http.NewRequest("GET", r.base+"/console/events/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(page, []byte("<script>alert")) || !bytes.Contains(page, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
		t.Errorf("the event page does not escape the data:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}
