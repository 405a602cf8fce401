package pipeline

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/route"
	"github.com/hookline/hookline/sink"
)

// Environment variables read by [ConfigFromEnv] and [FunctionConfigFromEnv]: the one place their
// names are defined.
const (
	EnvPort         = "PORT"
	EnvHost         = "HOOKLINE_HOST"
	EnvRole         = "HOOKLINE_ROLE"
	EnvSource       = "HOOKLINE_SOURCE"
	EnvChannel      = "HOOKLINE_CHANNEL"
	EnvSubscription = "HOOKLINE_SUBSCRIPTION"
	EnvSink         = "HOOKLINE_SINK"
	EnvDeadLetter   = "HOOKLINE_DEADLETTER"
)

// Defaults that [ConfigFromEnv] and [Open] use when a setting is empty (the function halves have
// none: see [FunctionConfigFromEnv]).
const (
	DefaultPort    = "8080"
	DefaultHost    = "127.0.0.1"
	DefaultSource  = "stripe://"
	DefaultChannel = "mem://stripe-events"
	DefaultSink    = "sqlite://hookline.db"
)

// Config says what to connect. For [Open], zero fields take the defaults above.
type Config struct {
	// Addr is the host:port to listen on; default $HOOKLINE_HOST:$PORT, that is 127.0.0.1:8080
	// (a container sets HOOKLINE_HOST=0.0.0.0).
	Addr string
	// Role is what this process runs (# Roles): RoleAll (the default, also for ""), RoleWebhook
	// or RoleConsumer. From HOOKLINE_ROLE.
	Role Role
	// Source is the URL of the webhook's source (package emitter's registry): stripe://
	// (emitter/stripehook), standardwebhooks:// (emitter/standardwebhooks), with the source's
	// options as query parameters. The program links the sources it accepts by importing their
	// packages. Default DefaultSource.
	Source       string
	Channel      string // topic URL the webhook sends to
	Subscription string // subscription URL the consumer receives from; default Channel
	Sink         string // sink URL
	// DeadLetter is the topic URL for messages that cannot be processed. For an in-process
	// channel (mem:// or inproc://) it defaults to <channel URL>-deadletter on the same scheme,
	// whose messages are logged; otherwise there is none
	// unless set, and such messages are returned to the broker (and logged) instead.
	DeadLetter string
	// Secrets are the source's signing secrets, read from the variable its driver names
	// (STRIPE_WEBHOOK_SECRET for stripe://, HOOKLINE_WEBHOOK_SECRET for standardwebhooks://).
	Secrets []string
	// SecretGenerated is true when no secret was configured and one was made up for this run.
	SecretGenerated bool
	// MaxPending bounds, for an in-process channel (mem://, inproc://), the events accepted but
	// not yet processed; the webhook answers 503 while it is reached. Default 10000.
	MaxPending int
	// Routes are a configuration file's routes (HOOKLINE_CONFIG, package route): each event goes
	// to every route that matches it, each route to its own sink; Sink is then not used.
	// Empty: one route, every event to Sink.
	Routes route.Config
	// BatchSize is the most events the consumer hands a sink at once when the sink writes
	// batches (sink.BatchApplier: sqlsink, dataverse, sink.Memory), or when a route's sink does;
	// 1 writes one event at a time. BatchWait is how long the consumer waits for more events
	// after the first of a batch. From HOOKLINE_BATCH_SIZE and HOOKLINE_BATCH_WAIT; zero means
	// channel.DefaultMaxBatch and channel.DefaultBatchWait. Options.Consumer's MaxBatch and
	// BatchWait win over them.
	BatchSize int
	BatchWait time.Duration
}

// masked returns what the pipeline masks in its logs and errors: the webhook secrets and the
// secrets of its URLs (package internal/redact).
func (c Config) masked() []string {
	urls := []string{c.Channel, c.Subscription, c.DeadLetter, c.Sink}
	for _, r := range c.Routes.Routes {
		urls = append(urls, r.Sink)
	}
	return append(redact.SecretsOf(urls...), c.Secrets...)
}

