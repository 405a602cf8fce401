package stripehook_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

func TestDecodeUnverifiedMatchesDecode(t *testing.T) {
	p := stripehook.SampleEvent("customer.updated", customerID, created)
	src, err := stripehook.New([]string{secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := src.Decode(http.Header{"Stripe-Signature": {stripehook.Sign(p, secret, time.Now())}}, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stripehook.DecodeUnverified(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, signed) {
		t.Errorf("DecodeUnverified = %+v\nDecode           = %+v", got, signed)
	}
}

func TestDecodeUnverifiedAppliesOptions(t *testing.T) {
	p := stripehook.SampleEvent("customer.created", customerID, created) // test mode
	var re *emitter.RejectError
	_, err := stripehook.DecodeUnverified(p, &stripehook.Options{RefuseTestMode: true})
	if !errors.Is(err, stripehook.ErrTestMode) || !errors.As(err, &re) || re.Reason != "test-mode event refused" {
		t.Errorf("RefuseTestMode: %v", err)
	}
	_, err = stripehook.DecodeUnverified(p, &stripehook.Options{Types: []string{"invoice.*"}})
	if !errors.Is(err, emitter.ErrSkip) {
		t.Errorf("Types: %v, want ErrSkip", err)
	}
	_, err = stripehook.DecodeUnverified([]byte(`{"id":"evt_1","type":"x"}`), nil)
	if !errors.Is(err, stripehook.ErrMalformedEvent) {
		t.Errorf("malformed: %v", err)
	}
	if _, err = stripehook.DecodeUnverified(p, &stripehook.Options{Types: []string{"a*b"}}); err == nil {
		t.Error("bad Types accepted")
	}
}
