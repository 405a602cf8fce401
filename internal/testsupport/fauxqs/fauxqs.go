// Package fauxqs runs the SQS/SNS emulator fauxqs (an npm package) for tests, and creates the
// queues, topics and subscriptions they need through the AWS SDK.
//
// fauxqs speaks the AWS JSON protocol that gocloud.dev/pubsub/awssnssqs (AWS SDK v2) uses for
// SQS, and the query protocol of SNS, on one endpoint. It needs Node.js >= 22.5; both are
// installed, pinned, by scripts/install-fauxqs.sh into
// ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/fauxqs (or HOOKLINE_FAUXQS_DIR). When they are
// missing, [Start] skips the test, or fails it in CI (see internal/testsupport/testenv).
//
// Each [Start] runs its own fauxqs process on a free port of 127.0.0.1 (fauxqs's own command
// line listens on every interface; this package binds it to loopback only), stopped when the
// test ends. Queue URLs look like http://sqs.us-east-1.localhost:PORT/000000000000/NAME; fauxqs
// finds a queue by the region and name in a queue URL and ignores the rest of the host.
//
// # Restarts
//
// [Server.Restart] kills the process and starts a new one on the same port, as a broker outage
// would. What survives depends on [Options.Persist]:
//   - Persist false (the default): state is in memory only. After a restart every queue, topic,
//     subscription and message is gone; a test must create them again.
//   - Persist true: fauxqs writes every change through to SQLite in a temporary directory and
//     loads it on start, so queues, topics, subscriptions and messages (including in-flight ones,
//     with their visibility deadlines) survive, as they do on real SQS.
//
// # Credentials
//
// [Start] sets static test credentials and region in the environment (t.Setenv), points the
// shared config files at nothing, and disables the EC2 instance-metadata probe, so that nothing
// the SDK does leaves this machine. Tests that use it cannot run in parallel.
package fauxqs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// Region is the AWS region the tests use; Account is the account id fauxqs puts in ARNs and
// queue URLs.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// Options configure [Start]; nil means the zero value.
type Options struct {
	// Persist keeps fauxqs's state in SQLite so that it survives [Server.Restart].
	Persist bool
}

// Server is a running fauxqs.
type Server struct {
	// Endpoint is the base URL of the emulator, http://127.0.0.1:PORT, for the SDK's
	// BaseEndpoint and gocloud's endpoint= URL parameter.
	Endpoint string

	tools   string
	port    int
	dataDir string

	mu   sync.Mutex
	proc *process
}

// Dir returns the directory scripts/install-fauxqs.sh installs into.
func Dir() string {
	if d := os.Getenv("HOOKLINE_FAUXQS_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("HOOKLINE_TOOLS"); d != "" {
		return filepath.Join(d, "fauxqs")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hookline-tools", "fauxqs")
	}
	return filepath.Join(home, ".cache", "hookline-tools", "fauxqs")
}

// Start starts fauxqs on a free port of 127.0.0.1 and stops it when t ends. It skips t (fails
// it in CI) when fauxqs is not installed.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	tools := Dir()
	testenv.Require(t, "fauxqs (run scripts/install-fauxqs.sh)", installed(tools))
	SetTestCredentials(t)
	s := &Server{tools: tools}
	if opts != nil && opts.Persist {
		s.dataDir = t.TempDir()
	}
	p, err := s.launch(0)
	if err != nil {
		t.Fatalf("fauxqs: %v", err)
	}
	s.proc, s.port = p, p.port
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(p.port)
	t.Cleanup(s.Stop)
	return s
}

// Restart kills fauxqs and starts it again on the same port. See the package doc for what
// survives.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.StartAgain(); err != nil {
		t.Fatalf("fauxqs: restart: %v", err)
	}
}

// StartAgain starts fauxqs on the port it had after [Server.Stop], for tests that keep it down
// for a while. It does nothing when fauxqs is running.
func (s *Server) StartAgain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	var err error
	for try := 0; try < 20; try++ { // the port may be held for a moment by the old process
		var p *process
		if p, err = s.launch(s.port); err == nil {
			s.proc = p
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Stop kills fauxqs (its whole process group) and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	s.proc.kill()
	s.proc = nil
}

func installed(tools string) error {
	for _, f := range []string{nodePath(tools), appPath(tools)} {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	return nil
}

func nodePath(tools string) string { return filepath.Join(tools, "node_modules", ".bin", "node") }
func appPath(tools string) string {
	return filepath.Join(tools, "node_modules", "fauxqs", "dist", "app.js")
}

// launcher starts fauxqs through its library entry point, which its command line also uses,
// with the listening socket moved from 0.0.0.0 to 127.0.0.1, and prints the port it got.
const launcher = `
import net from "node:net";
import { pathToFileURL } from "node:url";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] && typeof args[0] === "object" && args[0].host === "0.0.0.0") {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
const { startFauxqs } = await import(pathToFileURL(process.env.HOOKLINE_FAUXQS_APP).href);
const opts = { port: Number(process.env.HOOKLINE_FAUXQS_PORT), host: "localhost", logger: false };
if (process.env.HOOKLINE_FAUXQS_DATA) opts.dataDir = process.env.HOOKLINE_FAUXQS_DATA;
const server = await startFauxqs(opts);
console.log("fauxqs listening " + server.port + " " + server.address);
`

type process struct {
	cmd    *exec.Cmd
	port   int
	exited chan struct{}
}

// launch starts fauxqs on port (0: any free port) and waits until it listens.
func (s *Server) launch(port int) (*process, error) {
	cmd := exec.Command(nodePath(s.tools), "--no-warnings", "--input-type=module", "-e", launcher)
	cmd.Env = append(os.Environ(),
		"HOOKLINE_FAUXQS_APP="+appPath(s.tools),
		"HOOKLINE_FAUXQS_PORT="+strconv.Itoa(port),
		"HOOKLINE_FAUXQS_DATA="+s.dataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := new(testenv.Buffer)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(p.exited) }()
	select {
	case line, ok := <-lines:
		if f := strings.Fields(line); ok && len(f) >= 3 && f[1] == "listening" {
			if p.port, err = strconv.Atoi(f[2]); err == nil {
				return p, nil
			}
		}
		p.kill()
		return nil, fmt.Errorf("fauxqs did not start (stdout %q): %s", line, stderr.String())
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, errors.New("fauxqs did not start within 30s: " + stderr.String())
	}
}

func (p *process) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}
