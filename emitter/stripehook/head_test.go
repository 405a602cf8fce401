package stripehook

import (
	"encoding/json"
	"testing"
	"time"
)

func TestScanHead(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		id, ob string
	}{
		{`{"id":"cus_1","object":"customer"}`, true, "cus_1", "customer"},
		{` { "object" : "customer" , "x": {"id": "nested", "a": [1, "]}\"", {"id": 2}]}, "id": "cus_2" } `, true, "cus_2", "customer"},
		{`{"n": -1.5e3, "t": true, "f": false, "z": null, "s": "a\"b\\", "id": "cus_3"}`, true, "cus_3", ""},
		{`{"id":"cus_1","id":"cus_2"}`, true, "cus_2", ""},
		{`{}`, true, "", ""},
		{`{"id":"cus_\u0031"}`, false, "", ""}, // escape: encoding/json decides
		{`{"ID":"cus_1"}`, false, "", ""},      // case folding: encoding/json decides
		{`{"ıd":"cus_1"}`, false, "", ""},      // Unicode folding: encoding/json decides
		{`{"id":1}`, false, "", ""},
		{`{"id":null}`, false, "", ""},
		{`{"id":"caf\u00e9"}`, false, "", ""},
		{`[]`, false, "", ""},
	}
	for _, c := range cases {
		var h objectHead
		ok := scanHead([]byte(c.in), &h)
		if ok != c.ok || (ok && (h.ID != c.id || h.Object != c.ob)) {
			t.Errorf("scanHead(%s) = %v %+v, want %v {%s %s}", c.in, ok, h, c.ok, c.id, c.ob)
		}
		if ok {
			var want objectHead
			if err := json.Unmarshal([]byte(c.in), &want); err != nil || want != h {
				t.Errorf("scanHead(%s) = %+v, encoding/json %+v %v", c.in, h, want, err)
			}
		}
	}
}

// FuzzScanHead checks that the quick scan agrees with encoding/json whenever it answers.
func FuzzScanHead(f *testing.F) {
	f.Add([]byte(`{"id":"cus_1","object":"customer","address":{"city":"x","id":"y"},"list":[1,{"a":"}"}]}`))
	f.Add([]byte(`{"Id":"a","OBJECT":"b","object":"c"}`))
	f.Add([]byte(`{"s":"\\\"","id":"x"}`))
	f.Add(SampleEvent("customer.updated", "cus_NffrFeUfNV2Hib", time.Unix(1709294400, 0)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want objectHead
		if !json.Valid(in) || len(in) == 0 || json.Unmarshal(in, &want) != nil {
			return
		}
		var got objectHead
		if scanHead(in, &got) && got != want {
			t.Errorf("scanHead(%q) = %+v, encoding/json %+v", in, got, want)
		}
		var dec objectHead
		if err := decodeHead(in, &dec); err != nil || dec != want {
			t.Errorf("decodeHead(%q) = %+v %v, encoding/json %+v", in, dec, err, want)
		}
	})
}
