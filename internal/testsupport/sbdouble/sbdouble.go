// Package sbdouble runs a test double of Azure Service Bus: a small AMQP 1.0 server written in
// Node.js on the npm library rhea (double.js, entities.js and control.js in this directory,
// embedded in the package), which the azservicebus SDK, and so gocloud's azuresb driver, talk
// to as if it were a namespace.
//
// The double follows Microsoft's "AMQP 1.0 in Azure Service Bus and Event Hubs protocol guide"
// (entity paths, peek-lock with lock tokens, dispositions), "AMQP 1.0 in Service Bus:
// request-response-based operations" (the $management node: renew-lock, update-disposition),
// "Claims-based authorization" (any $cbs put-token is accepted), "Message transfers, locks, and
// settlement", "Service Bus dead-letter queues" and "Duplicate detection". It implements queues,
// topics and subscriptions, each with a $DeadLetterQueue; complete, abandon (delivery count + 1),
// release, defer and dead-letter; lock expiry (delivery count + 1); MaxDeliveryCount; duplicate
// detection on MessageId; message id, session id, application properties and the body are kept.
// It does not implement sessions (a session receiver is refused), transactions, peek, TTL
// expiry or auto-forwarding. Application property values other than strings may come back
// re-typed (an int32 as a uint32, say): rhea decodes them to JavaScript values.
//
// The SDK reaches it over plain AMQP with the Service Bus emulator's connection-string flag,
// UseDevelopmentEmulator=true, which azservicebus honours from v1.7 on (amqp:// instead of
// amqps://, SASL ANONYMOUS, the port of the endpoint). Entities are created through the double's
// HTTP control API ([Double.CreateQueue] and friends), standing in for the management API.
//
// Install rhea with scripts/install-rhea.sh; the double needs node (18 or later) on PATH.
package sbdouble

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

//go:embed double.js entities.js control.js
var scripts embed.FS

// Options configure the double. Zero values mean the defaults given per field.
type Options struct {
	// LockDuration is the default lock duration of new entities. Default 60s (Service Bus's).
	LockDuration time.Duration
	// MaxDeliveryCount is the default of new entities. Default 10 (Service Bus's).
	MaxDeliveryCount int
	// Verbose copies the double's debug log to the test log.
	Verbose bool
}

// Double is a running Service Bus test double.
type Double struct {
	// ConnectionString connects the azservicebus SDK (and gocloud's azuresb through
	// SERVICEBUS_CONNECTION_STRING) to the double.
	ConnectionString string
	api              string    // base URL of the control API
	stdin            io.Closer // kept referenced: the double exits when it is closed
}

// RheaDir returns the directory that holds node_modules/rhea: HOOKLINE_RHEA_DIR, else
// ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/rhea, as scripts/install-rhea.sh uses.
func RheaDir() string {
	if d := os.Getenv("HOOKLINE_RHEA_DIR"); d != "" {
		return d
	}
	tools := os.Getenv("HOOKLINE_TOOLS")
	if tools == "" {
		home, _ := os.UserHomeDir()
		tools = filepath.Join(home, ".cache", "hookline-tools")
	}
	return filepath.Join(tools, "rhea")
}

// Available reports why the double cannot run here (node or rhea missing), or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("sbdouble: node not found: %w", err)
	}
	if _, err := os.Stat(filepath.Join(RheaDir(), "node_modules", "rhea", "package.json")); err != nil {
		return fmt.Errorf("sbdouble: rhea not installed in %s: %w", RheaDir(), err)
	}
	return nil
}

// Start launches the double for the duration of t. When node or rhea is missing it skips t
// (fails it in CI) through testenv.Require.
func Start(t testing.TB, opts *Options) *Double {
	t.Helper()
	testenv.Require(t, "Service Bus double (run scripts/install-rhea.sh)", Available())
	if opts == nil {
		opts = &Options{}
	}
	dir := t.TempDir()
	if err := writeScripts(dir); err != nil {
		t.Fatal(err)
	}
	d, err := start(t, dir, opts)
	if err != nil {
		t.Fatalf("sbdouble: %v", err)
	}
	return d
}

var shared struct {
	sync.Mutex
	d *Double
}

// Shared returns a double that lives as long as the test process (it exits when the process
// does), starting it on first use with opts, and points SERVICEBUS_CONNECTION_STRING at it:
// gocloud's azuresb URL opener reads that variable once per process, so every azuresb:// URL in
// a test binary must reach the same namespace. Use fresh entity names per test. When node or
// rhea is missing it skips t (fails it in CI).
func Shared(t testing.TB, opts *Options) *Double {
	t.Helper()
	testenv.Require(t, "Service Bus double (run scripts/install-rhea.sh)", Available())
	shared.Lock()
	defer shared.Unlock()
	if shared.d != nil {
		return shared.d
	}
	if opts == nil {
		opts = &Options{}
	}
	dir, err := os.MkdirTemp("", "sbdouble")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeScripts(dir); err != nil {
		t.Fatal(err)
	}
	d, err := start(nil, dir, opts)
	if err != nil {
		t.Fatalf("sbdouble: %v", err)
	}
	os.Setenv("SERVICEBUS_CONNECTION_STRING", d.ConnectionString)
	shared.d = d
	return d
}

