package route_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/route"
)

// compileFile parses and compiles a configuration given as text.
func compileFile(t *testing.T, yaml string) ([]*route.Route, error) {
	t.Helper()
	c, err := route.Parse([]byte(yaml), "f.yaml", testVars)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return route.CompileAll(c)
}

func TestCompileErrorsNamePositions(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"syntax", "routes:\n  - name: a\n    sink: s://\n    filter: event.id ==\n",
			`route: f.yaml:4:13: route "a": filter: Syntax error: mismatched input '<EOF>'`},
		{"unknown field", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: event.idd\n",
			`route: f.yaml:5:10: route "a": column "c": undefined field 'idd' (at column 6 of the expression)`},
		{"unknown variable", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: evnt.id\n",
			`route: f.yaml:5:10: route "a": column "c": undeclared reference to 'evnt' (at column 1 of the expression)`},
		{"non-bool filter", "routes:\n  - name: a\n    sink: s://\n    filter: event.id\n",
			`route: f.yaml:4:13: route "a": filter: the expression gives string, not bool`},
		{"wrong argument", "routes:\n  - name: a\n    sink: s://\n    filter: event.time > 5\n",
			`route: f.yaml:4:13: route "a": filter: found no matching overload for '_>_' applied to '(timestamp, int)' (at column 12 of the expression)`},
		{"multi-line expression", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: |\n        event.id +\n          event.nope\n",
			`route: f.yaml:5:10: route "a": column "c": undefined field 'nope' (at line 2, column 8 of the expression)`},
		{"bytes column", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: b'x'\n",
			`route: f.yaml:5:10: route "a": column "c": the expression gives bytes, which no column holds`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := compileFile(t, c.yaml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestCompileAllReportsEveryError(t *testing.T) {
	_, err := compileFile(t, "routes:\n  - name: a\n    sink: s://\n    filter: event.x\n    map:\n      c: event.y\n"+
		"  - name: b\n    sink: s://\n    map:\n      d: event.z\n")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"f.yaml:4:13", "f.yaml:6:10", "f.yaml:10:10"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %s:\n%v", w, err)
		}
	}
}

