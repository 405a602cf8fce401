package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/recovery"
)

// schedulerInput is the Input of examples/aws's schedule as EventBridge Scheduler delivers it,
// its context attributes replaced by values of the shape AWS documents ("Adding context
// attributes in EventBridge Scheduler").
const schedulerInput = `{"scheduleArn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hookline-recover",` +
	`"scheduledTime":"2026-03-01T12:30:00Z","executionId":"d32c5kddcf5bb8c3","attemptNumber":"1"}`

// scheduledEvent is what an EventBridge rule with a schedule expression delivers instead.
const scheduledEvent = `{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",` +
	`"source":"aws.events","account":"123456789012","time":"2026-03-01T12:30:00Z","region":"eu-west-1",` +
	`"resources":["arn:aws:events:eu-west-1:123456789012:rule/hookline-recover"],"detail":{}}`

func TestRecoverAnswersTheRun(t *testing.T) {
	until := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	want := recovery.ScheduledRun{Since: until.Add(-72 * time.Hour), Until: until, Done: until, Listed: 3, Sent: 3, Pages: 12}
	runs := 0
	log, logs := serverlesstest.Logger(t)
	h, err := awslambda.NewRecover(func(context.Context) (recovery.ScheduledRun, error) {
		runs++
		return want, nil
	}, &awslambda.RecoverOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// Through aws-lambda-go's handler, as the runtime calls it with the invocation's JSON.
	invoke := lambda.NewHandler(h.Handle).Invoke
	for _, payload := range []string{schedulerInput, scheduledEvent, `{}`} {
		out, err := invoke(context.Background(), []byte(payload))
		if err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		if string(out) != `{"since":"2026-02-26T12:30:00Z","until":"2026-03-01T12:30:00Z","done":"2026-03-01T12:30:00Z",`+
			`"listed":3,"sent":3,"skipped":0,"pages":12,"rateLimited":0}` {
			t.Errorf("%s: answered %s", payload, out)
		}
	}
	if runs != 3 {
		t.Errorf("%d runs, want 3", runs)
	}
	for _, s := range []string{"schedule_arn=arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hookline-recover",
		"scheduled_time=2026-03-01T12:30:00Z", "execution_id=d32c5kddcf5bb8c3", "attempt=1"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, logs.String())
		}
	}
	if _, err := invoke(context.Background(), []byte(`"not an object"`)); err == nil {
		t.Error("a payload that is no JSON object was accepted")
	}
}

func TestRecoverFailures(t *testing.T) {
	failWith := func(err error) *awslambda.Recover {
		h, _ := awslambda.NewRecover(func(context.Context) (recovery.ScheduledRun, error) {
			return recovery.ScheduledRun{Listed: 5, Sent: 2}, err
		}, nil)
		return h
	}
	var in awslambda.SchedulerInput
	if err := json.Unmarshal([]byte(schedulerInput), &in); err != nil || in.AttemptNumber != "1" {
		t.Fatalf("%+v, %v", in, err)
	}
	run, err := failWith(errors.New("send: broker unavailable")).Handle(context.Background(), in)
	if hookline.Code(err) != hookline.Transient || run.Sent != 2 || !strings.Contains(err.Error(), "awslambda: scheduled recovery: send") {
		t.Errorf("failed send: %+v, %v (code %v)", run, err, hookline.Code(err))
	}
	_, err = failWith(hookline.MarkPermanent(errors.New("bad key"))).Handle(context.Background(), in)
	if hookline.Code(err) != hookline.Permanent {
		t.Errorf("a permanent error became %v", hookline.Code(err))
	}
	if _, err := awslambda.NewRecover(nil, nil); err == nil {
		t.Error("NewRecover(nil) accepted")
	}
}
