// Command cmd runs the Cloud Functions of examples/gcp on this machine with the Functions
// Framework, each at its own path:
//
//	http://127.0.0.1:$PORT/StripeWebhook   the Stripe webhook
//	http://127.0.0.1:$PORT/ProcessEvent    the processor, for messagePublished CloudEvents
//	http://127.0.0.1:$PORT/PubSubPush      the processor, for Pub/Sub push requests
//	http://127.0.0.1:$PORT/RecoverEvents   the scheduled recovery, for Cloud Scheduler (POST)
//
// Set FUNCTION_TARGET to one of the names to serve only that function at "/", as Cloud Functions
// does. PORT defaults to 8080; -host 0.0.0.0 listens on every interface (default: loopback only).
// The configuration is read from the environment as in the deployed functions; see the README.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/hookline/hookline/examples/gcp" // registers the functions
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	flag.Parse()
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fmt.Fprintf(os.Stderr, "serving the functions on http://%s:%s/\n", *host, port)
	if err := funcframework.StartHostPort(*host, port); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
