package stripehook

// WebhookIPsURL is where Stripe publishes the source addresses of its webhook deliveries as
// JSON, {"WEBHOOKS":["3.18.12.63", ...]}: the URL to give httpserver's RefreshOptions.
const WebhookIPsURL = "https://stripe.com/files/ips/ips_webhooks.json"

// WebhookIPs returns the source addresses of Stripe's webhook deliveries as documented at
// https://stripe.com/docs/ips ("Webhook notifications"): the list to give httpserver's
// AllowlistOptions.IPs to accept Stripe's deliveries only.
//
// The list was transcribed from that page into this file by hand (list as published in 2024;
// not fetched at build time). Stripe changes it rarely and announces changes, but a stale
// list makes the server refuse Stripe's deliveries with 403: refresh it at run time with
// httpserver's RefreshOptions, or compare it with WebhookIPsURL and update this file before a
// release.
func WebhookIPs() []string {
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
