package azurefunctions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// sbInvocation is the host's invocation request for a serviceBusTrigger binding named message:
// data is the Data value as the host writes it, and the metadata follows "Message metadata" of
// the Service Bus trigger reference, with scalars JSON-encoded the way the host encodes them.
func sbInvocation(t *testing.T, data any, messageID string, deliveryCount int, props map[string]any) []byte {
	t.Helper()
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	md := map[string]any{
		"MessageId":             quoted(messageID),
		"DeliveryCount":         deliveryCount,
		"SequenceNumber":        "42",
		"EnqueuedTimeUtc":       quoted("2024-05-01T10:11:12.1234567Z"),
		"ContentType":           quoted(channel.ContentType),
		"ApplicationProperties": props,
		"LockToken":             quoted("5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"),
		"sys":                   map[string]any{"MethodName": "processor", "UtcNow": "2024-05-01T10:11:13Z"},
	}
	b, err := json.Marshal(map[string]any{"Data": map[string]any{"message": data}, "Metadata": md})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sbResponse is the documented response payload of a function without output bindings.
type sbResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

func checkSBResponse(t *testing.T, got result, status int, log string) {
	t.Helper()
	if got.status != status || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d (%s), want %d: %s", got.status, got.header.Get("Content-Type"), status, got.body)
	}
	var out sbResponse
	decodeStrict(t, got.body, &out)
	if keys := jsonKeys(t, got.body); keys != "Logs,Outputs,ReturnValue" || len(out.Outputs) != 0 || out.ReturnValue != nil {
		t.Errorf("response = %s", got.body)
	}
	if len(out.Logs) != 1 || !strings.Contains(out.Logs[0], log) {
		t.Errorf("Logs = %q, want one containing %q", out.Logs, log)
	}
}

func processorApp(t *testing.T, s sink.Sink, dead *channel.Sender) string {
	t.Helper()
	log, _ := testLogger(t)
	base, _, _ := app(t, &Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{}.Get, Logger: log, Sink: s, DeadLetter: dead, Consumer: &channel.ProcessorOptions{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxDeliveries: 5}}})
	return base
}

func TestProcessorServiceBusTrigger(t *testing.T) {
	mem := sink.NewMemory()
	dead, deadRecv := memChannel(t, "dead")
	base := processorApp(t, mem, dead)
	body := encode(t, testEvent("evt_sb1", "cus_sb1"))

	got := post(t, base+"/processor", hostHeader(), sbInvocation(t, base64.StdEncoding.EncodeToString(body), "evt_sb1", 1, map[string]any{"ce_id": "evt_sb1"}))
	checkSBResponse(t, got, http.StatusOK, "message evt_sb1 (delivery 1) done")
	if rec, ok := mem.Get("cus_sb1"); !ok || rec.Event.ID != "evt_sb1" {
		t.Fatalf("sink has %+v, %v", rec, ok)
	}
	expectNothing(t, deadRecv)
}

func TestProcessorBodyForms(t *testing.T) {
	mem := sink.NewMemory()
	base := processorApp(t, mem, nil)
	for i, tc := range []struct {
		name string
		data func(body []byte) any
	}{
		{"binary (base64)", func(b []byte) any { return base64.StdEncoding.EncodeToString(b) }},
		{"string", func(b []byte) any { return string(b) }},
		{"string encoded twice", func(b []byte) any { s, _ := json.Marshal(string(b)); return string(s) }},
		{"parsed JSON object", func(b []byte) any { return json.RawMessage(b) }},
	} {
		subject := "cus_form" + string(rune('a'+i))
		body := encode(t, testEvent("evt_form"+string(rune('a'+i)), subject))
		got := post(t, base+"/processor", hostHeader(), sbInvocation(t, tc.data(body), "m", 1, nil))
		checkSBResponse(t, got, http.StatusOK, "done")
		if _, ok := mem.Get(subject); !ok {
			t.Errorf("%s: the event did not reach the sink", tc.name)
		}
	}
}

