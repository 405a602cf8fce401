package dataverse_test

import (
	"maps"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink/dataverse"
)

func TestMapCustomer(t *testing.T) {
	cases := []struct {
		name, data string
		want       map[string]any
	}{
		{"every field", fullCustomer, map[string]any{
			"firstname": "Jenny Q", "lastname": "Rosen", "emailaddress1": "jenny@example.com",
			"telephone1": "+15555550100", "description": "VIP", "address1_line1": "1 Main St",
			"address1_line2": "Apt 2", "address1_city": "Springfield", "address1_stateorprovince": "IL",
			"address1_postalcode": "62701", "address1_country": "US"}},
		{"one word is the last name", `{"name":"Cher"}`, map[string]any{"firstname": nil, "lastname": "Cher"}},
		{"null clears", `{"name":null,"email":null,"phone":"","description":null}`, map[string]any{
			"firstname": nil, "lastname": nil, "emailaddress1": nil, "telephone1": nil, "description": nil}},
		{"null address clears all six", `{"address":null}`, map[string]any{
			"address1_line1": nil, "address1_line2": nil, "address1_city": nil,
			"address1_stateorprovince": nil, "address1_postalcode": nil, "address1_country": nil}},
		{"partial address", `{"address":{"city":"Paris","line2":null}}`, map[string]any{
			"address1_city": "Paris", "address1_line2": nil}},
		{"absent fields untouched", `{"id":"cus_1","object":"customer","metadata":{"a":"b"}}`, map[string]any{}},
		{"no data", ``, map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := dataverse.MapCustomer(hookline.Event{Data: []byte(c.data)})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("MapCustomer(%s) =\n %v\nwant\n %v", c.data, got, c.want)
			}
		})
	}
}

func TestMapCustomerErrors(t *testing.T) {
	for _, data := range []string{`[1]`, `not json`, `null`, `{"email":5}`, `{"address":"x"}`, `{"address":{"city":1}}`} {
		if _, err := dataverse.MapCustomer(hookline.Event{Data: []byte(data)}); err == nil {
			t.Errorf("MapCustomer(%s): no error", data)
		}
	}
}
