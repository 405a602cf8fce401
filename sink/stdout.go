package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
)

// Stdout is a Sink that writes each event as one line of JSON, for dry runs and debugging. It
// keeps no state, so it neither deduplicates nor orders: every Write prints a line. It is not an
// [Applier]: [Apply] counts every line printed as [Stored].
//
// A line has the fields "id", "source", "type", "subject", "time" (RFC 3339, UTC), "metadata"
// and either "data" (the payload itself, compacted, when it is valid JSON) or "data_base64"
// (the payload in standard base64 otherwise); empty metadata and payloads are left out.
// Writes are safe for concurrent use: each line is written with one call to the writer.
type Stdout struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Sink = (*Stdout)(nil)

// NewStdout returns a Stdout sink writing to w (for example os.Stdout).
func NewStdout(w io.Writer) *Stdout { return &Stdout{w: w} }

type stdoutLine struct {
	ID         string            `json:"id"`
	Source     string            `json:"source"`
	Type       string            `json:"type"`
	Subject    string            `json:"subject"`
	Object     string            `json:"object,omitempty"`
	Action     string            `json:"action,omitempty"`
	Time       string            `json:"time"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Data       json.RawMessage   `json:"data,omitempty"`
	DataBase64 []byte            `json:"data_base64,omitempty"`
}

// Write prints ev as one JSON line. It returns ctx.Err() without printing when ctx is done.
func (s *Stdout) Write(ctx context.Context, ev hookline.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line := stdoutLine{
		ID:       ev.ID,
		Source:   ev.Source,
		Type:     ev.Type,
		Subject:  ev.Subject,
		Object:   ev.Object,
		Action:   string(ev.Action),
		Time:     ev.Time.UTC().Format(time.RFC3339Nano),
		Metadata: ev.Metadata,
	}
	if len(ev.Data) > 0 {
		if json.Valid(ev.Data) {
			line.Data = ev.Data
		} else {
			line.DataBase64 = ev.Data
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line); err != nil {
		return hookline.Errorf(hookline.Permanent, "sink: encode event %s: %w", ev.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("sink: write event %s: %w", ev.ID, err)
	}
	return nil
}

// Close does nothing; it does not close the writer. It returns nil.
func (s *Stdout) Close() error { return nil }

// Discard is a Sink that counts events and drops them, for benchmarks and for measuring a
// pipeline without a backend. It is safe for concurrent use. It is not an [Applier]: [Apply]
// counts every event it accepted as [Stored], as if a backend had stored it.
type Discard struct {
	n atomic.Int64
}

var _ Sink = (*Discard)(nil)

// NewDiscard returns a Discard sink with a zero count.
func NewDiscard() *Discard { return &Discard{} }

// Write counts ev, or returns ctx.Err() without counting it when ctx is done.
func (d *Discard) Write(ctx context.Context, ev hookline.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.n.Add(1)
	return nil
}

// Count returns how many events were written.
func (d *Discard) Count() int64 { return d.n.Load() }

// Close does nothing and returns nil.
func (d *Discard) Close() error { return nil }
