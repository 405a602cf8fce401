package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

// binding is one entry of a function.json bindings array.
type binding struct {
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	Name       string   `json:"name"`
	AuthLevel  string   `json:"authLevel"`
	Methods    []string `json:"methods"`
	Route      string   `json:"route"`
	QueueName  string   `json:"queueName"`
	Connection string   `json:"connection"`
	DataType   string   `json:"dataType"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestDeploymentFiles checks that host.json and the function.json files agree with what the
// handler serves: the executable's name, the forwarding mode, the binding names the adapter
// reads by default, and the paths it serves.
func TestDeploymentFiles(t *testing.T) {
	var host struct {
		Version         string
		ExtensionBundle struct{ ID, Version string }
		CustomHandler   struct {
			Description                 struct{ DefaultExecutablePath string }
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		}
		Extensions struct{ HTTP struct{ RoutePrefix string } }
	}
	readJSON(t, "host.json", &host)
	if host.Version != "2.0" || host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" ||
		host.CustomHandler.Description.DefaultExecutablePath != "handler" || !host.CustomHandler.EnableForwardingHTTPRequest ||
		host.Extensions.HTTP.RoutePrefix != "api" {
		t.Errorf("host.json = %+v", host)
	}

	var webhook, processor struct{ Bindings []binding }
	readJSON(t, filepath.Join("webhook", "function.json"), &webhook)
	readJSON(t, filepath.Join("processor", "function.json"), &processor)
	if len(webhook.Bindings) != 2 {
		t.Fatalf("webhook bindings = %+v", webhook.Bindings)
	}
	in, out := webhook.Bindings[0], webhook.Bindings[1]
	if in.Type != "httpTrigger" || in.Name != "req" || in.AuthLevel != "anonymous" || strings.Join(in.Methods, ",") != "post" ||
		in.Route != "webhook" || out.Type != "http" || out.Direction != "out" || out.Name != "res" {
		t.Errorf("webhook bindings = %+v", webhook.Bindings)
	}
	if len(processor.Bindings) != 1 {
		t.Fatalf("processor bindings = %+v", processor.Bindings)
	}
	if sb := processor.Bindings[0]; sb.Type != "serviceBusTrigger" || sb.Name != "message" || sb.QueueName != "stripe-events" ||
		sb.Connection != "ServiceBusConnection" || sb.DataType != "binary" {
		t.Errorf("processor binding = %+v", sb)
	}

	var local struct{ Values map[string]string }
	readJSON(t, "local.settings.json.example", &local)
	for _, k := range []string{"FUNCTIONS_WORKER_RUNTIME", "ServiceBusConnection", "SERVICEBUS_CONNECTION_STRING",
		"HOOKLINE_CHANNEL", "HOOKLINE_SINK", "HOOKLINE_DEADLETTER", "STRIPE_WEBHOOK_SECRET"} {
		if _, ok := local.Values[k]; !ok {
			t.Errorf("local.settings.json.example lacks %s", k)
		}
	}
	if local.Values["HOOKLINE_CHANNEL"] != "azuresbqueue://"+processor.Bindings[0].QueueName {
		t.Errorf("HOOKLINE_CHANNEL %q is not the processor's queue", local.Values["HOOKLINE_CHANNEL"])
	}
	for k, v := range local.Values {
		if strings.Contains(v, "SharedAccessKey=") && !strings.HasSuffix(v, "SharedAccessKey=...") {
			t.Errorf("%s holds a key", k)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// startApp runs the example as the host would (FUNCTIONS_CUSTOMHANDLER_PORT set) and returns
// its base URL once it listens.
func startApp(t *testing.T, env map[string]string) string {
	base, _ := startAppLogging(t, env)
	return base
}

// startAppLogging is startApp that also returns what the app logs.
func startAppLogging(t *testing.T, env map[string]string) (string, *syncWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncWriter{b: &strings.Builder{}}
	go func() { done <- run(ctx, func(k string) string { return env[k] }, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addr := "127.0.0.1:" + env["FUNCTIONS_CUSTOMHANDLER_PORT"]
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, logs
		}
	}
	t.Fatalf("the handler does not listen on %s", addr)
	return "", nil
}

// A channel URL whose driver this binary does not link (hookline's rabbitmq://) can never work:
// the app says so in its log when it starts, before any delivery, and answers deliveries 500
// "function not configured" rather than 503 as if the broker were down (issue 9).
func TestUnlinkedBrokerIsSaidAtStart(t *testing.T) {
	const secret = "whsec_azure_unlinked"
	base, logs := startAppLogging(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t),
		"HOOKLINE_CHANNEL": "rabbitmq://stripe-events", "HOOKLINE_SINK": "sqlite://" + t.TempDir() + "/x.db",
		"STRIPE_WEBHOOK_SECRET": secret})
	want := "no driver linked into this program serves rabbitmq:// URLs"
	if got := logs.String(); !strings.Contains(got, "azurefunctions: webhook is not configured") || !strings.Contains(got, want) {
		t.Fatalf("startup log does not say the channel cannot work:\n%s", got)
	}
	payload := stripehook.SampleEvent("customer.created", "cus_unlinked", time.Now())
	if status := postForwarded(t, base, payload, secret); status != http.StatusInternalServerError {
		t.Errorf("delivery answered %d, want 500", status)
	}
}

func TestRunNeedsThePort(t *testing.T) {
	err := run(context.Background(), func(string) string { return "" }, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "FUNCTIONS_CUSTOMHANDLER_PORT") {
		t.Fatalf("err = %v", err)
	}
}

// TestFunctionAppEndToEnd runs the example against the Service Bus double: Stripe deliveries in
// both HTTP modes reach the queue; a stand-in for the host's Service Bus trigger receives them
// in peek-lock mode, invokes the processor with the documented payload and completes or
// abandons each message by the answer; the events land in SQLite, and a poison message goes to
// the dead-letter queue.
func TestFunctionAppEndToEnd(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := fmt.Sprintf("stripe-events-%d", time.Now().UnixNano())
	for _, name := range []string{q, q + "-deadletter"} {
		if err := d.CreateQueue(ctx, name, &sbdouble.EntityOptions{MaxDeliveryCount: 20}); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "hookline.db")
	secret := "whsec_azure_example_test"
	base := startApp(t, map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t), "HOOKLINE_CHANNEL": "azuresbqueue://" + q,
		"HOOKLINE_DEADLETTER": "azuresbqueue://" + q + "-deadletter", "HOOKLINE_SINK": "sqlite://" + db,
		"STRIPE_WEBHOOK_SECRET": secret,
	})

	forwarded := stripehook.SampleEvent("customer.created", "cus_fwd", time.Now().Truncate(time.Second))
	if status := postForwarded(t, base, forwarded, secret); status != http.StatusOK {
		t.Fatalf("forwarded delivery: %d", status)
	}
	invoked := stripehook.SampleEvent("customer.created", "cus_inv", time.Now().Truncate(time.Second))
	if status := postInvocation(t, base, invoked, secret); status != "200" {
		t.Fatalf("invocation delivery: res.statusCode %s", status)
	}

	client, err := azservicebus.NewClientFromConnectionString(d.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	trigger(t, ctx, client, base, q, 2, http.StatusOK)
	rows := readSubjects(t, db)
	if rows["cus_fwd"] == "" || rows["cus_inv"] == "" {
		t.Fatalf("SQLite holds %v, want cus_fwd and cus_inv", rows)
	}

	sender, err := client.NewSender(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte("not an event")}, nil); err != nil {
		t.Fatal(err)
	}
	trigger(t, ctx, client, base, q, 1, http.StatusOK)
	dead, err := client.NewReceiverForQueue(q+"-deadletter", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := dead.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("dead-letter queue: %v, %d messages", err, len(msgs))
	}
	if kind := msgs[0].ApplicationProperties[channel.MetaDeadLetterKind]; kind != "undecodable" || string(msgs[0].Body) != "not an event" {
		t.Errorf("dead letter %q, kind %v", msgs[0].Body, kind)
	}
	_ = dead.CompleteMessage(ctx, msgs[0], nil)
}
