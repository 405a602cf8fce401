package dataverse_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// updates returns one customer.updated event for each of n customers, at second sec.
func updates(prefix string, n, sec int) []sink.Item {
	items := make([]sink.Item, n)
	for i := range items {
		items[i].Event = customer(fmt.Sprintf("%s%03d", prefix, i), "customer.updated",
			fmt.Sprintf("evt_%s%03d_%d", prefix, i, sec), sec, fmt.Sprintf(`{"email":"v%d@example.com"}`, sec))
	}
	return items
}

func mustBatch(t testing.TB, s *dataverse.Sink, items []sink.Item, want sink.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, o := range s.ApplyBatch(ctx, items) {
		if o.Err != nil || o.Result != want {
			t.Fatalf("item %d (%s): %v, %v; want %v", i, items[i].Event.ID, o.Result, o.Err, want)
		}
	}
}

// TestOneRequestPerChangedEvent: once the sink has written a row, the next event for it is one
// conditional PATCH (the ETag came back with the last write), alone or in a $batch.
func TestOneRequestPerChangedEvent(t *testing.T) {
	for _, size := range []int{1, 25} {
		t.Run(fmt.Sprintf("batch=%d", size), func(t *testing.T) {
			srv := newDouble(t)
			s := openSink(t, srv, func(o *dataverse.Options) { o.BatchSize = size })
			mustBatch(t, s, updates("cus_ss", 50, 0), sink.Stored) // 50 reads, 50 creates
			srv.ResetRequests()
			for sec := 1; sec <= 4; sec++ {
				mustBatch(t, s, updates("cus_ss", 50, sec), sink.Stored)
			}
			if ops := srv.Operations(); ops != 200 {
				t.Errorf("%d operations for 200 changed events, want 200 (%v)", ops, srv.Requests())
			}
			want := 200 // one request each
			if size > 1 {
				want = 4 * 2 // each batch of 50 as two $batch requests of 25
			}
			if got := srv.TotalRequests(); got != want {
				t.Errorf("%d requests, want %d (%v)", got, want, srv.Requests())
			}
			for i := range 50 {
				if r := row(t, srv, fmt.Sprintf("cus_ss%03d", i)); r.Columns["emailaddress1"] != "v4@example.com" {
					t.Fatalf("row %d: %v", i, r.Columns)
				}
			}
		})
	}
}

// TestBatchOutcomesPerOperation: in one $batch, a write that another writer overtook (412) is
// read and decided again, a write Dataverse refuses fails alone, and the others are stored.
func TestBatchOutcomesPerOperation(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	other := openSink(t, srv, nil) // another replica
	mustBatch(t, s, updates("cus_bo", 10, 0), sink.Stored)
	// The other replica writes cus_bo003 with a newer event, and cus_bo004 with an older
	// one than the batch below: the sink's remembered ETags of both are stale.
	mustApply(t, other, customer("cus_bo003", "customer.updated", "evt_other3", 9, `{"email":"other@example.com"}`), sink.Stored)
	mustApply(t, other, customer("cus_bo004", "customer.updated", "evt_other4", 1, `{"email":"older@example.com"}`), sink.Stored)
	items := updates("cus_bo", 10, 5)
	items[7].Columns = map[string]any{"new_nosuchcolumn": "x"} // refused by Dataverse: 400
	srv.ResetRequests()
	out := s.ApplyBatch(context.Background(), items)
	for i, o := range out {
		switch i {
		case 3:
			if o.Err != nil || o.Result != sink.Ignored {
				t.Errorf("overtaken by a newer event: %v, %v; want Ignored", o.Result, o.Err)
			}
		case 7:
			if hookline.Code(o.Err) != hookline.Permanent {
				t.Errorf("refused column: %v, %v; want a Permanent error", o.Result, o.Err)
			}
		default:
			if o.Err != nil || o.Result != sink.Stored {
				t.Errorf("item %d: %v, %v; want Stored", i, o.Result, o.Err)
			}
		}
	}
	if r := row(t, srv, "cus_bo003"); eventOf(r) != "evt_other3" {
		t.Errorf("cus_bo003 holds %s, want the newer evt_other3", eventOf(r))
	}
	if r := row(t, srv, "cus_bo004"); eventOf(r) != "evt_cus_bo004_5" {
		t.Errorf("cus_bo004 holds %s, want evt_cus_bo004_5 (newer than the other replica's)", eventOf(r))
	}
	// One $batch of 10 writes (2 of them 412), then one $batch of the 2 reads, then one PATCH.
	if got := srv.Requests(); got["POST"] != 2 || got["PATCH"] != 1 || len(got) != 2 {
		t.Errorf("requests %v, want 2 $batch POSTs and one PATCH", got)
	}
}

