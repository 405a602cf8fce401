package main

import (
	"bytes"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// runCmd runs the command in-process with env and returns its standard output and error.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, log bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &log)
	return out.String(), log.String(), err
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nosuch"}, {"recover"}, {"backfill"}, {"deadletters"}, {"recover", "--since", "yesterday"}} {
		_, log, err := runCmd(t, map[string]string{"STRIPE_API_KEY": "sk_test_x"}, args...)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if code := exitCode(err); code != 2 && !strings.Contains(err.Error(), "--since") {
			t.Errorf("%v: exit %d for %v", args, code, err)
		}
		if !strings.Contains(log, "Usage: hookline") && !strings.Contains(err.Error(), "--since") {
			t.Errorf("%v: no usage on stderr: %q", args, log)
		}
	}
	if _, _, err := runCmd(t, nil, "recover", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func rows(t *testing.T, db string) map[string]string {
	t.Helper()
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := conn.Query("SELECT id, event_id FROM stripe_objects")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]string{}
	for r.Next() {
		var id, ev string
		if err := r.Scan(&id, &ev); err != nil {
			t.Fatal(err)
		}
		out[id] = ev
	}
	return out
}

// recover on the in-process channel with a sink runs the consumer itself and exits once every
// recovered event is stored; a second run changes nothing in the sink.
func TestRecoverIntoSQLite(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-10 * time.Hour).Truncate(time.Second)
	for i := range 300 {
		srv.AddEvent(stripeapi.NewEvent("customer.updated", fmt.Sprintf("cus_rec_%03d", i%120), base.Add(time.Duration(i/7)*time.Second)))
	}
	db := filepath.Join(t.TempDir(), "recover.db")
	env := map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "sqlite://" + db}
	out, _, err := runCmd(t, env, "recover", "--since", "11h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "300 events listed, 300 sent, 0 skipped by type") {
		t.Fatalf("stdout %q", out)
	}
	first := rows(t, db)
	if len(first) != 120 {
		t.Fatalf("%d rows, want 120", len(first))
	}
	if _, _, err := runCmd(t, env, "recover", "--since", "11h"); err != nil {
		t.Fatal(err)
	}
	if again := rows(t, db); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a second run changed the sink")
	}
	out, _, err = runCmd(t, env, "recover", "--since", "11h", "--dry-run", "--type", "invoice.*")
	if err != nil || !strings.HasPrefix(out, "0 events listed, 0 sent") {
		t.Errorf("dry run with a type nobody has: %q, %v", out, err)
	}
}

func TestRecoverRefusesAChannelNothingReceives(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	_, _, err := runCmd(t, map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL()}, "recover", "--since", "1h")
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_SINK") {
		t.Fatalf("mem:// without a sink: %v", err)
	}
	_, _, err = runCmd(t, map[string]string{"STRIPE_API_KEY": "sk_test_wrong", "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "discard://"}, "recover", "--since", "1h")
	if err == nil || !strings.Contains(err.Error(), "Stripe refused STRIPE_API_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestBackfillIntoSQLite(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	for i := range 130 {
		srv.AddObject("customers", stripeapi.NewCustomer(fmt.Sprintf("cus_bf_%03d", i), time.Now().Add(-time.Duration(i)*time.Minute)))
	}
	db := filepath.Join(t.TempDir(), "backfill.db")
	env := map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "sqlite://" + db}
	out, _, err := runCmd(t, env, "backfill", "--objects", "customer")
	if err != nil || !strings.HasPrefix(out, "130 objects listed, 130 sent") {
		t.Fatalf("%q, %v", out, err)
	}
	if n := len(rows(t, db)); n != 130 {
		t.Fatalf("%d rows", n)
	}
}
