package gcpfunctions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

// Headers that Cloud Scheduler sets on the requests of an HTTP target (Cloud Scheduler API,
// HttpTarget.headers): only logged.
const (
	HeaderSchedulerJob  = "X-CloudScheduler-JobName"
	HeaderSchedulerTime = "X-CloudScheduler-ScheduleTime"
)

// maxSchedulerBody bounds what is read of a scheduler request's body, which is ignored.
const maxSchedulerBody = 64 << 10

// Recover is the recover role as an HTTP function, the target of a Cloud Scheduler job: on each
// request it sends the events whose webhook delivery has not succeeded, of the look-back window
// ending now, from Stripe's Events API into HOOKLINE_CHANNEL (package recovery, # Scheduled
// recovery; pipeline.Recoverer). It reads STRIPE_API_KEY (required), HOOKLINE_RECOVER_LOOKBACK
// and STRIPE_API_BASE besides the channel, opens the channel on its first request and keeps no
// state between runs. Register its ServeHTTP with functions.HTTP.
//
// Cloud Scheduler sends a POST (its default method) and counts a 2xx answer as success; any
// other answer, or none before the job's attempt deadline (3 minutes by default, at most 30),
// is a failed attempt that it retries as the job's retry configuration says. Recover answers
//
//	200 {"since":"...","until":"...","done":"...","listed":3,"sent":3,"skipped":0,"pages":12,"rateLimited":0}
//	500 {"error":"function not configured"}   a variable is missing or unusable (logged)
//	503 {"error":"temporarily unavailable"}  the run failed: Stripe or the channel (logged)
//	405 {"error":"method not allowed"}        not a POST
//
// The request body and query are ignored: a run always recovers the window ending when it runs.
//
// # Security
//
// Deploy it with --no-allow-unauthenticated and give the job an OIDC token
// (--oidc-service-account-email of a service account with roles/run.invoker on the function,
// --oidc-token-audience the function's URL): Cloud Run checks the token before the request
// reaches the function. Anyone who could invoke it could only make it recover the same window
// again, but there is no reason to let them.
type Recover struct {
	pipe *recovery.Recoverer
	log  *slog.Logger
}

var _ http.Handler = (*Recover)(nil)

// NewRecover returns the recover function. It opens nothing yet and never fails, but it logs at
// ERROR, once, a configuration that can never work: see [Recover].
func NewRecover(opts *Options) *Recover {
	o := opts.withDefaults()
	return &Recover{pipe: recovery.NewRecoverer(platform, o.FunctionOptions), log: o.Logger}
}

// ServeHTTP implements http.Handler (see [Recover]).
func (r *Recover) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		pipeline.WriteResponse(rw, emitter.Response{Status: http.StatusMethodNotAllowed, Reason: emitter.ReasonMethodNotAllowed})
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxSchedulerBody))
	ctx := req.Context()
	r.log.LogAttrs(ctx, slog.LevelInfo, "gcpfunctions: scheduled recovery",
		slog.String("job", req.Header.Get(HeaderSchedulerJob)), slog.String("schedule_time", req.Header.Get(HeaderSchedulerTime)))
	run, err := r.pipe.Run(ctx) // logs the run and its outcome
	if err != nil {
		pipeline.WriteResponse(rw, pipeline.Failure(err))
		return
	}
	b, err := json.Marshal(run)
	if err != nil { // times and counts only: cannot happen
		pipeline.WriteResponse(rw, pipeline.Failure(err))
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(b)
}

// Close shuts the channel down if the function opened it. Cloud Functions gives no shutdown hook
// to a Go function, so Close is for tests and for programs that embed the function.
func (r *Recover) Close(ctx context.Context) error { return r.pipe.Close(ctx) }