// TestTwoSinksConvergeInBatches: two sinks (two replicas) write interleaved batches about the
// same rows at once; every row ends with its newest event.
func TestTwoSinksConvergeInBatches(t *testing.T) {
	srv := newDouble(t)
	a, b := openSink(t, srv, nil), openSink(t, srv, nil)
	var wg sync.WaitGroup
	for w, s := range []*dataverse.Sink{a, b} {
		wg.Go(func() {
			for sec := w; sec < 20; sec += 2 {
				items := updates("cus_tw", 30, sec)
				for i, o := range s.ApplyBatch(context.Background(), items) {
					if o.Err != nil {
						t.Errorf("%s: %v", items[i].Event.ID, o.Err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range 30 {
		if r := row(t, srv, fmt.Sprintf("cus_tw%03d", i)); eventOf(r) != fmt.Sprintf("evt_cus_tw%03d_19", i) {
			t.Errorf("cus_tw%03d holds %s, want its newest event", i, eventOf(r))
		}
	}
}

// TestFollowsDOPHint: the sink runs no more requests at once than Dataverse recommends, even
// when its own limit is higher and its callers press.
func TestFollowsDOPHint(t *testing.T) {
	for _, hint := range []int{4, 8} {
		t.Run(fmt.Sprintf("hint=%d", hint), func(t *testing.T) {
			srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok}, DOPHint: hint,
				Latency: 5 * time.Millisecond, MaxConcurrent: hint})
			t.Cleanup(srv.Close)
			s := openSink(t, srv, func(o *dataverse.Options) { o.MaxConcurrency = 16; o.BatchSize = 1 })
			var wg sync.WaitGroup
			for g := range 32 {
				wg.Go(func() {
					for k := range 5 {
						mustWrite(t, s, customer(fmt.Sprintf("cus_dop%02d", g), "customer.updated", fmt.Sprintf("evt_%d_%d", g, k), k, `{}`))
					}
				})
			}
			wg.Wait()
			if got := srv.MaxInFlight(); got > hint {
				t.Errorf("%d requests at once, want at most the hint %d", got, hint)
			}
			if got := srv.Throttled(); got != 0 {
				t.Errorf("%d requests refused with 429 at a concurrency limit equal to the hint", got)
			}
			if got := s.Concurrency(); got != hint {
				t.Errorf("Concurrency() = %d, want %d", got, hint)
			}
		})
	}
}

// TestNoAffinityCookie: the default client does not send back the ARRAffinity cookie, so
// Dataverse's load balancer may spread the requests.
func TestNoAffinityCookie(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	mustBatch(t, s, updates("cus_aff", 10, 0), sink.Stored)
	mustBatch(t, s, updates("cus_aff", 10, 1), sink.Stored)
	if n := srv.AffinityRequests(); n != 0 {
		t.Errorf("%d requests carried the ARRAffinity cookie", n)
	}
}

// TestBypassHeaders: bypass= puts Dataverse's optional parameters on every operation, alone
// and inside $batch requests.
func TestBypassHeaders(t *testing.T) {
	srv := newDouble(t)
	t.Setenv(dataverse.EnvToken, testTok)
	ss, err := sink.Open(context.Background(), "dataverse://"+orgHost+"?key="+keyCol+"&eventtime="+timeCol+
		"&eventid="+idCol+"&bypass=sync,async,flows&endpoint="+srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s := ss.(*dataverse.Sink)
	defer s.Close()
	mustWrite(t, s, customer("cus_by", "customer.created", "evt_1", 0, `{}`))
	mustBatch(t, s, updates("cus_by", 10, 1), sink.Stored)
	ops := srv.Operations()
	if ops < 12 {
		t.Fatalf("%d operations", ops)
	}
	for _, h := range [][2]string{
		{"MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync"},
		{"MSCRM.SuppressCallbackRegistrationExpanderJob", "true"},
	} {
		if got := srv.HeaderCount(h[0], h[1]); got != ops {
			t.Errorf("%s: %s on %d of %d operations", h[0], h[1], got, ops)
		}
	}
	if _, err := sink.Open(context.Background(), "dataverse://"+orgHost+"?key=a&eventtime=b&bypass=plugins"); err == nil {
		t.Error("bypass=plugins accepted")
	}
}

// TestBatchWithinRequestLimit: against the request limit (scaled down to 40 requests per
// 2 s), a sink that must write 600 events in batches of 100 does so without a refusal: it
// needs a few $batch requests where one request per event would need 600.
func TestBatchWithinRequestLimit(t *testing.T) {
	srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok},
		Limits: &dataversetest.Limits{Requests: 40, Window: 2 * time.Second, ExecutionCost: time.Millisecond}})
	t.Cleanup(srv.Close)
	s := openSink(t, srv, func(o *dataverse.Options) { o.BatchSize = 100 })
	for round := range 6 {
		mustBatch(t, s, updates(fmt.Sprintf("cus_rl%d_", round), 100, 0), sink.Stored)
	}
	if got := srv.Throttled(); got != 0 {
		t.Errorf("%d requests refused", got)
	}
	if got := srv.TotalRequests(); got > 12 {
		t.Errorf("%d requests for 600 events in batches of 100, want 12 (reads and writes)", got)
	}
}

var _ http.RoundTripper = (*sendTimes)(nil)
