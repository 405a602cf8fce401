package gcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/examples/gcp"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

var recoverRan atomic.Bool // RecoverEvents keeps the configuration of its first invocation

// TestScheduledRecover calls RecoverEvents as a Cloud Scheduler job does (POST, its headers, an
// OIDC token that Cloud Run would have checked), with Stripe's API played by the in-repo double
// and Pub/Sub by pstest: the events whose delivery has not succeeded are published to the topic,
// and the delivered one is not.
func TestScheduledRecover(t *testing.T) {
	if recoverRan.Swap(true) {
		t.Skip("RecoverEvents was configured by an earlier run in this process (-count > 1)")
	}
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcp-example-recover", nil)
	api := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	missed := []stripeapi.Event{
		stripeapi.NewEvent("customer.created", "cus_gcp_missed1", now.Add(-50*time.Hour)),
		stripeapi.NewEvent("customer.deleted", "cus_gcp_missed2", now.Add(-3*time.Minute)),
	}
	delivered := stripeapi.NewEvent("customer.updated", "cus_gcp_delivered", now.Add(-time.Hour))
	delivered.Delivered = true
	for _, ev := range append(missed, delivered) {
		api.AddEvent(ev)
	}
	t.Setenv(pipeline.EnvChannel, "gcppubsub://"+names.Topic)
	t.Setenv(recovery.EnvAPIKey, api.Key())
	t.Setenv(recovery.EnvAPIBase, api.URL())
	t.Setenv(recovery.EnvLookback, "72h")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+gcp.RecoverEntryPoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Google-Cloud-Scheduler")
	req.Header.Set("X-CloudScheduler", "true")
	req.Header.Set("X-CloudScheduler-JobName", "projects/hookline-test/locations/europe-west1/jobs/hookline-recover")
	req.Header.Set("X-CloudScheduler-ScheduleTime", now.UTC().Format(time.RFC3339))
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.test.signature")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var run recovery.ScheduledRun
	err = json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || run.Listed != 2 || run.Sent != 2 {
		t.Fatalf("RecoverEvents: %d %+v (%v)", resp.StatusCode, run, err)
	}

	recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	var got, want []string
	for range missed {
		m, err := recv.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Ack()
		ev, err := channel.Decode(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID)
	}
	for _, ev := range missed {
		want = append(want, ev.ID())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
}
