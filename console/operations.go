package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/recovery"
)

// Defaults of the dead-letter operations.
const (
	// defaultDeadLetterWait is Options.DeadLetterWait's default, for a broker's channel.
	defaultDeadLetterWait = 2 * time.Second
	// inprocWait and memWait are the waits of an in-process dead-letter topic: inproc://
	// delivers at once, mem:// polls every 250 ms.
	inprocWait = 300 * time.Millisecond
	memWait    = time.Second
	// listLimit bounds the messages a listing receives (and holds) at a time.
	listLimit = 1000
)

// operations are the console's actions: listing, replaying and discarding dead letters, and
// running a recovery.
type operations struct {
	// dl serializes the dead-letter operations (one List, Replay or Discard at a time: each
	// holds every message of the channel while it runs) and guards recv.
	dl   sync.Mutex
	recv *channel.Receiver // the receiver the console opened on a broker's dead-letter channel

	mu     sync.Mutex // guards what follows
	closed bool
	cancel context.CancelFunc // cancels the recovery running
	last   *recoverRun        // the running or latest recovery
	wg     sync.WaitGroup     // the recovery goroutine
}

// close cancels a recovery in progress, waits for it, and shuts down the dead-letter receiver the
// console opened.
func (o *operations) close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	if o.cancel != nil {
		o.cancel()
	}
	o.mu.Unlock()
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("console: the recovery did not stop: %w", ctx.Err())
	}
	o.dl.Lock()
	defer o.dl.Unlock()
	if o.recv != nil {
		err = errors.Join(err, o.recv.Shutdown(ctx))
		o.recv = nil
	}
	return err
}

// routeOperations adds the Dead letters and Recover pages and their API to m.
func (c *Console) routeOperations(m *http.ServeMux) {
	p := c.opts.Prefix
	m.HandleFunc("GET "+p+"deadletters", c.deadLettersPage)
	m.HandleFunc("GET "+p+"api/deadletters", c.deadLettersAPI)
	for _, verb := range []string{verbReplay, verbDiscard} {
		m.HandleFunc("POST "+p+"deadletters/"+verb, c.writable(c.deadLetterForm(verb)))
		m.HandleFunc("POST "+p+"api/deadletters/"+verb, c.writable(c.deadLetterActionAPI(verb)))
	}
	m.HandleFunc("GET "+p+"recover", c.recoverPage)
	m.HandleFunc("GET "+p+"api/recover", c.recoverAPI)
	m.HandleFunc("POST "+p+"recover", c.writable(c.recoverForm))
	m.HandleFunc("POST "+p+"api/recover", c.writable(c.recoverStartAPI))
}

// writable refuses every action of a read-only console with 403.
func (c *Console) writable(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.opts.ReadOnly {
			c.fail(w, r, http.StatusForbidden, "the console is read-only")
			return
		}
		h(w, r)
	}
}

// ---- Dead letters ----

const (
	verbReplay  = "replay"
	verbDiscard = "discard"
)

// errNoDeadLetter says that the pipeline has no dead-letter channel.
var errNoDeadLetter = errors.New("no dead-letter channel is configured: set " + pipeline.EnvDeadLetter +
	" to a topic URL (and, where the broker reads it through another URL, the console's DeadLetterSubscription)")

// deadLetterSource returns the receiver of the dead-letter channel, its URL (redacted) and the
// wait of a listing: the pipeline's own receiver of an in-process topic, else one the console
// opens on first use and keeps until it is closed. The caller holds o.dl.
func (c *Console) deadLetterSource(ctx context.Context) (*channel.Receiver, string, time.Duration, error) {
	p := c.pipeline()
	if p == nil {
		return nil, "", 0, errors.New("the console is not attached to a pipeline")
	}
	cfg := p.Config()
	if r := p.DeadLetters(); r != nil {
		wait := memWait
		if strings.HasPrefix(cfg.DeadLetter, "inproc://") {
			wait = inprocWait
		}
		return r, redact.String(cfg.DeadLetter), wait, nil
	}
	sub := c.opts.DeadLetterSubscription
	if sub == "" {
		sub = cfg.DeadLetter
	}
	if sub == "" {
		return nil, "", 0, errNoDeadLetter
	}
	wait := c.opts.DeadLetterWait
	if wait <= 0 {
		wait = defaultDeadLetterWait
	}
	if c.ops.recv == nil {
		c.ops.mu.Lock()
		closed := c.ops.closed
		c.ops.mu.Unlock()
		if closed {
			return nil, "", 0, errors.New("the console is shutting down")
		}
		r, err := channel.OpenReceiver(context.WithoutCancel(ctx), sub, nil)
		if err != nil {
			return nil, "", 0, fmt.Errorf("opening the dead-letter channel: %w", err)
		}
		c.ops.recv = r
	}
	return c.ops.recv, redact.String(sub), wait, nil
}

