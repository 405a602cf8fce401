package stripehook

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/internal/sampleid"
)

// Sign returns a Stripe-Signature header value for payload signed with secret at time t, as Stripe
// computes it (t=<unix seconds>,v1=<hex HMAC-SHA256>). It is for tests and sample senders.
func Sign(payload []byte, secret string, t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: t, Scheme: "v1",
	}).Header
}

// SampleEvent returns a realistic Stripe event of type typ, about 2 KB of pretty-printed JSON,
// for a test-mode customer with id objectID created at created, at API version 2023-10-16. The
// event id and the other values are derived from the arguments, so the same arguments give the
// same bytes and different ones different event ids. data.object is always a customer, whatever
// typ says. It is for tests, the local example's sample sender and load generators.
func SampleEvent(typ, objectID string, created time.Time) []byte {
	key := typ + "\x00" + objectID + "\x00" + strconv.FormatInt(created.UnixNano(), 10)
	n := created.Unix()
	seq := int64(sampleid.Sum(key)[0]) + 1
	ev := sampleEvent{
		ID:         "evt_" + sampleid.Token(key, "event", 24),
		Object:     "event",
		APIVersion: stripe.APIVersion,
		Created:    n,
		Data: sampleData{PreviousAttributes: previous(typ), Object: sampleCustomer{
			ID:     objectID,
			Object: "customer",
			Address: sampleAddress{
				City: "San Francisco", Country: "US", Line1: "510 Townsend St",
				Line2: "Suite " + strconv.FormatInt(seq, 10), PostalCode: "94103", State: "CA",
			},
			Created:       n,
			Currency:      "usd",
			Description:   "Customer created by the hookline sample sender",
			Email:         "jenny.rosen+" + strings.ToLower(sampleid.Token(key, "email", 8)) + "@example.com",
			InvoicePrefix: strings.ToUpper(sampleid.Token(key, "prefix", 8)),
			InvoiceSettings: sampleInvoiceSettings{
				CustomFields: nil, DefaultPaymentMethod: nil, Footer: nil, RenderingOptions: nil,
			},
			Metadata: map[string]string{
				"account_manager": "alex.morgan@example.com",
				"crm_id":          "CRM-" + sampleid.Token(key, "crm", 10),
				"order_id":        strconv.FormatInt(6700+seq, 10),
				"plan":            "growth",
				"region":          "us-west",
				"signup_channel":  "web",
			},
			Name:                "Jenny Rosen",
			NextInvoiceSequence: seq,
			Phone:               "+14155550" + strconv.FormatInt(100+seq, 10),
			PreferredLocales:    []string{"en"},
			Shipping: sampleShipping{
				Address: sampleAddress{
					City: "San Francisco", Country: "US", Line1: "510 Townsend St",
					PostalCode: "94103", State: "CA",
				},
				Name:  "Jenny Rosen",
				Phone: "+14155550100",
			},
			TaxExempt: "none",
		}},
		PendingWebhooks: 1,
		Request: sampleRequest{
			ID:             "req_" + sampleid.Token(key, "request", 14),
			IdempotencyKey: uuidLike(key),
		},
		Type: typ,
	}
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		panic("stripehook: SampleEvent: " + err.Error()) // cannot happen: fixed types
	}
	return b
}

type sampleEvent struct {
	ID              string        `json:"id"`
	Object          string        `json:"object"`
	Account         string        `json:"account,omitempty"`
	APIVersion      string        `json:"api_version"`
	Created         int64         `json:"created"`
	Data            sampleData    `json:"data"`
	Livemode        bool          `json:"livemode"`
	PendingWebhooks int64         `json:"pending_webhooks"`
	Request         sampleRequest `json:"request"`
	Type            string        `json:"type"`
}

type sampleData struct {
	Object             sampleCustomer    `json:"object"`
	PreviousAttributes map[string]string `json:"previous_attributes,omitempty"`
}

// previous returns data.previous_attributes for an "*.updated" event, as Stripe sends it.
func previous(typ string) map[string]string {
	if !strings.HasSuffix(typ, ".updated") {
		return nil
	}
	return map[string]string{"email": "jenny.rosen@example.com", "name": "Jenny R."}
}

type sampleRequest struct {
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotency_key"`
}

type sampleCustomer struct {
	ID                  string                `json:"id"`
	Object              string                `json:"object"`
	Address             sampleAddress         `json:"address"`
	Balance             int64                 `json:"balance"`
	Created             int64                 `json:"created"`
	Currency            string                `json:"currency"`
	DefaultSource       *string               `json:"default_source"`
	Delinquent          bool                  `json:"delinquent"`
	Description         string                `json:"description"`
	Discount            *string               `json:"discount"`
	Email               string                `json:"email"`
	InvoicePrefix       string                `json:"invoice_prefix"`
	InvoiceSettings     sampleInvoiceSettings `json:"invoice_settings"`
	Livemode            bool                  `json:"livemode"`
	Metadata            map[string]string     `json:"metadata"`
	Name                string                `json:"name"`
	NextInvoiceSequence int64                 `json:"next_invoice_sequence"`
	Phone               string                `json:"phone"`
	PreferredLocales    []string              `json:"preferred_locales"`
	Shipping            sampleShipping        `json:"shipping"`
	TaxExempt           string                `json:"tax_exempt"`
	TestClock           *string               `json:"test_clock"`
}

type sampleAddress struct {
	City       string `json:"city"`
	Country    string `json:"country"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
}

type sampleInvoiceSettings struct {
	CustomFields         *string `json:"custom_fields"`
	DefaultPaymentMethod *string `json:"default_payment_method"`
	Footer               *string `json:"footer"`
	RenderingOptions     *string `json:"rendering_options"`
}

type sampleShipping struct {
	Address sampleAddress `json:"address"`
	Name    string        `json:"name"`
	Phone   string        `json:"phone"`
}

// uuidLike derives a version-4-shaped UUID string from key, as Stripe's dashboard and SDKs send
// for idempotency keys.
func uuidLike(key string) string {
	const hexdigits = "0123456789abcdef"
	h := sampleid.Sum("idempotency\x00" + key)
	var b strings.Builder
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b.WriteByte('-')
		}
		c := h[i]
		switch i {
		case 6:
			c = c&0x0f | 0x40
		case 8:
			c = c&0x3f | 0x80
		}
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&0x0f])
	}
	return b.String()
}
