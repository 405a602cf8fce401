package dataverse

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
)

// Mode says how an event that is not a deletion is written.
type Mode int

const (
	// Upsert creates the row or updates it when the event is newer than the one that last wrote
	// it (the default; URL: mode=upsert).
	Upsert Mode = iota
	// CreateOnly creates the row if it does not exist and otherwise leaves it alone, so that
	// people can edit it in Dataverse afterwards (URL: mode=createonly).
	CreateOnly
)

// DeleteMode says what an event that deletes its subject (a *.deleted one, for Stripe) does to
// the row.
type DeleteMode int

const (
	// Deactivate sets statecode 1 and statuscode 2 (Inactive) and keeps the row (the default;
	// URL: delete=deactivate).
	Deactivate DeleteMode = iota
	// HardDelete deletes the row (URL: delete=hard).
	HardDelete
)

// Bypass is a set of kinds of custom business logic for Dataverse to skip when the sink writes.
type Bypass int

const (
	// BypassSync skips synchronous plug-ins and real-time workflows
	// (MSCRM.BypassBusinessLogicExecution: CustomSync). URL: bypass=sync.
	BypassSync Bypass = 1 << iota
	// BypassAsync skips asynchronous plug-ins and workflows
	// (MSCRM.BypassBusinessLogicExecution: CustomAsync). URL: bypass=async.
	BypassAsync
	// BypassFlows skips the Power Automate flows triggered by the writes
	// (MSCRM.SuppressCallbackRegistrationExpanderJob: true). URL: bypass=flows.
	BypassFlows
)

// headers returns the request headers that ask for b.
func (b Bypass) headers() map[string]string {
	h := map[string]string{}
	var logic []string
	if b&BypassSync != 0 {
		logic = append(logic, "CustomSync")
	}
	if b&BypassAsync != 0 {
		logic = append(logic, "CustomAsync")
	}
	if len(logic) > 0 {
		h["MSCRM.BypassBusinessLogicExecution"] = strings.Join(logic, ",")
	}
	if b&BypassFlows != 0 {
		h["MSCRM.SuppressCallbackRegistrationExpanderJob"] = "true"
	}
	return h
}

func parseBypass(v string) (Bypass, error) {
	var b Bypass
	for _, part := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "sync":
			b |= BypassSync
		case "async":
			b |= BypassAsync
		case "flows":
			b |= BypassFlows
		default:
			return 0, fmt.Errorf("dataverse: bypass=%q: want a comma-separated list of sync, async and flows", v)
		}
	}
	return b, nil
}

// Defaults.
const (
	DefaultEntitySet      = "contacts"
	DefaultMaxConcurrency = 16
	// MaxConcurrencyLimit is Dataverse's documented limit of concurrent requests per user.
	MaxConcurrencyLimit = 52
)

// EnvToken is the environment variable that holds a static bearer token for [Open].
const EnvToken = "DATAVERSE_TOKEN"