// DeadLetter is one message of the dead-letter channel, as the page and the API show it.
type DeadLetter struct {
	ID       string     `json:"id"`              // the event id
	Type     string     `json:"type"`            // the event type
	Object   string     `json:"object"`          // the object the event is about (its Subject)
	Route    string     `json:"route,omitempty"` // the route whose failure dead-lettered it (a configuration file's)
	Reason   string     `json:"reason"`          // why it was dead-lettered (hookline's channels only)
	Kind     string     `json:"kind"`            // the kind of failure: permanent, transient, ...
	Attempts string     `json:"attempts"`        // the attempts made before it was dead-lettered
	When     *time.Time `json:"when,omitempty"`
}

// deadLettersView is the Dead letters page's data and the API's answer.
type deadLettersView struct {
	Channel     string       `json:"channel"` // the dead-letter channel's URL, redacted
	DeadLetters []DeadLetter `json:"dead_letters"`
	More        bool         `json:"more"` // the listing stopped at its limit: there are more
	Error       string       `json:"error,omitempty"`

	Configured bool          `json:"-"`
	Target     string        `json:"-"` // where a replay sends, redacted
	Confirm    *confirmation `json:"-"` // the question of the HTML flow
	Result     *actionResult `json:"-"` // what the action just run did
	Env        string        `json:"-"` // HOOKLINE_DEADLETTER
}

// listDeadLetters lists the dead-letter channel. An unconfigured channel gives errNoDeadLetter.
func (c *Console) listDeadLetters(ctx context.Context) deadLettersView {
	v := deadLettersView{DeadLetters: []DeadLetter{}, Configured: true, Env: pipeline.EnvDeadLetter}
	if p := c.pipeline(); p != nil {
		v.Target = redact.String(p.Config().Channel)
	}
	c.ops.dl.Lock()
	defer c.ops.dl.Unlock()
	recv, ch, wait, err := c.deadLetterSource(ctx)
	v.Channel = ch
	if errors.Is(err, errNoDeadLetter) {
		v.Configured = false
		v.Error = err.Error()
		return v
	}
	if err != nil {
		v.Error = c.redactText(err.Error())
		return v
	}
	msgs, err := deadletter.List(ctx, recv, &deadletter.Options{Wait: wait, Limit: listLimit})
	if err != nil {
		v.Error = "listing the dead-letter channel failed: " + c.redactText(err.Error())
	}
	v.More = len(msgs) >= listLimit
	for _, m := range msgs {
		d := DeadLetter{ID: m.EventID, Type: m.Type, Object: m.Subject, Route: m.Route, Reason: m.Reason, Kind: m.Kind, Attempts: m.Attempts}
		if !m.When.IsZero() {
			w := m.When
			d.When = &w
		}
		v.DeadLetters = append(v.DeadLetters, d)
	}
	return v
}

func (c *Console) deadLettersPage(w http.ResponseWriter, r *http.Request) {
	c.renderDeadLetters(w, r, http.StatusOK, c.listDeadLetters(r.Context()), "")
}

func (c *Console) renderDeadLetters(w http.ResponseWriter, r *http.Request, status int, v deadLettersView, notice string) {
	pg := page{Title: "Dead letters", Nav: "deadletters", Notice: notice, Data: v}
	if v.Configured && v.Error != "" {
		pg.Error = v.Error
	}
	c.render(w, r, status, "deadletters", pg)
}

