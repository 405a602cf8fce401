package stripehook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestDecodeEnvelopeFields(t *testing.T) {
	in := `{"id":"evt_1","object":"event","type":"customer.updated","created":1700000000,"livemode":true,
	  "api_version":"2024-06-20","account":"acct_9","data":{"previous_attributes":{"id":"x"},
	  "object":{"address":{"id":"nested"},"id":"cus_\u0031","object":"customer","list":[1,"]}"]}}}`
	env, obj, err := decodeEnvelope([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "evt_1" || env.Type != "customer.updated" || env.Created != 1700000000 || !env.Livemode ||
		env.APIVersion != "2024-06-20" || env.Account != "acct_9" || obj.ID != "cus_1" || obj.Object != "customer" {
		t.Errorf("env = %+v, obj = %+v", env, obj)
	}
	if !bytes.HasPrefix(env.Object, []byte(`{"address"`)) || !bytes.HasSuffix(env.Object, []byte(`"]}"]}`)) {
		t.Errorf("data.object = %s", env.Object)
	}
}

// stdDecode is the reference that decodeEnvelope is held to: encoding/json's reading of the body
// into maps (names match exactly once their escapes are decoded; a repeated name keeps its last
// value, and only that value's type matters, as for JSON.parse and Ruby's JSON), followed by the
// refusals the package documentation lists. It is written independently of decode.go on purpose.
func stdDecode(body []byte) (env envelope, obj objectHead, ok bool) {
	var top map[string]json.RawMessage
	if !utf8.Valid(body) || json.Unmarshal(body, &top) != nil || top == nil {
		return env, obj, false
	}
	var data, head map[string]json.RawMessage
	fields := []struct {
		raw json.RawMessage
		dst any
	}{
		{top["id"], &env.ID}, {top["type"], &env.Type}, {top["created"], &env.Created},
		{top["livemode"], &env.Livemode}, {top["api_version"], &env.APIVersion}, {top["account"], &env.Account},
		{top["data"], &data},
	}
	for _, f := range fields {
		if f.raw != nil && json.Unmarshal(f.raw, f.dst) != nil {
			return env, obj, false
		}
	}
	env.Object = data["object"]
	if len(env.Object) == 0 || env.Object[0] != '{' || json.Unmarshal(env.Object, &head) != nil {
		return env, obj, false
	}
	for _, f := range []struct {
		raw json.RawMessage
		dst *string
	}{{head["id"], &obj.ID}, {head["object"], &obj.Object}} {
		if f.raw != nil && json.Unmarshal(f.raw, f.dst) != nil {
			return env, obj, false
		}
	}
	for _, s := range []string{env.ID, env.Type, env.APIVersion, env.Account, obj.ID, obj.Object} {
		if strings.ContainsFunc(s, unicode.IsControl) {
			return env, obj, false
		}
	}
	ok = strings.HasPrefix(env.ID, "evt_") && len(env.ID) > 4 && env.Type != "" &&
		env.Created > 0 && env.Created <= time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix() && obj.ID != ""
	return env, obj, ok
}

// differentialSeeds are the cases issue 8 found and their neighbours: escaped, repeated and
// case-variant member names at every level decodeEnvelope reads, values the wire format cannot
// carry, and bodies that are not UTF-8.
var differentialSeeds = []string{
	`{"id":"evt_1","type":"t.x","created":1,"data":{"object":{"id":"cus_a","\u0069d":"cus_b"}}}`,
	`{"id":"evt_1","\u0069d":"evt_2","type":"t.x","created":1,"data":{"object":{"id":"cus_a"}}}`,
	`{"\u0069\u0064":"evt_1","typ\u0065":"t","cr\u0065ated":7,"liv\u0065mode":true,"api_v\u0065rsion":"v",` +
		`"acc\u006funt":"acct_1","d\u0061ta":{"obj\u0065ct":{"\u0069d":"cus_1","\u006fbject":"customer"}}}`,
	`{"id":"evt_1","type":"t.x","created":253402300800,"data":{"object":{"id":"cus_a"}}}`,
	`{"id":"evt_1","type":"t.x","created":253402300799,"data":{"object":{"id":"cus_a"}}}`,
	"{\"id\":\"evt_1\",\"type\":\"t.x\",\"created\":1,\"data\":{\"object\":{\"id\":\"cus_a\",\"name\":\"\xff\"}}}",
	"{\"id\":\"evt_1\",\"type\":\"t.x\",\"created\":1,\"data\":{\"object\":{\"id\":\"cus_\xc3\"}}}",
	`{"id":"evt_1","type":"t.x","created":1,"data":{"object":{"id":"cus_\u0000"}}}`,
	`{"id":"evt_\n1","type":"t.x","created":1,"data":{"object":{"id":"cus_a"}}}`,
	`{"id":"evt_1","ID":"evt_2","Type":"u","type":"t","created":1,"Data":{},"data":{"object":{"ID":"x","id":"c","Object":"o"}}}`,
	`{"id":1,"id":"evt_1","type":"t","created":"x","created":2,"data":{"object":{"id":3,"id":"c"}}}`,
	`{"id":"evt_1","id":null,"type":"t","created":1,"data":{"object":{"id":"c"}}}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c"},"object":{"id":"d","object":"x"}}}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c","object":"x"},"object":{"id":"d"}}}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c"}},"data":{"x":1}}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c"}},"data":null}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c"}},"data":[{"object":{"id":"d"}}]}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":[{"id":"c"}]}}`,
	`{"id":"evt_1","type":"t","created":1,"livemode":"true","data":{"object":{"id":"c"}}}`,
	`{"id":"evt_1","type":"t","created":1.0,"data":{"object":{"id":"c"}}}`,
	`{"id":"evt_1","type":"t","created":-0,"data":{"object":{"id":"c"}}}`,
	`{"id":"evt_1","type":"t","created":1,"data":{"object":{"id":"c","\ud800":"lone","name":"\udbff\udfff"}}}`,
	`{"id":"evt_\u00e9","type":"t","created":1,"livemode":null,"account":null,"data":{"object":{"id":"c","object":null}}}`,
	` {"id":"evt_1","type":"t","created":1,"data":{"object":{ "id" : "c" } } } `,
	`null`, `[]`, `{"id":"evt_1"} x`,
}

// FuzzDecodeDifferential holds decodeEnvelope to stdDecode on arbitrary bodies: the same verdict,
// and for an accepted body the same event id, type, created, livemode, api version, account,
// object id and type, and the same data.object bytes.
func FuzzDecodeDifferential(f *testing.F) {
	f.Add(SampleEvent("customer.updated", "cus_NffrFeUfNV2Hib", time.Unix(1709294400, 0)))
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		env, obj, err := decodeEnvelope(in)
		want, wantObj, ok := stdDecode(in)
		if (err == nil) != ok {
			t.Fatalf("input %q: decodeEnvelope error %v, encoding/json accepts: %v", in, err, ok)
		}
		if err != nil {
			return
		}
		if env.ID != want.ID || env.Type != want.Type || env.Created != want.Created || env.Livemode != want.Livemode ||
			env.APIVersion != want.APIVersion || env.Account != want.Account || !bytes.Equal(env.Object, want.Object) ||
			obj != wantObj {
			t.Fatalf("input %q:\n ours          %+v %+v\n encoding/json %+v %+v", in, env, obj, want, wantObj)
		}
	})
}

// The one intended difference from stripe-go, which decodes into Go structs and so lets
// encoding/json match member names case-insensitively: hookline matches them exactly.
func TestMemberNamesMatchExactly(t *testing.T) {
	in := `{"id":"evt_1","ID":"evt_2","type":"t","TYPE":"u","created":1,"data":{"object":{"id":"c","Id":"d"}}}`
	env, obj, err := decodeEnvelope([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "evt_1" || env.Type != "t" || obj.ID != "c" {
		t.Errorf("got %q %q %q, want the exactly named members evt_1 t c", env.ID, env.Type, obj.ID)
	}
	var structs struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(in), &structs); err != nil || structs.ID != "evt_2" {
		t.Errorf("encoding/json struct decoding read id %q (%v): the documented difference is gone", structs.ID, err)
	}
}
