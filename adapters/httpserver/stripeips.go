package httpserver

// StripeWebhookIPsURL is where Stripe publishes the source addresses of its webhook deliveries as
// JSON, {"WEBHOOKS":["3.18.12.63", ...]}. [RefreshOptions] fetch it by default.
const StripeWebhookIPsURL = "https://stripe.com/files/ips/ips_webhooks.json"

// StripeWebhookIPs returns the source addresses of Stripe's webhook deliveries as documented at
// https://stripe.com/docs/ips ("Webhook notifications"), the list the allowlist uses when
// AllowlistOptions.IPs is nil.
//
// The list was transcribed from that page into this file by hand (list as published in 2024;
// not fetched at build time). Stripe changes it rarely and announces changes, but a stale
// list makes the server refuse Stripe's deliveries with 403: refresh it at run time with
// [RefreshOptions], or compare it with StripeWebhookIPsURL and update this file before a release.
func StripeWebhookIPs() []string {
	return []string{
		"3.18.12.63",
		"3.130.192.231",
		"13.235.14.237",
		"13.235.122.149",
		"18.211.135.69",
		"35.154.171.200",
		"52.15.183.38",
		"54.88.130.119",
		"54.88.130.237",
		"54.187.174.169",
		"54.187.205.235",
		"54.187.216.72",
	}
}
