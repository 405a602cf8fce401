package stripehook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
)

// Issue 8, case 1: an escaped member name is the member it decodes to, and a repeated member
// counts as its last occurrence, for the event's own id and for data.object's: the event is sent
// with the id and object that encoding/json (and every other reader) sees in the signed body.
func TestEscapedMemberNamesAreRead(t *testing.T) {
	cases := []struct{ name, body, id, subject string }{
		{"object id", `{"id":"evt_1","type":"t.x","created":1,"data":{"object":{"id":"cus_a","\u0069d":"cus_b"}}}`,
			"evt_1", "cus_b"},
		{"event id", `{"id":"evt_1","\u0069d":"evt_2","type":"t.x","created":1,"data":{"object":{"id":"cus_a"}}}`,
			"evt_2", "cus_a"},
		{"every name escaped", `{"\u0069d":"evt_3","\u0074ype":"t.x","cr\u0065ated":1,"\u0064ata":{"\u006fbject":{"\u0069d":"cus_c"}}}`,
			"evt_3", "cus_c"},
	}
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, nil)
	for _, c := range cases {
		body := []byte(c.body)
		expect(t, deliver(t, url, body, stripehook.Sign(body, secret, time.Now())), 200, `{"received":true,"id":"`+c.id+`"}`)
		var std struct {
			ID   string `json:"id"`
			Data struct {
				Object json.RawMessage `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatal(err)
		}
		sent := rec.Sent()
		got := sent[len(sent)-1]
		if got.ID != c.id || got.ID != std.ID || got.Subject != c.subject || !bytes.Equal(got.Data, std.Data.Object) {
			t.Errorf("%s: sent id %q subject %q data %s; want %q %q %s", c.name, got.ID, got.Subject, got.Data, c.id, c.subject, std.Data.Object)
		}
	}
}

// Issue 8, cases 2 and 3: a created after the year 9999 (which the wire format cannot write) and
// invalid UTF-8 in data.object (which JSON forbids and PostgreSQL's jsonb refuses) were answered
// 200 and then lost. They are refused with 400, Decode says why, and nothing is sent.
func TestUncarriableValuesAreRefused(t *testing.T) {
	src, err := stripehook.New([]string{secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil, nil)
	for _, c := range []struct{ body, why string }{
		{`{"id":"evt_1","type":"t.x","created":253402300800,"data":{"object":{"id":"cus_a"}}}`, "after the year 9999"},
		{"{\"id\":\"evt_1\",\"type\":\"t.x\",\"created\":1,\"data\":{\"object\":{\"id\":\"cus_a\",\"name\":\"\xff\"}}}", "not UTF-8"},
	} {
		body := []byte(c.body)
		header := stripehook.Sign(body, secret, time.Now())
		expect(t, deliver(t, url, body, header), 400, rejected("malformed event"))
		_, err := src.Decode(http.Header{stripehook.SignatureHeader: {header}}, body)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.why)) {
			t.Errorf("Decode(%q) error = %v, want one saying %q", c.body, err, c.why)
		}
	}
	nothingSent(t, rec)
}
