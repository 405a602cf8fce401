package route

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

// A path column gives what its compiled program gives, value or failure.
func TestPathsAgreeWithTheInterpreter(t *testing.T) {
	exprs := []string{"event.id", "event.time", "event.metadata", "event.data", "event.data.a", "event.data.a.b",
		"event.data.a.b.c", "event.data.s", "event.data.n", "event.data.l", "event.data.l.x", "event.data.z",
		"event.data.o", "event.data.e", "event.data.big", "event.data.esc", "event.data.s.x", "event.data.nope.x"}
	payloads := []string{
		`{"a":{"b":{"c":"deep"}},"s":"str","n":1.5,"l":[1,{"x":2}],"z":null,"o":{},"e":"","esc":"\u00e9\"","big":1e400}`,
		`{"a":{"b":[1]},"s":true,"n":-0,"l":"x","z":false,"a":{"b":{"c":3}}}`,
		`{"a":1}`, `[1,2]`, `"text"`, `null`, ``, `not json`,
	}
	for _, x := range exprs {
		r, err := Compile(Spec{Name: "r", Sink: "s://", Map: []Column{{Name: "c", Expr: x}}})
		if err != nil {
			t.Fatal(err)
		}
		c := &r.columns[0]
		if c.path == nil {
			t.Fatalf("%s: not compiled as a path", x)
		}
		for _, p := range payloads {
			e := NewEvent(hookline.Event{ID: "evt_1", Time: time.Unix(5, 0), Data: []byte(p), Metadata: map[string]string{"k": "v"}})
			got, err := c.path.eval(e)
			if err == errNotPath {
				continue
			}
			out, _, perr := c.prg.Eval(activation{NewEvent(e.ev)})
			var want any
			if perr == nil {
				want, perr = goValue(out)
			}
			if (err == nil) != (perr == nil) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s on %s: path gives %#v, %v; the interpreter %#v, %v", x, p, got, err, want, perr)
			}
			if err != nil && perr != nil && err.Error() != perr.Error() {
				t.Errorf("%s on %s: path fails with %q, the interpreter with %q", x, p, err, perr)
			}
		}
	}
	for _, x := range []string{"has(event.data.a)", "event.data.?a", "event.data['a']", "event.metadata.k", "event.data.a + 1"} {
		r, err := Compile(Spec{Name: "r", Sink: "s://", Map: []Column{{Name: "c", Expr: x}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.columns[0].path != nil {
			t.Errorf("%s compiled as a path", x)
		}
	}
}
