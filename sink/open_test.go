package sink

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/hookline/hookline"
)

func TestOpenBuiltins(t *testing.T) {
	var buf bytes.Buffer
	old := stdoutWriter
	stdoutWriter = &buf
	t.Cleanup(func() { stdoutWriter = old })

	ctx := context.Background()
	s, err := Open(ctx, "stdout://")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, hookline.Event{ID: "evt_1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"id":"evt_1"`) {
		t.Fatalf("stdout:// wrote %q", buf.String())
	}
	d, err := Open(ctx, "DISCARD://")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(*Discard); !ok {
		t.Fatalf("discard:// opened %T", d)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		url  string
		want []string // substrings of the error
	}{
		{"hookline.db", []string{"has no scheme", "discard://", "stdout://"}},
		{"mysql://u:hunter2@db/x", []string{`unknown scheme "mysql"`, "registered schemes", "discard://", "u:xxxxx@db"}},
		{"sqlite://hookline.db", []string{`unknown scheme "sqlite"`, `import _ "github.com/hookline/hookline/sink/sqlsink"`}},
		{"postgres://u:hunter2@db/x?sslpassword=hunter3", []string{`import _ "github.com/hookline/hookline/sink/sqlsink" to enable postgres://`, "sslpassword=xxxxx"}},
		{"stdout://?pretty=1", []string{"takes no query parameters", "pretty"}},
		{"discard://somewhere", []string{"takes no host or path"}},
		{"postgres://u:hun#ter2@db:5432/x", []string{"cannot parse postgres URL", "details hidden"}},
		{"postgres://u:hunter2@db:port/x", []string{"cannot parse postgres URL"}},
		{"::bad", []string{"cannot parse URL", "missing protocol scheme"}},
	}
	for _, tc := range tests {
		_, err := Open(context.Background(), tc.url)
		if err == nil {
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Open(%q) = %q, want it to contain %q", tc.url, msg, w)
			}
		}
		for _, secret := range []string{"hunter", "ter2"} {
			if strings.Contains(msg, secret) {
				t.Errorf("Open(%q) = %q: leaks the password", tc.url, msg)
			}
		}
		if !strings.HasPrefix(msg, "sink: ") {
			t.Errorf("Open(%q) = %q, want the prefix %q", tc.url, msg, "sink: ")
		}
	}
}

func TestOpenerErrorIsRedacted(t *testing.T) {
	Register("leaky-test", func(_ context.Context, u *url.URL) (Sink, error) {
		p, _ := u.User.Password()
		return nil, hookline.Errorf(hookline.Transient, "leaky: cannot log in with %s", p)
	})
	_, err := Open(context.Background(), "leaky-test://me:s3cr%21t@host")
	if err == nil || strings.Contains(err.Error(), "s3cr") || hookline.Code(err) != hookline.Transient {
		t.Fatalf("Open = %v (code %v), want a redacted Transient error", err, hookline.Code(err))
	}
}

func TestRegisterPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"duplicate": func() { Register("stdout", openStdout) },
		"empty":     func() { Register("", openStdout) },
		"nil":       func() { Register("nil-test", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register %s did not panic", name)
				}
			}()
			f()
		}()
	}
}
