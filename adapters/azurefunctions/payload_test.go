package azurefunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hookline/hookline/pipeline"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDecodeServiceBusMessageMetadataForms(t *testing.T) {
	for name, md := range map[string]string{
		// The documented example's style: plain JSON values.
		"plain": `{"MessageId":"m-1","DeliveryCount":3,"SequenceNumber":42,"EnqueuedTimeUtc":"2024-05-01T10:11:12.1234567Z",
			"ContentType":"application/json","CorrelationId":"c","SessionId":"s","Subject":"sub",
			"ApplicationProperties":{"ce_id":"evt_1","n":7,"ok":true,"none":null}}`,
		// What the host writes for scalars it encodes with JsonConvert.SerializeObject first.
		"encoded twice": `{"MessageId":"\"m-1\"","DeliveryCount":"3","SequenceNumber":"42","EnqueuedTimeUtc":"\"2024-05-01T10:11:12.1234567\"",
			"ContentType":"\"application/json\"","CorrelationId":"\"c\"","SessionId":"\"s\"","Label":"\"sub\"",
			"UserProperties":"{\"ce_id\":\"evt_1\",\"n\":7,\"ok\":true}"}`,
	} {
		var inv InvokeRequest
		if err := json.Unmarshal([]byte(`{"Data":{"Message":"e30="},"Metadata":`+md+`}`), &inv); err != nil {
			t.Fatal(err)
		}
		m, err := DecodeServiceBusMessage(inv, "message") // the binding name matches ignoring case
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := ServiceBusMessage{Body: []byte("{}"), MessageID: "m-1", DeliveryCount: 3, SequenceNumber: 42,
			EnqueuedTime: time.Date(2024, 5, 1, 10, 11, 12, 123456700, time.UTC), ContentType: "application/json",
			CorrelationID: "c", SessionID: "s", Subject: "sub", Properties: map[string]string{"ce_id": "evt_1", "n": "7", "ok": "true"}}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, m, want)
		}
	}
}

func TestDecodeServiceBusMessageMissingBinding(t *testing.T) {
	_, err := DecodeServiceBusMessage(InvokeRequest{Data: map[string]json.RawMessage{"mySbMsg": json.RawMessage(`"x"`)}}, "message")
	var be *BindingError
	if !errors.As(err, &be) || be.Binding != "message" || !strings.Contains(err.Error(), "mySbMsg") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeHTTPRequest(t *testing.T) {
	raw := `{"Url":"https://app.azurewebsites.net/api/webhook?x=1","Method":"post","Query":{"x":"1"},
		"Headers":{"content-type":["application/octet-stream"],"X-Multi":["a","b"]},"Params":{"id":"7"},
		"Identities":[],"Body":"AAEC/w=="}`
	req, err := DecodeHTTPRequest(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || string(req.Body) != "\x00\x01\x02\xff" || req.Params["id"] != "7" ||
		fmt.Sprint(req.Header["X-Multi"]) != "[a b]" || req.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("request = %+v", req)
	}
	// A text body is the string itself; an absent body is nil.
	req, err = DecodeHTTPRequest(json.RawMessage(`{"Method":"POST","Headers":{"Content-Type":["text/plain"]},"Body":"\"AAEC\""}`))
	if err != nil || string(req.Body) != `"AAEC"` {
		t.Errorf("text body = %q, %v", req.Body, err)
	}
	req, err = DecodeHTTPRequest(json.RawMessage(`{"Method":"POST","Headers":{}}`))
	if err != nil || req.Body != nil {
		t.Errorf("no body = %q, %v", req.Body, err)
	}
	if _, err := DecodeHTTPRequest(json.RawMessage(`{"Method":"POST","Headers":{},"Body":{"a":1}}`)); err == nil {
		t.Error("an object Body was accepted")
	}
}

func TestAddr(t *testing.T) {
	if a, err := Addr(env{EnvPort: "7071"}.Get); err != nil || a != "127.0.0.1:7071" {
		t.Errorf("Addr = %q, %v", a, err)
	}
	for _, port := range []string{"", "http", "0", "70000"} {
		if _, err := Addr(env{EnvPort: port}.Get); err == nil || !strings.Contains(err.Error(), EnvPort) {
			t.Errorf("port %q: err = %v", port, err)
		}
	}
}

func TestRoutes(t *testing.T) {
	w := NewWebhook(&Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{}.Get}})
	if _, err := (Routes{Webhook: w, WebhookPath: "/hook", WebhookFunction: "hook"}).Handler(); err == nil {
		t.Error("a forwarding path equal to the invocation path was accepted")
	}
	h, err := Routes{Webhook: w}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	base := startHandler(t, h)
	// The host probes the root while the handler starts: any answer will do.
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	if got := do(t, req); got.status != http.StatusNotFound {
		t.Errorf("GET / = %d", got.status)
	}
	if got := post(t, base+"/processor", hostHeader(), []byte(`{"Data":{}}`)); got.status != http.StatusNotFound {
		t.Errorf("unserved processor = %d", got.status)
	}
}

func TestServeDrainsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.WriteHeader(http.StatusOK)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, nil) }()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/", "application/json", nil)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned with an invocation in flight: %v", err)
	default:
	}
	close(release)
	if status := <-answered; status != http.StatusOK {
		t.Errorf("in-flight invocation answered %d", status)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
