package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// serve serves the operator console at /console/ when HOOKLINE_CONSOLE_TOKEN is set, behind that
// token, and not at all without it.
func TestServeConsole(t *testing.T) {
	for name, tc := range map[string]struct {
		token string
		want  int // GET /console/api/events with the token
	}{
		"with a token": {"serve-console-token-0123456789", http.StatusOK},
		"without":      {"", http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"HOOKLINE_CHANNEL": "inproc://serve-console-" + strings.ReplaceAll(name, " ", "-"),
				"HOOKLINE_SINK": "discard://", "STRIPE_WEBHOOK_SECRET": "whsec_serve_console", "HOOKLINE_CONSOLE_TOKEN": tc.token}
			ctx, cancel := context.WithCancel(context.Background())
			var out, log syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out, &log)
			}()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("serve: %v", err)
					}
				case <-time.After(30 * time.Second):
					t.Error("serve did not stop")
				}
			}()
			waitLog(t, &log, 1, `msg="hookline listening"`)
			m := regexp.MustCompile(`webhook=http://([0-9.:]+)/webhook`).FindStringSubmatch(log.String())
			if m == nil {
				t.Fatalf("no address in the log:\n%s", log.String())
			}
			base := "http://" + m[1] + "/console/"
			if tc.token != "" && !strings.Contains(log.String(), `msg="operator console" url=`+base) {
				t.Errorf("the log does not say where the console is:\n%s", log.String())
			}
			get := func(tok string) int {
				req, _ := http.NewRequest(http.MethodGet, base+"api/events", nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if code := get(tc.token); code != tc.want {
				t.Errorf("GET api/events with the token = %d, want %d", code, tc.want)
			}
			if tc.token != "" {
				if code := get("not-the-token-not-the-token"); code != http.StatusUnauthorized {
					t.Errorf("GET api/events with another token = %d, want 401", code)
				}
			}
		})
	}
}

func TestServeConsoleTokenTooShort(t *testing.T) {
	env := map[string]string{"HOOKLINE_SINK": "discard://", "STRIPE_WEBHOOK_SECRET": "whsec_x", "HOOKLINE_CONSOLE_TOKEN": "short"}
	var out, log syncBuffer
	err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out, &log)
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_CONSOLE_TOKEN is 5 characters long") {
		t.Fatalf("serve with a short token = %v", err)
	}
}
