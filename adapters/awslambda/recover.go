package awslambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/recovery"
)

// SchedulerInput is the payload an EventBridge Scheduler schedule passes to the recover
// function: its target's Input, in which EventBridge Scheduler replaces its context attributes
// when it invokes the target (AWS, "Adding context attributes in EventBridge Scheduler"). The
// schedule of examples/aws sets
//
//	{"scheduleArn":"<aws.scheduler.schedule-arn>","scheduledTime":"<aws.scheduler.scheduled-time>",
//	 "executionId":"<aws.scheduler.execution-id>","attemptNumber":"<aws.scheduler.attempt-number>"}
//
// which arrives as, for example,
//
//	{"scheduleArn":"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hookline-recover",
//	 "scheduledTime":"2026-03-01T12:30:00Z","executionId":"d32c5kddcf5bb8c3","attemptNumber":"1"}
//
// Every member is optional and only logged: a run recovers the look-back window ending when it
// runs, whatever the payload says, so any JSON object works too ({}, an EventBridge rule's
// "Scheduled Event", a test invocation).
type SchedulerInput struct {
	ScheduleARN   string `json:"scheduleArn"`
	ScheduledTime string `json:"scheduledTime"`
	ExecutionID   string `json:"executionId"`
	AttemptNumber string `json:"attemptNumber"`
}

// RecoverFunc runs one scheduled recovery: a pipeline.Recoverer's Run.
type RecoverFunc func(ctx context.Context) (recovery.ScheduledRun, error)

// RecoverOptions configures a [Recover] handler. A nil pointer and zero fields mean the
// defaults.
type RecoverOptions struct {
	// Logger receives one record per invocation, with the schedule's context attributes.
	// Default: discard.
	Logger *slog.Logger
}

// Recover is the recover role: the function an EventBridge Scheduler schedule invokes to send
// the events whose webhook delivery has not succeeded into the channel (see package recovery,
// # Scheduled recovery). It is safe for concurrent use, but keep the function's reserved
// concurrency at 1: two runs at a time only send the same events twice.
type Recover struct {
	run RecoverFunc
	log *slog.Logger
}

// NewRecover returns a Recover handler that runs run for each invocation.
func NewRecover(run RecoverFunc, opts *RecoverOptions) (*Recover, error) {
	if run == nil {
		return nil, errors.New("awslambda: NewRecover: RecoverFunc is nil")
	}
	h := &Recover{run: run, log: slog.New(slog.DiscardHandler)}
	if opts != nil && opts.Logger != nil {
		h.log = opts.Logger
	}
	return h, nil
}

// Handle runs one scheduled recovery and returns what it did, which Lambda records as the
// invocation's result, such as
//
//	{"since":"2026-02-26T12:30:00Z","until":"2026-03-01T12:30:00Z","done":"2026-03-01T12:30:00Z",
//	 "listed":3,"sent":3,"skipped":0,"pages":12,"rateLimited":0}
//
// A failed run returns the error, marked transient (hookline.Code) unless it carries a code
// already, with the counts so far. EventBridge Scheduler invokes Lambda asynchronously, so
// Lambda retries such an invocation as its asynchronous invocation configuration says; since
// the next scheduled run looks at the same window again, examples/aws sets no retries.
func (h *Recover) Handle(ctx context.Context, in SchedulerInput) (recovery.ScheduledRun, error) {
	h.log.LogAttrs(ctx, slog.LevelInfo, "awslambda: scheduled recovery",
		slog.String("schedule_arn", in.ScheduleARN), slog.String("scheduled_time", in.ScheduledTime),
		slog.String("execution_id", in.ExecutionID), slog.String("attempt", in.AttemptNumber))
	run, err := h.run(ctx)
	if err == nil {
		return run, nil
	}
	err = fmt.Errorf("awslambda: scheduled recovery: %w", err)
	if c := hookline.Code(err); c == hookline.Unknown {
		err = hookline.MarkTransient(err)
	}
	return run, err
}
