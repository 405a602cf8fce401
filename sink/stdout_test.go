package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

func TestStdoutLine(t *testing.T) {
	var buf bytes.Buffer
	s := NewStdout(&buf)
	at := time.Date(2024, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	ev := hookline.Event{
		ID: "evt_1", Source: "stripe", Type: "customer.created", Subject: "cus_1", Object: "customer",
		Action: hookline.Created, Time: at,
		Data:     []byte("{\n  \"id\": \"cus_1\",\n  \"note\": \"<b>\"\n}"),
		Metadata: map[string]string{"livemode": "false"},
	}
	if err := s.Write(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	ev.Data = []byte{0xff, 0x00, 'x'}
	ev.Metadata = nil
	if err := s.Write(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt_1","source":"stripe","type":"customer.created","subject":"cus_1","object":"customer","action":"created","time":"2024-03-01T12:00:00Z","metadata":{"livemode":"false"},"data":{"id":"cus_1","note":"<b>"}}
{"id":"evt_1","source":"stripe","type":"customer.created","subject":"cus_1","object":"customer","action":"created","time":"2024-03-01T12:00:00Z","data_base64":"/wB4"}
`
	if got := buf.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestStdoutConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	s := NewStdout(&buf)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for range 25 {
				ev := hookline.Event{ID: "evt", Subject: "cus", Data: []byte(`{"i":` + strings.Repeat("1", i+1) + `}`)}
				if err := s.Write(context.Background(), ev); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 500 {
		t.Fatalf("%d lines, want 500", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("interleaved or invalid line %q", l)
		}
	}
}

func TestStdoutWriterError(t *testing.T) {
	err := NewStdout(failWriter{}).Write(context.Background(), hookline.Event{ID: "evt_1"})
	if err == nil || !strings.HasPrefix(err.Error(), "sink: ") || hookline.Code(err) == hookline.Permanent {
		t.Fatalf("Write to a failing writer = %v (code %v)", err, hookline.Code(err))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, context.DeadlineExceeded }

func TestDiscardCounts(t *testing.T) {
	d := NewDiscard()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 100 {
				_ = d.Write(context.Background(), hookline.Event{})
			}
		})
	}
	wg.Wait()
	if d.Count() != 1000 {
		t.Fatalf("Count() = %d, want 1000", d.Count())
	}
}
