package stripehook

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// stdEnvelope is how encoding/json reads the same fields; decodeEnvelope must agree with it.
type stdEnvelope struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	APIVersion string `json:"api_version"`
	Account    string `json:"account"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type stdHead struct {
	ID     string `json:"id"`
	Object string `json:"object"`
}

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

// FuzzDecodeEnvelope holds the envelope reader to encoding/json's reading of the same fields
// whenever both accept an input whose member names are written plainly (encoding/json also
// matches names case-insensitively and through escapes; Stripe writes them exactly).
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(SampleEvent("customer.updated", "cus_NffrFeUfNV2Hib", time.Unix(1709294400, 0)))
	f.Add([]byte(`{"id":"evt_1","type":"t","created":1,"livemode":null,"data":{"object":{"id":"c","object":"x"}}}`))
	f.Add([]byte(`{"id":"evt_1","id":"evt_2","type":"t","created":5,"data":{"object":{"id":"c"},"object":{"id":"d"}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		env, obj, err := decodeEnvelope(in)
		var std stdEnvelope
		stdErr := json.Unmarshal(in, &std)
		if err == nil && !json.Valid(in) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if err != nil || stdErr != nil || !bytes.Equal(bytes.ToLower(in), in) || bytes.Contains(in, []byte(`\u`)) {
			return
		}
		var head stdHead
		if json.Unmarshal(std.Data.Object, &head) != nil {
			return
		}
		if env.ID != std.ID || env.Type != std.Type || env.Created != std.Created || env.Livemode != std.Livemode ||
			env.APIVersion != std.APIVersion || env.Account != std.Account || !bytes.Equal(env.Object, std.Data.Object) ||
			obj.ID != head.ID || obj.Object != head.Object {
			t.Fatalf("input %q:\n ours %+v %+v\n encoding/json %+v %+v", in, env, obj, std, head)
		}
	})
}
