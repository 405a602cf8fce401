package eventlog

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hookline/hookline"
)

func TestAttrs(t *testing.T) {
	ev := hookline.Event{ID: "evt_1", Type: "customer.updated", Subject: "cus_1", Time: time.Unix(1, 0)}
	got := Attrs(context.Background(), ev, slog.Int("attempt", 2))
	want := []string{"event_id=evt_1", "event_type=customer.updated", "event_subject=cus_1", "attempt=2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("attr %d = %s, want %s", i, got[i], want[i])
		}
	}

	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	got = Of(ctx, "evt_2", "", "")
	sc := span.SpanContext()
	if len(got) != 3 || got[1].Value.String() != sc.TraceID().String() || got[2].Value.String() != sc.SpanID().String() {
		t.Fatalf("Of in a span = %v, want event_id, trace_id %s, span_id %s", got, sc.TraceID(), sc.SpanID())
	}
	if n := len(Trace(context.Background())); n != 0 {
		t.Errorf("Trace without a span gave %d attributes", n)
	}
}
