package channel

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

// TestEncodeRefusesWhatDecodeCannotGiveBack: an event Encode accepted must come back unchanged,
// so Encode refuses the values the format cannot carry exactly, with an error that names them.
func TestEncodeRefusesWhatDecodeCannotGiveBack(t *testing.T) {
	cases := map[string]struct {
		mutate func(*hookline.Event)
		want   string
	}{
		"year 10000":        {func(e *hookline.Event) { e.Time = time.Unix(253402300800, 0) }, "outside the years 0000 to 9999"},
		"year -1":           {func(e *hookline.Event) { e.Time = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside the years 0000 to 9999"},
		"id not utf8":       {func(e *hookline.Event) { e.ID = "evt_\xff" }, "event id is not valid UTF-8"},
		"source not utf8":   {func(e *hookline.Event) { e.Source = "s\xc3" }, "event source is not valid UTF-8"},
		"type not utf8":     {func(e *hookline.Event) { e.Type = "t\xed\xa0\x80" }, "event type is not valid UTF-8"},
		"subject not utf8":  {func(e *hookline.Event) { e.Subject = "cus_\xff" }, "event subject is not valid UTF-8"},
		"metadata not utf8": {func(e *hookline.Event) { e.Metadata["account"] = "acct_\xff" }, `metadata "account" is not valid UTF-8`},
	}
	for name, c := range cases {
		ev := sampleEvent()
		c.mutate(&ev)
		_, err := Encode(ev)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "channel: encode: ") {
			t.Errorf("%s: err = %v, want one saying %q", name, err, c.want)
		}
	}
}

// Year 10000 was accepted by Encode and refused by Decode, so an event the webhook had answered
// 200 for was dead-lettered as undecodable (issue 8). Time's last instant before it round-trips.
func TestLastRepresentableTimeRoundTrips(t *testing.T) {
	ev := sampleEvent()
	ev.Time = time.Unix(253402300799, 999999999)
	b, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, b)
	}
	assertSameEvent(t, ev, got)
}

// A member name written with escapes means what it decodes to, and the last occurrence wins, as
// with encoding/json and every other reader.
func TestDecodeEscapedNames(t *testing.T) {
	in := `{"specversion":"1.0","\u0069d":"evt_2","id":"evt_1","\u0069d":"evt_3","source":"s","type":"t",` +
		`"\u0073ubject":"cus_b","acc\u006funt":"acct_1","\u0064ata":{"a":1}}`
	ev, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_3" || ev.Subject != "cus_b" || ev.Meta("account") != "acct_1" || string(ev.Data) != `{"a":1}` {
		t.Errorf("decoded %+v", ev)
	}
	if _, ok := ev.Metadata[`acc\u006funt`]; ok {
		t.Errorf("metadata kept the escaped name: %v", ev.Metadata)
	}
}

// FuzzEncodeRoundTrip: whatever Encode accepts, Decode gives back unchanged, field by field.
func FuzzEncodeRoundTrip(f *testing.F) {
	ev := sampleEvent()
	f.Add(ev.ID, ev.Source, ev.Type, ev.Subject, ev.Time.Unix(), int64(ev.Time.Nanosecond()), ev.Data, "account", "acct_1")
	f.Add("evt_\xff", "s", "t", "", int64(253402300800), int64(0), []byte("null"), "x", "\x00")
	f.Add("evt_1", "s", "t", "cus_\u2028", int64(-62167219200), int64(1), []byte(" [1] "), "k9", "v\"")
	f.Add("evt_1", "s", "t", "c", int64(253402300799), int64(999999999), []byte("{\"a\":\"\xff\"}"), "id", "x")
	f.Fuzz(func(t *testing.T, id, source, typ, subject string, sec, nsec int64, data []byte, key, value string) {
		in := hookline.Event{ID: id, Source: source, Type: typ, Subject: subject, Data: data,
			Metadata: map[string]string{key: value}}
		if sec != 0 || nsec != 0 {
			in.Time = time.Unix(sec, nsec)
		}
		b, err := Encode(in)
		if err != nil {
			return
		}
		out, err := Decode(b)
		if err != nil {
			t.Fatalf("Encode accepted %+v, Decode refused its message: %v\n%s", in, err, b)
		}
		if out.ID != in.ID || out.Source != in.Source || out.Type != in.Type || out.Subject != in.Subject ||
			!out.Time.Equal(in.Time) || !bytes.Equal(out.Data, in.Data) || (out.Data == nil) != (in.Data == nil) ||
			len(out.Metadata) != 1 || out.Metadata[key] != value {
			t.Fatalf("round trip changed the event:\n in  %+v\n out %+v\n%s", in, out, b)
		}
	})
}
