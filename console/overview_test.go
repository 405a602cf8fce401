package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/emitter/stripehook"
)

func (r *running) ovGet(t *testing.T) console.Overview {
	t.Helper()
	code, body := r.api(t, "GET", "api/overview", token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET api/overview = %d %s", code, body)
	}
	var ov console.Overview
	if err := json.Unmarshal(body, &ov); err != nil {
		t.Fatalf("GET api/overview: %v\n%s", err, body)
	}
	return ov
}

func (r *running) ovPage(t *testing.T) string {
	t.Helper()
	code, body := r.api(t, "GET", "", token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET the overview page = %d %s", code, body)
	}
	return string(body)
}

// The Overview counts, per minute and in total, exactly what the webhook answered and the
// consumer did, from the pipeline's own metrics; it judges the sink from the settled events.
func TestOverviewCounts(t *testing.T) {
	// Stay within one minute when there is time for it, so that the current minute holds all.
	if now := time.Now(); now.Second() >= 50 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
	}
	first := time.Now().UTC().Truncate(time.Minute)
	var failing sync.Map
	r := start(t, setup{Metrics: true, Fails: func(ev hookline.Event) bool { _, ok := failing.Load(ev.ID); return ok }})

	// The sink fails permanently for two events; three deliveries are forged.
	for i := range 2 {
		body := stripehook.SampleEvent("customer.created", fmt.Sprintf("cus_bad%d", i), time.Now())
		failing.Store(eventID(t, body), true)
		if _, code := r.send(t, body, secret); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
	}
	for i := range 3 {
		body := stripehook.SampleEvent("customer.updated", fmt.Sprintf("cus_forged%d", i), time.Now())
		if _, code := r.send(t, body, "whsec_not_the_secret"); code != http.StatusBadRequest {
			t.Fatalf("a forged delivery was answered %d, want 400", code)
		}
	}
	var ov console.Overview
	waitFor(t, "two dead letters and three refusals counted", func() bool {
		ov = r.ovGet(t)
		return ov.Totals.DeadLettered == 2 && ov.Totals.Refused == 3
	})
	if !ov.Sink.Failing || !strings.Contains(ov.Sink.Reason, "column new_stripecustomerid does not exist") ||
		ov.Sink.LastFailedStatus != console.StatusDeadLettered {
		t.Errorf("after dead letters only, Sink = %+v, want failing with the sink's error", ov.Sink)
	}
	if ov.Lag.Events != 0 {
		t.Errorf("Lag = %+v with no event stored", ov.Lag)
	}
	if page := r.ovPage(t); !strings.Contains(page, console.NoLag) || !strings.Contains(page, "failing") {
		t.Errorf("the page does not say %q and failing:\n%s", console.NoLag, page)
	}

	for i := range 5 {
		r.post(t, "customer.created", fmt.Sprintf("cus_ok%d", i))
	}
	waitFor(t, "seven accepted, five stored", func() bool {
		ov = r.ovGet(t)
		return ov.Totals.Accepted == 7 && ov.Totals.Stored == 5
	})
	// The backlog is settled once the console heard of every event (after the metrics count).
	waitFor(t, "the backlog settled", func() bool {
		ov = r.ovGet(t)
		return ov.Backlog.Known && ov.Backlog.Events == 0
	})
	last := time.Now().UTC().Truncate(time.Minute)

	want := console.Counts{Accepted: 7, Refused: 3, Stored: 5, DeadLettered: 2}
	if !ov.MetricsCollected || ov.MetricsError != "" {
		t.Errorf("MetricsCollected = %v, %q", ov.MetricsCollected, ov.MetricsError)
	}
	if len(ov.Minutes) != 60 {
		t.Fatalf("%d minutes, want 60", len(ov.Minutes))
	}
	for name, c := range map[string]console.Counts{"Totals": ov.Totals, "LastHour": ov.LastHour} {
		if !ovSameCounts(c, want) || ovSum(c.RefusedByReason) != 3 || len(c.RefusedByReason) != 1 {
			t.Errorf("%s = %+v, want %+v with the 3 refusals under one reason", name, c, want)
		}
	}
	var minutes console.Counts
	for i, m := range ov.Minutes {
		if i > 0 && !m.Start.Equal(ov.Minutes[i-1].Start.Add(time.Minute)) {
			t.Errorf("minute %d starts at %v, after %v", i, m.Start, ov.Minutes[i-1].Start)
		}
		minutes.Accepted += m.Accepted
		minutes.Refused += m.Refused
		minutes.Stored += m.Stored
		minutes.DeadLettered += m.DeadLettered
		minutes.Failed += m.Failed
		minutes.Returned += m.Returned
	}
	if !ovSameCounts(minutes, want) {
		t.Errorf("the minutes add up to %+v, want %+v", minutes, want)
	}
	if cur := ov.Minutes[59]; first.Equal(last) {
		if !cur.Start.Equal(last) || !ovSameCounts(cur.Counts, want) {
			t.Errorf("the current minute = %+v, want %v with %+v", cur, last, want)
		}
	}

	if ov.Lag.Events != 5 || ov.Lag.P50Seconds <= 0 || ov.Lag.P99Seconds < ov.Lag.P50Seconds || ov.Lag.MeanSeconds <= 0 {
		t.Errorf("Lag = %+v, want an estimate over 5 stored events", ov.Lag)
	}
	if !ov.Attached || ov.Source != "stripe://" || ov.Sink.LastStoredSource != "stripe" || !ov.Channel.Ready || ov.Channel.Reason != "" || ov.Channel.Error != "" {
		t.Errorf("Attached %v, Source %q (last stored from %q), Channel = %+v, want stripe:// and ready", ov.Attached, ov.Source, ov.Sink.LastStoredSource, ov.Channel)
	}
	if ov.Sink.Failing || ov.Sink.LastStoredID == "" || ov.Sink.LastFailedID == "" || !ov.Sink.LastStored.After(ov.Sink.LastFailed) {
		t.Errorf("Sink = %+v, want working: the last event settled was stored", ov.Sink)
	}

	page := r.ovPage(t)
	for reason := range ov.Totals.RefusedByReason {
		if !strings.Contains(page, reason) {
			t.Errorf("the page does not show the refusal reason %q", reason)
		}
	}
	for _, s := range []string{"<svg", "<rect", "Dead-lettered", "ready", "working", "p50 "} {
		if !strings.Contains(page, s) {
			t.Errorf("the page does not show %q:\n%s", s, page)
		}
	}
	if strings.Contains(page, "no metrics are collected") || strings.Contains(page, console.NoLag) {
		t.Errorf("the page says metrics are missing:\n%s", page)
	}
	// Red only where something failed: Dead-lettered (2), not a zero Failed to send.
	alerts := regexp.MustCompile(`<div class="card alert">\s*<div class="n">(\d+)</div>\s*<div class="label">([^·<]+) ·`).FindAllStringSubmatch(page, -1)
	if len(alerts) != 1 || alerts[0][1] != "2" || strings.TrimSpace(alerts[0][2]) != "Dead-lettered" {
		t.Errorf("cards shown in red: %q, want Dead-lettered (2) only", alerts)
	}
}