func (c *Console) deadLettersAPI(w http.ResponseWriter, r *http.Request) {
	v := c.listDeadLetters(r.Context())
	switch {
	case !v.Configured:
		c.fail(w, r, http.StatusNotFound, v.Error)
	case v.Error != "":
		writeJSON(w, http.StatusBadGateway, v)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// selection is what an action applies to: the dead letters of some event ids, or all.
type selection struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
}

func (s selection) check() error {
	switch {
	case len(s.IDs) == 0 && !s.All:
		return errors.New(`select the dead letters: give "ids" (event ids) or "all": true`)
	case len(s.IDs) > 0 && s.All:
		return errors.New(`give either "ids" or "all", not both`)
	}
	return nil
}

// confirmation is the question the HTML flow asks before an action.
type confirmation struct {
	Verb     string // replay or discard
	Question string
	IDs      []string
	All      bool
}

// actionResult is what a replay or discard did; the API's answer.
type actionResult struct {
	Action    string `json:"action"`
	Received  int    `json:"received"`
	Selected  int    `json:"selected"`
	Replayed  *int   `json:"replayed,omitempty"`
	Discarded *int   `json:"discarded,omitempty"`
	Failed    int    `json:"failed"`
	Error     string `json:"error,omitempty"`
}

// deadLetterAction replays (to the pipeline's own sender) or discards what sel selects.
//
// A replay goes through Pipeline.Sender, with deadletter.ReplayTo, rather than through a second
// *channel.Sender opened on Config().Channel: for an in-process channel, the pipeline's sender
// counts each event in the pipeline's backlog, which the consumer releases once per event it
// settles and which shutdown waits for, so events sent around it would let the backlog miscount
// and shutdown stop before they were processed; it also tells the console of each replayed event
// (the Events page shows it again), and for a broker it is the sender with the pipeline's own
// broker options (FIFO, sessions), with no second connection to keep and close.
func (c *Console) deadLetterAction(ctx context.Context, verb string, sel selection) (actionResult, error) {
	out := actionResult{Action: verb}
	p := c.pipeline()
	if p == nil {
		return out, errors.New("the console is not attached to a pipeline")
	}
	c.ops.dl.Lock()
	defer c.ops.dl.Unlock()
	recv, ch, wait, err := c.deadLetterSource(ctx)
	if err != nil {
		return out, err
	}
	opts := &deadletter.Options{Wait: wait, IDs: sel.IDs}
	var res deadletter.Result
	if verb == verbReplay {
		res, err = deadletter.ReplayTo(ctx, recv, p.Sender(), opts)
		out.Replayed = &res.Replayed
	} else {
		res, err = deadletter.Discard(ctx, recv, opts)
		out.Discarded = &res.Discarded
	}
	out.Received, out.Selected, out.Failed = res.Received, res.Selected, res.Failed
	attrs := []any{"channel", ch, "ids", len(sel.IDs), "all", sel.All,
		"received", res.Received, "selected", res.Selected, verb + "ed", res.Replayed + res.Discarded, "failed", res.Failed}
	if err != nil {
		attrs = append(attrs, "error", c.redactText(err.Error()))
	}
	c.log.Info("console: dead letters "+verb+"ed", attrs...)
	return out, err
}

func (c *Console) deadLetterActionAPI(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var sel selection
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := json.NewDecoder(r.Body).Decode(&sel); err != nil {
			c.fail(w, r, http.StatusBadRequest, `the body must be JSON: {"ids": ["evt_..."]} or {"all": true}: `+err.Error())
			return
		}
		if err := sel.check(); err != nil {
			c.fail(w, r, http.StatusBadRequest, err.Error())
			return
		}
		res, err := c.deadLetterAction(r.Context(), verb, sel)
		switch {
		case errors.Is(err, errNoDeadLetter):
			c.fail(w, r, http.StatusNotFound, err.Error())
		case err != nil:
			res.Error = c.redactText(err.Error())
			writeJSON(w, http.StatusBadGateway, res)
		default:
			writeJSON(w, http.StatusOK, res)
		}
	}
}

// deadLetterForm is the HTML flow: a first POST asks for confirmation, a second one with
// confirm=yes runs the action and shows its result.
func (c *Console) deadLetterForm(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, http.StatusBadRequest, "the form does not parse: "+err.Error())
			return
		}
		sel := selection{All: r.PostForm.Get("all") == "1"}
		for _, id := range r.PostForm["id"] {
			if id = strings.TrimSpace(id); id != "" {
				sel.IDs = append(sel.IDs, id)
			}
		}
		if sel.All {
			sel.IDs = nil // "all" wins over boxes ticked beside it
		}
		if err := sel.check(); err != nil {
			v := c.listDeadLetters(r.Context())
			v.Error = "Select dead letters first, or choose all."
			c.renderDeadLetters(w, r, http.StatusBadRequest, v, "")
			return
		}
		if r.PostForm.Get("confirm") != "yes" {
			c.confirmDeadLetters(w, r, verb, sel)
			return
		}
		res, err := c.deadLetterAction(r.Context(), verb, sel)
		res.Error = ""
		if err != nil {
			res.Error = c.redactText(err.Error())
		}
		v := c.listDeadLetters(r.Context())
		v.Result = &res
		status := http.StatusOK
		if err != nil {
			status = http.StatusBadGateway
			if errors.Is(err, errNoDeadLetter) {
				status = http.StatusNotFound
			}
		}
		c.renderDeadLetters(w, r, status, v, res.summary())
	}
}

