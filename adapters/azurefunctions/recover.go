package azurefunctions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookline/hookline/recovery"
)

// TimerInfo is the value of a timerTrigger binding (Data.<Bindings.Timer> of an invocation
// request): the timer object of Microsoft's "Timer trigger for Azure Functions", section Usage,
//
//	{"Schedule":{"AdjustForDST":true},
//	 "ScheduleStatus":{"Last":"2016-10-04T10:15:00+00:00","LastUpdated":"2016-10-04T10:16:00+00:00",
//	                   "Next":"2016-10-04T10:20:00+00:00"},
//	 "IsPastDue":false}
//
// ScheduleStatus is null when schedule monitoring is off (useMonitor false in function.json).
// Member names are matched ignoring case, and the object may arrive as JSON text in a string,
// encoded once or twice, as the host passes values it does not serialize as objects
// ([DecodeTimer] reads every form).
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool
	}
	ScheduleStatus *ScheduleStatus
	// IsPastDue is true when the invocation is later than scheduled, e.g. after the app
	// restarted.
	IsPastDue bool
}

// ScheduleStatus is the timer's record of its occurrences, as RFC 3339 text.
type ScheduleStatus struct {
	Last, Next, LastUpdated string
}

// DecodeTimer reads the timerTrigger binding name (matched ignoring case) of an invocation
// request. A request without it is a [*BindingError].
func DecodeTimer(req InvokeRequest, name string) (TimerInfo, error) {
	raw, ok := binding(req.Data, name)
	if !ok {
		return TimerInfo{}, &BindingError{Binding: name, Found: keys(req.Data)}
	}
	for range 3 { // an object, or JSON text holding one, encoded at most twice
		t := bytes.TrimSpace(raw)
		if len(t) == 0 || t[0] != '"' {
			break
		}
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			break
		}
		raw = json.RawMessage(s)
	}
	var ti TimerInfo
	if err := json.Unmarshal(raw, &ti); err != nil {
		return TimerInfo{}, fmt.Errorf("azurefunctions: timer trigger value %q is not a timer object: %w", name, err)
	}
	return ti, nil
}

// Recover is the recover role as a timer-triggered function: on each occurrence of its
// NCRONTAB schedule it sends the events whose webhook delivery has not succeeded, of the
// look-back window ending now, from Stripe's Events API into HOOKLINE_CHANNEL (package recovery,
// # Scheduled recovery; recovery.Recoverer). It reads STRIPE_API_KEY (required),
// HOOKLINE_RECOVER_LOOKBACK and STRIPE_API_BASE besides the channel, opens the channel (or uses
// Options.Sender) on its first invocation and keeps no state between runs.
//
// It serves the host's invocation requests at /<RecoverFunction> and answers
//
//	200 {"Outputs":{},"Logs":["hookline: recovery: 3 listed, 3 sent, ..."],"ReturnValue":null}
//	500 {"Outputs":{},"Logs":["hookline: ..."],"ReturnValue":null}   the run failed, or the
//	                                                                  function is not configured
//	400, 405, 413                                                    not a timer invocation
//
// A failed occurrence is not retried by the host (timer triggers are not, without a retry
// policy); the next occurrence looks at the same window again.
type Recover struct {
	opts Options
	pipe *recovery.Recoverer
}

var _ http.Handler = (*Recover)(nil)

// NewRecover returns the recover function. It opens nothing yet and never fails, but it logs at
// ERROR, once, a configuration that can never work: see [Recover].
func NewRecover(opts *Options) *Recover {
	o := opts.withDefaults()
	return &Recover{opts: o, pipe: recovery.NewRecoverer(platform, o.FunctionOptions)}
}

// Run runs one scheduled recovery, as an invocation does.
func (r *Recover) Run(ctx context.Context) (recovery.ScheduledRun, error) { return r.pipe.Run(ctx) }

// ServeHTTP implements http.Handler for the host's invocation requests (see [Recover]).
func (r *Recover) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	inv, ok := readInvocation(rw, req, r.opts.MaxInvocationBytes)
	if !ok {
		return
	}
	ctx := req.Context()
	timer, err := DecodeTimer(inv, r.opts.Bindings.Timer)
	if err != nil {
		r.opts.Logger.LogAttrs(ctx, slog.LevelError, "azurefunctions: timer invocation refused", slog.String("error", err.Error()))
		writeInvocationError(rw, http.StatusBadRequest, err.Error())
		return
	}
	attrs := []slog.Attr{slog.Bool("past_due", timer.IsPastDue)}
	if timer.ScheduleStatus != nil {
		attrs = append(attrs, slog.String("last", timer.ScheduleStatus.Last), slog.String("next", timer.ScheduleStatus.Next))
	}
	r.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "azurefunctions: scheduled recovery", attrs...)
	run, err := r.Run(ctx) // logs the run and its outcome
	if err != nil {
		writeInvocationError(rw, http.StatusInternalServerError, "recovery failed: "+err.Error())
		return
	}
	writeJSON(rw, http.StatusOK, InvokeResponse{Logs: []string{fmt.Sprintf(
		"hookline: recovery: %d listed, %d sent, %d skipped: undelivered events created %s to %s",
		run.Listed, run.Sent, run.Skipped, run.Since.UTC().Format(time.RFC3339), run.Until.UTC().Format(time.RFC3339))}})
}

// Close shuts the channel down if the function opened it. Call it when the custom handler
// stops.
func (r *Recover) Close(ctx context.Context) error { return r.pipe.Close(ctx) }
