// Package container_test builds the container image of the hookline command with
// scripts/build-image.sh and runs it with podman on the local RabbitMQ and PostgreSQL.
package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pgtest"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// script is the one command that builds the image; with --podman it runs podman with the same
// settings (runtime, storage, containers.conf), so the test sees the image it built.
var script = filepath.Join("..", "..", "scripts", "build-image.sh")

// podman runs podman through the build script and returns its standard output, failing t with
// its standard error when it fails.
func podman(t testing.TB, args ...string) string {
	t.Helper()
	out, err := podmanErr(args...)
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func podmanErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", append([]string{script, "--podman"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// buildImage builds the image under a tag of this test's own and removes it when t ends.
func buildImage(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("podman")
	testenv.Require(t, "podman (scripts/install-podman.sh)", err)
	tag := fmt.Sprintf("hookline:test-%d", os.Getpid())
	start := time.Now()
	out, err := exec.Command("bash", script, tag).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, tag, err, out)
	}
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Second))
	t.Cleanup(func() {
		if _, err := podmanErr("rmi", "-f", tag); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return tag
}

func TestImage(t *testing.T) {
	rabbit := rabbittest.Server(t)
	db := pgtest.Fresh(t, "image")
	tag := buildImage(t)

	t.Run("config", func(t *testing.T) { checkConfig(t, tag) })
	t.Run("files", func(t *testing.T) { checkFiles(t, tag) })
	t.Run("webhook and consumer", func(t *testing.T) {
		queue := rabbittest.Declare(t, rabbit, "image", rabbitsetup.Options{})
		runPipeline(t, tag, rabbit, queue, db)
	})
}

// checkConfig checks what the image runs and as whom, and its labels.
func checkConfig(t *testing.T, tag string) {
	var images []struct {
		Config struct {
			User       string
			Env        []string
			Entrypoint []string
			Cmd        []string
			Labels     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(podman(t, "image", "inspect", tag)), &images); err != nil || len(images) != 1 {
		t.Fatalf("image inspect: %v (%d images)", err, len(images))
	}
	c := images[0].Config
	if c.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/hookline"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("Entrypoint %q Cmd %q, want [/hookline] [serve]", c.Entrypoint, c.Cmd)
	}
	for _, kv := range []string{"HOOKLINE_HOST=0.0.0.0", "PORT=8080"} {
		if !slices.Contains(c.Env, kv) {
			t.Errorf("Env %q lacks %s", c.Env, kv)
		}
	}
	for _, l := range []string{"source", "revision", "version", "title", "licenses"} {
		if c.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("label org.opencontainers.image.%s missing: %v", l, c.Labels)
		}
	}
	if rev, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if got, want := c.Labels["org.opencontainers.image.revision"], strings.TrimSpace(string(rev)); got != want {
			t.Errorf("revision label %q, want %q", got, want)
		}
	}
}

// checkFiles exports the image's file system and checks that it holds the binary, the CA bundle,
// passwd and group, and nothing else: no shell.
func checkFiles(t *testing.T, tag string) {
	id := podman(t, "create", tag)
	t.Cleanup(func() { podmanErr("rm", "-f", id) })
	dir := t.TempDir()
	archive := filepath.Join(dir, "fs.tar")
	podman(t, "export", "-o", archive, id)
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]bool{
		"etc/": true, "etc/ssl/": true, "etc/ssl/certs/": true,
		"etc/passwd": false, "etc/group": false, "etc/ssl/certs/ca-certificates.crt": false, "hookline": false,
	}
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		isDir, ok := want[name]
		switch {
		case !ok:
			t.Errorf("unexpected %s in the image (%c, %d bytes)", name, h.Typeflag, h.Size)
			continue
		case isDir != (h.Typeflag == tar.TypeDir):
			t.Errorf("%s: type %c", name, h.Typeflag)
		}
		if h.Uid != 0 {
			t.Errorf("%s owned by %d, want root (read-only to the user that runs it)", name, h.Uid)
		}
		if name == "hookline" && h.Mode&0o111 == 0 {
			t.Errorf("hookline mode %o, not executable", h.Mode)
		}
		if !isDir && name != "hookline" {
			b, _ := io.ReadAll(tr)
			files[name] = b
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("%s missing from the image", name)
	}
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Errorf("passwd has no user 65532: %q", files["etc/passwd"])
	}
	if !bytes.Contains(files["etc/ssl/certs/ca-certificates.crt"], []byte("-----BEGIN CERTIFICATE-----")) {
		t.Error("the CA bundle holds no certificate")
	}
}

// container is a started container of the image.
type container struct {
	name string
	port int
}

// start runs the image detached, with a read-only root file system, on the host's network with
// env, and removes it when t ends.
func start(t *testing.T, tag, name string, env map[string]string) container {
	t.Helper()
	port := freePort(t)
	name = fmt.Sprintf("hookline-test-%s-%d", name, os.Getpid())
	args := []string{"run", "-d", "--read-only", "--name", name, "--network", "host", "-e", "PORT=" + strconv.Itoa(port)}
	for k, v := range env {
		args = append(args, "-e", k+"="+v)
	}
	podmanErr("rm", "-f", name)
	podman(t, append(args, tag)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := podmanErr("logs", name)
			t.Logf("logs of %s:\n%s", name, logs)
		}
		podmanErr("rm", "-f", "-t", "0", name)
	})
	c := container{name: name, port: port}
	c.waitHealthy(t)
	return c
}