func ovSameCounts(a, b console.Counts) bool {
	return a.Accepted == b.Accepted && a.Skipped == b.Skipped && a.Refused == b.Refused && a.Failed == b.Failed &&
		a.Stored == b.Stored && a.Ignored == b.Ignored && a.Retried == b.Retried && a.Returned == b.Returned &&
		a.DeadLettered == b.DeadLettered
}

func ovSum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// Without its reader registered, the Overview says that no metrics are collected, and still
// shows the readiness and the backlog.
func TestOverviewWithoutMetrics(t *testing.T) {
	r := start(t, setup{})
	r.post(t, "customer.created", "cus_a")
	waitFor(t, "the event stored", func() bool { return r.store.Len() == 1 })
	ov := r.ovGet(t)
	if ov.MetricsCollected || ov.MetricsError != console.NotCollected {
		t.Errorf("MetricsCollected %v, MetricsError %q, want false and %q", ov.MetricsCollected, ov.MetricsError, console.NotCollected)
	}
	if ov.Totals.Accepted != 0 || len(ov.Minutes) != 60 {
		t.Errorf("Totals = %+v, %d minutes", ov.Totals, len(ov.Minutes))
	}
	if !ov.Attached || !ov.Channel.Ready || !ov.Backlog.Known {
		t.Errorf("Attached %v, Channel %+v, Backlog %+v: want attached, ready, a known backlog", ov.Attached, ov.Channel, ov.Backlog)
	}
	page := r.ovPage(t)
	for _, s := range []string{console.NotCollected, "ready", "not yet settled"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page does not say %q:\n%s", s, page)
		}
	}
}

// A console serving no pipeline says so.
func TestOverviewNotAttached(t *testing.T) {
	con, err := console.New(console.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		req := httptest.NewRequest("GET", "/console/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		con.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
		return w.Body.String()
	}
	var ov console.Overview
	if err := json.Unmarshal([]byte(get("api/overview")), &ov); err != nil {
		t.Fatal(err)
	}
	if ov.Attached || ov.MetricsCollected || ov.Backlog.Known {
		t.Errorf("overview = %+v, want not attached, no metrics", ov)
	}
	if page := get(""); !strings.Contains(page, "not attached") || !strings.Contains(page, console.NotCollected) {
		t.Errorf("the page does not say not attached:\n%s", page)
	}
}
