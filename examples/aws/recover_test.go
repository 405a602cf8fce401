package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/internal/testsupport/testenv"
	"github.com/hookline/hookline/recovery"
)

// schedulerInput is the Input of template.yaml's schedule as EventBridge Scheduler invokes the
// function with it: its context attributes (<aws.scheduler.schedule-arn>, ...) replaced by
// values of the shape AWS documents in "Adding context attributes in EventBridge Scheduler".
const schedulerInput = `{"scheduleArn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hookline-recover",` +
	`"scheduledTime":"2026-03-01T12:30:00Z","executionId":"d32c5kddcf5bb8c3","attemptNumber":"1"}`

// The schedule in template.yaml passes the Input that the test invokes the function with, once
// EventBridge Scheduler has replaced its context attributes.
func TestTemplateScheduleInput(t *testing.T) {
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "Input: >-" })
	if i < 0 {
		t.Fatal("template.yaml has no folded Input")
	}
	indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
	var folded []string
	for _, l := range lines[i+1:] {
		if len(l)-len(strings.TrimLeft(l, " ")) <= indent || strings.TrimSpace(l) == "" {
			break
		}
		folded = append(folded, strings.TrimSpace(l))
	}
	input := strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hookline-recover",
		"<aws.scheduler.scheduled-time>", "2026-03-01T12:30:00Z",
		"<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3",
		"<aws.scheduler.attempt-number>", "1").Replace(strings.Join(folded, " "))
	var got, want map[string]string
	if err := json.Unmarshal([]byte(input), &got); err != nil {
		t.Fatalf("Input %s: %v", input, err)
	}
	if err := json.Unmarshal([]byte(schedulerInput), &want); err != nil || !maps.Equal(got, want) {
		t.Errorf("template Input %v, the test invokes with %v", got, want)
	}
}

func TestBuildRefusesIncompleteRecoverConfig(t *testing.T) {
	queue := "awssqs://sqs.eu-west-1.amazonaws.com/1/q?region=eu-west-1"
	for name, env := range map[string]map[string]string{
		"recover without channel": {"HOOKLINE_ROLE": "recover", "STRIPE_API_KEY": "rk_test_51Recover"},
		"recover on mem://":       {"HOOKLINE_ROLE": "recover", "STRIPE_API_KEY": "rk_test_51Recover", "HOOKLINE_CHANNEL": "mem://x"},
		"recover without key":     {"HOOKLINE_ROLE": "recover", "HOOKLINE_CHANNEL": queue},
		"recover with pk_ key":    {"HOOKLINE_ROLE": "recover", "HOOKLINE_CHANNEL": queue, "STRIPE_API_KEY": "pk_test_51Recover"},
		"recover bad look-back": {"HOOKLINE_ROLE": "recover", "HOOKLINE_CHANNEL": queue, "STRIPE_API_KEY": "rk_test_51Recover",
			"HOOKLINE_RECOVER_LOOKBACK": "three days"},
	} {
		_, err := build(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case !strings.HasPrefix(err.Error(), "lambda: configuration: "):
			t.Errorf("%s: %v, want a configuration error", name, err)
		case strings.Contains(err.Error(), "51Recover"):
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}

// TestRecoverUnderRIE builds this example and runs the recover role under AWS's runtime
// interface emulator, with SQS served by fauxqs and Stripe's API by the in-repo double: an
// invocation with EventBridge Scheduler's payload queues the undelivered events of the last 72
// hours, and only those; the next run, after Stripe delivered one of them, queues the other.
func TestRecoverUnderRIE(t *testing.T) {
	rieBin, err := rieBinary()
	testenv.Require(t, "aws-lambda-rie (run scripts/install-lambda-rie.sh)", err)
	sqsSrv := fauxqs.Start(t, nil)
	q := sqsSrv.CreateQueue(t, "stripe-events-recover", nil)
	api := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	a := stripeapi.NewEvent("customer.updated", "cus_RIErec1", now.Add(-70*time.Hour))
	b := stripeapi.NewEvent("customer.deleted", "cus_RIErec2", now.Add(-time.Minute))
	delivered := stripeapi.NewEvent("customer.updated", "cus_RIErec3", now.Add(-time.Hour))
	delivered.Delivered = true
	old := stripeapi.NewEvent("customer.updated", "cus_RIErec4", now.Add(-80*time.Hour))
	for _, ev := range []stripeapi.Event{a, b, delivered, old} {
		api.AddEvent(ev)
	}

	fn := startRIE(t, rieBin, buildExample(t), "HOOKLINE_ROLE=recover", "HOOKLINE_CHANNEL="+sqsSrv.QueueURL(q),
		"STRIPE_API_KEY="+api.Key(), "STRIPE_API_BASE="+api.URL())
	var run recovery.ScheduledRun
	decode(t, fn.invokeOK(t, []byte(schedulerInput)), &run)
	if run.Listed != 2 || run.Sent != 2 || run.Until.Sub(run.Since) != 72*time.Hour || run.Until.Before(now) {
		t.Fatalf("first run %+v", run)
	}
	if got := queuedIDs(t, sqsSrv, q, 2); !slices.Equal(got, sorted(a.ID(), b.ID())) {
		t.Errorf("queued %v, want %v", got, sorted(a.ID(), b.ID()))
	}

	api.SetDelivered(a.ID(), true)
	decode(t, fn.invokeOK(t, []byte(`{}`)), &run)
	if run.Listed != 1 || run.Sent != 1 {
		t.Fatalf("second run %+v", run)
	}
	if got := queuedIDs(t, sqsSrv, q, 1); !slices.Equal(got, []string{b.ID()}) {
		t.Errorf("queued %v, want %v", got, b.ID())
	}
	if n := countMessages(t, sqsSrv, q); n != 0 {
		t.Errorf("%d more messages queued", n)
	}
	if out := fn.out.String(); !strings.Contains(out, `"scheduled_time":"2026-03-01T12:30:00Z"`) ||
		!strings.Contains(out, `"msg":"lambda: recovery run"`) {
		t.Errorf("function log lacks the invocation or the run:\n%s", out)
	}
}

// queuedIDs receives n messages from q and returns their event ids, sorted.
func queuedIDs(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		m := receiveOne(t, srv, q)
		ev, err := channel.Decode([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatalf("queued message: %v", err)
		}
		ids = append(ids, ev.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(s ...string) []string { slices.Sort(s); return s }
