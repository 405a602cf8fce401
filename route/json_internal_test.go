package route

import (
	"encoding/json"
	"reflect"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// differentialSeeds are payloads where a lazy reader could differ from encoding/json.
var differentialSeeds = []string{
	`{"id":"cus_1","address":{"city":"Paris"},"tags":["a",{"b":[1,2.5e3,-0]}],"n":null,"t":true,"f":false}`,
	`{"a":1,"a":2}`, `{"a":{"x":1},"b":2,"a":[3]}`, `{"\u0069d":"x","i\u0064":"y"}`, "{\"\xff\xfe\":1}",
	"{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":1e400}`, `{"a":[1e400]}`, `[1,2,{"a":[]}]`, `"str"`, `12.5`,
	` { "a" : 1 } `, `{"a":1}x`, `{"a":1,}`, `nul`, `{}`, `[]`, `null`, ` true `, `{"a":"\u00e9\n"}`,
	`{"":1}`, `{"a":{"a":{"a":{}}}}`, "\t[\n]\r", `{"a":01}`, `{"a":"x}`, `{"a" 1}`,
}

func FuzzDataDifferential(f *testing.F) {
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return // no data reads as null, where encoding/json refuses: documented
		}
		var want any
		stdErr := json.Unmarshal(data, &want)
		v := decodeRoot(data)
		got, err := nativeJSON(v)
		if (stdErr == nil) != (err == nil) {
			t.Fatalf("%q: encoding/json error %v, lazy reading error %v", data, stdErr, err)
		}
		if stdErr != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n lazy          %#v\n encoding/json %#v", data, got, want)
		}
		checkLazy(t, data, v, want)
	})
}

// checkLazy reads v member by member, as expressions do, and compares with encoding/json's want.
func checkLazy(t *testing.T, data []byte, v ref.Val, want any) {
	switch w := want.(type) {
	case map[string]any:
		o, ok := v.(*jsonObject)
		if !ok {
			t.Fatalf("%q: an object read as %T", data, v)
		}
		if o.Size() != types.Int(len(w)) {
			t.Fatalf("%q: size %v, want %d", data, o.Size(), len(w))
		}
		for k, wv := range w {
			x, found := o.FindStringKey(k)
			if !found || o.Contains(types.String(k)) != types.True {
				t.Fatalf("%q: member %q not found", data, k)
			}
			checkLazy(t, data, x.(ref.Val), wv)
		}
		if _, found := o.FindStringKey("\x00absent"); found {
			t.Fatalf("%q: found an absent member", data)
		}
	case []any:
		a, ok := v.(*jsonArray)
		if !ok || a.Size() != types.Int(len(w)) {
			t.Fatalf("%q: an array read as %T", data, v)
		}
		for i, wv := range w {
			checkLazy(t, data, a.Get(types.Int(i)), wv)
		}
	default:
		got, err := nativeJSON(v)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %#v (%v), want %#v", data, got, err, want)
		}
	}
}

func TestEqualityWithCELValues(t *testing.T) {
	o := decodeRoot([]byte(`{"a":1,"b":["x"]}`))
	same := types.DefaultTypeAdapter.NativeToValue(map[string]any{"a": 1, "b": []string{"x"}})
	if o.Equal(same) != types.True || same.Equal(o) != types.True {
		t.Errorf("equal maps differ: %v %v", o.Equal(same), same.Equal(o))
	}
	other := types.DefaultTypeAdapter.NativeToValue(map[string]any{"a": 2, "b": []string{"x"}})
	if o.Equal(other) != types.False || other.Equal(o) != types.False {
		t.Error("different maps are equal")
	}
}
