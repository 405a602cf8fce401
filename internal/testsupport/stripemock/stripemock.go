// Package stripemock runs Stripe's stripe-mock (github.com/stripe/stripe-mock) for tests that
// check the shape of the requests hookline sends to Stripe's API.
//
// stripe-mock is Stripe's own server generated from Stripe's OpenAPI spec. It validates every
// request against the spec (an unknown parameter, a string where an array belongs or "maybe"
// for a boolean answers 400 "Request validation error: ...") but keeps no state: a list answers
// one fixture object whatever the filters and cursors, and any sk_test_ key of three parts
// ([Key]) is accepted. Use it to prove stripe-go sends what Stripe accepts, and the in-repo
// double internal/testsupport/stripeapi for behaviour (pagination, filters, 429s). It is a test
// tool only.
//
// scripts/install-stripe-mock.sh installs the pinned [Version] with `go install` into
// ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin. [Start] finds it there, at the path in
// HOOKLINE_STRIPE_MOCK, or on PATH; when it is missing the test is skipped, or failed in CI (see
// internal/testsupport/testenv). v0.203.0 validates against the spec of API version
// 2026-08-26.dahlia, newer than the 2023-10-16 stripe-go v76 pins; the list parameters hookline
// sends are the same in both.
//
// Each [Start] runs its own process listening on 127.0.0.1 only (-http-addr 127.0.0.1:0, and
// -https-addr 127.0.0.1:0 because stripe-mock would otherwise also open HTTPS on every
// interface), reads the port it chose from its output, and kills it when the test ends.
package stripemock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// Version is the stripe-mock version scripts/install-stripe-mock.sh pins.
const Version = "v0.203.0"

// Key is a secret key stripe-mock accepts: it takes any key of the form sk_test_X.
const Key = "sk_test_123"

// EnvBinary names the environment variable that overrides where the binary is.
const EnvBinary = "HOOKLINE_STRIPE_MOCK"

// Binary returns the stripe-mock to run: $HOOKLINE_STRIPE_MOCK, else the one
// scripts/install-stripe-mock.sh installed, else stripe-mock on PATH. It reports an error when
// none is there, or when the installed one is stamped with a version other than [Version].
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		return p, nil
	}
	dir := toolsBin()
	p := filepath.Join(dir, "stripe-mock")
	if _, err := os.Stat(p); err == nil {
		stamp, err := os.ReadFile(filepath.Join(dir, "stripe-mock.version"))
		if v := strings.TrimSpace(string(stamp)); err == nil && v != Version {
			return "", fmt.Errorf("%s is stripe-mock %s, want %s", p, v, Version)
		}
		return p, nil
	}
	return exec.LookPath("stripe-mock")
}

// toolsBin is ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin.
func toolsBin() string {
	if d := os.Getenv("HOOKLINE_TOOLS"); d != "" {
		return filepath.Join(d, "bin")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hookline-tools", "bin")
	}
	return filepath.Join(home, ".cache", "hookline-tools", "bin")
}

// Start runs stripe-mock on a free port of 127.0.0.1, waits until it answers, and returns its
// base URL (http://127.0.0.1:PORT, for stripe-go's BackendConfig.URL). It kills stripe-mock when
// t ends, and skips t (fails it in CI) when stripe-mock is not installed.
func Start(t testing.TB) (baseURL string) {
	t.Helper()
	bin, err := Binary()
	testenv.Require(t, "stripe-mock (run scripts/install-stripe-mock.sh)", err)
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &testenv.Buffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stripemock: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("stripemock: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.Write(append(sc.Bytes(), '\n'))
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		baseURL = "http://" + a
	case <-exited:
		t.Fatalf("stripemock: stripe-mock exited: %s", out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("stripemock: stripe-mock did not listen within 60s: %s", out.String())
	}
	if err := waitAnswering(baseURL, 30*time.Second); err != nil {
		t.Fatalf("stripemock: %v: %s", err, out.String())
	}
	return baseURL
}

// waitAnswering polls baseURL until stripe-mock answers an HTTP request.
func waitAnswering(baseURL string, within time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	for {
		req, err := http.NewRequest(http.MethodGet, baseURL+"/v1/events?limit=1", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+Key)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stripe-mock at %s does not answer: %w", baseURL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
