package dataverse_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

const fullCustomer = `{"id":"cus_1","object":"customer","name":"Jenny Q Rosen","email":"jenny@example.com",
 "phone":"+15555550100","description":"VIP","address":{"line1":"1 Main St","line2":"Apt 2","city":"Springfield",
 "state":"IL","postal_code":"62701","country":"US"},"metadata":{}}`

func TestCreateMapsEveryField(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	mustWrite(t, s, customer("cus_1", "customer.created", "evt_1", 0, fullCustomer))
	want := map[string]any{
		keyCol: "cus_1", timeCol: "2024-03-01T12:00:00Z", idCol: "evt_1 customer.created",
		"firstname": "Jenny Q", "lastname": "Rosen", "emailaddress1": "jenny@example.com",
		"telephone1": "+15555550100", "description": "VIP", "address1_line1": "1 Main St",
		"address1_line2": "Apt 2", "address1_city": "Springfield", "address1_stateorprovince": "IL",
		"address1_postalcode": "62701", "address1_country": "US", "statecode": float64(0),
	}
	r := row(t, srv, "cus_1")
	for k, v := range want {
		if r.Columns[k] != v {
			t.Errorf("column %s = %#v, want %#v", k, r.Columns[k], v)
		}
	}
	if got := srv.Requests(); got["GET"] != 1 || got["PATCH"] != 1 || len(got) != 2 {
		t.Errorf("requests = %v, want one GET and one PATCH", got)
	}
}

func TestUpdateDuplicateAndOlder(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	created := customer("cus_u", "customer.created", "evt_1", 0, `{"email":"old@example.com","name":"Old"}`)
	updated := customer("cus_u", "customer.updated", "evt_2", 60, `{"email":"new@example.com"}`)
	mustWrite(t, s, created)
	mustWrite(t, s, updated)
	r := row(t, srv, "cus_u")
	if r.Columns["emailaddress1"] != "new@example.com" || r.Columns["lastname"] != "Old" || eventOf(r) != "evt_2" {
		t.Fatalf("after update: %v", r.Columns)
	}

	srv.ResetRequests()
	mustApply(t, s, updated, sink.Ignored) // duplicate: the sink remembers the row, no request
	if got := srv.TotalRequests(); got != 0 {
		t.Errorf("duplicate: requests = %v, want none (the sink remembers what it wrote)", srv.Requests())
	}
	mustApply(t, s, created, sink.Ignored) // older after newer
	after := row(t, srv, "cus_u")
	if after.ETag != r.ETag || after.Columns["emailaddress1"] != "new@example.com" {
		t.Errorf("duplicate or older event changed the row: %v (etag %s, was %s)", after.Columns, after.ETag, r.ETag)
	}

	// Another sink (a replica) does not remember the row: one read, no write.
	other := openSink(t, srv, nil)
	srv.ResetRequests()
	mustApply(t, other, updated, sink.Ignored)
	if got := srv.Requests(); got["GET"] != 1 || len(got) != 1 {
		t.Errorf("duplicate at a replica: requests = %v, want one GET only", got)
	}
}

func TestSameSecondWithoutEventIDColumn(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.EventIDColumn = "" })
	first := customer("cus_s", "customer.updated", "evt_2", 0, `{"email":"b@example.com"}`)
	mustApply(t, s, first, sink.Stored)
	// Without the column a redelivery cannot be told from another update of the same second:
	// it writes the same values again, and says so.
	mustApply(t, s, first, sink.Stored)
	// A *.created in the same second never overwrites.
	mustApply(t, s, customer("cus_s", "customer.created", "evt_1", 0, `{"email":"a@example.com"}`), sink.Ignored)
	if got := row(t, srv, "cus_s").Columns["emailaddress1"]; got != "b@example.com" {
		t.Fatalf("created in the same second overwrote the update: %v", got)
	}
	// Another update in the same second does (the last to arrive wins without the column).
	mustWrite(t, s, customer("cus_s", "customer.updated", "evt_0", 0, `{"email":"c@example.com"}`))
	// A deletion in the same second wins, and a same-second update after it does not undo it.
	mustApply(t, s, customer("cus_s", "customer.deleted", "evt_3", 0, `{"email":"d@example.com"}`), sink.Stored)
	mustApply(t, s, customer("cus_s", "customer.updated", "evt_4", 0, `{"email":"e@example.com"}`), sink.Ignored)
	// An older event is ignored with or without the column.
	mustApply(t, s, customer("cus_s", "customer.updated", "evt_9", -1, `{"email":"f@example.com"}`), sink.Ignored)
	r := row(t, srv, "cus_s")
	if !r.Inactive() || r.Columns["emailaddress1"] != "d@example.com" {
		t.Fatalf("after a same-second deletion: %v", r.Columns)
	}
}

