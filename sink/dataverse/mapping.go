package dataverse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hookline/hookline"
)

// customerColumns maps top-level Stripe customer fields onto contact columns.
var customerColumns = []struct{ field, column string }{
	{"email", "emailaddress1"},
	{"phone", "telephone1"},
	{"description", "description"},
}

// addressColumns maps the fields of a Stripe address onto the contact's first address.
var addressColumns = []struct{ field, column string }{
	{"line1", "address1_line1"},
	{"line2", "address1_line2"},
	{"city", "address1_city"},
	{"state", "address1_stateorprovince"},
	{"postal_code", "address1_postalcode"},
	{"country", "address1_country"},
}

// MapCustomer is the default mapping: a Stripe customer (the event's data.object) to the
// columns of a Dataverse contact.
//
//	name                 firstname, lastname: split at the last space ("Jenny Q Rosen" is
//	                     "Jenny Q" and "Rosen"); one word is the last name, first name null
//	email                emailaddress1
//	phone                telephone1
//	description          description
//	address.line1        address1_line1
//	address.line2        address1_line2
//	address.city         address1_city
//	address.state        address1_stateorprovince
//	address.postal_code  address1_postalcode
//	address.country      address1_country (Stripe's two-letter ISO code, e.g. "US")
//
// A field present in the object is written, and a null (or empty) one clears its columns, so a
// value removed in Stripe is removed in Dataverse; a field absent from the object leaves its
// columns as they are. An address that is null clears all six address columns. An event
// without data maps to no columns; data that is not a JSON object, or a field of the wrong
// type, is an error (and the event is dead-lettered).
func MapCustomer(ev hookline.Event) (map[string]any, error) {
	cols := map[string]any{}
	if len(bytes.TrimSpace(ev.Data)) == 0 {
		return cols, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &obj); err != nil || obj == nil {
		return nil, errors.New("data is not a JSON object")
	}
	if raw, ok := obj["name"]; ok {
		name, err := optionalString(raw, "name")
		if err != nil {
			return nil, err
		}
		cols["firstname"], cols["lastname"] = splitName(name)
	}
	for _, c := range customerColumns {
		if raw, ok := obj[c.field]; ok {
			v, err := optionalString(raw, c.field)
			if err != nil {
				return nil, err
			}
			cols[c.column] = nullable(v)
		}
	}
	if raw, ok := obj["address"]; ok {
		if err := mapAddress(raw, cols); err != nil {
			return nil, err
		}
	}
	return cols, nil
}

func mapAddress(raw json.RawMessage, cols map[string]any) error {
	var addr map[string]json.RawMessage
	if err := json.Unmarshal(raw, &addr); err != nil {
		return errors.New("address is not an object")
	}
	for _, c := range addressColumns {
		if addr == nil { // "address": null clears the address
			cols[c.column] = nil
			continue
		}
		if v, ok := addr[c.field]; ok {
			s, err := optionalString(v, "address."+c.field)
			if err != nil {
				return err
			}
			cols[c.column] = nullable(s)
		}
	}
	return nil
}

// optionalString reads a JSON string or null ("").
func optionalString(raw json.RawMessage, field string) (string, error) {
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", field)
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

// nullable returns nil for "", which Dataverse stores as an empty column, else s.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// splitName splits a full name at its last space into first and last name; a single word is
// the last name.
func splitName(name string) (first, last any) {
	name = strings.TrimSpace(name)
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return nil, nullable(name)
	}
	return nullable(strings.TrimSpace(name[:i])), nullable(name[i+1:])
}