func TestCompileChecksASpecMadeInCode(t *testing.T) {
	_, err := route.CompileAll(route.Config{Routes: []route.Spec{
		{Name: "a", Sink: "s://", Types: []string{"a b"}},
		{Name: "a", Sink: "s://", Map: []route.Column{{Name: "c", Expr: "1"}, {Name: "c", Expr: "2"}}},
		{Name: "B"},
	}})
	for _, w := range []string{`types: "a b" is neither`, `route "a": a second route has this name`, `column "c" is mapped twice`,
		`route name "B"`, `route "B" has no sink`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

// testEvent is a customer event with a small payload.
func testEvent() hookline.Event {
	return hookline.Event{
		ID: "evt_1", Source: "stripe", Type: "customer.updated", Subject: "cus_1", Object: "customer",
		Action: hookline.Updated, Time: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Data: []byte(`{"id":"cus_1","email":"jenny@example.com","name":"Jenny Rosen","livemode":false,
			"balance":-250,"created":1709294400,"address":{"city":"Paris","country":"FR"},
			"tags":["a","b"],"phone":null,"rate":0.5}`),
		Metadata: map[string]string{"livemode": "false", "account": "acct_1"},
	}
}

func TestMatch(t *testing.T) {
	ev := testEvent()
	for _, c := range []struct {
		types  []string
		filter string
		want   bool
	}{
		{nil, "", true},
		{[]string{"*"}, "", true},
		{[]string{"customer.*"}, "", true},
		{[]string{"customer.created", "customer.updated"}, "", true},
		{[]string{"invoice.*", "customer.created"}, "", false},
		{[]string{"customer.*"}, "event.data.livemode == false", true},
		{[]string{"customer.*"}, "event.data.livemode", false == true},
		{[]string{"invoice.*"}, "event.data.nope", false}, // the types decide first: the filter is not run
		{nil, `event.metadata["account"] == "acct_1"`, true},
		{nil, `event.metadata.livemode == "true"`, false},
		{nil, `has(event.metadata.account) && !has(event.metadata.nope)`, true},
		{nil, `event.time >= timestamp("2024-03-01T00:00:00Z") && event.time.getMonth() == 2`, true},
		{nil, `event.time < timestamp("2024-01-01T00:00:00Z")`, false},
		{nil, `event.data.balance < 0 && event.data.rate == 0.5 && event.data.created > 1700000000`, true},
		{nil, `event.data.address.country in ["FR", "DE"]`, true},
		{nil, `event.data.tags.exists(t, t == "b") && size(event.data.tags) == 2`, true},
		{nil, `event.action == "updated" && event.object == "customer" && event.source == "stripe"`, true},
		{nil, `event.data.email.endsWith("@example.com") && event.data.email.matches("^j")`, true},
		{nil, `event.data.phone == null && !has(event.data.fax)`, true},
	} {
		r, err := route.Compile(route.Spec{Name: "r", Sink: "s://", Types: c.types, Filter: c.filter})
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Match(route.NewEvent(ev))
		if err != nil || got != c.want {
			t.Errorf("types %v filter %q: got %v, %v; want %v", c.types, c.filter, got, err, c.want)
		}
	}
}

func TestValuesAndKinds(t *testing.T) {
	cols := []struct {
		expr string
		kind route.Kind
		want any
	}{
		{"event.subject", route.KindText, "cus_1"},
		{"event.data.email", route.KindAny, "jenny@example.com"},
		{"string(event.data.email)", route.KindText, "jenny@example.com"},
		{"event.data.name.split(' ')[0]", route.KindText, "Jenny"},
		{"int(event.data.balance)", route.KindInteger, int64(-250)},
		{"uint(event.data.created)", route.KindInteger, int64(1709294400)},
		{"event.data.rate * 2.0", route.KindDecimal, 1.0},
		{"event.data.balance", route.KindAny, -250.0},
		{"event.data.livemode", route.KindAny, false},
		{"event.time", route.KindTime, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"timestamp(int(event.data.created))", route.KindTime, time.Unix(1709294400, 0).UTC()},
		{"event.data.phone", route.KindAny, nil},
		{"null", route.KindNull, nil},
		{"event.data.?fax", route.KindAny, nil},
		{"event.data.?address.?city", route.KindAny, "Paris"},
		{"event.data.?fax.orValue('none')", route.KindAny, "none"},
		{"has(event.data.fax)", route.KindBool, false},
		{"event.data.tags", route.KindAny, []any{"a", "b"}},
		{"event.data.address", route.KindAny, map[string]any{"city": "Paris", "country": "FR"}},
		{"event.metadata", route.KindAny, map[string]any{"livemode": "false", "account": "acct_1"}},
		{"[1, 'x', 2.5]", route.KindAny, []any{int64(1), "x", 2.5}},
		{"{'a': event.data.address.city}", route.KindAny, map[string]any{"a": "Paris"}},
		{"base64.encode(bytes(event.id))", route.KindText, "ZXZ0XzE="},
		{"math.greatest(3, 7)", route.KindInteger, int64(7)},
		{"'%s/%d'.format([event.subject, 3])", route.KindText, "cus_1/3"},
		{"cel.bind(n, event.data.name, n.size())", route.KindInteger, int64(11)},
	}
	spec := route.Spec{Name: "r", Sink: "s://"}
	for i, c := range cols {
		spec.Map = append(spec.Map, route.Column{Name: fmt.Sprint("c", i), Expr: c.expr})
	}
	r, err := route.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	kinds := r.Columns()
	vals, err := r.Values(route.NewEvent(testEvent()))
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.AppendValues(nil, route.NewEvent(testEvent()))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		name := fmt.Sprint("c", i)
		if kinds[i].Name != name || kinds[i].Kind != c.kind {
			t.Errorf("%s: kind %+v, want %s", c.expr, kinds[i], c.kind)
		}
		if !reflect.DeepEqual(vals[name], c.want) || !reflect.DeepEqual(list[i], c.want) {
			t.Errorf("%s: got %#v and %#v, want %#v", c.expr, vals[name], list[i], c.want)
		}
	}
}

func TestEvaluationErrorsNameRouteAndColumn(t *testing.T) {
	routes, err := compileFile(t, "routes:\n  - name: a\n    sink: s://\n    filter: event.data.nope == 1\n"+
		"  - name: b\n    sink: s://\n    map:\n      ok: event.id\n      missing: event.data.nope\n      div: 1 / int(event.data.livemode)\n"+
		"  - name: c\n    sink: s://\n    filter: event.data.email\n    map:\n      nan: math.sqrt(-1.0)\n      bytes: dyn(b'x')\n")
	if err != nil {
		t.Fatal(err)
	}
	e := route.NewEvent(testEvent())
	_, err = routes[0].Match(e)
	checkEvalError(t, err, `route: route "a": filter (f.yaml:4:13): no such key: nope`)
	_, err = routes[1].Values(e)
	checkEvalError(t, err, `route: route "b": column "missing" (f.yaml:9:16): no such key: nope`)
	if err == nil || !strings.Contains(err.Error(), `route: route "b": column "div" (f.yaml:10:12): `) {
		t.Errorf("the second failing column is not named: %v", err)
	}
	_, err = routes[2].Match(e)
	checkEvalError(t, err, `route: route "c": filter (f.yaml:13:13): the filter gave string, not bool`)
	_, err = routes[2].Values(e)
	checkEvalError(t, err, `route: route "c": column "nan" (f.yaml:15:12): the number NaN cannot be stored`)
	if err == nil || !strings.Contains(err.Error(), `column "bytes" (f.yaml:16:14): a value of type bytes cannot be stored`) {
		t.Errorf("bytes: %v", err)
	}
}

func checkEvalError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got  %v\nwant %s", err, want)
		return
	}
	var ee *route.EvalError
	if !errors.As(err, &ee) || hookline.Code(err) != hookline.Permanent {
		t.Errorf("%v: not an EvalError marked Permanent (%v)", err, hookline.Code(err))
	}
}

