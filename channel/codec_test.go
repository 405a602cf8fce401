package channel

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

func sampleEvent() hookline.Event {
	return hookline.Event{
		ID: "evt_1", Source: "stripe", Type: "customer.updated", Subject: "cus_1", Object: "customer",
		Action:   hookline.Updated,
		Time:     time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC),
		Data:     []byte(`{"id":"cus_1","object":"customer","name":"Zoë \"Z\" Ångström","note":"a\\b\u2028"}`),
		Metadata: map[string]string{"livemode": "false", "apiversion": "2023-10-16", "account": "acct_Ω\n\x01"},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cases := map[string]func(*hookline.Event){
		"full":        func(*hookline.Event) {},
		"binary data": func(e *hookline.Event) { e.Data = []byte{0, 1, 2, 0xff, '"', '{'} },
		"no data":     func(e *hookline.Event) { e.Data = nil },
		"no metadata": func(e *hookline.Event) { e.Metadata = nil },
		"no time":     func(e *hookline.Event) { e.Time = time.Time{} },
		"json string": func(e *hookline.Event) { e.Data = []byte(`"just a string"`) },
		"json null":   func(e *hookline.Event) { e.Data = []byte(`null`) },
		"empty data":  func(e *hookline.Event) { e.Data = []byte{} },
		"spaced json": func(e *hookline.Event) { e.Data = []byte(" {\"a\":1}\n") },
		"json, bad utf8": func(e *hookline.Event) {
			e.Data = []byte("{\"name\":\"\xff\"}")
		},
		"year 9999": func(e *hookline.Event) { e.Time = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) },
		"year 0":    func(e *hookline.Event) { e.Time = time.Date(0, 1, 1, 0, 0, 0, 1, time.UTC) },
		"zone":      func(e *hookline.Event) { e.Time = time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := sampleEvent()
			mutate(&in)
			b, err := Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("encoded message is not valid JSON: %s", b)
			}
			out, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, b)
			}
			assertSameEvent(t, in, out)
		})
	}
}

func assertSameEvent(t *testing.T, want, got hookline.Event) {
	t.Helper()
	if got.ID != want.ID || got.Source != want.Source || got.Type != want.Type || got.Subject != want.Subject {
		t.Errorf("attributes: got %q %q %q %q, want %q %q %q %q", got.ID, got.Source, got.Type, got.Subject, want.ID, want.Source, want.Type, want.Subject)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("time: got %v, want %v", got.Time, want.Time)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("data: got %q, want %q", got.Data, want.Data)
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Errorf("metadata: got %v, want %v", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata[%q]: got %q, want %q", k, got.Metadata[k], v)
		}
	}
}

// The format must be readable by any CloudEvents consumer: check the attribute names with
// encoding/json rather than our own decoder.
func TestEncodeIsCloudEventsJSON(t *testing.T) {
	b, err := Encode(sampleEvent())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion": "1.0", "id": "evt_1", "source": "stripe", "type": "customer.updated",
		"subject": "cus_1", "time": "2024-01-02T03:04:05.0000006Z", "datacontenttype": "application/json",
		"hooklineversion": "1", "apiversion": "2023-10-16", "livemode": "false",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if data, ok := m["data"].(map[string]any); !ok || data["id"] != "cus_1" {
		t.Errorf("data = %#v, want the object embedded as JSON", m["data"])
	}
}

func TestEncodeRejectsBadMetadataKeys(t *testing.T) {
	for _, key := range []string{"api_version", "Account", "id", "data", "", "hooklineversion"} {
		ev := sampleEvent()
		ev.Metadata = map[string]string{key: "x"}
		if _, err := Encode(ev); err == nil {
			t.Errorf("Encode accepted metadata key %q", key)
		}
	}
	ev := sampleEvent()
	ev.Type = ""
	if _, err := Encode(ev); err == nil {
		t.Error("Encode accepted an event without a type")
	}
}

func TestDecodeForeignCloudEvent(t *testing.T) {
	in := `{ "specversion" : "1.0", "type":"com.example.thing", "source":"/x", "id":"A-1",
	  "time":"2018-04-05T17:31:00Z", "comexampleextension1" : "value", "count": 42, "flag": true,
	  "nothing": null, "data" : {"nested":{"a":[1,2,{"b":"}"}]}} }`
	ev, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Metadata["comexampleextension1"] != "value" || ev.Metadata["count"] != "42" || ev.Metadata["flag"] != "true" {
		t.Errorf("metadata = %v", ev.Metadata)
	}
	if _, ok := ev.Metadata["nothing"]; ok {
		t.Error("null extension became metadata")
	}
	if string(ev.Data) != `{"nested":{"a":[1,2,{"b":"}"}]}}` {
		t.Errorf("data = %s", ev.Data)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"not json":          `{"specversion":"1.0",`,
		"array":             `[1,2]`,
		"wrong specversion": `{"specversion":"0.3","id":"1","source":"s","type":"t"}`,
		"future format":     `{"specversion":"1.0","id":"1","source":"s","type":"t","hooklineversion":"2"}`,
		"missing id":        `{"specversion":"1.0","source":"s","type":"t"}`,
		"bad time":          `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`,
		"object extension":  `{"specversion":"1.0","id":"1","source":"s","type":"t","x":{}}`,
		"bad base64":        `{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"%%%"}`,
		"id not string":     `{"specversion":"1.0","id":1,"source":"s","type":"t"}`,
	}
	for name, in := range cases {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		} else if !strings.HasPrefix(err.Error(), "channel: ") {
			t.Errorf("%s: error %q does not start with the package name", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(sampleEvent())
	f.Add(b)
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","x":"\u00e9","data":[{"a":"\"}"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := Decode(in)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		for k := range ev.Metadata {
			if checkExtensionName(k) != nil {
				return
			}
		}
		b, err := Encode(ev)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v\n%s", err, b)
		}
		if again.ID != ev.ID || again.Type != ev.Type || !bytes.Equal(again.Data, ev.Data) || !again.Time.Equal(ev.Time) {
			t.Fatalf("round trip changed the event: %+v vs %+v", again, ev)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	ev := benchEvent()
	b.SetBytes(int64(len(ev.Data)))
	for b.Loop() {
		if _, err := Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	msg, err := Encode(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvent carries a ~2 KB object, the size of a typical Stripe customer event.
func benchEvent() hookline.Event {
	ev := sampleEvent()
	ev.Data = []byte(`{"id":"cus_1","object":"customer","description":"` + strings.Repeat("lorem ipsum ", 160) + `"}`)
	return ev
}