// Options configure a Sink. A nil *Options and zero fields mean the documented defaults. Query
// parameters of the URL take precedence over these fields.
type Options struct {
	// KeyColumn is the logical name of the text column that holds the Stripe object id and has an
	// alternate key defined on it, e.g. "new_stripecustomerid". Required. URL: key.
	KeyColumn string
	// EventTimeColumn is the logical name of the Date and Time column that holds the Stripe
	// event's "created" of the event that last wrote the row, e.g. "new_stripeeventcreated".
	// Required. URL: eventtime.
	EventTimeColumn string
	// EventIDColumn, if set, is the logical name of a text column (100 characters or more) that
	// holds "<event id> <event type>" of the event that last wrote the row (with its action and
	// nanoseconds for a source other than Stripe). With it, events created in the same second
	// are ordered exactly as sink.Version orders them and a redelivery costs one read; see the
	// package documentation. URL: eventid.
	EventIDColumn string
	// EntitySet is the entity set (the table's plural logical name) rows are written to.
	// Default "contacts". URL: entityset.
	EntitySet string
	// Mode is Upsert (default) or CreateOnly. URL: mode=upsert|createonly.
	Mode Mode
	// Delete is what events that delete their subject do: Deactivate (default) or HardDelete.
	// URL: delete=deactivate|hard.
	Delete DeleteMode
	// Map turns an event into the column values to write. Nil means [MapCustomer]. The sink
	// adds the key, event-time and event-id columns (overriding any the function returns) and,
	// for deactivations, statecode and statuscode. A Map error is Permanent.
	Map func(ev hookline.Event) (map[string]any, error)
	// MaxConcurrency bounds the sink's requests in flight, 1 to 52. Default 16. The sink lowers
	// its own limit below this when Dataverse throttles it. URL: concurrency.
	MaxConcurrency int
	// BatchSize is how many operations (reads, writes) one $batch request carries at most,
	// 1 to 1000; 1 sends every operation as a request of its own. Default [DefaultBatchSize].
	// A batch counts as one request against Dataverse's limit of 6,000 per 5 minutes, its
	// operations' execution time against the 1,200 s. URL: batch.
	BatchSize int
	// CacheRows is how many rows' ETags and versions the sink remembers, so that the next event
	// for such a row is one conditional write without a read. Default [DefaultCacheRows];
	// negative disables the memory (every write reads first).
	CacheRows int
	// Bypass sends Dataverse's optional parameters that skip custom business logic for the
	// sink's writes: none by default. See the package documentation (# Bypassing business
	// logic) for the privilege each needs. URL: bypass=sync,async,flows (any of them).
	Bypass Bypass
	// Endpoint, if set, is the base URL requests go to instead of https://<host>, for a proxy or
	// a test double. It must be https, or http to a loopback address. Tokens are still requested
	// for the host of the dataverse:// URL. URL: endpoint.
	Endpoint string
	// HTTPClient sends the requests. Nil means a client with a 2-minute timeout that keeps
	// enough idle connections for MaxConcurrency and does not follow redirects.
	HTTPClient *http.Client
	// Credential gets Microsoft Entra ID tokens. Nil means Token, else the environment variable
	// DATAVERSE_TOKEN, else azidentity.NewDefaultAzureCredential (AZURE_TENANT_ID,
	// AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, workload identity, managed identity, Azure CLI ...).
	Credential azcore.TokenCredential
	// Token is a static bearer token, for development. It is never refreshed.
	Token string
	// Logger receives debug records of decisions and warnings about throttling. Nil means
	// silence. Tokens are never logged.
	Logger *slog.Logger
	// Now is the clock, for tests. Nil means time.Now.
	Now func() time.Time
}