func (c container) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(c.port) + path
}

// waitHealthy waits until the container's /healthz answers 200.
func (c container) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.url("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			logs, _ := podmanErr("logs", c.name)
			t.Fatalf("%s: /healthz: %v\n%s", c.name, err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// uid returns the user id the container's process runs as, from the host's /proc.
func (c container) uid(t *testing.T) string {
	pid := podman(t, "inspect", "--format", "{{.State.Pid}}", c.name)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no Uid in /proc/%s/status", pid)
	return ""
}

// stop sends SIGTERM to the container (SIGKILL only after 40 s) and returns its exit code.
func (c container) stop() (string, error) {
	if _, err := podmanErr("stop", "-t", "40", c.name); err != nil {
		return "", err
	}
	return podmanErr("inspect", "--format", "{{.State.ExitCode}}", c.name)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// post sends customer.created for customer id, signed with secret, to the webhook container,
// and returns the status code.
func post(client *http.Client, c container, secret, id string) (int, error) {
	body := stripehook.SampleEvent("customer.created", id, time.Now())
	req, err := http.NewRequest(http.MethodPost, c.url("/webhook"), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripehook.Sign(body, secret, time.Now()))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitRows waits until the sink's table holds a row for every id in ids.
func waitRows(t *testing.T, db string, ids []string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var missing []string
	for {
		got, err := rows(ctx, db)
		if err == nil {
			missing = missing[:0]
			for _, id := range ids {
				if !got[id] {
					missing = append(missing, id)
				}
			}
			if len(missing) == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s, %d of %d acknowledged events are not in PostgreSQL (last error %v): %v",
				within, len(missing), len(ids), err, missing)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func rows(ctx context.Context, db string) (map[string]bool, error) {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	r, err := conn.Query(ctx, "SELECT id FROM stripe_objects")
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	got := make(map[string]bool, len(ids))
	for _, id := range ids {
		got[id] = true
	}
	return got, nil
}

// runPipeline starts the image as a webhook and as a consumer on RabbitMQ and PostgreSQL, posts
// signed events to the webhook, stops both with SIGTERM while events are still being posted, and
// checks that every event the webhook acknowledged reaches PostgreSQL, by a new consumer if need
// be.
func runPipeline(t *testing.T, tag, rabbit, queue, db string) {
	b := make([]byte, 16)
	rand.Read(b)
	secret := "whsec_" + hex.EncodeToString(b)
	env := func(role string) map[string]string {
		return map[string]string{
			"HOOKLINE_ROLE":         role,
			"HOOKLINE_CHANNEL":      "rabbitmq://" + queue,
			"RABBIT_SERVER_URL":     rabbit,
			"HOOKLINE_SINK":         db,
			"STRIPE_WEBHOOK_SECRET": secret,
		}
	}
	webhook := start(t, tag, "webhook", env("webhook"))
	consumer := start(t, tag, "consumer", env("consumer"))
	for _, c := range []container{webhook, consumer} {
		if uid := c.uid(t); uid != "65532" {
			t.Errorf("%s runs as uid %s, want 65532", c.name, uid)
		}
	}

	client := &http.Client{Timeout: 10 * time.Second}
	var acked []string
	for i := range 20 {
		id := fmt.Sprintf("cus_first%03d", i)
		code, err := post(client, webhook, secret, id)
		if err != nil || code/100 != 2 {
			t.Fatalf("POST %s: %d %v", id, code, err)
		}
		acked = append(acked, id)
	}
	waitRows(t, db, acked, 60*time.Second)

	// Keep posting while both containers are stopped with SIGTERM; whatever got a 2xx must not be
	// lost.
	var (
		mu      sync.Mutex
		during  []string
		started = make(chan struct{})
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			if i == 20 {
				close(started)
			}
			id := fmt.Sprintf("cus_stop%04d", i)
			code, err := post(client, webhook, secret, id)
			if err != nil {
				if i < 20 {
					close(started)
				}
				return // the webhook is gone
			}
			if code/100 == 2 {
				mu.Lock()
				during = append(during, id)
				mu.Unlock()
			}
		}
	}()
	<-started
	var wg sync.WaitGroup
	for _, c := range []container{webhook, consumer} {
		wg.Go(func() {
			if code, err := c.stop(); err != nil || code != "0" {
				t.Errorf("%s exited with %q after SIGTERM (%v), want 0", c.name, code, err)
			}
		})
	}
	wg.Wait()
	<-done
	mu.Lock()
	acked = append(acked, during...)
	mu.Unlock()
	t.Logf("%d events acknowledged, %d of them while the containers stopped", len(acked), len(during))

	// What the webhook acknowledged is in RabbitMQ if not yet in PostgreSQL: a new consumer
	// writes the rest.
	start(t, tag, "consumer2", env("consumer"))
	waitRows(t, db, acked, 60*time.Second)
}
