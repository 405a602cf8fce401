package redact

import (
	"context"
	"errors"
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