func TestProcessorFailingSinkAbandons(t *testing.T) {
	var calls atomic.Int32
	failing := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		calls.Add(1)
		return errors.New("dataverse: 503 Service Unavailable")
	})
	dead, deadRecv := memChannel(t, "dead")
	base := processorApp(t, failing, dead)

	body := encode(t, testEvent("evt_fail", "cus_fail"))
	got := post(t, base+"/processor", hostHeader(), sbInvocation(t, base64.StdEncoding.EncodeToString(body), "evt_fail", 3, nil))
	checkSBResponse(t, got, http.StatusInternalServerError, "message evt_fail (delivery 3) abandoned")
	if calls.Load() != 2 {
		t.Errorf("sink called %d times, want MaxAttempts = 2", calls.Load())
	}
	expectNothing(t, deadRecv)
}

func TestProcessorDeadLetters(t *testing.T) {
	var calls atomic.Int32
	permanent := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		calls.Add(1)
		return hookline.Errorf(hookline.Permanent, "dataverse: 400 invalid email")
	})
	dead, deadRecv := memChannel(t, "dead")
	base := processorApp(t, permanent, dead)
	body := encode(t, testEvent("evt_perm", "cus_perm"))

	for _, tc := range []struct {
		name     string
		data     any
		delivery int
		kind     string
		calls    int32
	}{
		{"permanent failure", base64.StdEncoding.EncodeToString(body), 2, "permanent", 1},
		{"past MaxDeliveries", base64.StdEncoding.EncodeToString(body), 6, "max-deliveries", 0},
		{"undecodable", base64.StdEncoding.EncodeToString([]byte("not an event")), 1, "undecodable", 0},
	} {
		calls.Store(0)
		got := post(t, base+"/processor", hostHeader(), sbInvocation(t, tc.data, "msg-1", tc.delivery, map[string]any{"ce_id": "evt_perm", "attempt": 7}))
		checkSBResponse(t, got, http.StatusOK, "done")
		m := receive(t, deadRecv)
		md := m.Metadata
		if md[channel.MetaDeadLetterKind] != tc.kind || md[channel.MetaDeadLetterDelivery] != itoa(tc.delivery) ||
			md["ce_id"] != "evt_perm" || md["attempt"] != "7" {
			t.Errorf("%s: dead letter metadata = %v", tc.name, md)
		}
		if calls.Load() != tc.calls {
			t.Errorf("%s: sink called %d times, want %d", tc.name, calls.Load(), tc.calls)
		}
	}
}

func TestProcessorWithoutDeadLetterAbandons(t *testing.T) {
	permanent := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		return hookline.Errorf(hookline.Permanent, "bad")
	})
	base := processorApp(t, permanent, nil)
	body := encode(t, testEvent("evt_nodl", "cus_nodl"))
	got := post(t, base+"/processor", hostHeader(), sbInvocation(t, base64.StdEncoding.EncodeToString(body), "m", 1, nil))
	checkSBResponse(t, got, http.StatusInternalServerError, "abandoned")
}

func TestProcessorRefusals(t *testing.T) {
	base := processorApp(t, sink.NewMemory(), nil)
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"missing binding": {`{"Data":{"myQueueItem":"x"},"Metadata":{}}`, http.StatusInternalServerError},
		"null message":    {`{"Data":{"message":null},"Metadata":{}}`, http.StatusInternalServerError},
		"number message":  {`{"Data":{"message":42},"Metadata":{}}`, http.StatusInternalServerError},
		"not JSON":        {`Data`, http.StatusBadRequest},
	} {
		got := post(t, base+"/processor", hostHeader(), []byte(tc.body))
		if got.status != tc.status || jsonKeys(t, got.body) != "Logs,Outputs,ReturnValue" {
			t.Errorf("%s: %d %s, want %d", name, got.status, got.body, tc.status)
		}
	}
}

func TestProcessorNotConfigured(t *testing.T) {
	log, _ := testLogger(t)
	p := NewProcessor(&Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{}.Get, Logger: log}})
	base := startHandler(t, p)
	body := encode(t, testEvent("evt_nc", "cus_nc"))
	got := post(t, base+"/", hostHeader(), sbInvocation(t, string(body), "m", 1, nil))
	checkSBResponse(t, got, http.StatusInternalServerError, pipeline.EnvSink+" is not set")

	p = NewProcessor(&Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{pipeline.EnvSink: "discard://", pipeline.EnvDeadLetter: "mem://dl"}.Get, Logger: log}})
	if _, err := p.pipe.Get(t.Context()); !isConfigError(err) {
		t.Errorf("mem:// dead letter: err = %v, want a configuration error", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
