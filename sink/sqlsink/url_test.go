package sqlsink

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

func TestSQLiteURL(t *testing.T) {
	tests := []struct {
		url, path string
		busy      time.Duration
	}{
		{"sqlite://hookline.db", "hookline.db", defaultBusyTimeout},
		{"sqlite://path/to/file.db", "path/to/file.db", defaultBusyTimeout},
		{"sqlite:///var/lib/x.db", "/var/lib/x.db", defaultBusyTimeout},
		{"SQLITE://./rel.db", "./rel.db", defaultBusyTimeout},
		{"sqlite://./my%20data/x%23.db", "./my data/x#.db", defaultBusyTimeout},
		{"sqlite://hookline.db?busy_timeout=250ms", "hookline.db", 250 * time.Millisecond},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		path, err := sqlitePath(u)
		if err != nil || path != tc.path {
			t.Errorf("sqlitePath(%s) = %q, %v; want %q", tc.url, path, err, tc.path)
		}
		o, err := sqliteSettings(u, Options{})
		if err != nil || o.BusyTimeout != tc.busy || o.MaxConns != 1 {
			t.Errorf("sqliteSettings(%s) = %+v, %v; want busy timeout %v, 1 connection", tc.url, o, err, tc.busy)
		}
	}
	u, _ := url.Parse("sqlite://x.db")
	if o, _ := sqliteSettings(u, Options{BusyTimeout: time.Minute, MaxConns: 3}); o.BusyTimeout != time.Minute || o.MaxConns != 3 {
		t.Errorf("Options were not used: %+v", o)
	}
	u, _ = url.Parse("sqlite://x.db?busy_timeout=2s")
	if o, _ := sqliteSettings(u, Options{BusyTimeout: time.Minute}); o.BusyTimeout != 2*time.Second {
		t.Errorf("the URL parameter did not take precedence over Options: %+v", o)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"sqlite://hookline.db?mode=ro", `unknown sqlite URL parameter "mode"`},
		{"sqlite://hookline.db?_pragma=journal_mode(DELETE)", `unknown sqlite URL parameter "_pragma"`},
		{"sqlite://hookline.db?busy_timeout=5", "busy_timeout"},
		{"sqlite://", "names no file"},
		{"sqlite://me:hunter2@hookline.db", "takes no user or password"},
		{"sqlite://./what%3F.db", "contains '?'"},
		{"postgres://me:hunter2@db.invalid/x?sslmode=bogus", "invalid postgres URL"},
		{"postgres://me:hunter2@db.invalid/x?pool_max_conns=zero", "invalid postgres URL"},
		{"mysql://me:hunter2@db/x", `unsupported scheme "mysql"`},
		{"postgres://me:hun#ter2@db/x", "cannot parse the URL"},
	}
	for _, tc := range tests {
		s, err := Open(context.Background(), tc.url, nil)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", tc.url)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "sqlsink: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("Open(%s) = %q, want a sqlsink error containing %q", tc.url, msg, tc.want)
		}
		if strings.Contains(msg, "hunter") || strings.Contains(msg, "ter2") {
			t.Errorf("Open(%s) = %q leaks the password", tc.url, msg)
		}
	}
}

// TestRelativePath writes through sink.Open to relative URLs and finds the files where a user
// would look for them: relative to the working directory.
func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("data", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, rawURL := range []string{"sqlite://hookline.db", "sqlite://data/nested.db?busy_timeout=1s"} {
		s, err := sink.Open(context.Background(), rawURL)
		if err != nil {
			t.Fatalf("sink.Open(%s): %v", rawURL, err)
		}
		ev := hookline.Event{ID: "evt_1", Type: "customer.created", Subject: "cus_1", Time: time.Unix(1, 0)}
		if err := s.Write(context.Background(), ev); err != nil {
			t.Fatalf("Write to %s: %v", rawURL, err)
		}
		s.Close()
	}
	for _, f := range []string{"hookline.db", "data/nested.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("expected %s in the working directory: %v", f, err)
		}
	}
	if _, err := sink.Open(context.Background(), "sqlite://x.db?cache=shared"); err == nil ||
		!strings.Contains(err.Error(), `unknown sqlite URL parameter "cache"`) {
		t.Errorf("sink.Open with an unknown parameter = %v", err)
	}
}
