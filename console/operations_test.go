package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

type opDeadLetters struct {
	Channel     string               `json:"channel"`
	DeadLetters []console.DeadLetter `json:"dead_letters"`
	Error       string               `json:"error"`
}

func (r *running) deadLetters(t *testing.T) opDeadLetters {
	t.Helper()
	code, body := r.do(t, "GET", "api/deadletters", nil)
	var v opDeadLetters
	if err := json.Unmarshal(body, &v); err != nil || code != http.StatusOK {
		t.Fatalf("GET api/deadletters = %d %s (%v)", code, body, err)
	}
	return v
}

func (v opDeadLetters) ids() []string {
	var out []string
	for _, d := range v.DeadLetters {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}

type opResult struct {
	Action    string `json:"action"`
	Received  int    `json:"received"`
	Selected  int    `json:"selected"`
	Replayed  *int   `json:"replayed"`
	Discarded *int   `json:"discarded"`
	Failed    int    `json:"failed"`
	Error     string `json:"error"`
}

func opAction(t *testing.T, r *running, verb string, body any) opResult {
	t.Helper()
	code, b := r.do(t, "POST", "api/deadletters/"+verb, body)
	var res opResult
	if err := json.Unmarshal(b, &res); err != nil || code != http.StatusOK {
		t.Fatalf("POST api/deadletters/%s = %d %s (%v)", verb, code, b, err)
	}
	return res
}

// The sink refuses two objects for good: both are dead-lettered and listed with the reason; once
// the sink is fixed, one is replayed (and stored) and the other discarded.
func TestDeadLettersListReplayDiscard(t *testing.T) {
	r := start(t, setup{Fails: objects("cus_bad1", "cus_bad2")})
	bad1 := r.post(t, "customer.updated", "cus_bad1")
	bad2 := r.post(t, "customer.updated", "cus_bad2")
	r.post(t, "customer.created", "cus_ok")
	waitFor(t, "the good event stored", func() bool { return r.store.Len() == 1 })

	var v opDeadLetters
	waitFor(t, "two dead letters", func() bool { v = r.deadLetters(t); return len(v.DeadLetters) == 2 })
	if want := []string{bad1, bad2}; !slices.Equal(v.ids(), slices.Sorted(slices.Values(want))) {
		t.Fatalf("dead letters %v, want %v", v.ids(), want)
	}
	for _, d := range v.DeadLetters {
		if !strings.Contains(d.Reason, "new_stripecustomerid does not exist") || d.Kind == "" || d.Type != "customer.updated" ||
			!strings.HasPrefix(d.Object, "cus_bad") || d.When == nil || d.Attempts == "" {
			t.Errorf("dead letter %+v", d)
		}
	}
	if !strings.HasPrefix(v.Channel, "inproc://") {
		t.Errorf("channel %q", v.Channel)
	}

	if code, b := r.do(t, "POST", "api/deadletters/replay", `{}`); code != http.StatusBadRequest || !bytes.Contains(b, []byte(`ids`)) {
		t.Errorf("replay without a selection = %d %s, want 400 naming ids", code, b)
	}

	r.fixed.Store(true)
	res := opAction(t, r, "replay", map[string]any{"ids": []string{bad1}})
	if res.Received != 2 || res.Selected != 1 || res.Replayed == nil || *res.Replayed != 1 || res.Failed != 0 || res.Discarded != nil {
		t.Fatalf("replay = %+v", res)
	}
	waitFor(t, "the replayed event stored", func() bool { _, ok := r.store.Get("cus_bad1"); return ok })
	if v = r.deadLetters(t); !slices.Equal(v.ids(), []string{bad2}) {
		t.Fatalf("after the replay: dead letters %v, want %v", v.ids(), bad2)
	}

	res = opAction(t, r, "discard", map[string]any{"all": true})
	if res.Received != 1 || res.Selected != 1 || res.Discarded == nil || *res.Discarded != 1 || res.Replayed != nil {
		t.Fatalf("discard = %+v", res)
	}
	if v = r.deadLetters(t); len(v.DeadLetters) != 0 {
		t.Fatalf("after the discard: dead letters %v", v.ids())
	}
	if _, ok := r.store.Get("cus_bad2"); ok {
		t.Error("the discarded event was stored")
	}
}

// The HTML flow: a POST without confirm=yes asks, with it the action runs.
func TestDeadLettersConfirmation(t *testing.T) {
	r := start(t, setup{Channel: fmt.Sprintf("inproc://console-operations-test-%d", seq.Add(1)), Fails: objects("cus_bad1", "cus_bad2", "cus_bad3")})
	for _, o := range []string{"cus_bad1", "cus_bad2", "cus_bad3"} {
		r.post(t, "customer.updated", o)
	}
	var v opDeadLetters
	waitFor(t, "three dead letters", func() bool { v = r.deadLetters(t); return len(v.DeadLetters) == 3 })
	code, page := r.do(t, "GET", "deadletters", nil)
	if code != 200 || !bytes.Contains(page, []byte(`name="id" value="`+v.DeadLetters[0].ID+`"`)) || !bytes.Contains(page, []byte("Replay selected")) {
		t.Fatalf("GET deadletters = %d\n%s", code, page)
	}

	form := url.Values{"id": v.ids()}
	code, page = r.do(t, "POST", "deadletters/replay", form)
	if code != 200 || !bytes.Contains(page, []byte("Replay 3 dead-lettered events to inproc://console-operations-test-")) ||
		!bytes.Contains(page, []byte(`name="confirm" value="yes"`)) || !bytes.Contains(page, []byte("Cancel")) {
		t.Fatalf("POST deadletters/replay without confirm = %d\n%s", code, page)
	}
	if got := r.deadLetters(t); len(got.DeadLetters) != 3 {
		t.Fatalf("asking for confirmation changed the dead letters: %v", got.ids())
	}

	r.fixed.Store(true)
	form.Set("confirm", "yes")
	code, page = r.do(t, "POST", "deadletters/replay", form)
	if code != 200 || !bytes.Contains(page, []byte("3 received, 3 selected, 3 replayed, 0 failed.")) {
		t.Fatalf("POST deadletters/replay with confirm = %d\n%s", code, page)
	}
	waitFor(t, "the three replayed events stored", func() bool { return r.store.Len() == 3 })
	if got := r.deadLetters(t); len(got.DeadLetters) != 0 {
		t.Fatalf("left after the replay: %v", got.ids())
	}
}

// A read-only console shows the dead letters but no buttons, and refuses every action.
func TestOperationsReadOnly(t *testing.T) {
	r := start(t, setup{Console: console.Options{ReadOnly: true, StripeAPIKey: "rk_test_readonly"}, Fails: objects("cus_bad")})
	r.post(t, "customer.updated", "cus_bad")
	waitFor(t, "a dead letter", func() bool { return len(r.deadLetters(t).DeadLetters) == 1 })
	if code, page := r.do(t, "GET", "deadletters", nil); code != 200 || bytes.Contains(page, []byte("Replay selected")) ||
		bytes.Contains(page, []byte(`type="checkbox"`)) || !bytes.Contains(page, []byte("cus_bad")) {
		t.Errorf("read-only GET deadletters = %d\n%s", code, page)
	}
	for path, body := range map[string]any{
		"api/deadletters/replay":  `{"all": true}`,
		"api/deadletters/discard": `{"all": true}`,
		"deadletters/replay":      url.Values{"all": {"1"}, "confirm": {"yes"}},
		"deadletters/discard":     url.Values{"all": {"1"}, "confirm": {"yes"}},
		"api/recover":             `{"since": "1h"}`,
		"recover":                 url.Values{"since": {"1h"}},
	} {
		if code, b := r.do(t, "POST", path, body); code != http.StatusForbidden || !bytes.Contains(b, []byte("the console is read-only")) {
			t.Errorf("read-only POST %s = %d %s", path, code, b)
		}
	}
	if len(r.deadLetters(t).DeadLetters) != 1 {
		t.Error("a read-only console changed the dead letters")
	}
	if code, page := r.do(t, "GET", "recover", nil); code != 200 || !bytes.Contains(page, []byte("Recovery is disabled in read-only mode ("+console.EnvReadOnly+")")) ||
		bytes.Contains(page, []byte(`name="since"`)) {
		t.Errorf("read-only GET recover = %d, want it to say recovery is disabled, with no form:\n%s", code, page)
	}
}

type opRecover struct {
	Enabled bool   `json:"enabled"`
	Running bool   `json:"running"`
	Message string `json:"message"`
	Run     *struct {
		Listed, Sent, Skipped int
		Running               bool
		Started               time.Time
		Finished              *time.Time
		Error                 string
		Types                 []string
	} `json:"run"`
}

func (r *running) recoverState(t *testing.T) opRecover {
	t.Helper()
	code, b := r.do(t, "GET", "api/recover", nil)
	var v opRecover
	if err := json.Unmarshal(b, &v); err != nil || code != 200 {
		t.Fatalf("GET api/recover = %d %s (%v)", code, b, err)
	}
	return v
}

// Recovery against the repository's Stripe API double (stripe-mock answers the same fixture
// whatever is asked, so it cannot tell which events a run brings back): the undelivered
// customer events reach the sink, with progress on the page and in the API.
func TestRecover(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for i := range 5 {
		srv.AddEvent(stripeapi.NewEvent("customer.updated", fmt.Sprintf("cus_rec%d", i), base.Add(time.Duration(i)*time.Minute)))
	}
	srv.AddEvent(stripeapi.NewEvent("invoice.paid", "cus_other", base))
	delivered := stripeapi.NewEvent("customer.updated", "cus_delivered", base)
	delivered.Delivered = true
	srv.AddEvent(delivered)

	r := start(t, setup{Console: console.Options{StripeAPIKey: srv.Key(), StripeAPIBase: srv.URL()}, Fails: objects()})
	if v := r.recoverState(t); !v.Enabled || v.Running || v.Run != nil {
		t.Fatalf("before a run: %+v", v)
	}
	if code, b := r.do(t, "POST", "api/recover", `{"since": "yesterday"}`); code != http.StatusBadRequest || !bytes.Contains(b, []byte("RFC 3339")) {
		t.Errorf("a bad since = %d %s", code, b)
	}
	code, b := r.do(t, "POST", "api/recover", map[string]any{"since": "3h", "undelivered": true, "types": []string{"customer.*"}})
	if code != http.StatusAccepted {
		t.Fatalf("POST api/recover = %d %s", code, b)
	}
	var v opRecover
	waitFor(t, "the recovery to finish", func() bool { v = r.recoverState(t); return v.Run != nil && !v.Run.Running })
	if v.Run.Error != "" || v.Run.Sent != 5 || v.Run.Listed != 5 || v.Run.Finished == nil || !slices.Equal(v.Run.Types, []string{"customer.*"}) {
		t.Fatalf("run %+v", *v.Run)
	}
	waitFor(t, "the recovered events stored", func() bool { return r.store.Len() == 5 })
	if _, ok := r.store.Get("cus_delivered"); ok {
		t.Error("a delivered event was recovered")
	}
	code, page := r.do(t, "GET", "recover", nil)
	if code != 200 || !bytes.Contains(page, []byte("Last recovery")) || !bytes.Contains(page, []byte("<dt>Sent</dt><dd>5</dd>")) {
		t.Errorf("GET recover = %d\n%s", code, page)
	}

	// The form starts a run too.
	code, page = r.do(t, "POST", "recover", url.Values{"since": {"3h"}, "types": {"invoice.paid"}})
	if code != http.StatusAccepted || !bytes.Contains(page, []byte("Recovery started.")) {
		t.Fatalf("POST recover = %d\n%s", code, page)
	}
	waitFor(t, "the second recovery to finish", func() bool { v = r.recoverState(t); return !v.Run.Running })
	waitFor(t, "the invoice stored", func() bool { _, ok := r.store.Get("cus_other"); return ok })
}

// A second start while a run is going is refused with 409.
func TestRecoverOneAtATime(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	stripe := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) == 1 {
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[],"has_more":false,"url":"/v1/events"}`)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go stripe.Serve(ln)
	t.Cleanup(func() { stripe.Close() })
	r := start(t, setup{Console: console.Options{StripeAPIKey: "rk_test_oneatatime", StripeAPIBase: "http://" + ln.Addr().String()}, Fails: objects()})
	if code, b := r.do(t, "POST", "api/recover", `{"since": "1h"}`); code != http.StatusAccepted {
		t.Fatalf("first start = %d %s", code, b)
	}
	waitFor(t, "the run to ask Stripe", func() bool { return calls.Load() >= 1 })
	if v := r.recoverState(t); !v.Running {
		t.Fatalf("not running: %+v", v)
	}
	if code, page := r.do(t, "GET", "recover", nil); code != 200 || !bytes.Contains(page, []byte(`data-live="5"`)) {
		t.Errorf("the page of a running recovery does not refresh itself: %d\n%s", code, page)
	}
	if code, b := r.do(t, "POST", "api/recover", `{"since": "1h"}`); code != http.StatusConflict || !bytes.Contains(b, []byte("already running")) {
		t.Errorf("second start = %d %s", code, b)
	}
	close(release)
	waitFor(t, "the run to finish", func() bool { return !r.recoverState(t).Running })
}

// Without a Stripe key the page says how to enable recovery and a start is refused.
func TestRecoverNeedsAKey(t *testing.T) {
	r := start(t, setup{Fails: objects()})
	if code, page := r.do(t, "GET", "recover", nil); code != 200 || !bytes.Contains(page, []byte("STRIPE_API_KEY")) || bytes.Contains(page, []byte(`name="since"`)) {
		t.Errorf("GET recover without a key = %d\n%s", code, page)
	}
	if code, b := r.do(t, "POST", "api/recover", `{"since": "1h"}`); code != http.StatusConflict || !bytes.Contains(b, []byte("STRIPE_API_KEY")) {
		t.Errorf("POST api/recover without a key = %d %s", code, b)
	}
	if v := r.recoverState(t); v.Enabled || !strings.Contains(v.Message, "STRIPE_API_KEY") {
		t.Errorf("GET api/recover without a key = %+v", v)
	}
}

// On a broker's channel the console opens a receiver on the dead-letter queue itself
// (Options.DeadLetterSubscription), lists and replays from it, and closes it with the pipeline.
func TestDeadLettersOnRabbitMQ(t *testing.T) {
	srv := rabbittest.Server(t)
	main := rabbittest.Declare(t, srv, "hookline-console-main", rabbitsetup.Options{})
	dl := rabbittest.Declare(t, srv, "hookline-console-dl", rabbitsetup.Options{})
	r := start(t, setup{Channel: "rabbitmq://" + main, DeadLetter: "rabbitmq://" + dl,
		Console: console.Options{DeadLetterWait: time.Second, DeadLetterSubscription: "rabbitmq://" + dl}, Fails: objects("cus_rabbit")})

	id := r.post(t, "customer.updated", "cus_rabbit")
	var v opDeadLetters
	waitFor(t, "the dead letter on RabbitMQ", func() bool { v = r.deadLetters(t); return len(v.DeadLetters) == 1 })
	if v.DeadLetters[0].ID != id || !strings.Contains(v.DeadLetters[0].Reason, "does not exist") || v.Channel != "rabbitmq://"+dl {
		t.Fatalf("dead letters %+v", v)
	}
	r.fixed.Store(true)
	res := opAction(t, r, "replay", map[string]any{"all": true})
	if res.Received != 1 || res.Replayed == nil || *res.Replayed != 1 {
		t.Fatalf("replay = %+v", res)
	}
	waitFor(t, "the replayed event stored", func() bool { _, ok := r.store.Get("cus_rabbit"); return ok })
	if v = r.deadLetters(t); len(v.DeadLetters) != 0 {
		t.Fatalf("left: %v", v.ids())
	}
}

// Without a dead-letter channel the page says how to configure one and the API answers 404; a
// listing that fails shows its error.
func TestDeadLettersUnconfiguredOrFailing(t *testing.T) {
	srv := rabbittest.Server(t)
	main := rabbittest.Declare(t, srv, "hookline-console-main", rabbitsetup.Options{})
	r := start(t, setup{Channel: "rabbitmq://" + main, Fails: objects()})
	if code, page := r.do(t, "GET", "deadletters", nil); code != 200 || !bytes.Contains(page, []byte("HOOKLINE_DEADLETTER")) {
		t.Errorf("GET deadletters without a dead-letter channel = %d\n%s", code, page)
	}
	for _, path := range []string{"api/deadletters"} {
		if code, b := r.do(t, "GET", path, nil); code != http.StatusNotFound || !bytes.Contains(b, []byte("HOOKLINE_DEADLETTER")) {
			t.Errorf("GET %s = %d %s", path, code, b)
		}
	}
	if code, b := r.do(t, "POST", "api/deadletters/replay", `{"all": true}`); code != http.StatusNotFound || !bytes.Contains(b, []byte("HOOKLINE_DEADLETTER")) {
		t.Errorf("POST api/deadletters/replay = %d %s", code, b)
	}

	dl := rabbittest.Declare(t, srv, "hookline-console-dl", rabbitsetup.Options{})
	r = start(t, setup{Channel: "rabbitmq://" + main, DeadLetter: "rabbitmq://" + dl, Fails: objects(),
		Console: console.Options{DeadLetterWait: 500 * time.Millisecond, DeadLetterSubscription: "rabbitmq://hookline-console-no-such-queue"}})
	code, page := r.do(t, "GET", "deadletters", nil)
	if code != 200 || !bytes.Contains(page, []byte(`class="error"`)) || !bytes.Contains(page, []byte("listing the dead-letter channel failed")) {
		t.Errorf("GET deadletters of a missing queue = %d\n%s", code, page)
	}
	if code, b := r.do(t, "GET", "api/deadletters", nil); code != http.StatusBadGateway || !bytes.Contains(b, []byte(`"error"`)) ||
		bytes.Contains(b, []byte("guest:guest")) {
		t.Errorf("GET api/deadletters of a missing queue = %d %s", code, b)
	} else {
		t.Logf("GET api/deadletters of a missing queue = %d %s", code, b)
	}
}
