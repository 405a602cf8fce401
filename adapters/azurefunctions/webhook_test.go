package azurefunctions

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
)

// hostResponse is the documented response payload with the http output binding res.
type hostResponse struct {
	Outputs struct {
		Res HTTPResponse `json:"res"`
	} `json:"Outputs"`
	Logs        []string `json:"Logs"`
	ReturnValue any      `json:"ReturnValue"`
}

func webhookApp(t *testing.T, getenv func(string) string) (string, *channel.Receiver) {
	t.Helper()
	sender, recv := memChannel(t, "webhook")
	log, _ := testLogger(t)
	base, _, _ := app(t, &Options{FunctionOptions: pipeline.FunctionOptions{Getenv: getenv, Logger: log, Sender: sender}})
	return base, recv
}

func TestWebhookForwardingMode(t *testing.T) {
	base, recv := webhookApp(t, env{stripehook.EnvSecret: testSecret}.Get)
	payload := stripePayload("cus_forward")

	got := post(t, base+"/api/webhook", stripeHeader(payload, testSecret), payload)
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("signed delivery: %d %s %s", got.status, got.header.Get("Content-Type"), got.body)
	}
	if want := `{"received":true,"id":"` + eventID(t, payload) + `"}`; string(got.body) != want {
		t.Errorf("body = %s, want %s", got.body, want)
	}
	ev, err := channel.Decode(receive(t, recv).Body)
	if err != nil || ev.ID != eventID(t, payload) || ev.Subject != "cus_forward" {
		t.Fatalf("event on the channel = %+v, %v", ev, err)
	}
	if !bytes.Contains(ev.Data, []byte(`"Zoë Ødegård \u00e9 \/ – \t 😀"`)) {
		t.Errorf("event data lost the exact bytes: %s", ev.Data)
	}

	bad := post(t, base+"/api/webhook", stripeHeader(payload, "whsec_someone_else"), payload)
	if bad.status != http.StatusBadRequest || string(bad.body) != `{"error":"invalid signature"}` {
		t.Fatalf("bad signature: %d %s", bad.status, bad.body)
	}
	expectNothing(t, recv)
}

func TestWebhookInvocationMode(t *testing.T) {
	base, recv := webhookApp(t, env{stripehook.EnvSecret: testSecret}.Get)
	payload := stripePayload("cus_invoke")

	got := post(t, base+"/webhook", hostHeader(), httpInvocation(t, "POST", stripeHeader(payload, testSecret), payload))
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("invocation: %d %s", got.status, got.body)
	}
	if keys := jsonKeys(t, got.body); keys != "Logs,Outputs,ReturnValue" {
		t.Errorf("response members = %s", keys)
	}
	var out hostResponse
	decodeStrict(t, got.body, &out)
	var outputs struct{ Outputs map[string]json.RawMessage }
	_ = json.Unmarshal(got.body, &outputs)
	if len(outputs.Outputs) != 1 || jsonKeys(t, outputs.Outputs["res"]) != "body,headers,status,statusCode" {
		t.Errorf("Outputs = %s", got.body)
	}
	res := out.Outputs.Res
	wantBody := `{"received":true,"id":"` + eventID(t, payload) + `"}`
	if res.StatusCode != "200" || res.Status != "200" || res.Body != wantBody ||
		res.Headers["Content-Type"] != "application/json" || res.Headers["X-Content-Type-Options"] != "nosniff" {
		t.Errorf("res = %+v", res)
	}
	if out.ReturnValue != nil || len(out.Logs) != 1 || !strings.Contains(out.Logs[0], "sent") {
		t.Errorf("Logs = %q, ReturnValue = %v", out.Logs, out.ReturnValue)
	}
	ev, err := channel.Decode(receive(t, recv).Body)
	if err != nil || ev.ID != eventID(t, payload) || !bytes.Contains(ev.Data, []byte(`\u00e9 \/ – \t 😀`)) {
		t.Fatalf("event on the channel = %+v, %v", ev, err)
	}

	bad := post(t, base+"/webhook", hostHeader(), httpInvocation(t, "POST", stripeHeader(payload, "whsec_someone_else"), payload))
	out = hostResponse{}
	decodeStrict(t, bad.body, &out)
	if bad.status != http.StatusOK || out.Outputs.Res.StatusCode != "400" || out.Outputs.Res.Body != `{"error":"invalid signature"}` {
		t.Fatalf("bad signature: host status %d, res %+v", bad.status, out.Outputs.Res)
	}
	if !strings.Contains(out.Logs[0], "400") {
		t.Errorf("Logs = %q", out.Logs)
	}
	expectNothing(t, recv)
}

