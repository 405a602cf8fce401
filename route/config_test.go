package route_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hookline/hookline/route"
)

// env is a lookup of a few variables, as os.LookupEnv would answer.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var testVars = env(map[string]string{"DATAVERSE_HOST": "org.crm.dynamics.com", "EMPTY": "", "SECRET": "s3cr3t"})

func TestLoadExample(t *testing.T) {
	c, err := route.Load("testdata/hookline.yaml", testVars)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 2 {
		t.Fatalf("got %d routes, want 2", len(c.Routes))
	}
	r := c.Routes[0]
	if r.Name != "contacts" || !reflect.DeepEqual(r.Types, []string{"customer.*"}) || r.Filter != "event.data.livemode == false" {
		t.Errorf("route 0: %+v", r)
	}
	if want := "dataverse://org.crm.dynamics.com?key=new_stripecustomerid&eventtime=new_stripeeventcreated&entityset=contacts"; r.Sink != want {
		t.Errorf("sink %q, want %q (the variable expanded)", r.Sink, want)
	}
	var names []string
	for _, col := range r.Map {
		names = append(names, col.Name)
	}
	if want := []string{"new_stripecustomerid", "emailaddress1", "firstname", "lastname", "address1_city",
		"new_balance", "new_delinquent", "new_stripeeventcreated"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want the file's order %v", names, want)
	}
	pos := func(p route.Pos) string { return p.String() }
	for got, want := range map[string]string{
		pos(r.Pos):            "testdata/hookline.yaml:3:5",
		pos(r.TypesPos):       "testdata/hookline.yaml:4:12",
		pos(r.FilterPos):      "testdata/hookline.yaml:5:13",
		pos(r.SinkPos):        "testdata/hookline.yaml:6:11",
		pos(r.Map[1].Pos):     "testdata/hookline.yaml:9:7",
		pos(r.Map[1].ExprPos): "testdata/hookline.yaml:9:22",
	} {
		if got != want {
			t.Errorf("position %s, want %s", got, want)
		}
	}
	if e := c.Routes[1]; e.Name != "everything" || e.Sink != "sqlite://hookline.db" || e.Types != nil || e.Filter != "" || e.Map != nil {
		t.Errorf("route 1: %+v", e)
	}
}

