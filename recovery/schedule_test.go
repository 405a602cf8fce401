package recovery_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

func TestScheduleFromEnv(t *testing.T) {
	const key = "rk_test_51ScheduleKey"
	s, err := recovery.ScheduleFromEnv(func(k string) string {
		return map[string]string{"STRIPE_API_KEY": " " + key + " "}[k]
	})
	if err != nil || s.APIKey != key || s.APIBase != "" || s.Lookback != 72*time.Hour {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	s, err = recovery.ScheduleFromEnv(func(k string) string {
		return map[string]string{"STRIPE_API_KEY": key, "STRIPE_API_BASE": "http://127.0.0.1:12111",
			"HOOKLINE_RECOVER_LOOKBACK": "90m"}[k]
	})
	if err != nil || s.APIBase != "http://127.0.0.1:12111" || s.Lookback != 90*time.Minute {
		t.Fatalf("set: %+v, %v", s, err)
	}

	for _, c := range []struct {
		env  map[string]string
		want string // in the error
	}{
		{map[string]string{}, "STRIPE_API_KEY is not set"},
		{map[string]string{"STRIPE_API_KEY": "pk_test_51Publishable"}, "STRIPE_API_KEY is not a secret or restricted key"},
		{map[string]string{"STRIPE_API_KEY": "whsec_51Secret"}, "STRIPE_API_KEY is not a secret or restricted key"},
		{map[string]string{"STRIPE_API_KEY": key, "HOOKLINE_RECOVER_LOOKBACK": "3 days"}, "HOOKLINE_RECOVER_LOOKBACK=\"3 days\" is not a positive duration"},
		{map[string]string{"STRIPE_API_KEY": key, "HOOKLINE_RECOVER_LOOKBACK": "-1h"}, "is not a positive duration"},
		{map[string]string{"STRIPE_API_KEY": key, "HOOKLINE_RECOVER_LOOKBACK": "721h"}, "longer than the 30 days"},
		{map[string]string{"STRIPE_API_KEY": key, "STRIPE_API_BASE": "127.0.0.1:12111"}, "STRIPE_API_BASE is not an http(s) URL"},
		{map[string]string{"STRIPE_API_KEY": key, "STRIPE_API_BASE": "ftp://x"}, "STRIPE_API_BASE is not an http(s) URL"},
	} {
		_, err := recovery.ScheduleFromEnv(func(k string) string { return c.env[k] })
		var ce *pipeline.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%v: %v, want a *ConfigError", c.env, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "recovery: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %q, want \"recovery: ...%s...\"", c.env, err, c.want)
		}
		if strings.Contains(err.Error(), "51") {
			t.Errorf("%v: the error shows the key: %q", c.env, err)
		}
	}
}

// RunScheduled sends the undelivered events of the look-back window, oldest first, and nothing
// older or delivered; it asks Stripe for exactly that window with delivery_success=false.
func TestRunScheduled(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	srv := stripeapi.Start(t, nil)
	var want []string
	for i, age := range []time.Duration{71 * time.Hour, 30 * time.Hour, 2 * time.Minute} {
		ev := stripeapi.NewEvent("customer.updated", "cus_sched_"+string(rune('a'+i)), now.Add(-age))
		srv.AddEvent(ev)
		want = append(want, ev.ID())
	}
	delivered := stripeapi.NewEvent("customer.updated", "cus_sched_delivered", now.Add(-time.Hour))
	delivered.Delivered = true
	srv.AddEvent(delivered)
	srv.AddEvent(stripeapi.NewEvent("customer.updated", "cus_sched_old", now.Add(-73*time.Hour)))

	dst := &recorder{}
	run, err := recovery.RunScheduled(context.Background(), apiFor(t, srv), dst,
		&recovery.ScheduleOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.ids(); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (oldest first)", got, want)
	}
	if run.Listed != 3 || run.Sent != 3 || run.Skipped != 0 || !run.Until.Equal(now) ||
		!run.Since.Equal(now.Add(-72*time.Hour)) || !run.Done.Equal(now) || run.Pages == 0 {
		t.Errorf("run = %+v", run)
	}
	for _, r := range srv.Requests() {
		if r.Path != "/v1/events" || r.Query.Get("delivery_success") != "false" {
			t.Errorf("request %s %s", r.Path, r.RawQuery)
		}
		gte, _ := strconv.ParseInt(r.Query.Get("created[gte]"), 10, 64)
		lte, _ := strconv.ParseInt(r.Query.Get("created[lte]"), 10, 64)
		if gte < run.Since.Unix() || lte > run.Until.Unix() || gte > lte {
			t.Errorf("request outside the window: %s", r.RawQuery)
		}
	}

	if _, err := recovery.RunScheduled(context.Background(), apiFor(t, srv), dst,
		&recovery.ScheduleOptions{Lookback: 31 * 24 * time.Hour}); err == nil {
		t.Error("a look-back past Stripe's retention was accepted")
	}
}

// RunEvery runs at once and then at each interval, never two runs at a time, and stops with
// its context.
func TestRunEvery(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	srv.AddEvent(stripeapi.NewEvent("customer.created", "cus_every", time.Now().Add(-time.Hour)))
	var mu sync.Mutex
	var runs []recovery.ScheduledRun
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- recovery.RunEvery(ctx, 50*time.Millisecond, apiFor(t, srv), &recorder{}, nil,
			func(r recovery.ScheduledRun, err error) {
				if err != nil {
					t.Errorf("run: %v", err)
				}
				mu.Lock()
				runs = append(runs, r)
				n := len(runs)
				mu.Unlock()
				if n == 3 {
					cancel()
				}
			})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("RunEvery did not stop with its context")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 3 {
		t.Fatalf("%d runs reported after the context ended, want 3", len(runs))
	}
	for i, r := range runs {
		if r.Sent != 1 {
			t.Errorf("run %d sent %d, want 1 (each run looks at the whole window again)", i, r.Sent)
		}
		if i > 0 && !r.Until.After(runs[i-1].Since) {
			t.Errorf("run %d window %v..%v", i, r.Since, r.Until)
		}
	}

	if err := recovery.RunEvery(context.Background(), 0, apiFor(t, srv), &recorder{}, nil, nil); err == nil {
		t.Error("a zero interval was accepted")
	}
}