func (c *Console) confirmDeadLetters(w http.ResponseWriter, r *http.Request, verb string, sel selection) {
	what := "all dead-lettered events"
	if !sel.All {
		what = fmt.Sprintf("%d dead-lettered event%s", len(sel.IDs), plural(len(sel.IDs)))
	}
	q := "Discard " + what + "? They are removed from the dead-letter channel for good."
	if verb == verbReplay {
		target := ""
		if p := c.pipeline(); p != nil {
			target = redact.String(p.Config().Channel)
		}
		q = "Replay " + what + " to " + target + "?"
	}
	v := deadLettersView{Configured: true, Confirm: &confirmation{Verb: verb, Question: q, IDs: sel.IDs, All: sel.All}}
	c.render(w, r, http.StatusOK, "deadletters", page{Title: "Dead letters", Nav: "deadletters", Data: v})
}

func (a actionResult) summary() string {
	n, done := 0, "discarded"
	if a.Replayed != nil {
		n, done = *a.Replayed, "replayed"
	} else if a.Discarded != nil {
		n = *a.Discarded
	}
	return fmt.Sprintf("%d received, %d selected, %d %s, %d failed.", a.Received, a.Selected, n, done, a.Failed)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ---- Recover ----

// recoverRun is a recovery the console started.
type recoverRun struct {
	Since       time.Time  `json:"since"`
	Until       *time.Time `json:"until,omitempty"`
	Undelivered bool       `json:"undelivered"`
	Types       []string   `json:"types"`
	Listed      int        `json:"listed"`
	Sent        int        `json:"sent"`
	Skipped     int        `json:"skipped"`
	Pages       int        `json:"pages"`
	Done        *time.Time `json:"done,omitempty"` // every event created up to here was sent
	Started     time.Time  `json:"started"`
	Finished    *time.Time `json:"finished,omitempty"`
	Running     bool       `json:"running"`
	Error       string     `json:"error,omitempty"`
}

// recoverView is the Recover page's data and GET api/recover's answer.
type recoverView struct {
	Enabled bool        `json:"enabled"`
	Running bool        `json:"running"`
	Message string      `json:"message,omitempty"` // why recovery is not enabled
	Run     *recoverRun `json:"run,omitempty"`     // the running or latest recovery

	Form recoverRequest `json:"-"`
	Env  string         `json:"-"`
}

// recoverRequest is what POST api/recover takes; the form gives the same.
type recoverRequest struct {
	Since       string   `json:"since"`       // a duration back from now (72h) or an RFC 3339 time
	Until       string   `json:"until"`       // likewise; empty: now
	Undelivered *bool    `json:"undelivered"` // default true, as the form's checkbox
	Types       []string `json:"types"`       // exact, or prefix wildcards (customer.*); none: all
}

var errNoStripeKey = errors.New("recovery needs a Stripe key: set " + recovery.EnvAPIKey +
	" to a restricted key (rk_...) with read access to events, or a secret key, and restart")

// errRecoverRunning is a second start while a recovery runs.
var errRecoverRunning = errors.New("a recovery is already running: wait for it to finish")

func (c *Console) recoverView() recoverView {
	v := recoverView{Enabled: c.opts.StripeAPIKey != "", Env: recovery.EnvAPIKey}
	if !v.Enabled {
		v.Message = errNoStripeKey.Error()
	}
	c.ops.mu.Lock()
	defer c.ops.mu.Unlock()
	if c.ops.last != nil {
		run := *c.ops.last
		run.Types = append([]string(nil), run.Types...)
		v.Run, v.Running = &run, run.Running
	}
	return v
}

func (c *Console) recoverPage(w http.ResponseWriter, r *http.Request) {
	c.renderRecover(w, r, http.StatusOK, "", "")
}

func (c *Console) renderRecover(w http.ResponseWriter, r *http.Request, status int, notice, errMsg string) {
	v := c.recoverView()
	v.Form = recoverRequest{Since: "72h"}
	c.render(w, r, status, "recover", page{Title: "Recover", Nav: "recover", Live: v.Running, Notice: notice, Error: errMsg, Data: v})
}

func (c *Console) recoverAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.recoverView())
}