func TestLoadAnchorsAndBlockScalars(t *testing.T) {
	c, err := route.Load("testdata/anchors.yaml", testVars)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Routes[0].Map, c.Routes[1].Map) || len(c.Routes[1].Map) != 3 {
		t.Errorf("the aliased map differs: %+v vs %+v", c.Routes[0].Map, c.Routes[1].Map)
	}
	if !strings.Contains(c.Routes[0].Filter, "\n  event.time >") {
		t.Errorf("block scalar filter %q", c.Routes[0].Filter)
	}
	if _, err := route.CompileAll(c); err != nil {
		t.Error(err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := route.Load(filepath.Join(t.TempDir(), "none.yaml"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "route: ") || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// Each case: a file, and the errors Parse must report, each a substring of one line of its
// error (file:line:col included).
var parseErrorCases = []struct {
	name, yaml string
	want       []string
}{
	{"empty", "", []string{"route: f.yaml: the file has no routes"}},
	{"not a mapping", "- a\n", []string{`f.yaml:1:1: the file must be a mapping with the key routes, not a list`}},
	{"no routes key", "other: 1\n", []string{`f.yaml:1:1: unknown key "other" (known: routes)`, "f.yaml:1:1: the file has no routes"}},
	{"routes not a list", "routes: {}\n", []string{"f.yaml:1:9: routes must be a list of routes, not a mapping"}},
	{"routes empty", "routes: []\n", []string{"f.yaml:1:9: routes is empty"}},
	{"unknown key", "routes:\n  - name: contacts\n    sink: stdout://\n    filtr: x\n",
		[]string{`route: f.yaml:4:5: unknown key "filtr" in route "contacts" (known: name, types, filter, sink, map)`}},
	{"unknown key before name", "routes:\n  - filtr: x\n    name: contacts\n    sink: s://\n",
		[]string{`f.yaml:2:5: unknown key "filtr" in route "contacts"`}},
	{"no name, no sink", "routes:\n  - types: [a]\n", []string{"f.yaml:2:5: route #1 has no name", "f.yaml:2:5: no sink in route #1"}},
	{"bad name", "routes:\n  - name: Contacts\n    sink: s://\n", []string{`f.yaml:2:11: route name "Contacts": use lower-case letters`}},
	{"name with a variable", "routes:\n  - name: ${NAME}\n    sink: s://\n", []string{`f.yaml:2:11: route name "${NAME}"`}},
	{"duplicate names", "routes:\n  - name: a\n    sink: s://\n  - name: a\n    sink: t://\n", []string{`f.yaml:4:5: route "a": a second route has this name (the first is at f.yaml:2:5)`}},
	{"duplicate key", "routes:\n  - name: a\n    sink: s://\n    sink: t://\n", []string{`f.yaml:4:5: key "sink" in route "a" is given twice`}},
	{"number sink", "routes:\n  - name: a\n    sink: 5\n", []string{`f.yaml:3:11: sink in route "a" must be a string, not a number (quote it: "5")`}},
	{"null filter", "routes:\n  - name: a\n    sink: s://\n    filter:\n", []string{`f.yaml:4:12: filter in route "a" must be a string, not null`}},
	{"empty sink", "routes:\n  - name: a\n    sink: ''\n", []string{`f.yaml:3:11: sink in route "a" is empty`}},
	{"empty after expansion", "routes:\n  - name: a\n    sink: ${EMPTY}\n", []string{`f.yaml:3:11: sink in route "a" is empty`}},
	{"unset variable", "routes:\n  - name: a\n    sink: x://${NOPE}/y\n", []string{"f.yaml:3:11: environment variable NOPE is not set"}},
	{"unterminated variable", "routes:\n  - name: a\n    sink: x://${NOPE\n", []string{`f.yaml:3:11: "${NOPE" has no closing '}'`}},
	{"bad variable name", "routes:\n  - name: a\n    sink: x://${1A}\n", []string{"f.yaml:3:11: ${1A}: not the name of an environment variable"}},
	{"types not a list", "routes:\n  - name: a\n    sink: s://\n    types: customer.*\n", []string{`f.yaml:4:12: types in route "a" must be a list of event types, not a string`}},
	{"types empty", "routes:\n  - name: a\n    sink: s://\n    types: []\n", []string{`f.yaml:4:12: types in route "a" is empty`}},
	{"bad type", "routes:\n  - name: a\n    sink: s://\n    types: [ok, '*.x', 'a b', 5]\n",
		[]string{`f.yaml:4:17: types: "*.x" is neither`, `f.yaml:4:24: types: "a b" is neither`, `f.yaml:4:31: an event type in route "a" must be a string, not a number`}},
	{"map not a mapping", "routes:\n  - name: a\n    sink: s://\n    map: [a]\n", []string{`f.yaml:4:10: map in route "a" must be a mapping`}},
	{"map empty", "routes:\n  - name: a\n    sink: s://\n    map: {}\n", []string{`f.yaml:4:10: map in route "a" is empty`}},
	{"column twice", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: event.id\n      c: event.type\n", []string{`f.yaml:6:7: column "c" in route "a" is mapped twice`}},
	{"column not a string", "routes:\n  - name: a\n    sink: s://\n    map:\n      c: true\n", []string{`f.yaml:5:10: column "c" in route "a" must be a string, not a boolean (quote it: "true")`}},
	{"column empty name", "routes:\n  - name: a\n    sink: s://\n    map:\n      '': event.id\n", []string{`f.yaml:5:7: a column in route "a" has an empty name`}},
	{"complex key", "routes:\n  - name: a\n    sink: s://\n    ? [x]\n    : y\n", []string{"f.yaml:4:7: a key must be a plain name, not a list"}},
	{"merge key", "base: &b {sink: s://}\nroutes:\n  - <<: *b\n    name: a\n", []string{`f.yaml:1:1: unknown key "base"`, `f.yaml:3:5: unknown key "<<" in route "a"`, `f.yaml:3:5: no sink in route "a"`}},
	{"syntax", "routes:\n  - name: a\n    sink: \"s://\n", []string{"route: f.yaml:3: found unexpected end of stream"}},
	{"two documents", "routes:\n  - name: a\n    sink: s://\n---\nroutes: []\n", []string{"f.yaml:4:1: a second YAML document"}},
	{"route not a mapping", "routes:\n  - a\n", []string{"f.yaml:2:5: route #1 must be a mapping (name, types, filter, sink, map), not a string"}},
}

func TestParseErrors(t *testing.T) {
	for _, c := range parseErrorCases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := route.Parse([]byte(c.yaml), "f.yaml", testVars)
			if err == nil {
				_, err = route.CompileAll(cfg)
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(lines), len(c.want), err)
			}
			for _, w := range c.want {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, w) && strings.HasPrefix(l, "route: ")
				}
				if !found {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseDoesNotPrintSecrets(t *testing.T) {
	_, err := route.Parse([]byte("routes:\n  - name: a\n    sink: x://${SECRET}\n    map: {c: 1}\n"), "f.yaml", testVars)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("got %v", err)
	}
}

func TestExpand(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   "plain",
		"${DATAVERSE_HOST}":       "org.crm.dynamics.com",
		"a${EMPTY}b":              "ab",
		"$${DATAVERSE_HOST}":      "${DATAVERSE_HOST}",
		"x$${y}${SECRET}z":        "x${y}s3cr3tz",
		"$ {x} $x {x} $":          "$ {x} $x {x} $",
		"${SECRET}${SECRET}":      "s3cr3ts3cr3t",
		"${DATAVERSE_HOST}/$${a}": "org.crm.dynamics.com/${a}",
	} {
		c, err := route.Parse([]byte("routes:\n  - name: a\n    sink: '"+in+"'\n"), "f.yaml", testVars)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := c.Routes[0].Sink; got != want {
			t.Errorf("%q expanded to %q, want %q", in, got, want)
		}
	}
}

func TestParseNilLookupReadsTheEnvironment(t *testing.T) {
	t.Setenv("HOOKLINE_ROUTE_TEST_SINK", "stdout://")
	c, err := route.Parse([]byte("routes:\n  - name: a\n    sink: ${HOOKLINE_ROUTE_TEST_SINK}\n"), "f.yaml", nil)
	if err != nil || c.Routes[0].Sink != "stdout://" {
		t.Errorf("got %+v, %v", c, err)
	}
}
