package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// exampleConfig writes examples/local/hookline.yaml to a temporary file, with its Dataverse
// sinks pointed at the double and its SQLite file at db (and, with misspell, one of its
// columns misspelled), and returns the file's path.
func exampleConfig(t *testing.T, double *dataversetest.Server, db string, misspell bool) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "local", "hookline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "eventid=new_stripeeventid\n", "eventid=new_stripeeventid&endpoint="+double.URL()+"\n")
	s = strings.Replace(s, "sqlite://hookline.db", "sqlite://"+filepath.ToSlash(db), 1)
	if misspell {
		s = strings.Replace(s, "emailaddress1:", "emailadress1:", 1)
	}
	path := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freshDouble is a Dataverse environment hookline was never set up in: contacts without the
// key and event columns, and an empty custom table for invoices.
func freshDouble(t *testing.T) *dataversetest.Server {
	t.Helper()
	srv := dataversetest.New(&dataversetest.Options{Fresh: true, Tables: []dataversetest.Table{{LogicalName: "new_invoice"}}})
	t.Cleanup(srv.Close)
	return srv
}

// The configuration file of examples/local, against a fresh Dataverse environment: hookline
// check finds what is missing (and a misspelled column) before any event, hookline dataverse
// setup creates it, and check then passes.
func TestCheckAndSetup(t *testing.T) {
	srv := freshDouble(t)
	env := map[string]string{"DATAVERSE_HOST": "org.crm.dynamics.com", "DATAVERSE_TOKEN": "dev-token",
		"HOOKLINE_CONFIG": exampleConfig(t, srv, filepath.Join(t.TempDir(), "x.db"), false), "STRIPE_WEBHOOK_SECRET": "whsec_x"}
	t.Setenv("DATAVERSE_TOKEN", "dev-token") // the sink reads it from the process
	out, _, err := runCmd(t, env, "check")
	if !errors.Is(err, errProblems) || !strings.Contains(out, "new_stripecustomerid") || !strings.Contains(out, "new_amountdue") {
		t.Fatalf("check on a fresh environment: %v\n%s", err, out)
	}
	before := srv.Requests()

	out, log, err := runCmd(t, env, "dataverse", "setup", "--dry-run")
	if err != nil || !strings.Contains(out, "would create") || srv.Requests()["POST"] != before["POST"] {
		t.Fatalf("setup --dry-run: %v, %v POSTs\n%s\n%s", err, srv.Requests()["POST"]-before["POST"], out, log)
	}
	out, log, err = runCmd(t, env, "dataverse", "setup")
	if err != nil || !strings.Contains(out, "route contacts: created") || !strings.Contains(out, "route invoices: created") {
		t.Fatalf("setup: %v\n%s\n%s", err, out, log)
	}
	if out, _, err := runCmd(t, env, "check"); err != nil || !strings.HasPrefix(out, "ok: 3 routes") {
		t.Fatalf("check after setup: %v\n%s", err, out)
	}
	if out, _, err := runCmd(t, env, "dataverse", "setup"); err != nil || strings.Count(out, "nothing to create") != 2 {
		t.Errorf("setup again: %v, want nothing created\n%s", err, out)
	}

	env["HOOKLINE_CONFIG"] = exampleConfig(t, srv, filepath.Join(t.TempDir(), "x.db"), true)
	out, _, err = runCmd(t, env, "check")
	if !errors.Is(err, errProblems) || !strings.Contains(out, "emailadress1") || !strings.Contains(out, "hookline.yaml:13:7") || strings.Count(out, "\n") != 2 {
		t.Errorf("check with a misspelled column: %v, want the column alone\n%s", err, out)
	}
	if _, _, err := runCmd(t, env, "serve", "-addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "emailadress1") {
		t.Errorf("serve with a misspelled column: %v, want it refused at start", err)
	}
}