func TestConcurrentWritersOfOneCustomer(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	var all []hookline.Event
	for i := range 40 {
		typ := "customer.updated"
		if i == 0 {
			typ = "customer.created"
		}
		all = append(all, customer("cus_c", typ, fmt.Sprintf("evt_%02d", 99-i), i/3,
			fmt.Sprintf(`{"email":"v%d@example.com"}`, i)))
	}
	newest := all[0]
	for _, ev := range all {
		if sink.VersionOf(ev).Supersedes(sink.VersionOf(newest)) {
			newest = ev
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*len(all))
	for g := range 16 {
		order := append([]hookline.Event(nil), all...)
		r := rand.New(rand.NewPCG(uint64(g), 7))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		wg.Go(func() {
			for _, ev := range order {
				if err := s.Write(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write: %v (code %v)", err, hookline.Code(err))
	}
	if got := eventOf(row(t, srv, "cus_c")); got != newest.ID {
		t.Fatalf("stored event %s, want the newest %s", got, newest.ID)
	}
	if n := len(srv.Rows(contacts)); n != 1 {
		t.Fatalf("%d contacts, want 1", n)
	}
}

func TestDeactivate(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	mustWrite(t, s, customer("cus_d", "customer.created", "evt_1", 0, `{"email":"a@example.com"}`))
	mustWrite(t, s, customer("cus_d", "customer.deleted", "evt_3", 2, `{"email":"a@example.com"}`))
	r := row(t, srv, "cus_d")
	if !r.Inactive() || r.Columns["statuscode"] != float64(2) {
		t.Fatalf("after delete: statecode %v statuscode %v, want 1 and 2", r.Columns["statecode"], r.Columns["statuscode"])
	}
	mustApply(t, s, customer("cus_d", "customer.updated", "evt_2", 1, `{"email":"late@example.com"}`), sink.Ignored)
	if r2 := row(t, srv, "cus_d"); !r2.Inactive() || r2.ETag != r.ETag {
		t.Fatalf("a late update changed the deactivated contact: %v", r2.Columns)
	}
	// A newer event about an object this sink deactivated brings it back, as sink.Version says.
	mustApply(t, s, customer("cus_d", "customer.updated", "evt_4", 3, `{"email":"back@example.com"}`), sink.Stored)
	if r3 := row(t, srv, "cus_d"); r3.Inactive() || r3.Columns["statuscode"] != float64(1) {
		t.Fatalf("a newer update did not reactivate: %v", r3.Columns)
	}
}

func TestHardDelete(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.Delete = dataverse.HardDelete })
	mustWrite(t, s, customer("cus_h", "customer.created", "evt_1", 0, `{}`))
	del := customer("cus_h", "customer.deleted", "evt_2", 1, `{}`)
	mustApply(t, s, del, sink.Stored)
	if _, ok := srv.Row(contacts, "cus_h"); ok {
		t.Fatal("row still there after a hard delete")
	}
	srv.ResetRequests()
	mustApply(t, s, del, sink.Ignored) // already gone: done with one read
	if got := srv.Requests(); got["GET"] != 1 || len(got) != 1 {
		t.Errorf("delete of a missing row: requests %v, want one GET", got)
	}
}

// TestHardDeleteRaceFindsRowGone: another writer deletes the row between the sink's read and
// its DELETE. The DELETE's 404 means the row is gone already: done, and Ignored.
func TestHardDeleteRaceFindsRowGone(t *testing.T) {
	srv := newDouble(t)
	rt := &deleteFirst{base: http.DefaultTransport}
	s := openSink(t, srv, func(o *dataverse.Options) {
		o.Delete = dataverse.HardDelete
		o.HTTPClient = &http.Client{Transport: rt}
	})
	mustWrite(t, s, customer("cus_g", "customer.created", "evt_1", 0, `{}`))
	srv.ResetRequests()
	mustApply(t, s, customer("cus_g", "customer.deleted", "evt_2", 1, `{}`), sink.Ignored)
	if _, ok := srv.Row(contacts, "cus_g"); ok {
		t.Fatal("row still there")
	}
	if got := srv.Requests(); got["GET"] != 0 || got["DELETE"] != 2 || !rt.done.Load() {
		t.Errorf("requests = %v, want two DELETEs (the other writer's, then the sink's, with the ETag "+
			"the sink remembers from its create)", got)
	}
}

// deleteFirst sends the first DELETE twice, as if another writer sent it just before the sink,
// and hands the sink the answer to its own.
type deleteFirst struct {
	base http.RoundTripper
	done atomic.Bool
}

func (d *deleteFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodDelete && d.done.CompareAndSwap(false, true) {
		resp, err := d.base.RoundTrip(r.Clone(r.Context()))
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return d.base.RoundTrip(r)
}

func TestCreateOnly(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.Mode = dataverse.CreateOnly })
	mustApply(t, s, customer("cus_o", "customer.created", "evt_1", 0, `{"email":"first@example.com"}`), sink.Stored)
	// The row exists (412): left alone, and reported so, even for a newer event.
	mustApply(t, s, customer("cus_o", "customer.updated", "evt_2", 5, `{"email":"second@example.com"}`), sink.Ignored)
	if got := row(t, srv, "cus_o").Columns["emailaddress1"]; got != "first@example.com" {
		t.Fatalf("create-only mode updated the row: %v", got)
	}
	if got := srv.Requests(); got["PATCH"] != 2 || got["GET"] != 0 {
		t.Errorf("requests = %v, want two PATCHes and no GET", got)
	}
}

func TestKeyWithQuotes(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	for _, id := range []string{"cus_O'Brien", "cus_a b/c?d%e''"} {
		mustWrite(t, s, customer(id, "customer.created", "evt_1", 0, `{}`))
		mustWrite(t, s, customer(id, "customer.created", "evt_1", 0, `{}`))
		row(t, srv, id)
	}
	if n := len(srv.Rows(contacts)); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

func TestCustomEntitySetAndMapping(t *testing.T) {
	srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok}, RequireHeaders: true,
		Tables: []dataversetest.Table{{LogicalName: "contact", EntitySet: contacts,
			Columns: []dataversetest.Column{{LogicalName: "new_x", Type: dataversetest.TypeInteger}}}}})
	t.Cleanup(srv.Close)
	s := openSink(t, srv, func(o *dataverse.Options) {
		o.Map = func(hookline.Event) (map[string]any, error) {
			return map[string]any{"new_x": 1, keyCol: "ignored"}, nil
		}
	})
	mustWrite(t, s, customer("cus_m", "customer.created", "evt_1", 0, `{}`))
	if r := row(t, srv, "cus_m"); r.Columns["new_x"] != float64(1) || r.Columns[keyCol] != "cus_m" {
		t.Fatalf("columns %v", r.Columns)
	}
}

