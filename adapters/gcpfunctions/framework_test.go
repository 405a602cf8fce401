package gcpfunctions_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
)

// The Functions Framework keeps one global registry and its server cannot be stopped, so the test
// binary starts it once, in TestMain, with three functions that forward to whatever the running
// test installed with [serve]. Tests that use it do not run in parallel.
const (
	fnWebhook = "TestWebhook" // HTTP function: a *gcpfunctions.Webhook
	fnProcess = "TestProcess" // CloudEvent function: a *gcpfunctions.Processor's HandleCloudEvent
	fnPush    = "TestPush"    // HTTP function: a *gcpfunctions.Processor's ServeHTTP
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
	// With FUNCTION_TARGET set the framework would serve only that function, at "/".
	os.Unsetenv("FUNCTION_TARGET")
	functions.HTTP(fnWebhook, forwardHTTP(fnWebhook))
	functions.HTTP(fnPush, forwardHTTP(fnPush))
	functions.CloudEvent(fnProcess, forwardCloudEvent)
	url, err := startFramework()
	if err != nil {
		fmt.Fprintln(os.Stderr, "functions framework:", err)
		os.Exit(1)
	}
	frameworkURL = url
	os.Exit(m.Run())
}

// startFramework runs funcframework.StartHostPort on a free loopback port and waits until it
// answers. The port is found by listening on :0 and closing, so another process may take it in
// between: then it tries another.
func startFramework() (string, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		failed := make(chan error, 1)
		go func() { failed <- funcframework.StartHostPort("127.0.0.1", port) }()
		addr := net.JoinHostPort("127.0.0.1", port)
		if lastErr = waitListening(addr, failed); lastErr == nil {
			return "http://" + addr, nil
		}
	}
	return "", lastErr
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func waitListening(addr string, failed <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-failed:
			return err
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after 10s", addr)
}
