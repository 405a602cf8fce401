package gcpfunctions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

// schedulerRequest is a Cloud Scheduler job's request to its HTTP target, as the Cloud Scheduler
// API documents it (HttpTarget: POST by default, an OIDC token in Authorization, the headers
// User-Agent "Google-Cloud-Scheduler", X-CloudScheduler, X-CloudScheduler-JobName and
// X-CloudScheduler-ScheduleTime), with no body as `gcloud scheduler jobs create http` sends
// without --message-body.
func schedulerRequest(t *testing.T, method string) *http.Request {
	t.Helper()
	req := newRequest(t, method, fnRecover, nil)
	req.Header.Set("User-Agent", "Google-Cloud-Scheduler")
	req.Header.Set("X-CloudScheduler", "true")
	req.Header.Set(gcpfunctions.HeaderSchedulerJob, "projects/hookline-test/locations/europe-west1/jobs/hookline-recover")
	req.Header.Set(gcpfunctions.HeaderSchedulerTime, "2026-03-01T12:30:00Z")
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.test.signature") // checked by Cloud Run, not the function
	return req
}

// The recover function, called by Cloud Scheduler through the Functions Framework, publishes the
// undelivered events of its window to the topic, oldest first, and answers the run's counts.
func TestRecoverPublishesUndelivered(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcf-recover", nil)
	api := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	a := stripeapi.NewEvent("customer.created", "cus_gcfrec1", now.Add(-71*time.Hour))
	b := stripeapi.NewEvent("customer.updated", "cus_gcfrec2", now.Add(-time.Minute))
	delivered := stripeapi.NewEvent("customer.updated", "cus_gcfrec3", now.Add(-time.Hour))
	delivered.Delivered = true
	for _, ev := range []stripeapi.Event{a, b, delivered} {
		api.AddEvent(ev)
	}
	log, logs := testLogger(t)
	rec := gcpfunctions.NewRecover(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{
		pipeline.EnvChannel: "gcppubsub://" + names.Topic,
		recovery.EnvAPIKey:  api.Key(), recovery.EnvAPIBase: api.URL(),
	}.Get}})
	t.Cleanup(func() { rec.Close(context.Background()) })
	serve(t, fnRecover, rec)

	r := do(t, schedulerRequest(t, http.MethodPost))
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("scheduler request: %d %s", r.status, r.body)
	}
	var run recovery.ScheduledRun
	if err := json.Unmarshal([]byte(r.body), &run); err != nil || run.Listed != 2 || run.Sent != 2 ||
		run.Until.Sub(run.Since) != 72*time.Hour {
		t.Fatalf("answer %s (%v)", r.body, err)
	}
	var got []string
	for range 2 {
		ev, err := channel.Decode(pull(t, "gcppubsub://"+names.Subscription).Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID)
	}
	slices.Sort(got)
	want := []string{a.ID(), b.ID()}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
	wantContains(t, "log", logs.String(), "job=projects/hookline-test/locations/europe-west1/jobs/hookline-recover")
	wantContains(t, "log", logs.String(), "gcpfunctions: recovery run")

	r = do(t, schedulerRequest(t, http.MethodGet))
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d %v %s", r.status, r.header, r.body)
	}
}

// Without its key the function answers 500 "function not configured" and says why when it
// starts; when Stripe refuses the key it answers 503, which Cloud Scheduler retries.
func TestRecoverFailures(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcf-recover-fail", nil)
	t.Run("no key", func(t *testing.T) {
		log, logs := testLogger(t)
		serve(t, fnRecover, gcpfunctions.NewRecover(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{
			pipeline.EnvChannel: "gcppubsub://" + names.Topic}.Get}}))
		wantContains(t, "log", logs.String(), "gcpfunctions: recover function is not configured")
		wantContains(t, "log", logs.String(), "STRIPE_API_KEY is not set")
		r := do(t, schedulerRequest(t, http.MethodPost))
		if r.status != http.StatusInternalServerError || r.body != `{"error":"function not configured"}` {
			t.Errorf("unconfigured: %d %s", r.status, r.body)
		}
	})
	t.Run("refused key", func(t *testing.T) {
		api := stripeapi.Start(t, nil)
		log, logs := testLogger(t)
		rec := gcpfunctions.NewRecover(&gcpfunctions.Options{FunctionOptions: pipeline.FunctionOptions{Logger: log, Getenv: env{
			pipeline.EnvChannel: "gcppubsub://" + names.Topic,
			recovery.EnvAPIKey:  "rk_test_51WrongKey9876", recovery.EnvAPIBase: api.URL()}.Get}})
		t.Cleanup(func() { rec.Close(context.Background()) })
		serve(t, fnRecover, rec)
		r := do(t, schedulerRequest(t, http.MethodPost))
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("refused key: %d %v %s", r.status, r.header, r.body)
		}
		if strings.Contains(r.body+logs.String(), "51WrongKey9876") {
			t.Error("the key shows in the answer or the log")
		}
	})
}
