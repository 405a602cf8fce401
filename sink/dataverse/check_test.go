package dataverse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// customerWants are the columns MapCustomer writes, all text.
var customerWants = func() []dataverse.Want {
	var w []dataverse.Want
	for i, c := range []string{"firstname", "lastname", "emailaddress1", "telephone1", "description", "address1_line1",
		"address1_line2", "address1_city", "address1_stateorprovince", "address1_postalcode", "address1_country"} {
		w = append(w, dataverse.Want{Column: c, Kind: dataverse.KindText, Line: i + 1})
	}
	return w
}()

// doubleWith starts a double that accepts testTok, with more options.
func doubleWith(t testing.TB, o dataversetest.Options) *dataversetest.Server {
	t.Helper()
	o.Tokens, o.RequireHeaders = []string{testTok}, true
	srv := dataversetest.New(&o)
	t.Cleanup(srv.Close)
	return srv
}

func mustCheck(t *testing.T, s *dataverse.Sink, wants []dataverse.Want) []dataverse.Problem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	problems, err := s.Check(ctx, wants)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return problems
}

// expectProblems fails t unless problems has one per entry of want, in order, each for the
// column given and with the texts given in its problem and fix.
func expectProblems(t *testing.T, problems []dataverse.Problem, want ...[3]string) {
	t.Helper()
	if len(problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(problems), len(want), list(problems))
	}
	for i, w := range want {
		p := problems[i]
		if p.Column != w[0] || !strings.Contains(p.Problem, w[1]) || !strings.Contains(p.Fix, w[2]) {
			t.Errorf("problem %d = %s\nwant column %q, problem with %q, fix with %q", i, p, w[0], w[1], w[2])
		}
	}
}

func list(problems []dataverse.Problem) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestCheckCleanEnvironment(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	wants := append(customerWants,
		dataverse.Want{Column: "numberofchildren", Kind: dataverse.KindInteger},
		dataverse.Want{Column: "creditlimit", Kind: dataverse.KindDecimal},
		dataverse.Want{Column: "donotemail", Kind: dataverse.KindBool},
		dataverse.Want{Column: "birthdate", Kind: dataverse.KindTime},
		dataverse.Want{Column: "gendercode", Kind: dataverse.KindInteger},
		dataverse.Want{Column: "jobtitle", Kind: dataverse.KindNull},
		dataverse.Want{Column: "middlename"},
		dataverse.Want{Column: "parentcustomerid_account@odata.bind", Kind: dataverse.KindText},
		dataverse.Want{Column: keyCol, Kind: dataverse.KindInteger}, // the sink writes it: not checked
	)
	if problems := mustCheck(t, s, wants); len(problems) != 0 {
		t.Fatalf("problems in a set-up environment:\n%s", list(problems))
	}
	if got := srv.Requests(); got["POST"] != 0 || got["PATCH"] != 0 {
		t.Errorf("Check wrote: %v", got)
	}
}

func TestCheckMissingTable(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.EntitySet = "nosuchthings" })
	expectProblems(t, mustCheck(t, s, nil), [3]string{"", `no table has the entity set name "nosuchthings"`, "entityset="})
	s = openSink(t, srv, func(o *dataverse.Options) { o.EntitySet = "contact" })
	expectProblems(t, mustCheck(t, s, nil), [3]string{"", "entity set name", "set entityset=contacts"})
}

func TestCheckMissingColumns(t *testing.T) {
	s := openSink(t, newDouble(t), nil)
	expectProblems(t, mustCheck(t, s, []dataverse.Want{
		{Column: "new_amount", Kind: dataverse.KindDecimal, Line: 4},
		{Column: "emailadress1", Kind: dataverse.KindText, Line: 5},
		{Column: "cr9_other", Kind: dataverse.KindText, Line: 6},
		{Column: "new_whatever", Kind: dataverse.KindAny, Line: 7},
		{Column: "new_both", Kind: dataverse.KindText}, {Column: "new_both", Kind: dataverse.KindInteger},
		{Column: "new_odd", Kind: "complex"},
	}),
		[3]string{"new_amount", "no column new_amount", "hookline dataverse setup` to create it (Decimal number"},
		[3]string{"emailadress1", "no column", "check the logical name"},
		[3]string{"cr9_other", "no column", "publisher's prefix"},
		[3]string{"new_whatever", "no column", "known only at run time"},
		[3]string{"new_both", "no column", "mapped as text and as a whole number"},
		[3]string{"new_odd", `unknown kind "complex"`, "Kind constants"},
	)
}

