package gcpfunctions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/hookline/hookline/adapters/gcpfunctions/gcpfunctionstest"
)

// The Functions Framework keeps one global registry and its server cannot be stopped, so the test
// binary starts it once, in TestMain, with four functions that forward to whatever the running
// test installed with [serve]. Tests that use it do not run in parallel.
const (
	fnWebhook = "TestWebhook" // HTTP function: a *gcpfunctions.Webhook
	fnProcess = "TestProcess" // CloudEvent function: a *gcpfunctions.Processor's HandleCloudEvent
	fnPush    = "TestPush"    // HTTP function: a *gcpfunctions.Processor's ServeHTTP
	fnRecover = "TestRecover" // HTTP function: a *gcpfunctions.Recover
)

var (
	frameworkURL string // http://127.0.0.1:port

	targetsMu sync.Mutex
	targets   = map[string]any{}
)

// serve installs h (an http.Handler or a CloudEvent function) as the function name for the
// duration of t.
func serve(t *testing.T, name string, h any) {
	t.Helper()
	targetsMu.Lock()
	defer targetsMu.Unlock()
	if _, busy := targets[name]; busy {
		t.Fatalf("function %s is already served by another test", name)
	}
	targets[name] = h
	t.Cleanup(func() {
		targetsMu.Lock()
		delete(targets, name)
		targetsMu.Unlock()
	})
}

func target(name string) any {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	return targets[name]
}

func forwardHTTP(name string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := target(name).(http.Handler)
		if !ok {
			http.Error(w, "no test serves "+name, http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	}
}

func forwardCloudEvent(ctx context.Context, e event.Event) error {
	fn, ok := target(fnProcess).(func(context.Context, event.Event) error)
	if !ok {
		return errors.New("no test serves " + fnProcess)
	}
	return fn(ctx, e)
}

func TestMain(m *testing.M) {
	functions.HTTP(fnWebhook, forwardHTTP(fnWebhook))
	functions.HTTP(fnPush, forwardHTTP(fnPush))
	functions.HTTP(fnRecover, forwardHTTP(fnRecover))
	functions.CloudEvent(fnProcess, forwardCloudEvent)
	url, err := gcpfunctionstest.StartFramework()
	if err != nil {
		fmt.Fprintln(os.Stderr, "functions framework:", err)
		os.Exit(1)
	}
	frameworkURL = url
	os.Exit(m.Run())
}