func TestDataThatIsNotJSON(t *testing.T) {
	r, err := route.Compile(route.Spec{Name: "r", Sink: "s://", Map: []route.Column{{Name: "id", Expr: "event.id"}, {Name: "x", Expr: "event.data.x"}}})
	if err != nil {
		t.Fatal(err)
	}
	for data, want := range map[string]string{
		`{"x":1} trailing`: "event data is not valid JSON",
		`not json`:         "event data is not valid JSON",
		`{"x":1e999}`:      "JSON number 1e999 is out of range",
		`[1]`:              "unsupported index type 'string' in list",
		``:                 "no such key: x", // no data: data is null
	} {
		ev := testEvent()
		ev.Data = []byte(data)
		_, err := r.Values(route.NewEvent(ev))
		if err == nil || !strings.Contains(err.Error(), `column "x": `) || !strings.Contains(err.Error(), want) {
			t.Errorf("data %q: got %v, want %q", data, err, want)
		}
	}
	ev := testEvent()
	ev.Data = nil
	r2, _ := route.Compile(route.Spec{Name: "r", Sink: "s://", Filter: "event.data == null && !has(event.data)"})
	if ok, err := r2.Match(route.NewEvent(ev)); !ok || err != nil {
		t.Errorf("no data: %v, %v", ok, err)
	}
}

// Many goroutines run the routes on shared and separate events; -race checks them.
func TestConcurrentEvaluation(t *testing.T) {
	r, err := route.Compile(benchSpec)
	if err != nil {
		t.Fatal(err)
	}
	ev := sampleEvent(t)
	want, err := r.Values(route.NewEvent(ev))
	if err != nil {
		t.Fatal(err)
	}
	shared := route.NewEvent(ev)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				e := shared
				if (g+i)%2 == 0 {
					e = route.NewEvent(ev)
				}
				ok, err := r.Match(e)
				got, err2 := r.Values(e)
				if !ok || err != nil || err2 != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("goroutine %d: %v %v %v %v", g, ok, err, err2, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