func (c *Console) recoverForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.renderRecover(w, r, http.StatusBadRequest, "", "The form does not parse: "+err.Error())
		return
	}
	undelivered := r.PostForm.Get("undelivered") != ""
	req := recoverRequest{Since: r.PostForm.Get("since"), Until: r.PostForm.Get("until"), Undelivered: &undelivered}
	for _, t := range strings.Split(r.PostForm.Get("types"), ",") {
		req.Types = append(req.Types, t)
	}
	status, err := c.startRecovery(req)
	if err != nil {
		c.renderRecover(w, r, status, "", err.Error())
		return
	}
	c.renderRecover(w, r, http.StatusAccepted, "Recovery started.", "")
}

func (c *Console) recoverStartAPI(w http.ResponseWriter, r *http.Request) {
	var req recoverRequest
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		c.fail(w, r, http.StatusBadRequest, `the body must be JSON: {"since": "72h", "until": "", "undelivered": true, "types": ["customer.*"]}: `+err.Error())
		return
	}
	if status, err := c.startRecovery(req); err != nil {
		c.fail(w, r, status, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, c.recoverView())
}

// startRecovery starts recovery.Recover into the pipeline's sender in the background, one run
// at a time, and returns the status to answer and the error when it does not.
func (c *Console) startRecovery(req recoverRequest) (int, error) {
	if c.opts.StripeAPIKey == "" {
		return http.StatusConflict, errNoStripeKey
	}
	p := c.pipeline()
	if p == nil {
		return http.StatusServiceUnavailable, errors.New("the console is not attached to a pipeline")
	}
	now := time.Now()
	opts := &recovery.Options{Undelivered: req.Undelivered == nil || *req.Undelivered}
	for _, t := range req.Types {
		if t = strings.TrimSpace(t); t != "" {
			opts.Types = append(opts.Types, t)
		}
	}
	var err error
	if strings.TrimSpace(req.Since) == "" {
		return http.StatusBadRequest, errors.New("since is required: a duration back from now (72h) or an RFC 3339 time (2026-11-01T00:00:00Z)")
	}
	if opts.Since, err = recovery.ParseWhen(req.Since, now); err != nil {
		return http.StatusBadRequest, fmt.Errorf("since: %w", err)
	}
	if strings.TrimSpace(req.Until) != "" {
		if opts.Until, err = recovery.ParseWhen(req.Until, now); err != nil {
			return http.StatusBadRequest, fmt.Errorf("until: %w", err)
		}
		if opts.Until.Before(opts.Since) {
			return http.StatusBadRequest, errors.New("until is before since")
		}
	}
	api, err := recovery.NewClient(c.opts.StripeAPIKey, c.opts.StripeAPIBase)
	if err != nil {
		return http.StatusConflict, fmt.Errorf("%s: %s", recovery.EnvAPIKey, c.redactText(err.Error()))
	}
	run := &recoverRun{Since: opts.Since.UTC(), Undelivered: opts.Undelivered, Types: opts.Types, Started: now.UTC(), Running: true}
	if !opts.Until.IsZero() {
		u := opts.Until.UTC()
		run.Until = &u
	}
	o := &c.ops
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return http.StatusServiceUnavailable, errors.New("the console is shutting down")
	case o.last != nil && o.last.Running:
		return http.StatusConflict, errRecoverRunning
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.last = cancel, run
	opts.Progress = func(pr recovery.Progress) {
		o.mu.Lock()
		defer o.mu.Unlock()
		run.progress(pr)
	}
	c.log.Info("console: recovery started", "since", run.Since, "until", opts.Until, "undelivered", opts.Undelivered, "types", opts.Types)
	dst := p.Sender()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer cancel()
		res, err := recovery.Recover(ctx, api, dst, opts)
		o.mu.Lock()
		run.progress(res)
		fin := time.Now().UTC()
		run.Finished, run.Running = &fin, false
		if err != nil {
			run.Error = c.redactText(err.Error())
		}
		o.mu.Unlock()
		attrs := []any{"listed", res.Listed, "sent", res.Sent, "skipped", res.Skipped}
		if run.Error != "" {
			attrs = append(attrs, "error", run.Error)
		}
		c.log.Info("console: recovery finished", attrs...)
	}()
	return http.StatusAccepted, nil
}

func (r *recoverRun) progress(p recovery.Progress) {
	r.Listed, r.Sent, r.Skipped, r.Pages = p.Listed, p.Sent, p.Skipped, p.Pages
	if !p.Done.IsZero() {
		d := p.Done.UTC()
		r.Done = &d
	}
}
