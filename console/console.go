package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/pipeline"
)

// EnvToken is the variable `hookline serve` reads the console's access token from: no token,
// no console.
const EnvToken = "HOOKLINE_CONSOLE_TOKEN"

// MinTokenLength is the shortest access token New accepts.
const MinTokenLength = 16

// Defaults of [Options].
const (
	DefaultPrefix  = "/console/"
	DefaultRecent  = 10000
	DefaultMaxData = 8 << 10
)

// Options configures a [Console].
type Options struct {
	// Token is the access token: the login form asks for it, and the JSON API takes it as
	// "Authorization: Bearer <token>". At least MinTokenLength characters; required.
	Token string
	// ReadOnly shows everything and refuses every action (replay, discard, recover) with 403.
	ReadOnly bool
	// Prefix is the path the console is served under, ending in "/". Default DefaultPrefix,
	// where httpserver mounts it.
	Prefix string
	// Recent is about how many events the Events page keeps, newest first (rounded up to a
	// multiple of the store's 16 shards). Default DefaultRecent.
	Recent int
	// MaxData is how many bytes of each event's data are kept for its detail view; the rest is
	// cut off and said so. Default DefaultMaxData.
	MaxData int
	// DeadLetterSubscription is the subscription URL the Dead letters page lists for a
	// broker's dead-letter channel, when it differs from the pipeline's HOOKLINE_DEADLETTER
	// topic URL (RabbitMQ's queue, a Pub/Sub subscription). Default: the topic URL.
	DeadLetterSubscription string
	// DeadLetterWait is how long a listing of a broker's dead-letter channel waits for one more
	// message (channel/deadletter's Options.Wait). Default 2s; an in-process channel's is
	// shorter.
	DeadLetterWait time.Duration
	// StripeAPIKey and StripeAPIBase enable the Recover page (package recovery): a key that can
	// read events. Without a key the page says how to enable it.
	StripeAPIKey, StripeAPIBase string
	// SessionTTL is how long a login lasts: the server refuses its cookie afterwards. Default
	// DefaultSessionTTL (12h). See # Access in the package doc for how sessions end.
	SessionTTL time.Duration
	// Logger receives the console's logs: logins refused, actions taken. Default: none.
	Logger *slog.Logger
}

// Console is the operator console: an http.Handler serving the pages and the JSON API under
// Options.Prefix, and the pipeline.Console that a pipeline tells of its events. Build it with
// [New], give it to pipeline.Options.Console, and register [Console.MetricReader] with the
// meter provider (telemetry.Options.MetricReaders).
type Console struct {
	opts     Options
	log      *slog.Logger
	sessions *sessions // the logins' signed session cookies
	reader   *sdkmetric.ManualReader
	events   *store
	pages    map[string]*template.Template
	handler  http.Handler
	started  time.Time

	mu sync.Mutex
	p  *pipeline.Pipeline // set by Attach

	ops operations // dead letters and recovery: the actions
	ov  *overview  // the Overview page's per-minute series
}

//go:embed templates static
var files embed.FS

// New returns a console. It fails, saying what to fix, when the token is missing or short.
func New(opts Options) (*Console, error) {
	if opts.Token == "" {
		return nil, fmt.Errorf("console: no access token: set %s (at least %d characters, e.g. from `openssl rand -hex 24`)", EnvToken, MinTokenLength)
	}
	if len(opts.Token) < MinTokenLength {
		return nil, fmt.Errorf("console: the access token is %d characters long: use at least %d (e.g. `openssl rand -hex 24`)", len(opts.Token), MinTokenLength)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(opts.Prefix, "/") || !strings.HasSuffix(opts.Prefix, "/") {
		return nil, fmt.Errorf("console: Prefix %q must start and end with /", opts.Prefix)
	}
	if opts.Recent <= 0 {
		opts.Recent = DefaultRecent
	}
	if opts.MaxData <= 0 {
		opts.MaxData = DefaultMaxData
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	c := &Console{opts: opts, log: opts.Logger, reader: sdkmetric.NewManualReader(),
		events: newStore(opts.Recent, opts.MaxData), started: time.Now(), sessions: newSessions(opts.Token, opts.SessionTTL)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ov = newOverview(c.reader)
	if err := c.routes(); err != nil {
		return nil, err
	}
	return c, nil
}

// MetricReader returns the reader the Overview page reads the pipeline's metrics from (the
// instruments packages emitter, channel and pipeline record): give it to the MeterProvider
// the pipeline records with, as telemetry.Options.MetricReaders does. Without it, the
// Overview says that no metrics are collected.
func (c *Console) MetricReader() sdkmetric.Reader { return c.reader }

// Attach is called by pipeline.Open with the pipeline the console serves.
func (c *Console) Attach(p *pipeline.Pipeline) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		return errors.New("console: already attached to a pipeline; use one Console per pipeline")
	}
	c.p = p
	return nil
}

func (c *Console) pipeline() *pipeline.Pipeline {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p
}

// Accepted records an event the channel accepted.
func (c *Console) Accepted(_ context.Context, ev hookline.Event) { c.events.accepted(ev, time.Now()) }

// Routed records what each route of a configuration file did with an event (the console is a
// pipeline.RouteObserver); errors are masked as the console masks every error.
func (c *Console) Routed(_ context.Context, ev hookline.Event, outcomes []pipeline.RouteOutcome) {
	for i := range outcomes {
		if outcomes[i].Err != "" {
			outcomes[i].Err = c.redactText(outcomes[i].Err)
		}
	}
	c.events.routed(ev, outcomes, time.Now())
}

// Settled records how a delivery ended.
func (c *Console) Settled(_ context.Context, s channel.Settled) {
	c.events.settled(c.redactSettled(s))
}

// Close stops what the console runs (a recovery in progress) and closes what it opened (the
// receiver of a broker's dead-letter channel).
func (c *Console) Close(ctx context.Context) error { return c.ops.close(ctx) }

// ServeHTTP serves the console under Options.Prefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// routes builds the handler: security headers, cross-origin protection for every POST, access
// control, then the pages and the API.
func (c *Console) routes() error {
	static, err := fs.Sub(files, "static")
	if err != nil {
		return err
	}
	if err := c.parseTemplates(); err != nil {
		return err
	}
	m := http.NewServeMux()
	p := c.opts.Prefix
	m.Handle("GET "+p+"static/", http.StripPrefix(p+"static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+p+"login", c.loginPage)
	m.HandleFunc("POST "+p+"login", c.login)
	m.HandleFunc("POST "+p+"logout", c.logout)
	authed := http.NewServeMux()
	authed.HandleFunc("GET "+p+"{$}", c.overviewPage)
	authed.HandleFunc("GET "+p+"api/overview", c.overviewAPI)
	authed.HandleFunc("GET "+p+"events", c.eventsPage)
	authed.HandleFunc("GET "+p+"events/{id}", c.eventPage)
	authed.HandleFunc("GET "+p+"api/events", c.eventsAPI)
	authed.HandleFunc("GET "+p+"api/events/{id}", c.eventAPI)
	c.routeOperations(authed)
	m.Handle(p, c.requireAccess(authed))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		c.fail(w, r, http.StatusForbidden, "cross-origin request refused: the console accepts actions only from its own pages")
	}))
	c.handler = securityHeaders(cop.Handler(m))
	return nil
}

// securityHeaders sets what every answer of the console carries: no caching, no sniffing, no
// framing, and a content security policy that runs only the console's own script.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// RecentEvents returns how many events the Events page holds (at most Options.Recent).
func (c *Console) RecentEvents() int { return c.events.len() }
