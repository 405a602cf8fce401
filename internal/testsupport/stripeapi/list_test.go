package stripeapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// listBody writes exactly what indenting the whole list object would, without escaping HTML
// characters (Stripe does not).
func TestListBodyIsIndentedAsStripeIndents(t *testing.T) {
	raws := []string{`{"id":"cus_1","object":"customer","address":{"city":"<SF>"},"tags":[1,2]}`, `{"id":"cus_2","empty":{},"none":[]}`}
	for n := range len(raws) + 1 {
		var entries []*entry
		data := []json.RawMessage{}
		for _, r := range raws[:n] {
			entries = append(entries, &entry{raw: json.RawMessage(r), listed: listed([]byte(r))})
			data = append(data, json.RawMessage(r))
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Object  string            `json:"object"`
			Data    []json.RawMessage `json:"data"`
			HasMore bool              `json:"has_more"`
			URL     string            `json:"url"`
		}{"list", data, n == 1, "/v1/customers?x=<&>"}); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := listBody("/v1/customers?x=<&>", entries, n == 1); !bytes.Equal(got, want) {
			t.Errorf("%d entries:\n%s\nwant\n%s", n, got, want)
		}
	}
}
