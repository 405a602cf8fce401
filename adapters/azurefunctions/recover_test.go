package azurefunctions

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

// timerObject is the timer object of "Timer trigger for Azure Functions", section Usage.
const timerObject = `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2016-10-04T10:15:00+00:00",` +
	`"LastUpdated":"2016-10-04T10:16:00+00:00","Next":"2016-10-04T10:20:00+00:00"},"IsPastDue":false}`

// timerInvocation is the host's invocation request for a timer trigger named timer: Data holds
// the timer value (raw JSON: the object, or JSON text holding it), Metadata the sys values of
// the custom handler documentation's "Request payload" example.
func timerInvocation(t *testing.T, timer string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"Data": map[string]json.RawMessage{"timer": json.RawMessage(timer)},
		"Metadata": map[string]any{"sys": map[string]string{"MethodName": "recover",
			"UtcNow": "2016-10-04T10:20:00.0124107Z", "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quoted(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestDecodeTimer(t *testing.T) {
	for name, v := range map[string]string{
		"object":         timerObject,
		"JSON text":      quoted(timerObject),
		"encoded twice":  quoted(quoted(timerObject)),
		"camel case":     strings.NewReplacer("Schedule", "schedule", "IsPastDue", "isPastDue", "Last", "last", "Next", "next").Replace(timerObject),
		"past due":       strings.Replace(timerObject, `"IsPastDue":false`, `"IsPastDue":true`, 1),
		"no monitoring":  `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`,
		"empty schedule": `{"Schedule":{},"ScheduleStatus":{"Last":"2016-10-04T10:15:00.012699+00:00","Next":"2016-10-04T10:20:00+00:00"},"IsPastDue":false}`,
	} {
		var inv InvokeRequest
		if err := json.Unmarshal(timerInvocation(t, v), &inv); err != nil {
			t.Fatal(err)
		}
		ti, err := DecodeTimer(inv, "Timer") // binding names are matched ignoring case
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ti.IsPastDue != (name == "past due") || (ti.ScheduleStatus == nil) != (name == "no monitoring") ||
			(ti.ScheduleStatus != nil && ti.ScheduleStatus.Next != "2016-10-04T10:20:00+00:00") {
			t.Errorf("%s: %+v %+v", name, ti, ti.ScheduleStatus)
		}
	}
	var inv InvokeRequest
	json.Unmarshal(timerInvocation(t, timerObject), &inv)
	if _, err := DecodeTimer(inv, "myTimer"); err == nil || !strings.Contains(err.Error(), `found ["timer"]`) {
		t.Errorf("missing binding: %v", err)
	}
	json.Unmarshal(timerInvocation(t, `[1,2]`), &inv)
	if _, err := DecodeTimer(inv, "timer"); err == nil {
		t.Error("an array was read as a timer")
	}
}

// The recover function, invoked by the host's timer trigger with the documented payload, sends
// the undelivered events of its window to the channel and answers 200 with a log line.
func TestRecoverTimerInvocation(t *testing.T) {
	api := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	a := stripeapi.NewEvent("customer.updated", "cus_azrec1", now.Add(-48*time.Hour))
	b := stripeapi.NewEvent("customer.created", "cus_azrec2", now.Add(-time.Minute))
	delivered := stripeapi.NewEvent("customer.updated", "cus_azrec3", now.Add(-time.Hour))
	delivered.Delivered = true
	for _, ev := range []stripeapi.Event{a, b, delivered} {
		api.AddEvent(ev)
	}
	s, r := memChannel(t, "recover")
	log, logs := testLogger(t)
	rec := NewRecover(&Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sender: s, Getenv: env{recovery.EnvAPIKey: api.Key(), recovery.EnvAPIBase: api.URL()}.Get}})
	t.Cleanup(func() { rec.Close(context.Background()) })
	h, err := Routes{Recover: rec}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	base := startHandler(t, h)

	res := post(t, base+"/recover", hostHeader(), timerInvocation(t, timerObject))
	if res.status != http.StatusOK {
		t.Fatalf("invocation: %d %s", res.status, res.body)
	}
	var out InvokeResponse
	decodeStrict(t, res.body, &out)
	if len(out.Logs) != 1 || !strings.HasPrefix(out.Logs[0], "hookline: recovery: 2 listed, 2 sent, 0 skipped: undelivered events created ") {
		t.Errorf("response %s", res.body)
	}
	var got []string
	for range 2 {
		ev, err := channel.Decode(receive(t, r).Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID)
	}
	// mem:// does not keep the order of sends; package recovery's tests check oldest first.
	slices.Sort(got)
	if want := slices.Sorted(slices.Values([]string{a.ID(), b.ID()})); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	expectNothing(t, r)
	for _, s := range []string{"azurefunctions: scheduled recovery", "past_due=false", "next=2016-10-04T10:20:00+00:00",
		"azurefunctions: recovery run", "listed=2 sent=2"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q", s)
		}
	}

	if res := post(t, base+"/recover", hostHeader(), []byte(`{"Data":{"myTimer":{}},"Metadata":{}}`)); res.status != http.StatusBadRequest {
		t.Errorf("an invocation without the timer binding: %d %s", res.status, res.body)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/recover", nil)
	if res := do(t, req); res.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", res.status)
	}
}

// A recover function without its key fails every occurrence with 500, says why at start, and
// never shows the key; one whose key Stripe refuses fails the occurrence too.
func TestRecoverFailures(t *testing.T) {
	s, r := memChannel(t, "recover-fail")
	log, logs := testLogger(t)
	rec := NewRecover(&Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sender: s, Getenv: env{}.Get}})
	h, _ := Routes{Recover: rec}.Handler()
	base := startHandler(t, h)
	if !strings.Contains(logs.String(), "azurefunctions: recover function is not configured") ||
		!strings.Contains(logs.String(), "STRIPE_API_KEY is not set") {
		t.Errorf("the start does not say what is missing:\n%s", logs.String())
	}
	res := post(t, base+"/recover", hostHeader(), timerInvocation(t, timerObject))
	if res.status != http.StatusInternalServerError || !strings.Contains(string(res.body), "STRIPE_API_KEY is not set") {
		t.Errorf("unconfigured: %d %s", res.status, res.body)
	}
	if err := rec.pipe.Check(); !isConfigError(err) {
		t.Errorf("Check = %v, want a *ConfigError", err)
	}

	api := stripeapi.Start(t, nil)
	wrong := NewRecover(&Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Sender: s, Getenv: env{recovery.EnvAPIKey: "rk_test_51WrongKey1234", recovery.EnvAPIBase: api.URL()}.Get}})
	h, _ = Routes{Recover: wrong}.Handler()
	base = startHandler(t, h)
	res = post(t, base+"/recover", hostHeader(), timerInvocation(t, quoted(timerObject)))
	if res.status != http.StatusInternalServerError || strings.Contains(string(res.body), "51WrongKey1234") {
		t.Errorf("refused key: %d %s", res.status, res.body)
	}
	expectNothing(t, r)
}