func writeScripts(dir string) error {
	for _, name := range []string{"double.js", "entities.js", "control.js"} {
		b, _ := scripts.ReadFile(name)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// start runs the double from dir. With t nil it lives as long as the process and logs to
// stderr; else it is stopped at t's cleanup and logs to t.
func start(t testing.TB, dir string, opts *Options) (*Double, error) {
	args := []string{filepath.Join(dir, "double.js")}
	if opts.LockDuration > 0 {
		args = append(args, "--lock-ms", fmt.Sprint(opts.LockDuration.Milliseconds()))
	}
	if opts.MaxDeliveryCount > 0 {
		args = append(args, "--max-delivery-count", fmt.Sprint(opts.MaxDeliveryCount))
	}
	if opts.Verbose {
		args = append(args, "--verbose")
	}
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(RheaDir(), "node_modules"))
	stdin, err := cmd.StdinPipe() // the double exits when this closes
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &testLog{t: t}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if t != nil {
		t.Cleanup(func() { stop(cmd, stdin, logs) })
	}
	ports, err := readReady(stdout)
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("double did not start: %w (stderr: %s)", err, logs.String())
	}
	return &Double{
		ConnectionString: fmt.Sprintf("Endpoint=sb://127.0.0.1:%d;SharedAccessKeyName=RootManageSharedAccessKey;"+
			"SharedAccessKey=double-key;UseDevelopmentEmulator=true", ports.AMQP),
		api:   fmt.Sprintf("http://127.0.0.1:%d", ports.HTTP),
		stdin: stdin,
	}, nil
}

// stop closes the double's stdin, which makes it exit, and kills it if it has not within 5s.
func stop(cmd *exec.Cmd, stdin io.Closer, logs *testLog) {
	stdin.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	logs.stop()
}

type readyLine struct {
	AMQP int `json:"amqp"`
	HTTP int `json:"http"`
}

func readReady(stdout io.Reader) (readyLine, error) {
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	var r readyLine
	select {
	case line, ok := <-lines:
		if !ok {
			return r, errors.New("exited before it was ready")
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.AMQP == 0 || r.HTTP == 0 {
			return r, fmt.Errorf("unexpected ready line %q", line)
		}
		return r, nil
	case <-time.After(15 * time.Second):
		return r, errors.New("not ready within 15s")
	}
}

// testLog forwards the double's stderr to the test log until the test ends, and keeps the
// beginning of it for start-up errors.
type testLog struct {
	mu      sync.Mutex
	t       testing.TB
	done    bool
	prefix  bytes.Buffer
	partial string
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prefix.Len() < 4096 {
		l.prefix.Write(p)
	}
	l.partial += string(p)
	for {
		i := strings.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		switch {
		case l.t == nil:
			fmt.Fprintln(os.Stderr, l.partial[:i])
		case !l.done:
			l.t.Log(l.partial[:i])
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *testLog) stop() { l.mu.Lock(); l.done = true; l.mu.Unlock() }

func (l *testLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.prefix.String() }

// EntityOptions are the properties of a queue or subscription (MaxDeliveryCount,
// LockDuration, RequiresSession) or of a queue or topic (DuplicateDetection). Zero values mean
// the double's defaults.
type EntityOptions struct {
	LockDuration       time.Duration
	MaxDeliveryCount   int
	DuplicateDetection time.Duration // window; zero: off
	RequiresSession    bool
}

func (o *EntityOptions) body() map[string]any {
	m := map[string]any{}
	if o == nil {
		return m
	}
	if o.LockDuration > 0 {
		m["lockDurationMs"] = o.LockDuration.Milliseconds()
	}
	if o.MaxDeliveryCount > 0 {
		m["maxDeliveryCount"] = o.MaxDeliveryCount
	}
	if o.DuplicateDetection > 0 {
		m["duplicateDetectionMs"] = o.DuplicateDetection.Milliseconds()
	}
	if o.RequiresSession {
		m["requiresSession"] = true
	}
	return m
}

// CreateQueue creates a queue (no-op when it exists).
func (d *Double) CreateQueue(ctx context.Context, name string, opts *EntityOptions) error {
	return d.call(ctx, http.MethodPut, "/queues/"+url.PathEscape(name), opts.body(), nil)
}

// CreateTopic creates a topic (no-op when it exists).
func (d *Double) CreateTopic(ctx context.Context, name string, opts *EntityOptions) error {
	return d.call(ctx, http.MethodPut, "/topics/"+url.PathEscape(name), opts.body(), nil)
}

// CreateSubscription creates a subscription of topic (no-op when it exists).
func (d *Double) CreateSubscription(ctx context.Context, topic, name string, opts *EntityOptions) error {
	return d.call(ctx, http.MethodPut, "/topics/"+url.PathEscape(topic)+"/subscriptions/"+url.PathEscape(name), opts.body(), nil)
}

// Delete deletes the entity at path ("queue", "topic", "topic/Subscriptions/sub").
func (d *Double) Delete(ctx context.Context, path string) error {
	return d.call(ctx, http.MethodDelete, "/entities/"+path, nil, nil)
}

// Message describes a message held by an entity of the double.
type Message struct {
	SequenceNumber        int64          `json:"sequenceNumber"`
	State                 string         `json:"state"` // available, locked or deferred
	DeliveryCount         int            `json:"deliveryCount"`
	MessageID             any            `json:"messageId"`
	SessionID             string         `json:"sessionId"`
	ApplicationProperties map[string]any `json:"applicationProperties"`
}

// Messages returns the messages that the entity at path holds, in sequence order. path is a
// receive path: "queue", "topic/Subscriptions/sub", optionally with "/$DeadLetterQueue".
func (d *Double) Messages(ctx context.Context, path string) ([]Message, error) {
	var out struct{ Messages []Message }
	err := d.call(ctx, http.MethodGet, "/entities/"+path, nil, &out)
	return out.Messages, err
}

func (d *Double) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.api+path, rd)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sbdouble: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sbdouble: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
