package sinktest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

// liarEnv names the sink the suite runs on in the child process of TestSuiteCatchesLies.
const liarEnv = "HOOKLINE_SINKTEST_SUBJECT"

// subjects are sinks built on sink.Memory, honest or not, and what the suite must say of them:
// "" when it must pass, else a text its failure must contain.
var subjects = map[string]struct {
	make func() sink.Sink
	want string
}{
	"honest applier": {func() sink.Sink { return sink.NewMemory() }, ""},
	"plain sink":     {func() sink.Sink { return plain{sink.NewMemory()} }, ""},
	"always stored":  {func() sink.Sink { return liar{sink.NewMemory(), sink.Stored} }, "= stored, want ignored"},
	"always ignored": {func() sink.Sink { return liar{sink.NewMemory(), sink.Ignored} }, "= ignored, want stored"},
	"write does nothing": {func() sink.Sink { return lazyWriter{sink.NewMemory()} },
		"Lookup(cus_new): no record, want event evt_new_2"},
	"stored twice under concurrency": {func() sink.Sink { return &echo{Memory: sink.NewMemory()} },
		"reported Stored 2 times, want at most once"},
	"batch in arrival order": {func() sink.Sink { return arrivalOrder{sink.NewMemory()} },
		"item cus_bm_d customer.created evt_bm_d1 = stored, want ignored"},
	"batch fails together": {func() sink.Sink { return together{sink.NewMemory()} },
		"item cus_binv_1 customer.created evt_binv_1: sink: event evt_binv_nosubject has no subject"},
}

// TestSuiteCatchesLies runs the suite, in a child process each, on the sinks above: it must pass
// on the honest ones and fail, saying why, on the others.
func TestSuiteCatchesLies(t *testing.T) {
	if name := os.Getenv(liarEnv); name != "" {
		runOn(t, subjects[name].make)
		return
	}
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	for name, c := range subjects {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesLies$", "-test.count=1")
			cmd.Env = append(os.Environ(), liarEnv+"="+name)
			out, err := cmd.CombinedOutput()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("the suite failed on an honest sink: %v\n%s", err, out)
			case c.want != "" && err == nil:
				t.Fatalf("the suite passed on a sink that lies (%s):\n%s", name, out)
			case c.want != "" && !strings.Contains(string(out), c.want):
				t.Fatalf("the suite failed, but not with %q:\n%s", c.want, out)
			}
		})
	}
}

func runOn(t *testing.T, make func() sink.Sink) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sink.Sink {
			s := make()
			t.Cleanup(func() { s.Close() })
			return s
		},
		Lookup: func(t *testing.T, s sink.Sink, subject string) (sinktest.State, bool) {
			r, ok := memoryOf(s).Get(subject)
			return sinktest.State{EventID: r.Event.ID, Deleted: r.Deleted, Data: r.Event.Data}, ok
		},
	})
}

func memoryOf(s sink.Sink) *sink.Memory {
	switch s := s.(type) {
	case *sink.Memory:
		return s
	case plain:
		return s.m
	case liar:
		return s.Memory
	case lazyWriter:
		return s.Memory
	case *echo:
		return s.Memory
	case arrivalOrder:
		return s.Memory
	case together:
		return s.Memory
	}
	panic("unknown sink")
}

// plain hides Apply: the suite checks it through Write alone.
type plain struct{ m *sink.Memory }

func (p plain) Write(ctx context.Context, ev hookline.Event) error { return p.m.Write(ctx, ev) }
func (p plain) Close() error                                       { return p.m.Close() }

// liar applies events correctly but always reports the same Result.
type liar struct {
	*sink.Memory
	always sink.Result
}

func (l liar) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	_, err := l.Memory.Apply(ctx, ev)
	return l.always, err
}

// lazyWriter reports honestly through Apply, but its Write does not write.
type lazyWriter struct{ *sink.Memory }

func (lazyWriter) Write(ctx context.Context, ev hookline.Event) error { return ctx.Err() }

// echo reports Stored once more for the first duplicate of every event it stored, as a sink
// that decided from a stale read would.
type echo struct {
	*sink.Memory
	mu     sync.Mutex
	echoed map[string]bool // event id -> its duplicate was reported Stored already
}

func (e *echo) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	res, err := e.Memory.Apply(ctx, ev)
	if err != nil {
		return res, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.echoed == nil {
		e.echoed = make(map[string]bool)
	}
	switch done, seen := e.echoed[ev.ID]; {
	case res == sink.Stored:
		e.echoed[ev.ID] = false
	case seen && !done:
		e.echoed[ev.ID] = true
		return sink.Stored, nil
	}
	return res, nil
}

// arrivalOrder applies a batch's items one after the other as they came, so an older item of a
// subject that comes before a newer one is reported Stored.
type arrivalOrder struct{ *sink.Memory }

func (a arrivalOrder) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	out := make([]sink.Outcome, len(items))
	for i, it := range items {
		out[i].Result, out[i].Err = a.Apply(ctx, it.Event)
	}
	return out
}

// together fails every item of a batch when one fails, as a single transaction would.
type together struct{ *sink.Memory }

func (a together) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	out := a.Memory.ApplyBatch(ctx, items)
	for _, o := range out {
		if o.Err != nil {
			for i := range out {
				out[i] = sink.Outcome{Err: o.Err}
			}
			break
		}
	}
	return out
}
