package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// A channel that refuses the events (a RabbitMQ exchange with no queue bound: NO_ROUTE) makes
// recover exit non-zero, and its last line says what was listed and sent.
func TestRecoverIntoAFailingChannel(t *testing.T) {
	server := rabbittest.Server(t)
	name := rabbittest.Declare(t, server, "hookline-recover-noroute", rabbitsetup.Options{})
	// Leave the exchange without its queue: every publish is unroutable.
	if err := rabbitsetup.Delete(t.Context(), server, "", name); err != nil {
		t.Fatal(err)
	}
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 5 {
		srv.AddEvent(stripeapi.NewEvent("customer.updated", fmt.Sprintf("cus_noroute_%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	out, _, err := runCmd(t, map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(),
		"HOOKLINE_CHANNEL": "rabbitmq://" + name}, "recover", "--since", "2h")
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("recover into an unroutable exchange: err %v", err)
	}
	if !strings.HasPrefix(out, "5 events listed, 0 sent") || !strings.Contains(err.Error(), "was sent") {
		t.Errorf("stdout %q, err %v", out, err)
	}
}
