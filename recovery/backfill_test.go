package recovery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/internal/testsupport/stripemock"
	"github.com/hookline/hookline/recovery"
	"github.com/hookline/hookline/sink"
)

// Every object of every page is sent once as a snapshot that decodes like a webhook event.
func TestBackfillListsEveryPage(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	created := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	for i := range 230 {
		srv.AddObject("customers", stripeapi.NewCustomer(fmt.Sprintf("cus_bf_%03d", i), created.Add(time.Duration(i)*time.Second)))
	}
	rec := &recorder{}
	res, err := recovery.Backfill(t.Context(), apiFor(t, srv), srv.Key(), rec, &recovery.BackfillOptions{Objects: []string{"customer"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Listed != 230 || res.Sent != 230 || res.Pages != 3 {
		t.Fatalf("result %+v", res)
	}
	subjects := map[string]bool{}
	for _, ev := range rec.events {
		if ev.Type != "customer.snapshot" || ev.Object != "customer" || !strings.HasPrefix(ev.ID, "evt_-snapshot-cus_bf_") {
			t.Fatalf("snapshot %+v", ev)
		}
		subjects[ev.Subject] = true
	}
	if len(subjects) != 230 {
		t.Errorf("%d distinct objects sent", len(subjects))
	}
	if _, err := recovery.Backfill(t.Context(), apiFor(t, srv), srv.Key(), rec, &recovery.BackfillOptions{Objects: []string{"coupon"}}); err == nil ||
		!strings.Contains(err.Error(), "unknown object type") {
		t.Errorf("unknown object type: %v", err)
	}
}

// The ordering rule: a snapshot never overwrites a record a newer event already wrote, and any
// event newer than the snapshot (or of the same second) overwrites it; an older one does not.
func TestBackfillRacingNewerEvents(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for _, id := range []string{"cus_a", "cus_b", "cus_c", "cus_d"} {
		srv.AddObject("customers", stripeapi.NewCustomer(id, old))
	}
	store := sink.NewMemory()
	write := func(typ, id string, at time.Time) {
		t.Helper()
		ev, err := stripehook.DecodeUnverified(stripeapi.NewEvent(typ, id, at).JSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Write(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	// cus_a was updated by an event newer than any snapshot taken now: the snapshot must not win.
	write("customer.updated", "cus_a", time.Now().Add(time.Hour))
	// cus_b's last event is old: the snapshot, which reflects it, replaces it.
	write("customer.updated", "cus_b", old.Add(time.Minute))
	before := time.Now().Truncate(time.Second)
	res, err := recovery.Backfill(t.Context(), apiFor(t, srv), srv.Key(), sinkSender{store}, &recovery.BackfillOptions{Objects: []string{"customer"}})
	if err != nil || res.Sent != 4 {
		t.Fatalf("backfill %+v, %v", res, err)
	}
	typeOf := func(id string) string { rec, _ := store.Get(id); return rec.Event.Type }
	if typeOf("cus_a") != "customer.updated" || typeOf("cus_b") != "customer.snapshot" || typeOf("cus_c") != "customer.snapshot" {
		t.Fatalf("after the backfill: a %s, b %s, c %s", typeOf("cus_a"), typeOf("cus_b"), typeOf("cus_c"))
	}
	rec, _ := store.Get("cus_c")
	if rec.Event.Time.After(time.Now()) || rec.Event.Time.Before(before.Add(-2*time.Second)) {
		t.Errorf("snapshot time %v is not when the page was read (%v)", rec.Event.Time, before)
	}
	// Events arriving after the backfill: an older one does not overwrite the snapshot; one of
	// the snapshot's own second does, and so does a newer one.
	write("customer.updated", "cus_c", old.Add(time.Hour))
	write("customer.updated", "cus_d", rec.Event.Time)
	write("customer.deleted", "cus_b", rec.Event.Time.Add(time.Second))
	if typeOf("cus_c") != "customer.snapshot" || typeOf("cus_d") != "customer.updated" || typeOf("cus_b") != "customer.deleted" {
		t.Fatalf("after later events: b %s, c %s, d %s", typeOf("cus_b"), typeOf("cus_c"), typeOf("cus_d"))
	}
}

// sinkSender sends straight into a sink, as an in-process pipeline ends up doing.
type sinkSender struct{ s sink.Sink }

func (s sinkSender) Send(ctx context.Context, ev hookline.Event) error { return s.s.Write(ctx, ev) }

// Stripe's own stripe-mock accepts every request Recover and Backfill send (it refuses unknown
// parameters and wrong types; it keeps no state, so only the shapes are checked here).
func TestRequestShapesAgainstStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	api, err := recovery.NewClient(stripemock.Key, base)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, opts := range []*recovery.Options{
		{Since: now.Add(-72 * time.Hour), Undelivered: true},
		{Since: now.Add(-time.Hour), Types: []string{"customer.created", "invoice.paid"}},
		{Since: now.Add(-time.Hour), Types: []string{"customer.*"}, Window: time.Hour},
	} {
		if _, err := recovery.Recover(t.Context(), api, &recorder{}, opts); err != nil {
			t.Errorf("Recover %+v: stripe-mock refused: %v", opts, err)
		}
	}
	for kind := range recovery.Objects {
		if _, err := recovery.Backfill(t.Context(), api, stripemock.Key, &recorder{}, &recovery.BackfillOptions{Objects: []string{kind}}); err != nil {
			t.Errorf("Backfill %s: stripe-mock refused: %v", kind, err)
		}
	}
}
