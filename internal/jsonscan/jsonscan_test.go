package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var validityCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-1E-2`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b":null}] } `,
	`"\u00e9\n\"\\\/\b\f\r\t"`, `"é"`, "\"\xff\"", `{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`,
	`"\x"`, `"\u12"`, "\"a\tb\"", `{"a"}`, `{"a":}`, `{1:2}`, `[1 2]`, `tru`, `nul`, `{"a":1}x`, ``, ` `,
	`"unterminated`, `{"a":"b"`, `[[[]]]`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validityCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func TestMembers(t *testing.T) {
	in := ` { "id" : "evt_1", "n":-1.5e3, "o":{"x":"}","y":[1,{"z":"\""}]}, "e\"k":true, "last":null } `
	var keys, values []string
	if err := Members([]byte(in), func(k, v []byte) bool {
		keys = append(keys, string(k))
		values = append(values, string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	wantK := []string{"id", "n", "o", `e"k`, "last"}
	wantV := []string{`"evt_1"`, "-1.5e3", `{"x":"}","y":[1,{"z":"\""}]}`, "true", "null"}
	if strings.Join(keys, "|") != strings.Join(wantK, "|") || strings.Join(values, "|") != strings.Join(wantV, "|") {
		t.Errorf("keys %q values %q", keys, values)
	}
	if err := Members([]byte(`[1]`), func(k, v []byte) bool { return true }); err != ErrNotObject {
		t.Errorf("array: err = %v", err)
	}
	n := 0
	Members([]byte(`{"a":1,"b":2}`), func(k, v []byte) bool { n++; return false })
	if n != 1 {
		t.Errorf("Members went on after f returned false")
	}
}

func TestWalk(t *testing.T) {
	in := `{"id":"evt_1","data":{"object":{"id":"cus_1","list":[{"id":"deep"}],"object":"customer"}},"arr":[{"id":"x"}]}`
	var got []string
	ok := Walk([]byte(in), 3, func(path [][]byte, v []byte) {
		var p []string
		for _, k := range path {
			if k == nil {
				p = append(p, "[]")
			} else {
				p = append(p, string(k))
			}
		}
		got = append(got, strings.Join(p, ".")+"="+string(v))
	})
	want := []string{
		`id="evt_1"`, `data.object.id="cus_1"`, `data.object.list=[{"id":"deep"}]`, `data.object.object="customer"`,
		`data.object={"id":"cus_1","list":[{"id":"deep"}],"object":"customer"}`,
		`data={"object":{"id":"cus_1","list":[{"id":"deep"}],"object":"customer"}}`,
		`arr.[].id="x"`, `arr=[{"id":"x"}]`,
	}
	if !ok || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Walk = %v\n%s\nwant\n%s", ok, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if Walk([]byte(`{"a":[1,}`), 3, func([][]byte, []byte) {}) {
		t.Error("Walk accepted invalid JSON")
	}
}

// A name written with escapes is given decoded, as every JSON reader sees it; a plain one is the
// bytes between its quotes; a name deeper than the walk visits is never decoded.
func TestWalkDecodesEscapedNames(t *testing.T) {
	in := `{"\u0069d":1,"d\u0061ta":{"\u006f\u0062ject":{"\"q\"":2,"\ud83d\ude00":3}},"plain":4}`
	var got []string
	ok := Walk([]byte(in), 3, func(path [][]byte, v []byte) {
		var p []string
		for _, k := range path {
			p = append(p, string(k))
		}
		got = append(got, strings.Join(p, "/")+"="+string(v))
	})
	want := []string{"id=1", `data/object/"q"=2`, "data/object/\U0001F600=3", `data/object={"\"q\"":2,"\ud83d\ude00":3}`,
		`data={"\u006f\u0062ject":{"\"q\"":2,"\ud83d\ude00":3}}`, "plain=4"}
	if !ok || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Walk = %v\n%s\nwant\n%s", ok, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var names []string
	Object([]byte(`{"a\u0062":1,"\/":2}`), func(k, _ []byte) { names = append(names, string(k)) })
	if strings.Join(names, ",") != "ab,/" {
		t.Errorf("Object names = %q, want [ab /]", names)
	}
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{`"plain"`: "plain", `"é"`: "é", `"a\nb"`: "a\nb", `"\u00e9"`: "é", "\"\xff\"": "\ufffd"} {
		got, err := String([]byte(in))
		if err != nil || got != want {
			t.Errorf("String(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := String([]byte(`plain`)); err == nil {
		t.Error("String accepted a non-string")
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range validityCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Valid(b), json.Valid(b)
		if got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
		var viaObject [][2]string
		isObject := Object(b, func(k, v []byte) { viaObject = append(viaObject, [2]string{string(k), string(v)}) })
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		if wantObject := want && len(trimmed) > 0 && trimmed[0] == '{'; isObject != wantObject {
			t.Fatalf("Object(%q) = %v, want %v", b, isObject, wantObject)
		}
		if isObject {
			var viaMembers [][2]string
			Members(b, func(k, v []byte) bool { viaMembers = append(viaMembers, [2]string{string(k), string(v)}); return true })
			if fmt.Sprint(viaObject) != fmt.Sprint(viaMembers) {
				t.Fatalf("Object and Members disagree on %q: %q vs %q", b, viaObject, viaMembers)
			}
		}
		if !got {
			return
		}
		// On a valid object, Members must see exactly the members encoding/json sees.
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || m == nil {
			return
		}
		count := 0
		err := Members(b, func(k, v []byte) bool {
			count++
			if !json.Valid(v) {
				t.Fatalf("Members gave an invalid value %q from %q", v, b)
			}
			return true
		})
		if err != nil {
			t.Fatalf("Members: %v on %q", err, b)
		}
		if count < len(m) {
			t.Fatalf("Members saw %d members, encoding/json %d, in %q", count, len(m), b)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	doc := []byte(`{"id":"cus_1","object":"customer","address":{"city":"San Francisco","line1":"510 Townsend St"},"n":12345,"description":"` + strings.Repeat("lorem ipsum ", 160) + `"}`)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkEncodingJSONValid(b *testing.B) {
	doc := []byte(`{"id":"cus_1","object":"customer","address":{"city":"San Francisco","line1":"510 Townsend St"},"n":12345,"description":"` + strings.Repeat("lorem ipsum ", 160) + `"}`)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// indentedEvent is shaped like a Stripe webhook body: nested objects, short strings and numbers,
// indented by two spaces per level as Stripe sends them, so white space is a good part of it.
func indentedEvent() []byte {
	address := map[string]any{"city": "San Francisco", "country": "US", "line1": "510 Townsend St", "line2": nil, "postal_code": "94103", "state": "CA"}
	customer := map[string]any{
		"id": "cus_NffrFeUfNV2Hib", "object": "customer", "address": address, "balance": 0, "created": 1680893993,
		"currency": nil, "default_source": nil, "delinquent": false, "description": nil, "email": "jennyrosen@example.com",
		"invoice_prefix": "0759376C", "invoice_settings": map[string]any{"custom_fields": nil, "default_payment_method": nil, "footer": nil, "rendering_options": nil},
		"livemode": false, "metadata": map[string]any{"order_id": "6735"}, "name": "Jenny Rosen", "phone": nil,
		"preferred_locales": []any{"en"}, "shipping": nil, "tax_exempt": "none", "test_clock": nil,
	}
	event := map[string]any{
		"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "api_version": "2023-10-16", "created": 1686089970,
		"data":     map[string]any{"object": customer, "previous_attributes": map[string]any{"email": "old@example.com"}},
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": "req_1", "idempotency_key": "k"}, "type": "customer.updated",
	}
	b, err := json.MarshalIndent(event, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkValidIndented(b *testing.B) {
	doc := indentedEvent()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if !Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkWalkIndented(b *testing.B) {
	doc := indentedEvent()
	b.SetBytes(int64(len(doc)))
	n := 0
	for b.Loop() {
		if !Walk(doc, 3, func([][]byte, []byte) { n++ }) {
			b.Fatal("invalid")
		}
	}
}