// TestUnknownColumnIsPermanent: a mapping that writes a column the table does not have is
// refused by Dataverse with 400; the event is dead-lettered with Dataverse's message and a hint.
func TestUnknownColumnIsPermanent(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) {
		o.Map = func(hookline.Event) (map[string]any, error) { return map[string]any{"new_nosuch": "x"}, nil }
	})
	err := s.Write(context.Background(), customer("cus_u", "customer.created", "evt_1", 0, `{}`))
	if hookline.Code(err) != hookline.Permanent || !strings.Contains(err.Error(), "'new_nosuch' does not exist") ||
		!strings.Contains(err.Error(), "hookline check") {
		t.Fatalf("Write = %v (code %v), want Permanent naming the column and hookline check", err, hookline.Code(err))
	}
}

func TestNeverExceedsMaxConcurrency(t *testing.T) {
	// The double answers 429 to a fifth concurrent request; 32 writers through a sink limited to
	// 4 must never see one.
	srv := dataversetest.New(&dataversetest.Options{MaxConcurrent: 4, Latency: 10 * time.Millisecond})
	t.Cleanup(srv.Close)
	s := openSink(t, srv, func(o *dataverse.Options) { o.MaxConcurrency = 4 })
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 3 {
				ev := customer(fmt.Sprintf("cus_%d_%d", g, i), "customer.created", "evt_1", 0, `{}`)
				if err := s.Write(context.Background(), ev); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(srv.Rows(contacts)); n != 96 {
		t.Fatalf("%d rows, want 96", n)
	}
}

// ApplyRecord writes the columns a route mapped, not Options.Map's, under the same ordering
// rule: an older event's record changes nothing.
func TestApplyRecord(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	ev := customer("cus_r", "customer.updated", "evt_2", 60, fullCustomer)
	if res, err := s.ApplyRecord(context.Background(), ev, map[string]any{"description": "from a route", keyCol: "ignored"}); err != nil || res != sink.Stored {
		t.Fatalf("ApplyRecord = %v, %v", res, err)
	}
	r := row(t, srv, "cus_r")
	if r.Columns["description"] != "from a route" || r.Columns["emailaddress1"] != nil || r.Columns[keyCol] != "cus_r" || eventOf(r) != "evt_2" {
		t.Errorf("row %v: want the route's column only, keyed by the subject", r.Columns)
	}
	older := customer("cus_r", "customer.updated", "evt_1", 0, fullCustomer)
	if res, err := s.ApplyRecord(context.Background(), older, map[string]any{"description": "older"}); err != nil || res != sink.Ignored {
		t.Errorf("older ApplyRecord = %v, %v, want ignored", res, err)
	}
}
