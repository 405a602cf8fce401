package standardwebhooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/standardwebhooks"
)

func TestSendSamples(t *testing.T) {
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil)
	var out strings.Builder
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := standardwebhooks.SendSamples(context.Background(), nil, url, secret, standardwebhooks.Samples(now), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	sent := rec.Sent()
	if len(lines) != 6 || len(sent) != 6 || !strings.Contains(lines[0], "11:50:00.250 user.created") ||
		!strings.Contains(lines[0], "-> 200") {
		t.Fatalf("printed\n%s\nsent %d events", out.String(), len(sent))
	}
	// The retry keeps the webhook-id and the event's time; the late update is older.
	if sent[2].ID != sent[1].ID || !sent[2].Time.Equal(sent[1].Time) || sent[3].ID == sent[1].ID ||
		!sent[3].Time.Before(sent[1].Time) || sent[0].ID == sent[4].ID {
		t.Errorf("sample events: %+v", sent)
	}
	if sent[5].Action != "deleted" || sent[5].Subject != "user_demo_bob" || sent[1].Time.Nanosecond() != 750e6 {
		t.Errorf("sample events: %+v", sent)
	}
}

func TestSendSamplesFails(t *testing.T) {
	url := serve(t, []string{otherSecret}, discard{}, nil)
	var out strings.Builder
	err := standardwebhooks.SendSamples(context.Background(), http.DefaultClient, url, secret, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "answered 400") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("SendSamples with the wrong secret: %v\n%s", err, out.String())
	}
	err = standardwebhooks.SendSamples(context.Background(), nil, url, "not a secret", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "does not start with whsec_") || strings.Contains(err.Error(), "not a secret") {
		t.Errorf("SendSamples with a malformed secret: %v", err)
	}
}

func TestSignPanicsOnBadSecret(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || strings.Contains(r.(string), "5ecret") {
			t.Errorf("recovered %v", r)
		}
	}()
	standardwebhooks.Sign(msgID, time.Now(), []byte("{}"), "whsec_5ecret!")
}