// ConfigFromEnv reads the configuration of a whole pipeline in one process from getenv
// (os.Getenv in a real process), with the defaults above: with nothing set, the stripe:// source,
// a mem:// channel, a SQLite file and a webhook secret generated for this run (SecretGenerated;
// [SecretNotice] tells the user how to use it). The secrets are read from the variable the
// source names (emitter.SourceDriver's SecretEnv). It fails only on a PORT that is not a port
// number, a HOOKLINE_ROLE that is not a role (or a file of routes it cannot read); [Config.Check] finds URLs that cannot work, a source not linked among them.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	role, err := ParseRole(getenv(EnvRole))
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Role:         role,
		Source:       strings.TrimSpace(getenv(EnvSource)),
		Channel:      getenv(EnvChannel),
		Subscription: getenv(EnvSubscription),
		Sink:         getenv(EnvSink),
		DeadLetter:   getenv(EnvDeadLetter),
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	port := getenv(EnvPort)
	if port == "" {
		port = DefaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return c, fmt.Errorf("pipeline: %s=%q is not a TCP port number", EnvPort, port)
	}
	host := strings.Trim(strings.TrimSpace(getenv(EnvHost)), "[]") // net.JoinHostPort brackets an IPv6 host
	if host == "" {
		host = DefaultHost
	}
	c.Addr = net.JoinHostPort(host, port)
	if c.BatchSize, c.BatchWait, err = BatchFromEnv(getenv); err != nil {
		return c, err
	}
	if d, _, err := emitter.LookupSource(c.Source); err == nil && c.Role.webhook() {
		c.Secrets = emitter.ParseSecrets(getenv(d.SecretEnv))
		if len(c.Secrets) == 0 {
			c.Secrets = []string{d.NewSecret()}
			c.SecretGenerated = true
		}
	}
	if path := strings.TrimSpace(getenv(EnvConfig)); path != "" {
		if c.Sink != "" {
			return c, fmt.Errorf("pipeline: %s and %s are both set: the configuration file's routes name their sinks; unset %s",
				EnvConfig, EnvSink, EnvSink)
		}
		// A variable set to "" counts as unset: ${VAR} of it is an error, not an empty value.
		lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
		if c.Routes, err = route.Load(path, lookup); err != nil {
			return c, fmt.Errorf("pipeline: %s=%s: %w", EnvConfig, path, err)
		}
	}
	return c.withDefaults(), nil
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = net.JoinHostPort(DefaultHost, DefaultPort)
	}
	if c.Role == "" {
		c.Role = RoleAll
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	if c.Subscription == "" {
		c.Subscription = c.Channel
	}
	if c.Sink == "" && c.Role.consumer() {
		c.Sink = DefaultSink
	}
	if c.DeadLetter == "" && IsInProcess(c.Channel) {
		c.DeadLetter = strings.SplitN(c.Channel, "?", 2)[0] + "-deadletter"
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 10000
	}
	return c
}

// Check reports, without connecting to anything, a configuration that can never work: a source
// URL whose scheme no linked package serves, with an unknown option or no valid secret, or a
// channel, subscription, dead-letter or sink URL that is malformed or whose scheme no driver
// linked into this program serves. [Open] calls it first; a program may call it earlier, to say
// so before anything else.
func (c Config) Check() error { return c.check(true, true) }

// checkRole refuses a role that is not one, and a split role on an in-process channel, whose
// events would never leave the process.
func (c Config) checkRole() error {
	if _, err := ParseRole(string(c.Role)); err != nil {
		return err
	}
	if c.Role != RoleAll && IsInProcess(c.Channel) {
		return fmt.Errorf("pipeline: %s=%s needs a broker's channel: %s=%s does not leave the process (use %s=%s, or a broker)",
			EnvRole, c.Role, EnvChannel, redact.String(c.Channel), EnvRole, RoleAll)
	}
	return nil
}

// check is Check, leaving out what the role does not run (the source without a webhook, the
// sink without a consumer), and leaving out the source when one is given instead (withSource false) and the
// sink URL when a sink is given instead (withSink false).
func (c Config) check(withSource, withSink bool) error {
	c = c.withDefaults()
	if err := c.checkRole(); err != nil {
		return err
	}
	withSource = withSource && c.Role.webhook()
	withSink = withSink && c.Role.consumer()
	if withSource {
		if _, err := emitter.OpenSource(c.Source, c.Secrets); err != nil {
			return fmt.Errorf("pipeline: %s=%s: %w", EnvSource, c.Source, err)
		}
	}
	for _, u := range []struct{ env, url string }{{EnvChannel, c.Channel}, {EnvDeadLetter, c.DeadLetter}} {
		if u.url != "" {
			if err := checkTopicURL(u.env, u.url); err != nil {
				return err
			}
		}
	}
	if err := channel.CheckSubscriptionURL(c.Subscription); err != nil && c.Role.consumer() {
		return fmt.Errorf("pipeline: %s: %w", EnvSubscription, err)
	}
	if !withSink {
		return nil
	}
	if len(c.Routes.Routes) == 0 {
		return checkSinkURL(c.Sink)
	}
	if _, err := route.CompileAll(c.Routes); err != nil {
		return fmt.Errorf("pipeline: %s: %w", EnvConfig, err)
	}
	for _, r := range c.Routes.Routes {
		if err := sink.CheckURL(r.Sink); err != nil {
			return fmt.Errorf("pipeline: route %q (%s): %w", r.Name, r.SinkPos, err)
		}
	}
	return nil
}

func checkTopicURL(env, u string) error {
	if err := channel.CheckTopicURL(u); err != nil {
		return fmt.Errorf("pipeline: %s: %w", env, err)
	}
	return nil
}

func checkSinkURL(u string) error {
	if err := sink.CheckURL(u); err != nil {
		return fmt.Errorf("pipeline: %s: %w", EnvSink, err)
	}
	return nil
}

// SecretNotice explains a generated secret to the user. It contains the secret on purpose: the
// user needs it to sign requests, and it is good for this run only.
func SecretNotice(c Config) string {
	d, _, err := emitter.LookupSource(c.withDefaults().Source)
	if err != nil || len(c.Secrets) == 0 {
		return ""
	}
	webhook := "http://" + c.Addr + "/webhook"
	notice := fmt.Sprintf(`No %[1]s is set, so this run generated one:

    %[1]s=%[2]s

To send signed sample events (no account needed), in another terminal:

    %[3]s=%[4]s %[1]s=%[2]s go run ./examples/local -send %[5]s
`, d.SecretEnv, c.Secrets[0], EnvSource, c.withDefaults().Source, webhook)
	if d.Hint != nil {
		notice += "\n" + d.Hint(webhook) + "\n"
	}
	return notice + "(Several secrets may be given, comma-separated, while you roll one.)\n"
}
