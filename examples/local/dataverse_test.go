package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// TestLocalExampleIntoDataverse configures examples/local for Dataverse exactly as the README
// tells users (HOOKLINE_SINK=dataverse://..., DATAVERSE_TOKEN), with endpoint= pointing at the
// in-repo Web API double, and posts signed Stripe events over real HTTP: a customer.created must
// become a contact with every mapped field, a later update must change it, a stale update must
// not, and customer.deleted must deactivate it.
func TestLocalExampleIntoDataverse(t *testing.T) {
	double := dataversetest.New(&dataversetest.Options{Tokens: []string{"dev-token"}, RequireHeaders: true})
	defer double.Close()
	t.Setenv("DATAVERSE_TOKEN", "dev-token")
	port := freePort(t)
	secret := stripehook.GenerateSecret()
	env := map[string]string{
		"PORT": port, "STRIPE_WEBHOOK_SECRET": secret, "HOOKLINE_CHANNEL": "mem://e2e-dataverse",
		"HOOKLINE_SINK": "dataverse://contoso.crm.dynamics.com?key=new_stripecustomerid&eventtime=new_stripeeventcreated" +
			"&eventid=new_stripeeventid&endpoint=" + url.QueryEscape(double.URL()),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &out) }()
	base := "http://127.0.0.1:" + port
	waitHealthy(t, base)

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	created := stripehook.SampleEvent("customer.created", "cus_dv1", t0)
	postSigned(t, base, secret, created)
	contact := waitContact(t, double, "cus_dv1", func(r dataversetest.Row) bool { return r.Columns["new_stripeeventcreated"] != nil })
	want := expectedColumns(t, created)
	for col, v := range want {
		if got := contact.Columns[col]; got != v {
			t.Errorf("contact column %s = %#v, want %#v", col, got, v)
		}
	}
	if contact.Columns["new_stripeeventcreated"] != t0.UTC().Format(time.RFC3339) {
		t.Errorf("event time column = %v, want %s", contact.Columns["new_stripeeventcreated"], t0.UTC().Format(time.RFC3339))
	}

	updated := stripehook.SampleEvent("customer.updated", "cus_dv1", t0.Add(2*time.Minute))
	stale := stripehook.SampleEvent("customer.updated", "cus_dv1", t0.Add(time.Minute))
	postSigned(t, base, secret, updated)
	waitContact(t, double, "cus_dv1", func(r dataversetest.Row) bool {
		return r.Columns["new_stripeeventcreated"] == t0.Add(2*time.Minute).UTC().Format(time.RFC3339)
	})
	postSigned(t, base, secret, stale)
	deleted := stripehook.SampleEvent("customer.deleted", "cus_dv1", t0.Add(3*time.Minute))
	postSigned(t, base, secret, deleted)
	final := waitContact(t, double, "cus_dv1", func(r dataversetest.Row) bool { return r.Inactive() })
	if final.Columns["new_stripeeventcreated"] != t0.Add(3*time.Minute).UTC().Format(time.RFC3339) {
		t.Errorf("after delete, event time = %v", final.Columns["new_stripeeventcreated"])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rows := double.Rows("contacts"); len(rows) != 1 {
		t.Errorf("double has %d contacts, want exactly 1", len(rows))
	}
	if bytes.Contains([]byte(out.String()), []byte("dev-token")) {
		t.Error("the Dataverse token appeared in the log")
	}
}

func postSigned(t *testing.T, base, secret string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", stripehook.Sign(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

func waitContact(t *testing.T, d *dataversetest.Server, key string, ok func(dataversetest.Row) bool) dataversetest.Row {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, found := d.Row("contacts", key)
		if found && ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("contact %s never reached the expected state; last: %+v", key, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectedColumns derives, from the Stripe customer in the event, the contact columns the
// documented default mapping must produce.
func expectedColumns(t *testing.T, event []byte) map[string]any {
	var ev struct {
		Data struct {
			Object struct {
				ID, Name, Email, Phone, Description string
				Address                             struct {
					Line1, Line2, City, State, Country string
					PostalCode                         string `json:"postal_code"`
				}
			}
		}
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.Data.Object
	return map[string]any{
		"new_stripecustomerid": c.ID, "firstname": "Jenny", "lastname": "Rosen",
		"emailaddress1": c.Email, "telephone1": c.Phone, "description": c.Description,
		"address1_line1": c.Address.Line1, "address1_line2": c.Address.Line2, "address1_city": c.Address.City,
		"address1_stateorprovince": c.Address.State, "address1_postalcode": c.Address.PostalCode,
		"address1_country": c.Address.Country,
	}
}
