package dataverse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// Stripe customers become contacts; a redelivery and an older event arriving late change
// nothing. (Stripe events carry the whole object, so the newest event alone gives every field.)
func Example() {
	// A stand-in for https://org.crm.dynamics.com; drop Endpoint and Token to use the real one.
	srv := dataversetest.New(nil)
	defer srv.Close()

	ctx := context.Background()
	s, err := dataverse.Open(ctx,
		"dataverse://org.crm.dynamics.com?key=new_stripecustomerid&eventtime=new_stripeeventcreated",
		&dataverse.Options{Endpoint: srv.URL(), Token: "dev-token"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	created := hookline.Event{ID: "evt_1", Type: "customer.created", Subject: "cus_123", Time: at,
		Data: []byte(`{"id":"cus_123","name":"Jenny Rosen","email":"jenny@example.com"}`)}
	updated := hookline.Event{ID: "evt_2", Type: "customer.updated", Subject: "cus_123", Time: at.Add(time.Minute),
		Data: []byte(`{"id":"cus_123","name":"Jenny Rosen","email":"jenny.rosen@example.com","phone":null}`)}
	for _, ev := range []hookline.Event{updated, created, updated} {
		if err := s.Write(ctx, ev); err != nil {
			log.Fatal(err)
		}
	}

	row, _ := srv.Row("contacts", "cus_123")
	c := row.Columns
	fmt.Println(c["firstname"], c["lastname"], c["emailaddress1"], c["telephone1"], c["new_stripeeventcreated"])
	// Output:
	// Jenny Rosen jenny.rosen@example.com <nil> 2024-03-01T12:01:00Z
}

// Any Stripe object can go to any table with a mapping of your own: here successful payment
// intents become rows of a custom table "new_payment" (entity set new_payments) keyed by the
// payment intent id. The table has the mapped columns ([Sink.Setup] creates those it lacks).
func Example_paymentIntents() {
	srv := dataversetest.New(&dataversetest.Options{
		EntitySets: map[string]string{"new_payments": "new_stripepaymentintentid"},
		Tables: []dataversetest.Table{{LogicalName: "new_payment", Columns: []dataversetest.Column{
			{LogicalName: "new_amount", Type: dataversetest.TypeDecimal},
			{LogicalName: "new_currency", Type: dataversetest.TypeString, MaxLength: 3},
			{LogicalName: "new_stripecustomer", Type: dataversetest.TypeString},
		}}},
	})
	defer srv.Close()

	mapPayment := func(ev hookline.Event) (map[string]any, error) {
		var pi struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
			Customer string `json:"customer"`
		}
		if err := json.Unmarshal(ev.Data, &pi); err != nil {
			return nil, err // Permanent: the event is dead-lettered
		}
		return map[string]any{
			"new_amount":         float64(pi.Amount) / 100, // a Decimal column
			"new_currency":       pi.Currency,
			"new_stripecustomer": pi.Customer,
		}, nil
	}
	ctx := context.Background()
	s, err := dataverse.Open(ctx, "dataverse://org.crm.dynamics.com?entityset=new_payments"+
		"&key=new_stripepaymentintentid&eventtime=new_stripeeventcreated&eventid=new_stripeeventid",
		&dataverse.Options{Map: mapPayment, Endpoint: srv.URL(), Token: "dev-token"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Write(ctx, hookline.Event{ID: "evt_9", Type: "payment_intent.succeeded", Subject: "pi_42",
		Time: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Data: []byte(`{"id":"pi_42","object":"payment_intent","amount":1999,"currency":"eur","customer":"cus_123"}`)})
	if err != nil {
		log.Fatal(err)
	}
	row, _ := srv.Row("new_payments", "pi_42")
	c := row.Columns
	fmt.Println(c["new_amount"], c["new_currency"], c["new_stripecustomer"], c["new_stripeeventid"])
	// Output:
	// 19.99 eur cus_123 evt_9 payment_intent.succeeded
}
