package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// syncBuffer collects the output of a command running in another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log holds n lines containing each of subs.
func waitLog(t *testing.T, log *syncBuffer, n int, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		count := 0
		for line := range strings.SplitSeq(log.String(), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d log lines with %q within 20s:\n%s", n, subs, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serve with a recovery interval stores the undelivered events of the look-back window without
// any webhook call, at start and then at each interval (the flag overriding the variable), and
// leaves alone what was delivered or is older than the look-back.
func TestServeRecoversOnSchedule(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	for _, id := range []string{"cus_serve_a", "cus_serve_b", "cus_serve_c"} {
		srv.AddEvent(stripeapi.NewEvent("customer.updated", id, now.Add(-5*time.Hour)))
	}
	delivered := stripeapi.NewEvent("customer.updated", "cus_serve_delivered", now.Add(-time.Hour))
	delivered.Delivered = true
	srv.AddEvent(delivered)
	srv.AddEvent(stripeapi.NewEvent("customer.updated", "cus_serve_old", now.Add(-7*time.Hour)))

	db := filepath.Join(t.TempDir(), "serve.db")
	env := map[string]string{
		"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_RECOVER_LOOKBACK": "6h",
		"HOOKLINE_RECOVER_EVERY": "0", "HOOKLINE_SINK": "sqlite://" + db, "STRIPE_WEBHOOK_SECRET": "whsec_serve_test",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, log syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-recover-every", "300ms"},
			func(k string) string { return env[k] }, &out, &log)
	}()

	waitLog(t, &log, 1, "msg=\"recovery run\"", "listed=3", "sent=3")
	waitLog(t, &log, 3, "msg=\"event stored\"")
	later := stripeapi.NewEvent("customer.created", "cus_serve_later", time.Now())
	srv.AddEvent(later)
	waitLog(t, &log, 1, "msg=\"event stored\"", "subject=cus_serve_later")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(log.String(), "msg=\"scheduled recovery\" every=300ms lookback=6h0m0s") {
		t.Errorf("the start does not say the schedule:\n%s", log.String())
	}
	got := rows(t, db)
	for _, id := range []string{"cus_serve_a", "cus_serve_b", "cus_serve_c", "cus_serve_later"} {
		if got[id] == "" {
			t.Errorf("%s not in the sink", id)
		}
	}
	if got["cus_serve_later"] != later.ID() {
		t.Errorf("cus_serve_later holds %q, want %s", got["cus_serve_later"], later.ID())
	}
	if len(got) != 4 {
		t.Errorf("sink rows %v: want the four undelivered events of the window only", got)
	}
	for _, r := range srv.Requests() {
		if r.Query.Get("delivery_success") != "false" {
			t.Errorf("a request without delivery_success=false: %s", r.RawQuery)
		}
	}
}

// A recovery interval that cannot work is said before anything listens.
func TestServeRecoveryConfigErrors(t *testing.T) {
	base := map[string]string{"HOOKLINE_SINK": "discard://", "STRIPE_WEBHOOK_SECRET": "whsec_serve_test"}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"HOOKLINE_RECOVER_EVERY": "1h"}, nil, "HOOKLINE_RECOVER_EVERY 1h0m0s needs Stripe's API: recovery: configuration: STRIPE_API_KEY is not set"},
		{map[string]string{"HOOKLINE_RECOVER_EVERY": "hourly"}, nil, `HOOKLINE_RECOVER_EVERY="hourly" is not a duration`},
		{map[string]string{"STRIPE_API_KEY": "pk_test_x"}, []string{"-recover-every", "1h"}, "-recover-every 1h0m0s needs Stripe's API: recovery: configuration: STRIPE_API_KEY is not a secret or restricted key"},
		{map[string]string{"STRIPE_API_KEY": "sk_test_x"}, []string{"-recover-every", "-1m"}, "must be positive"},
		{map[string]string{"STRIPE_API_KEY": "sk_test_x", "HOOKLINE_RECOVER_EVERY": "96h"}, nil, "longer than the look-back 72h0m0s (HOOKLINE_RECOVER_LOOKBACK)"},
		{map[string]string{"STRIPE_API_KEY": "sk_test_x", "HOOKLINE_RECOVER_EVERY": "1h", "HOOKLINE_RECOVER_LOOKBACK": "30m"}, nil, "longer than the look-back 30m0s"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range c.env {
			env[k] = v
		}
		_, _, err := runCmd(t, env, append([]string{"serve", "-addr", "127.0.0.1:0"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v, want %q", c.env, c.args, err, c.want)
		}
	}
}