func init() {
	sink.Register("dataverse", func(ctx context.Context, u *url.URL) (sink.Sink, error) {
		s, err := openURL(ctx, u, nil)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// Open opens a sink for the Dataverse environment rawURL names, for example
// dataverse://org.crm.dynamics.com?key=new_stripecustomerid&eventtime=new_stripeeventcreated
// (see the package documentation for the parameters). It makes no request: the first Write gets
// a token and writes.
func Open(ctx context.Context, rawURL string, opts *Options) (*Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("dataverse: cannot parse URL: %w", err)
	}
	return openURL(ctx, u, opts)
}

func openURL(_ context.Context, u *url.URL, opts *Options) (*Sink, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if !strings.EqualFold(u.Scheme, "dataverse") {
		return nil, fmt.Errorf("dataverse: URL scheme %q, want dataverse://", u.Scheme)
	}
	if u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.Opaque != "" {
		return nil, fmt.Errorf("dataverse: URL %q must be dataverse://<org host>?key=...&eventtime=...", u.Redacted())
	}
	if err := applyQuery(&o, u.Query()); err != nil {
		return nil, err
	}
	defaultMap := o.Map == nil
	if err := resolve(&o); err != nil {
		return nil, err
	}
	if o.Credential == nil && o.Token == "" {
		if tok := os.Getenv(EnvToken); tok != "" {
			o.Token = tok
		} else {
			cred, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, fmt.Errorf("dataverse: no credential: set %s, or AZURE_TENANT_ID, AZURE_CLIENT_ID and "+
					"AZURE_CLIENT_SECRET, or run with a managed identity: %w", EnvToken, err)
			}
			o.Credential = cred
		}
	}
	s, err := newSink(u.Hostname(), u.Host, o)
	if err != nil {
		return nil, err
	}
	s.defaultMap = defaultMap
	return s, nil
}

// applyQuery copies URL query parameters onto o; unknown ones are an error.
func applyQuery(o *Options, q url.Values) error {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		if len(q[name]) > 1 {
			return fmt.Errorf("dataverse: URL parameter %q given %d times", name, len(q[name]))
		}
		v := q.Get(name)
		var err error
		switch name {
		case "key":
			o.KeyColumn = v
		case "eventtime":
			o.EventTimeColumn = v
		case "eventid":
			o.EventIDColumn = v
		case "entityset":
			o.EntitySet = v
		case "endpoint":
			o.Endpoint = v
		case "mode":
			o.Mode, err = parseMode(v)
		case "delete":
			o.Delete, err = parseDelete(v)
		case "concurrency":
			o.MaxConcurrency, err = strconv.Atoi(v)
			if err != nil {
				err = fmt.Errorf("dataverse: concurrency=%q is not a whole number", v)
			}
		case "batch":
			o.BatchSize, err = strconv.Atoi(v)
			if err != nil {
				err = fmt.Errorf("dataverse: batch=%q is not a whole number", v)
			}
		case "bypass":
			o.Bypass, err = parseBypass(v)
		default:
			return fmt.Errorf("dataverse: unknown URL parameter %q (known: batch, bypass, concurrency, delete, "+
				"endpoint, entityset, eventid, eventtime, key, mode)", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseMode(v string) (Mode, error) {
	switch v {
	case "upsert":
		return Upsert, nil
	case "createonly":
		return CreateOnly, nil
	}
	return 0, fmt.Errorf("dataverse: mode=%q, want upsert or createonly", v)
}

func parseDelete(v string) (DeleteMode, error) {
	switch v {
	case "deactivate":
		return Deactivate, nil
	case "hard":
		return HardDelete, nil
	}
	return 0, fmt.Errorf("dataverse: delete=%q, want deactivate or hard", v)
}

var logicalName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolve checks o and fills in defaults.
func resolve(o *Options) error {
	if o.EntitySet == "" {
		o.EntitySet = DefaultEntitySet
	}
	if o.KeyColumn == "" || o.EventTimeColumn == "" {
		return fmt.Errorf("dataverse: the key column (key=) and the event-time column (eventtime=) are required")
	}
	for _, n := range []struct{ what, v string }{
		{"key", o.KeyColumn}, {"eventtime", o.EventTimeColumn}, {"entityset", o.EntitySet}, {"eventid", o.EventIDColumn},
	} {
		if n.v != "" && !logicalName.MatchString(n.v) {
			return fmt.Errorf("dataverse: %s=%q is not a logical name (letters, digits and _)", n.what, n.v)
		}
	}
	switch {
	case o.MaxConcurrency == 0:
		o.MaxConcurrency = DefaultMaxConcurrency
	case o.MaxConcurrency < 0 || o.MaxConcurrency > MaxConcurrencyLimit:
		return fmt.Errorf("dataverse: concurrency %d out of range 1..%d", o.MaxConcurrency, MaxConcurrencyLimit)
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultBatchSize
	case o.BatchSize < 0 || o.BatchSize > MaxBatchSize:
		return fmt.Errorf("dataverse: batch %d out of range 1..%d", o.BatchSize, MaxBatchSize)
	}
	if o.CacheRows == 0 {
		o.CacheRows = DefaultCacheRows
	}
	if o.Bypass&^(BypassSync|BypassAsync|BypassFlows) != 0 {
		return fmt.Errorf("dataverse: unknown Bypass %d", o.Bypass)
	}
	if o.Mode != Upsert && o.Mode != CreateOnly {
		return fmt.Errorf("dataverse: unknown Mode %d", o.Mode)
	}
	if o.Delete != Deactivate && o.Delete != HardDelete {
		return fmt.Errorf("dataverse: unknown DeleteMode %d", o.Delete)
	}
	if o.Map == nil {
		o.Map = MapCustomer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// baseURL returns the Web API root for host or the endpoint override, refusing plain http to
// anything but loopback.
func baseURL(hostport, endpoint string) (string, error) {
	if endpoint == "" {
		return "https://" + hostport + "/api/data/v9.2/", nil
	}
	e, err := url.Parse(endpoint)
	if err != nil || e.Host == "" || e.RawQuery != "" || e.Fragment != "" {
		return "", fmt.Errorf("dataverse: endpoint %q is not a base URL like https://host[:port][/path]", redact.String(endpoint))
	}
	if e.User != nil {
		return "", fmt.Errorf("dataverse: endpoint %q carries a user name or password: remove it "+
			"(the sink authenticates with a bearer token: package doc, # Setup)", redact.String(endpoint))
	}
	switch strings.ToLower(e.Scheme) {
	case "https":
	case "http":
		if !isLoopback(e.Hostname()) {
			return "", fmt.Errorf("dataverse: endpoint %q: plain http is allowed only to loopback addresses "+
				"(127.0.0.0/8, ::1, localhost); use https", endpoint)
		}
	default:
		return "", fmt.Errorf("dataverse: endpoint %q: scheme must be https (or http to loopback)", endpoint)
	}
	return strings.TrimSuffix(e.String(), "/") + "/api/data/v9.2/", nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
