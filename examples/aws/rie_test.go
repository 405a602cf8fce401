package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// This file runs the example under AWS's Lambda runtime interface emulator (aws-lambda-rie,
// installed by scripts/install-lambda-rie.sh): the real Lambda Runtime API, driving the real
// aws-lambda-go runtime loop in the built binary, as on provided.al2023.

// rieBinary returns the installed aws-lambda-rie, from ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin
// or PATH.
func rieBinary() (string, error) {
	tools := os.Getenv("HOOKLINE_TOOLS")
	if tools == "" {
		if home, err := os.UserHomeDir(); err == nil {
			tools = filepath.Join(home, ".cache", "hookline-tools")
		}
	}
	p := filepath.Join(tools, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return exec.LookPath("aws-lambda-rie")
}

// buildExample builds this package into a temporary directory, as "bootstrap" (the name the
// provided.al2023 runtime runs).
func buildExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// rie is one running emulator with one function.
type rie struct {
	cmd    *exec.Cmd
	addr   string
	out    *lockedBuffer
	exited chan struct{}
}

// startRIE runs bootstrap under the emulator, listening on a free port of 127.0.0.1, with env
// added to this process's environment, and stops it when t ends.
func startRIE(t *testing.T, rieBin, bootstrap string, env ...string) *rie {
	t.Helper()
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rieBin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr,
		"--log-level", "warn", bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), append([]string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60"}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the bootstrap is its child: stop both
	r := &rie{cmd: cmd, addr: addr, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	go func() { cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", r.out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for testenv.Dial(addr) != nil {
		select {
		case <-r.exited:
			t.Fatalf("aws-lambda-rie exited: %s", r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie does not listen on %s: %s", addr, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

// invoke calls the function once, as Lambda's Invoke API does, and returns the emulator's status
// and the function's response. The emulator handles one invocation at a time: callers invoke
// serially.
func (r *rie) invoke(t *testing.T, payload []byte) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 90 * time.Second}
	resp, err := c.Post("http://"+r.addr+"/2015-03-31/functions/function/invocations", "application/json",
		bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return resp.StatusCode, out
}

// invokeOK is invoke for an invocation that must succeed.
func (r *rie) invokeOK(t *testing.T, payload []byte) []byte {
	t.Helper()
	status, out := r.invoke(t, payload)
	if status != http.StatusOK {
		t.Fatalf("invoke: %d %s", status, out)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// lockedBuffer collects the output of the emulator and the function.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 256<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
