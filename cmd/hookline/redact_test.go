package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
)

// password is what every URL of TestNoPasswordIsPrinted carries; no line serve prints may.
const password = "S3cretPw9"

// Every channel and sink scheme is given a URL with a password (in its user info, in a URL
// nested in a query parameter, plainly or percent-encoded, or in the variable a driver reads),
// and every line serve prints (results, logs, the error main prints) is searched for it: while
// it starts, fails to start, serves an event, and stops.
func TestNoPasswordIsPrinted(t *testing.T) {
	closed := "127.0.0.1:1" // nothing listens: connections are refused at once
	nested := "http://acc:" + password + "@" + closed
	// What drivers read from the process's environment themselves. Each is set, so that no SDK
	// looks for credentials elsewhere (an instance metadata address).
	process := map[string]string{
		"RABBIT_SERVER_URL":            "amqp://guest:" + password + "@" + closed + "/",
		"SERVICEBUS_CONNECTION_STRING": "Endpoint=sb://" + closed + "/;SharedAccessKeyName=k;SharedAccessKey=" + password,
		"AWS_ACCESS_KEY_ID":            "x",
		"AWS_SECRET_ACCESS_KEY":        password,
		"PUBSUB_EMULATOR_HOST":         closed,
		"DATAVERSE_TOKEN":              "tok-" + password,
	}
	for k, v := range process {
		t.Setenv(k, v)
	}
	cases := map[string]map[string]string{
		"mem user info":          {"HOOKLINE_CHANNEL": "mem://u:" + password + "@events"},
		"inproc user info":       {"HOOKLINE_CHANNEL": "inproc://u:" + password + "@events"},
		"inproc nested":          {"HOOKLINE_CHANNEL": "inproc://events?endpoint=" + nested},
		"rabbit server URL":      {"HOOKLINE_CHANNEL": "rabbit://events"},
		"rabbitmq server URL":    {"HOOKLINE_CHANNEL": "rabbitmq://events"},
		"rabbitmq nested":        {"HOOKLINE_CHANNEL": "rabbitmq://events?endpoint=" + nested},
		"awssqs endpoint":        {"HOOKLINE_CHANNEL": "awssqs://sqs.us-east-1.localhost/000000000000/events?region=us-east-1&endpoint=" + nested},
		"awssns endpoint":        {"HOOKLINE_CHANNEL": "awssns:///arn:aws:sns:us-east-1:000000000000:events?region=us-east-1&endpoint=" + url.QueryEscape(nested), "HOOKLINE_SUBSCRIPTION": "awssqs://sqs.us-east-1.localhost/000000000000/events?region=us-east-1&endpoint=" + nested},
		"azuresb connection":     {"HOOKLINE_CHANNEL": "azuresb://events"},
		"azuresbqueue nested":    {"HOOKLINE_CHANNEL": "azuresbqueue://events?x=" + nested},
		"gcppubsub nested":       {"HOOKLINE_CHANNEL": "gcppubsub://projects/p/topics/events?x=" + nested},
		"dead letter":            {"HOOKLINE_DEADLETTER": "rabbit://dl"},
		"sqlite user info":       {"HOOKLINE_SINK": "sqlite://u:" + password + "@/tmp/x.db"},
		"sqlite nested":          {"HOOKLINE_SINK": "sqlite://x.db?endpoint=" + nested},
		"postgres running":       {"HOOKLINE_SINK": "postgres://postgres:" + password + "@127.0.0.1:5432/test?sslmode=disable"},
		"postgres refused":       {"HOOKLINE_SINK": "postgres://u:" + password + "@" + closed + "/x?sslmode=disable"},
		"postgres param":         {"HOOKLINE_SINK": "postgres://u@" + closed + "/x?sslpassword=" + password},
		"dataverse endpoint":     {"HOOKLINE_SINK": "dataverse://org.crm.dynamics.com?key=k&eventtime=e&endpoint=" + nested},
		"dataverse encoded":      {"HOOKLINE_SINK": "dataverse://org.crm.dynamics.com?key=k&eventtime=e&endpoint=" + url.QueryEscape(nested)},
		"dataverse token":        {"HOOKLINE_SINK": "dataverse://org.crm.dynamics.com?key=k&eventtime=e&endpoint=http://" + closed},
		"stdout user info":       {"HOOKLINE_SINK": "stdout://u:" + password + "@x"},
		"discard nested":         {"HOOKLINE_SINK": "discard://?endpoint=" + nested},
		"webhook secret":         {"STRIPE_WEBHOOK_SECRET": "whsec_" + password},
		"console token, API key": {"HOOKLINE_CONSOLE_TOKEN": password + "-0123456789", "STRIPE_API_KEY": "sk_test_" + password},
	}
	// The cases run at once (each takes up to a few seconds of retries), each on a channel of
	// its own: in-process channels are shared by the whole test binary.
	var wg sync.WaitGroup
	var mu sync.Mutex
	i := 0
	for name, vars := range cases {
		i++
		env := map[string]string{"HOOKLINE_CHANNEL": fmt.Sprintf("inproc://redact-test-%d", i), "HOOKLINE_SINK": "discard://",
			"STRIPE_WEBHOOK_SECRET": "whsec_redact_test"}
		maps.Copy(env, vars)
		getenv := func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return os.Getenv(k)
		}
		wg.Go(func() {
			printed, err := serveOnce(getenv, env["STRIPE_WEBHOOK_SECRET"])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if strings.Contains(printed, password) {
				t.Errorf("%s: serve printed the password:\n%s", name, printed)
			}
			if testing.Verbose() {
				t.Logf("%s: serve printed:\n%s", name, printed)
			}
		})
	}
	wg.Wait()
}

// serveOnce runs serve with getenv until it stops by itself or, once it listens, until it has
// answered one event signed with secret and had a moment to process it; it returns everything
// serve printed, with its error as main prints it.
func serveOnce(getenv func(string) string, secret string) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, log syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, getenv, &out, &log) }()
	listening := regexp.MustCompile(`webhook=(http://[^ ]+/webhook)`)
	var err, failed error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err = <-done:
		default:
			if m := listening.FindStringSubmatch(log.String()); m != nil {
				postSigned(m[1], secret)
				time.Sleep(500 * time.Millisecond) // what the consumer logs of it, if anything
			} else if time.Now().Before(deadline) {
				continue
			} else {
				failed = errors.New("serve neither failed nor listened within 20s")
			}
			cancel()
			err = <-done
		}
		break
	}
	printed := out.String() + log.String()
	if err != nil {
		printed += "hookline: " + err.Error() + "\n"
	}
	return printed, failed
}

// postSigned posts a sample event signed with secret to the webhook, whatever it answers.
func postSigned(webhook, secret string) {
	body := stripehook.SampleEvent("customer.updated", "cus_redact", time.Now())
	req, _ := http.NewRequest(http.MethodPost, webhook, bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, secret, time.Now()))
	if resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req); err == nil {
		resp.Body.Close()
	}
}
