package standardwebhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/internal/sampleid"
)

// Sign returns the headers of a delivery of body with id, signed with secret at time at (zero:
// now), as a Standard Webhooks sender sets them: webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature ("v1,<base64>"). It is for tests and sample senders. secret must be a secret
// that [New] accepts; Sign panics otherwise, as it would for any other broken constant.
func Sign(id string, at time.Time, body []byte, secret string) http.Header {
	key, err := parseSecret(secret)
	if err != nil {
		panic("standardwebhooks: Sign: the secret " + err.Error())
	}
	if at.IsZero() {
		at = time.Now()
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	var sig [signatureLen]byte
	signature(&sig, key, signedPrefix(nil, id, ts), body)
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "v1,"+string(sig[:]))
	return h
}

// SampleEvent returns a realistic Standard Webhooks payload of type typ about subject, created
// at at, in compact JSON as senders send it:
//
//	{"type":"user.created","timestamp":"2024-03-01T12:00:00.25Z","data":{"id":"user_1","object":"user",...}}
//
// data describes a user (only its id, object and "deleted": true for a *.deleted type), and its
// "object" is the type up to its last full stop. The timestamp keeps at's sub-second digits. The
// same arguments give the same bytes. It is for tests, the sample sender and load generators.
func SampleEvent(typ, subject string, at time.Time) []byte {
	at = at.UTC()
	key := sampleKey(typ, subject, at)
	data := sampleUser{ID: subject, Object: objectOf(typ)}
	if strings.HasSuffix(typ, ".deleted") {
		data.Deleted = true
	} else {
		data.Email = "jenny.rosen+" + strings.ToLower(sampleid.Token(key, "email", 8)) + "@example.com"
		data.FirstName, data.LastName = "Jenny", "Rosen"
		data.CreatedAt = at.Add(-time.Duration(sampleid.Sum(key)[0]) * time.Hour).Format(time.RFC3339Nano)
		data.UpdatedAt = at.Format(time.RFC3339Nano)
		data.Metadata = map[string]string{"plan": "growth", "crm_id": "CRM-" + sampleid.Token(key, "crm", 10)}
		if strings.HasSuffix(typ, ".created") {
			data.CreatedAt = data.UpdatedAt
		}
	}
	b, err := json.Marshal(samplePayload{Type: typ, Timestamp: at.Format(time.RFC3339Nano), Data: data})
	if err != nil {
		panic("standardwebhooks: SampleEvent: " + err.Error()) // cannot happen: fixed types
	}
	return b
}

type samplePayload struct {
	Type      string     `json:"type"`
	Timestamp string     `json:"timestamp"`
	Data      sampleUser `json:"data"`
}

type sampleUser struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	Deleted   bool              `json:"deleted,omitempty"`
	Email     string            `json:"email_address,omitempty"`
	FirstName string            `json:"first_name,omitempty"`
	LastName  string            `json:"last_name,omitempty"`
	CreatedAt string            `json:"created_at,omitempty"`
	UpdatedAt string            `json:"updated_at,omitempty"`
	Metadata  map[string]string `json:"public_metadata,omitempty"`
}

// sampleID returns the webhook-id of the sample delivery of an event: the same for every attempt.
func sampleID(typ, subject string, at time.Time) string {
	return "msg_" + sampleid.Token(sampleKey(typ, subject, at.UTC()), "id", 27)
}

func sampleKey(typ, subject string, at time.Time) string {
	return typ + "\x00" + subject + "\x00" + strconv.FormatInt(at.UnixNano(), 10)
}

// Sample is one signed delivery that [SendSamples] posts, and what a pipeline should make of it.
type Sample struct {
	Type, Subject string
	Time          time.Time
	Note          string
}

// Samples returns a short story that shows the guarantees: a user is created and updated, the
// update arrives twice (a retry: same webhook-id, new webhook-timestamp), an update older by a
// quarter of a second arrives late, and a second user is created and deleted.
func Samples(now time.Time) []Sample {
	t0 := now.Add(-10 * time.Minute).Truncate(time.Second).Add(250 * time.Millisecond)
	return []Sample{
		{"user.created", "user_demo_alice", t0, "new row"},
		{"user.updated", "user_demo_alice", t0.Add(2*time.Minute + 500*time.Millisecond), "row updated"},
		{"user.updated", "user_demo_alice", t0.Add(2*time.Minute + 500*time.Millisecond), "same event again: no change"},
		{"user.updated", "user_demo_alice", t0.Add(2*time.Minute + 250*time.Millisecond), "older by 250 ms: ignored"},
		{"user.created", "user_demo_bob", t0, "new row"},
		{"user.deleted", "user_demo_bob", t0.Add(3 * time.Minute), "row marked deleted"},
	}
}

// SendSamples posts samples (nil: Samples(time.Now())) to webhookURL, each a [SampleEvent]
// signed with secret ([Sign]) at the time it is sent, under a webhook-id derived from the sample
// (so a repeated sample is a retry), and writes one line per delivery to out. It fails on the
// first answer that is not 2xx. It is a sample sender for trying a pipeline without an account
// at any sender. client nil means http.DefaultClient.
func SendSamples(ctx context.Context, client *http.Client, webhookURL, secret string, samples []Sample, out io.Writer) error {
	if _, err := parseSecret(secret); err != nil {
		return fmt.Errorf("standardwebhooks: SendSamples: the secret %v: %s", err, secretHelp)
	}
	if client == nil {
		client = http.DefaultClient
	}
	if samples == nil {
		samples = Samples(time.Now())
	}
	for _, s := range samples {
		body := SampleEvent(s.Type, s.Subject, s.Time)
		status, err := postSigned(ctx, client, webhookURL, body, Sign(sampleID(s.Type, s.Subject, s.Time), time.Now(), body, secret))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %-12s %-15s -> %d  (%s)\n", s.Time.Format("15:04:05.000"), s.Type, s.Subject, status, s.Note)
		if status/100 != 2 {
			return fmt.Errorf("standardwebhooks: %s answered %d for %s: check that the signing secret matches the server's",
				webhookURL, status, s.Type)
		}
	}
	return nil
}

func postSigned(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("standardwebhooks: post to %s: %w (is the server running?)", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