func TestCheckWrongTypes(t *testing.T) {
	s := openSink(t, newDouble(t), nil)
	problems := mustCheck(t, s, []dataverse.Want{
		{Column: "emailaddress1", Kind: dataverse.KindInteger, Line: 12},
		{Column: "gendercode", Kind: dataverse.KindText},
		{Column: "parentcustomerid", Kind: dataverse.KindText},
		{Column: "donotemail", Kind: dataverse.KindText},
		{Column: "new_boss@odata.bind", Kind: dataverse.KindText},
		{Column: "parentcustomerid_contact@odata.bind", Kind: dataverse.KindInteger},
		{Column: "createdon", Kind: dataverse.KindDecimal},
	})
	expectProblems(t, problems,
		[3]string{"emailaddress1", "mapped as a whole number, but the column is Text (String, 100 characters)", "map text to it"},
		[3]string{"gendercode", "Choice (Picklist)", "option's number"},
		[3]string{"parentcustomerid", "Customer", "parentcustomerid_account@odata.bind or parentcustomerid_contact@odata.bind"},
		[3]string{"donotemail", "Yes/no", "map true or false"},
		[3]string{"new_boss@odata.bind", "no lookup whose navigation property is new_boss", "does not create lookups"},
		[3]string{"parentcustomerid_contact@odata.bind", "bound with text", "'/accounts('"},
		[3]string{"createdon", "Date and time", "map a time"},
	)
	if problems[0].Line != 12 || !strings.HasPrefix(problems[0].String(), "column emailaddress1 (line 12): mapped as") {
		t.Errorf("line: %s", problems[0])
	}
}

func TestCheckKeyStates(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	key := keyCol + "_key"
	for status, want := range map[string][2]string{
		dataversetest.KeyPending:    {"is Pending: Dataverse is still building it", "setup` waits"},
		dataversetest.KeyInProgress: {"is InProgress", "wait until it is Active"},
		dataversetest.KeyFailed:     {"is Failed", "delete the key in the maker portal"},
	} {
		if err := srv.SetKeyStatus(contacts, key, status); err != nil {
			t.Fatal(err)
		}
		expectProblems(t, mustCheck(t, s, nil), [3]string{keyCol, want[0], want[1]})
	}
	srv.SetKeyStatus(contacts, key, dataversetest.KeyActive)
	expectProblems(t, mustCheck(t, s, nil))
}

func TestCheckSinkColumns(t *testing.T) {
	srv := doubleWith(t, dataversetest.Options{Fresh: true, Tables: []dataversetest.Table{{LogicalName: "contact",
		EntitySet: contacts, Columns: []dataversetest.Column{
			{LogicalName: keyCol, Type: dataversetest.TypeInteger},
			{LogicalName: timeCol, Type: dataversetest.TypeDateTime, Format: "DateOnly", Behavior: "DateOnly"},
			{LogicalName: idCol, Type: dataversetest.TypeString, MaxLength: 50},
		}}}})
	s := openSink(t, srv, nil)
	expectProblems(t, mustCheck(t, s, nil),
		[3]string{keyCol, "Whole number (Integer), not text", "Text column"},
		[3]string{timeCol, "date only", "format Date and time"},
		[3]string{idCol, "holds 50 characters", "maximum length to 100"},
	)
	s = openSink(t, srv, func(o *dataverse.Options) { o.EventTimeColumn, o.EventIDColumn = "emailaddress1", "createdon" })
	expectProblems(t, mustCheck(t, s, nil),
		[3]string{keyCol, "not text", ""},
		[3]string{"emailaddress1", "not Date and time", ""},
		[3]string{"createdon", "not text", ""},
	)
}

func TestCheckReadFailures(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.Token = "tok-other-9876543210" })
	_, err := s.Check(context.Background(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "dataverse: ") || !strings.Contains(err.Error(), "401") ||
		strings.Contains(err.Error(), "tok-other") {
		t.Fatalf("Check with a refused token: %v", err)
	}
	s = openSink(t, srv, nil)
	srv.FailNext(1, 403, "0x80040220", "Principal user is missing prvReadEntity privilege")
	if _, err := s.Check(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "prvReadEntity") {
		t.Fatalf("Check refused: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Check(ctx, nil); err != context.Canceled {
		t.Fatalf("Check with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestKindOfCEL(t *testing.T) {
	for name, want := range map[string]dataverse.Kind{
		"string": dataverse.KindText, "int": dataverse.KindInteger, "uint": dataverse.KindInteger,
		"double": dataverse.KindDecimal, "bool": dataverse.KindBool, "google.protobuf.Timestamp": dataverse.KindTime,
		"null_type": dataverse.KindNull, "dyn": dataverse.KindAny, "wrapper(string)": dataverse.KindText,
		"list(string)": dataverse.KindAny, "map(string, dyn)": dataverse.KindAny,
	} {
		if got := dataverse.KindOfCEL(name); got != want {
			t.Errorf("KindOfCEL(%q) = %q, want %q", name, got, want)
		}
	}
}
