package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

// Objects maps the object types [Backfill] lists to their list endpoints.
var Objects = map[string]string{
	"customer":         "/v1/customers",
	"product":          "/v1/products",
	"price":            "/v1/prices",
	"payment_intent":   "/v1/payment_intents",
	"charge":           "/v1/charges",
	"invoice":          "/v1/invoices",
	"subscription":     "/v1/subscriptions",
	"checkout.session": "/v1/checkout/sessions",
}

// SnapshotSuffix ends the type of every event [Backfill] makes: "customer.snapshot".
const SnapshotSuffix = ".snapshot"

// snapshotIDPrefix starts the id of every snapshot event. "-" sorts before every character of
// Stripe's ids, so a snapshot loses a same-second tie against any event of its rank (see the
// package documentation, # Backfill).
const snapshotIDPrefix = "evt_-snapshot-"

// BackfillOptions says what [Backfill] lists.
type BackfillOptions struct {
	// Objects names the object types to list, keys of [Objects] ("customer", ...). Required.
	Objects []string
	// DryRun lists and counts the objects but sends nothing.
	DryRun bool
	// Livemode and APIVersion are written into each snapshot event, as Stripe writes them into
	// its events (the sinks keep them as metadata). Default: livemode taken from the key
	// ("sk_live_"/"rk_live_" or not), api version stripe-go's.
	Livemode   *bool
	APIVersion string
	// Progress, when set, is called after each page with the counts so far.
	Progress func(Progress)
}

// Backfill lists every current object of the types opts names (all pages, through the list
// endpoints of Stripe's API) and sends each as a snapshot event, "<object>.snapshot", that the
// sinks store like any other event, under the ordering rule of the package documentation: a
// snapshot never overwrites a record that a newer event already wrote, and any event newer than
// the snapshot overwrites it. Progress counts objects as Listed and Sent.
func Backfill(ctx context.Context, api *client.API, key string, dst emitter.Sender, opts *BackfillOptions) (Result, error) {
	var o BackfillOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Objects) == 0 {
		return Result{}, fmt.Errorf("recovery: backfill: no object types: name some of %s", objectNames())
	}
	for _, kind := range o.Objects {
		if Objects[kind] == "" {
			return Result{}, fmt.Errorf("recovery: backfill: unknown object type %q: want some of %s", kind, objectNames())
		}
	}
	b := &backfill{ctx: ctx, api: api, key: key, dst: dst, opts: o}
	b.livemode = strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
	if o.Livemode != nil {
		b.livemode = *o.Livemode
	}
	if b.apiVersion = o.APIVersion; b.apiVersion == "" {
		b.apiVersion = stripe.APIVersion
	}
	for _, kind := range o.Objects {
		if err := b.list(kind); err != nil {
			return b.res, err
		}
	}
	return b.res, nil
}

func objectNames() string {
	names := make([]string, 0, len(Objects))
	for k := range Objects {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

type backfill struct {
	ctx        context.Context
	api        *client.API
	key        string
	dst        emitter.Sender
	opts       BackfillOptions
	livemode   bool
	apiVersion string
	res        Progress
}

// listParams are the parameters of a list request, as stripe-go's XListParams types hold them.
type listParams struct {
	stripe.ListParams `form:"*"`
	Status            *string `form:"status"`
	// stripe-go's Call looks these two up by name on every params type; they stay empty.
	Expand   []*string         `form:"expand"`
	Metadata map[string]string `form:"metadata"`
}

// rawList is one page of a list endpoint, its objects kept as raw JSON.
type rawList struct {
	stripe.APIResource
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
}

// list lists every object of kind, page by page, and sends each page's objects as snapshots
// taken at the page's time (Stripe's Date header). A 429 is waited out.
func (b *backfill) list(kind string) error {
	after, waits := "", 0
	for {
		params := &listParams{ListParams: stripe.ListParams{Context: b.ctx, Limit: stripe.Int64(100)}}
		if after != "" {
			params.StartingAfter = stripe.String(after)
		}
		if kind == "subscription" {
			params.Status = stripe.String("all") // canceled ones too: the sinks hold them
		}
		var page rawList
		asked := time.Now()
		err := b.api.Customers.B.Call(http.MethodGet, Objects[kind], b.key, params, &page)
		took := time.Since(asked)
		if err != nil {
			if !rateLimited(err) || waits >= maxRateLimitWaits {
				return fmt.Errorf("recovery: backfill: list %s: %w", Objects[kind], err)
			}
			b.res.RateLimited++
			if !sleep(b.ctx, rateLimitPause(waits)) {
				return b.ctx.Err()
			}
			waits++
			continue
		}
		waits = 0
		b.res.Pages++
		at := pageTime(page.LastResponse, took)
		for _, obj := range page.Data {
			id, err := b.send(kind, obj, at)
			if err != nil {
				return err
			}
			after = id
		}
		b.progress()
		if !page.HasMore || len(page.Data) == 0 {
			return nil
		}
	}
}

func (b *backfill) progress() {
	if b.opts.Progress != nil {
		b.opts.Progress(b.res)
	}
}

// pageTime is when Stripe read the page at the earliest: its Date header (Stripe's clock, not
// ours, which may run ahead) less the time the request took, in whole seconds rounded up. A
// snapshot must not claim to be newer than an event Stripe created after it read the objects.
func pageTime(resp *stripe.APIResponse, took time.Duration) time.Time {
	at := time.Now().UTC()
	if resp != nil {
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			at = t.UTC()
		}
	}
	whole := took.Truncate(time.Second)
	if took > whole {
		whole += time.Second
	}
	return at.Truncate(time.Second).Add(-whole)
}

// send wraps obj in a snapshot event taken at and sends it; it returns the object's id.
func (b *backfill) send(kind string, obj json.RawMessage, at time.Time) (string, error) {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(obj, &head); err != nil || head.ID == "" {
		return "", fmt.Errorf("recovery: backfill: a %s without an id", kind)
	}
	b.res.Listed++
	if b.opts.DryRun {
		return head.ID, nil
	}
	body := snapshotEvent(snapshotIDPrefix+head.ID+"-"+strconv.FormatInt(at.Unix(), 10), kind+SnapshotSuffix,
		at.Unix(), b.livemode, b.apiVersion, obj)
	ev, err := stripehook.DecodeUnverified(body, nil)
	if err != nil {
		return "", fmt.Errorf("recovery: backfill: %s %s: %w", kind, head.ID, err)
	}
	if err := b.dst.Send(b.ctx, ev); err != nil {
		return "", fmt.Errorf("recovery: backfill: send %s %s: %w", kind, head.ID, err)
	}
	b.res.Sent++
	return head.ID, nil
}

// snapshotEvent writes a Stripe event envelope around obj, whose bytes it keeps as they are.
func snapshotEvent(id, typ string, created int64, livemode bool, apiVersion string, obj []byte) []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	body := make([]byte, 0, len(obj)+192)
	body = append(body, `{"id":`+q(id)+`,"object":"event","type":`+q(typ)+`,"created":`+strconv.FormatInt(created, 10)+
		`,"livemode":`+strconv.FormatBool(livemode)+`,"api_version":`+q(apiVersion)+`,"data":{"object":`...)
	body = append(body, obj...)
	return append(body, "}}"...)
}