// One hookline serve with the configuration file of examples/local carries customers to
// contacts, invoices to the custom table and everything to SQLite, each exactly once and the
// newest event last, whatever order they arrive in.
func TestServeRoutes(t *testing.T) {
	srv := dataversetest.New(&dataversetest.Options{Tables: []dataversetest.Table{invoiceTable}})
	t.Cleanup(srv.Close)
	t.Setenv("DATAVERSE_TOKEN", "dev-token")
	db := filepath.Join(t.TempDir(), "all.db")
	secret := stripehook.GenerateSecret()
	env := map[string]string{"DATAVERSE_HOST": "org.crm.dynamics.com", "DATAVERSE_TOKEN": "dev-token",
		"HOOKLINE_CONFIG": exampleConfig(t, srv, db, false), "STRIPE_WEBHOOK_SECRET": secret, "HOOKLINE_CHANNEL": "inproc://serve-routes"}
	addr, stop := serveUntilListening(t, env)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	bodies := [][]byte{
		stripehook.SampleEvent("customer.updated", "cus_routes", t0.Add(2*time.Second)), // newer first
		stripehook.SampleEvent("customer.created", "cus_routes", t0),
		invoiceEvent("evt_inv_2", "invoice.paid", "in_routes", "paid", t0.Add(3*time.Second)),
		invoiceEvent("evt_inv_1", "invoice.finalized", "in_routes", "open", t0.Add(time.Second)),
		invoiceEvent("evt_inv_0", "invoice.created", "in_draft", "draft", t0), // filtered out of invoices
		stripehook.SampleEvent("charge.succeeded", "ch_routes", t0),
	}
	for _, b := range append(bodies, bodies[0]) { // and one redelivery
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(b))
		req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(b, secret, time.Now()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	contact, ok := srv.Row("contacts", "cus_routes")
	if !ok || contact.Columns["emailaddress1"] == nil || !strings.HasPrefix(fmt.Sprint(contact.Columns["new_stripeeventid"]), eventIDOf(t, bodies[0])) {
		t.Errorf("contact: %v (found %v), want the customer.updated event's", contact.Columns, ok)
	}
	invoice, ok := srv.Row("new_invoices", "in_routes")
	if !ok || invoice.Columns["new_status"] != "paid" || invoice.Columns["new_amountdue"] != float64(1999) || invoice.Columns["new_name"] != "A1B2-0007" {
		t.Errorf("invoice: %v (found %v), want the paid one", invoice.Columns, ok)
	}
	if _, drafted := srv.Row("new_invoices", "in_draft"); drafted || len(srv.Rows("new_invoices")) != 1 || len(srv.Rows("contacts")) != 1 {
		t.Errorf("rows: %d invoices, %d contacts; want the draft filtered out", len(srv.Rows("new_invoices")), len(srv.Rows("contacts")))
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM stripe_objects`).Scan(&n); err != nil || n != 4 {
		t.Errorf("SQLite holds %d objects (%v), want 4: the customer, two invoices, the charge", n, err)
	}
}

// invoiceTable is the custom table of the invoices route, set up as hookline dataverse setup
// makes it.
var invoiceTable = dataversetest.Table{LogicalName: "new_invoice",
	Columns: []dataversetest.Column{{LogicalName: "new_stripeinvoiceid", Type: "String"},
		{LogicalName: "new_stripeeventcreated", Type: "DateTime", Behavior: "TimeZoneIndependent"},
		{LogicalName: "new_stripeeventid", Type: "String"}, {LogicalName: "new_customer", Type: "String", MaxLength: 4000},
		{LogicalName: "new_amountdue", Type: "Integer"}, {LogicalName: "new_currency", Type: "String", MaxLength: 4000},
		{LogicalName: "new_status", Type: "String", MaxLength: 4000}},
	Keys: []dataversetest.Key{{LogicalName: "new_stripeinvoiceid_key", Columns: []string{"new_stripeinvoiceid"}}}}

// invoiceEvent is a Stripe invoice event as Stripe sends it, with the fields the route maps.
func invoiceEvent(id, typ, invoice, status string, created time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"type":%q,"livemode":false,`+
		`"data":{"object":{"id":%q,"object":"invoice","number":"A1B2-0007","customer":"cus_routes","amount_due":1999,`+
		`"currency":"usd","status":%q}}}`, id, created.Unix(), typ, invoice, status)
}

func eventIDOf(t *testing.T, body []byte) string {
	t.Helper()
	ev, err := stripehook.DecodeUnverified(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ev.ID
}
