package dataverse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// setupWants are mapped columns of each kind Setup creates, and standard ones it leaves alone.
var setupWants = append([]dataverse.Want{
	{Column: "new_amount", Kind: dataverse.KindDecimal, Line: 1},
	{Column: "new_note", Kind: dataverse.KindText, Line: 2},
	{Column: "new_count", Kind: dataverse.KindInteger, Line: 3},
	{Column: "new_paid", Kind: dataverse.KindBool, Line: 4},
	{Column: "new_paidat", Kind: dataverse.KindTime, Line: 5},
	{Column: "new_note", Kind: dataverse.KindNull, Line: 6},
}, customerWants...)

// wantChanges are the changes Setup makes for setupWants in a fresh environment.
var wantChanges = []string{
	"column new_stripecustomerid: Text, 100 characters",
	"column new_stripeeventcreated: Date and time, time zone independent",
	"column new_stripeeventid: Text, 100 characters",
	"column new_amount: Decimal number, 2 decimal places",
	"column new_note: Text, 4000 characters",
	"column new_count: Whole number",
	"column new_paid: Yes/no",
	"column new_paidat: Date and time, time zone independent",
	"alternate key new_stripecustomeridkey on new_stripecustomerid",
}

// recorder collects progress lines.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func setup(t *testing.T, s *dataverse.Sink, wants []dataverse.Want, dryRun bool, progress func(string)) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	changes, err := s.Setup(ctx, wants, dryRun, progress)
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.String()
	}
	return out, err
}

func TestSetupFreshEnvironment(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true})
	s := openSink(t, srv, nil)
	if problems := mustCheck(t, s, setupWants); len(problems) != 9 {
		t.Fatalf("fresh environment: %d problems, want 9 (8 columns, the key):\n%s", len(problems), list(problems))
	}
	var progress recorder
	changes, err := setup(t, s, setupWants, false, progress.add)
	if err != nil || !slices.Equal(changes, wantChanges) {
		t.Fatalf("Setup = %q, %v\nwant %q", changes, err, wantChanges)
	}
	for _, line := range []string{"creating column contact.new_stripeeventcreated (Date and time, time zone independent)",
		"creating alternate key new_stripecustomeridkey on contact.new_stripecustomerid",
		"alternate key new_stripecustomeridkey: Pending, waiting for Dataverse to build its index",
		"alternate key new_stripecustomeridkey: Active after"} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress.String())
		}
	}
	if problems := mustCheck(t, s, setupWants); len(problems) != 0 {
		t.Fatalf("problems after Setup:\n%s", list(problems))
	}
	table, _ := srv.Table(contacts)
	cols := map[string]dataversetest.Column{}
	for _, c := range table.Columns {
		cols[c.LogicalName] = c
	}
	if c := cols[timeCol]; c.Type != dataversetest.TypeDateTime || c.Behavior != "TimeZoneIndependent" || c.Format != "DateAndTime" {
		t.Errorf("event-time column %+v", c)
	}
	if cols[idCol].MaxLength != 100 || cols["new_note"].MaxLength != 4000 || cols["new_paid"].Type != dataversetest.TypeBoolean {
		t.Errorf("columns %+v %+v %+v", cols[idCol], cols["new_note"], cols["new_paid"])
	}
	// The sink now writes.
	mustApply(t, s, customer("cus_1", "customer.created", "evt_1", 0, fullCustomer), sink.Stored)
	if r := row(t, srv, "cus_1"); r.Columns["emailaddress1"] != "jenny@example.com" || eventOf(r) != "evt_1" {
		t.Fatalf("row %v", r.Columns)
	}
}

func TestSetupTwiceChangesNothing(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true})
	s := openSink(t, srv, nil)
	if _, err := setup(t, s, setupWants, false, nil); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	changes, err := setup(t, s, setupWants, false, nil)
	if err != nil || len(changes) != 0 {
		t.Fatalf("second Setup = %q, %v; want no changes", changes, err)
	}
	if got := srv.Requests(); got["POST"] != 0 || len(got) != 1 {
		t.Errorf("second Setup sent %v, want reads only", got)
	}
	// A set-up environment from the start: nothing to do either.
	changes, err = setup(t, openSink(t, newDouble(t), nil), customerWants, false, nil)
	if err != nil || len(changes) != 0 {
		t.Fatalf("Setup of a set-up environment = %q, %v", changes, err)
	}
}

func TestSetupDryRun(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true})
	s := openSink(t, srv, nil)
	changes, err := setup(t, s, setupWants, true, func(line string) { t.Errorf("dry run progress: %s", line) })
	if err != nil || !slices.Equal(changes, wantChanges) {
		t.Fatalf("dry run = %q, %v\nwant %q", changes, err, wantChanges)
	}
	if got := srv.Requests(); got["POST"] != 0 || len(got) != 1 {
		t.Errorf("dry run sent %v, want reads only", got)
	}
	if problems := mustCheck(t, s, setupWants); len(problems) != 9 {
		t.Fatalf("after a dry run: %d problems, want the 9 of a fresh environment", len(problems))
	}
}

