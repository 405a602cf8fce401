package stripehook_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
)

// printSender stands in for a channel: it prints each event it is given.
type printSender struct{}

func (printSender) Send(_ context.Context, ev hookline.Event) error {
	fmt.Println("sent:", ev.ID, ev.Source, ev.Type, ev.Subject, ev.Object, ev.Action, ev.Time.Format(time.RFC3339))
	fmt.Println("metadata:", ev.Metadata)
	return nil
}

func ExampleNewHandler() {
	// In a real deployment: stripehook.ParseSecrets(os.Getenv("STRIPE_WEBHOOK_SECRET")).
	secrets := stripehook.ParseSecrets("whsec_example")
	h, err := stripehook.NewHandler(secrets, printSender{}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	// What Stripe would POST: a signed customer.created event.
	payload := stripehook.SampleEvent("customer.created", "cus_NffrFeUfNV2Hib", time.Unix(1709294400, 0))
	req := httptest.NewRequest("POST", "/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripehook.Sign(payload, secrets[0], time.Now()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	// The same delivery signed with another secret is refused, and nothing is sent.
	req = httptest.NewRequest("POST", "/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripehook.Sign(payload, "whsec_wrong", time.Now()))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// sent: evt_qAXxC2rqcuiWp4dIPTqD5D1N stripe customer.created cus_NffrFeUfNV2Hib customer created 2024-03-01T12:00:00Z
	// metadata: map[apiversion:2023-10-16 livemode:false]
	// 200 {"received":true,"id":"evt_qAXxC2rqcuiWp4dIPTqD5D1N"}
	// 400 {"error":"invalid signature"}
}

func ExampleNewHandler_typeFilter() {
	opts := &stripehook.Options{Types: []string{"customer.*"}}
	h, err := stripehook.NewHandler([]string{"whsec_example"}, printSender{}, opts, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, typ := range []string{"invoice.paid", "customer.deleted"} {
		payload := stripehook.SampleEvent(typ, "cus_NffrFeUfNV2Hib", time.Unix(1709294400, 0))
		req := httptest.NewRequest("POST", "/stripe/webhook", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", stripehook.Sign(payload, "whsec_example", time.Now()))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(typ, w.Code, w.Body.String())
	}
	// Output:
	// invoice.paid 200 {"received":true,"skipped":true}
	// sent: evt_Zz5wNpZ0ok6ShY5M4wQdIX0R stripe customer.deleted cus_NffrFeUfNV2Hib customer deleted 2024-03-01T12:00:00Z
	// metadata: map[apiversion:2023-10-16 livemode:false]
	// customer.deleted 200 {"received":true,"id":"evt_Zz5wNpZ0ok6ShY5M4wQdIX0R"}
}
