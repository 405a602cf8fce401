package redact

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestURLAndSecrets(t *testing.T) {
	u, err := url.Parse("postgres://me:p%40ss@db/x?sslpassword=k%26y&search_path=s&token=abc")
	if err != nil {
		t.Fatal(err)
	}
	got := URL(u)
	for _, leak := range []string{"p@ss", "p%40ss", "k&y", "k%26y", "abc"} {
		if strings.Contains(got, leak) {
			t.Errorf("URL() = %q leaks %q", got, leak)
		}
	}
	if !strings.Contains(got, "search_path=s") || !strings.Contains(got, "me:xxxxx@db") {
		t.Errorf("URL() = %q, want the harmless parts kept", got)
	}
	msg := Text("login p@ss failed; dsn p%40ss; key k&y", Secrets(u))
	if strings.Contains(msg, "p@ss") || strings.Contains(msg, "p%40ss") || strings.Contains(msg, "k&y") {
		t.Errorf("Text() = %q", msg)
	}
}

func TestErrorKeepsChain(t *testing.T) {
	inner := errors.Join(context.DeadlineExceeded, errors.New("password hunter2 rejected"))
	err := Error(inner, []string{"hunter2"})
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Error() = %v", err)
	}
	plain := errors.New("nothing secret")
	if Error(plain, []string{"hunter2"}) != plain {
		t.Fatal("an error without secrets was wrapped")
	}
}

// A URL nested in a query parameter (dataverse's endpoint=, an emulator's address) keeps no
// password, written plainly or percent-encoded, in URL, Secrets and Text.
func TestNestedURLs(t *testing.T) {
	for _, raw := range []string{
		"dataverse://org.crm.dynamics.com?key=k&eventtime=e&endpoint=http://acc:S3cretPw9@127.0.0.1:20151",
		"dataverse://org.crm.dynamics.com?endpoint=" + url.QueryEscape("http://acc:S3cretPw9@127.0.0.1:20151/x?y=1"),
		"awssqs://sqs.localhost/1/q?region=x&endpoint=" + url.QueryEscape("http://a:b@h?inner="+url.QueryEscape("http://u:S3cretPw9@deep")),
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); strings.Contains(got, "S3cretPw9") {
			t.Errorf("URL(%s) = %s", raw, got)
		}
		if !strings.Contains(strings.Join(Secrets(u), " "), "S3cretPw9") {
			t.Errorf("Secrets(%s) = %q: the nested password is missing", raw, Secrets(u))
		}
		for _, msg := range []string{
			"dataverse: endpoint " + raw + " is not a base URL",
			`sink: open "` + raw + `": refused`,
			"(" + raw + ").",
		} {
			if got := Text(msg, nil); strings.Contains(got, "S3cretPw9") {
				t.Errorf("Text(%q) = %q", msg, got)
			}
		}
	}
}

// Text masks the password of any URL in a message, nested or not, and keeps everything else.
func TestTextMasksEveryURLsPassword(t *testing.T) {
	for in, want := range map[string]string{
		`dataverse: endpoint "http://acc:S3cretPw9@127.0.0.1:20151" is not a base URL`: `dataverse: endpoint "http://acc:xxxxx@127.0.0.1:20151" is not a base URL`,
		"dial amqp://guest:pw@127.0.0.1:5672/ and amqp://x:y@h/v: refused":             "dial amqp://guest:xxxxx@127.0.0.1:5672/ and amqp://x:xxxxx@h/v: refused",
		"sink dataverse://org?endpoint=http://acc:S3cretPw9@h:1, done":                 "sink dataverse://org?endpoint=http://acc:xxxxx@h:1, done",
		"no URL here: just://text without user info":                                   "no URL here: just://text without user info",
		"a user without password: postgres://me@db/x":                                  "a user without password: postgres://me@db/x",
		"a token: https://h/p?access_token=abc123&x=1":                                 "a token: https://h/p?access_token=xxxxx&x=1",
		"an @ in the path: https://h/a:b@c":                                            "an @ in the path: https://h/a:b@c",
	} {
		if got := Text(in, nil); got != want {
			t.Errorf("Text(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// Whatever surrounds it, a URL's password written as user:password@host never survives Text,
// and Text never panics.
func FuzzText(f *testing.F) {
	f.Add("sink ", "acc", "127.0.0.1:20151", " is bad")
	f.Add("dataverse://o?endpoint=", "a", "h", "")
	f.Add(`"`, "", "[::1]:5", `"`)
	f.Fuzz(func(t *testing.T, before, user, host, after string) {
		const pw = "S3cretPw9"
		if strings.ContainsFunc(user+host, func(r rune) bool { return r <= ' ' || strings.ContainsRune("/?#@:\\\"'`<>", r) }) ||
			strings.Contains(before+after, pw) {
			return
		}
		s := before + "http://" + user + ":" + pw + "@" + host + after
		if got := Text(s, nil); strings.Contains(got, pw) {
			t.Errorf("Text(%q) = %q", s, got)
		}
	})
}

// The log handler masks the message and every attribute's text, groups and WithAttrs included.
func TestHandler(t *testing.T) {
	var b strings.Builder
	log := slog.New(Handler(slog.NewTextHandler(&b, nil), []string{"whsec_abc"}))
	log = log.With("sink", "dataverse://o?endpoint=http://acc:S3cretPw9@h")
	log.WithGroup("g").Info("open http://u:S3cretPw9@h failed", "err", errors.New("secret whsec_abc in http://a:S3cretPw9@b"),
		slog.Group("inner", "url", "amqp://g:S3cretPw9@h/"), "n", 3)
	out := b.String()
	if strings.Contains(out, "S3cretPw9") || strings.Contains(out, "whsec_abc") || !strings.Contains(out, "g.n=3") {
		t.Errorf("logged %s", out)
	}
}

// BenchmarkHandler is what masking adds to each log record of `hookline serve`: an "event
// stored" line, plain and through Handler with the secrets of a typical configuration.
func BenchmarkHandler(b *testing.B) {
	secrets := SecretsOf("rabbitmq://events", "postgres://hookline:S3cretPw9@db:5432/app?sslmode=verify-full",
		"rabbitmq://events-deadletter")
	secrets = append(secrets, "whsec_0123456789abcdef0123456789abcdef")
	for _, masked := range []bool{false, true} {
		name := "plain"
		h := slog.Handler(slog.NewTextHandler(io.Discard, nil))
		if masked {
			name, h = "masked", Handler(h, secrets)
		}
		log := slog.New(h)
		ctx := context.Background()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				log.LogAttrs(ctx, slog.LevelInfo, "event stored", slog.String("event_id", "evt_1NG8Du2eZvKYlo2CxqYb1234"),
					slog.String("event_type", "customer.updated"), slog.String("event_subject", "cus_NffrFeUfNV2Hib"),
					slog.String("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), slog.String("span_id", "00f067aa0ba902b7"))
			}
		})
	}
}