func TestWebhookInvocationRequestForms(t *testing.T) {
	base, recv := webhookApp(t, env{stripehook.EnvSecret: testSecret}.Get)
	payload := stripePayload("cus_forms")

	// A GET (the function allows only post; should the route allow more) is answered 405.
	got := post(t, base+"/webhook", hostHeader(), httpInvocation(t, "GET", http.Header{}, nil))
	var out hostResponse
	decodeStrict(t, got.body, &out)
	if got.status != http.StatusOK || out.Outputs.Res.StatusCode != "405" || out.Outputs.Res.Headers["Allow"] != "POST" {
		t.Errorf("GET: %d %+v", got.status, out.Outputs.Res)
	}

	// Header values as plain strings, lower-case names (as some hosts list them): accepted.
	h := map[string]any{}
	for k, v := range stripeHeader(payload, testSecret) {
		h[strings.ToLower(k)] = v[0]
	}
	inv, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{
		"Url": "https://x/api/webhook", "Method": "POST", "Query": "{}", "Headers": h, "Body": string(payload)}}, "Metadata": map[string]any{}})
	got = post(t, base+"/webhook", hostHeader(), inv)
	out = hostResponse{}
	decodeStrict(t, got.body, &out)
	if out.Outputs.Res.StatusCode != "200" {
		t.Fatalf("string headers: %+v", out.Outputs.Res)
	}
	receive(t, recv)

	// Not an invocation request, a missing binding, a wrong method: the host is answered non-2xx.
	for name, tc := range map[string]struct {
		method string
		body   string
		status int
	}{
		"not JSON":        {"POST", `{"id":"evt_1"`, http.StatusBadRequest},
		"no Data":         {"POST", `{"id":"evt_1"}`, http.StatusBadRequest},
		"missing binding": {"POST", `{"Data":{"request":{}},"Metadata":{}}`, http.StatusBadRequest},
		"GET":             {"GET", ``, http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, base+"/webhook", strings.NewReader(tc.body))
		got := do(t, req)
		if got.status != tc.status || jsonKeys(t, got.body) != "Logs,Outputs,ReturnValue" {
			t.Errorf("%s: %d %s, want %d", name, got.status, got.body, tc.status)
		}
	}
	expectNothing(t, recv)
}

func TestWebhookNotConfigured(t *testing.T) {
	base, recv := webhookApp(t, env{}.Get) // no STRIPE_WEBHOOK_SECRET
	payload := stripePayload("cus_unconfigured")

	got := post(t, base+"/api/webhook", stripeHeader(payload, testSecret), payload)
	if got.status != http.StatusInternalServerError || string(got.body) != `{"error":"function not configured"}` {
		t.Errorf("forwarding: %d %s", got.status, got.body)
	}
	got = post(t, base+"/webhook", hostHeader(), httpInvocation(t, "POST", stripeHeader(payload, testSecret), payload))
	var out hostResponse
	decodeStrict(t, got.body, &out)
	if got.status != http.StatusOK || out.Outputs.Res.StatusCode != "500" {
		t.Errorf("invocation: %d %+v", got.status, out.Outputs.Res)
	}
	expectNothing(t, recv)
}

func TestWebhookRefusesMemChannel(t *testing.T) {
	log, _ := testLogger(t)
	w := NewWebhook(&Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{stripehook.EnvSecret: testSecret, pipeline.EnvChannel: "mem://stripe-events"}.Get, Logger: log}})
	_, err := w.pipe.Handler(t.Context())
	if !isConfigError(err) || !strings.Contains(err.Error(), "mem://") {
		t.Fatalf("err = %v, want a configuration error about mem://", err)
	}
}