func TestSetupLeavesWhatItCannotFix(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true})
	s := openSink(t, srv, nil)
	wants := []dataverse.Want{
		{Column: "new_amount", Kind: dataverse.KindDecimal},
		{Column: "new_dyn", Kind: dataverse.KindAny, Line: 8},
		{Column: "emailaddress1", Kind: dataverse.KindInteger, Line: 9},
	}
	for _, dry := range []bool{true, false} {
		changes, err := setup(t, s, wants, dry, nil)
		var pe *dataverse.ProblemsError
		if !errors.As(err, &pe) || len(pe.Problems) != 2 || pe.Problems[0].Column != "new_dyn" ||
			pe.Problems[1].Line != 9 || !strings.HasPrefix(err.Error(), "dataverse: 2 problem(s)") {
			t.Fatalf("dry run %v: Setup error %v, want the two problems", dry, err)
		}
		if len(changes) != 5 || changes[3] != "column new_amount: Decimal number, 2 decimal places" {
			t.Fatalf("dry run %v: changes %q", dry, changes)
		}
	}
	if problems := mustCheck(t, s, wants); len(problems) != 2 {
		t.Fatalf("after Setup:\n%s", list(problems))
	}
}

func TestSetupWithoutTable(t *testing.T) {
	s := openSink(t, newDouble(t), func(o *dataverse.Options) { o.EntitySet = "new_invoices" })
	_, err := setup(t, s, nil, false, nil)
	var pe *dataverse.ProblemsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Problems[0].Fix, "not tables") {
		t.Fatalf("Setup without the table: %v", err)
	}
	// A custom table: Setup creates hookline's columns and key on it.
	srv := doubleWith(t, dataversetest.Options{Tables: []dataversetest.Table{{LogicalName: "new_invoice"}}})
	s = openSink(t, srv, func(o *dataverse.Options) { o.EntitySet, o.KeyColumn = "new_invoices", "new_stripeinvoiceid" })
	changes, err := setup(t, s, []dataverse.Want{{Column: "new_name", Kind: dataverse.KindText}}, false, nil)
	if err != nil || len(changes) != 4 || changes[3] != "alternate key new_stripeinvoiceidkey on new_stripeinvoiceid" {
		t.Fatalf("Setup of a custom table = %q, %v", changes, err)
	}
}

func TestSetupKeyJobs(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true, FailKeyJobs: true})
	s := openSink(t, srv, nil)
	changes, err := setup(t, s, nil, false, nil)
	var pe *dataverse.ProblemsError
	if !errors.As(err, &pe) || len(changes) != 4 || len(pe.Problems) != 1 || !strings.Contains(pe.Problems[0].Problem, "Failed") {
		t.Fatalf("Setup with a failing index job = %q, %v", changes, err)
	}

	// A key being built when Setup starts: it waits, and changes nothing.
	srv = newDouble(t)
	s = openSink(t, srv, nil)
	srv.SetKeyStatus(contacts, keyCol+"_key", dataversetest.KeyPending)
	var progress recorder
	if changes, err := setup(t, s, nil, false, progress.add); err != nil || len(changes) != 0 ||
		!strings.Contains(progress.String(), "Active after") {
		t.Fatalf("Setup with a Pending key = %q, %v\n%s", changes, err, progress.String())
	}

	// The wait ends with ctx, whose error comes back unwrapped.
	srv = doubleWith(t, dataversetest.Options{Fresh: true, KeyActivation: time.Hour})
	s = openSink(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if changes, err := s.Setup(ctx, nil, false, nil); err != context.DeadlineExceeded || len(changes) != 4 {
		t.Fatalf("Setup past its deadline = %v, %v; want the changes and context.DeadlineExceeded", changes, err)
	}
}

func TestSetupRefused(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true})
	s := openSink(t, srv, func(o *dataverse.Options) { o.HTTPClient = &http.Client{Transport: refusePost{}} })
	changes, err := setup(t, s, nil, false, nil)
	if len(changes) != 0 || err == nil || !strings.Contains(err.Error(), "403") ||
		!strings.Contains(err.Error(), "System Customizer") || strings.Contains(err.Error(), testTok) {
		t.Fatalf("Setup refused = %q, %v", changes, err)
	}
}

// refusePost answers every POST with 403, as Dataverse does when the user's role lacks a
// privilege, and sends other requests on.
type refusePost struct{}

func (refusePost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return http.DefaultTransport.RoundTrip(r)
	}
	body := `{"error":{"code":"0x80040220","message":"Principal user is missing prvCreateAttribute privilege"}}`
	return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func ExampleSink_Setup() {
	// A stand-in for an environment hookline was never set up in.
	srv := dataversetest.New(&dataversetest.Options{Fresh: true})
	defer srv.Close()
	ctx := context.Background()
	s, err := dataverse.Open(ctx, "dataverse://org.crm.dynamics.com?key=new_stripecustomerid"+
		"&eventtime=new_stripeeventcreated&eventid=new_stripeeventid",
		&dataverse.Options{Endpoint: srv.URL(), Token: "dev-token"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	wants := []dataverse.Want{{Column: "emailaddress1", Kind: dataverse.KindText},
		{Column: "new_lifetimevalue", Kind: dataverse.KindDecimal}}

	problems, _ := s.Check(ctx, wants)
	fmt.Println(len(problems), "problems, the first:", problems[0])
	changes, err := s.Setup(ctx, wants, false, nil)
	for _, c := range changes {
		fmt.Println(c)
	}
	problems, _ = s.Check(ctx, wants)
	fmt.Println(err, len(problems))
	// Output:
	// 5 problems, the first: column new_stripecustomerid: the table has no column new_stripecustomerid, which holds each row's object id (key=); run `hookline dataverse setup` to create it (Text, 100 characters)
	// column new_stripecustomerid: Text, 100 characters
	// column new_stripeeventcreated: Date and time, time zone independent
	// column new_stripeeventid: Text, 100 characters
	// column new_lifetimevalue: Decimal number, 2 decimal places
	// alternate key new_stripecustomeridkey on new_stripecustomerid
	// <nil> 0
}
