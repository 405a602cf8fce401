package route_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/hookline/hookline/route"
)

// schema compiles route/hookline.schema.json.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile("hookline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// validate checks a YAML file against the schema, as an editor would: the YAML read as JSON.
func validate(sch *jsonschema.Schema, data []byte) error {
	v, err := yamlToJSON(data)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// yamlToJSON reads one YAML document as the JSON value it stands for, by the YAML 1.2 core
// schema: what cannot be JSON (a repeated key, a key that is not a scalar, a second document,
// .inf) is an error.
func yamlToJSON(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, err
	}
	if err := dec.Decode(new(yaml.Node)); err != io.EOF {
		return nil, errors.New("more than one document")
	}
	v, err := nodeToJSON(&doc)
	if err != nil {
		return nil, err
	}
	// Through JSON text, so that the validator sees what it would read from a JSON file.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func nodeToJSON(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return nodeToJSON(n.Content[0])
	case yaml.AliasNode:
		return nodeToJSON(n.Alias)
	case yaml.SequenceNode:
		out := []any{}
		for _, e := range n.Content {
			v, err := nodeToJSON(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a key that is not a scalar", k.Line)
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q repeated", k.Line, k.Value)
			}
			v, err := nodeToJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
		}
		return v, nil
	}
	return n.Value, nil
}

// anyVar sets every variable, as a deployment would.
func anyVar(string) (string, bool) { return "placeholder", true }

// exampleConfigs are the configuration files of the repository: every hookline.yaml (examples,
// deploy files) and this package's valid test fixtures.
func exampleConfigs(t *testing.T) []string {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if name := d.Name(); !d.IsDir() && (name == "hookline.yaml" || strings.HasSuffix(name, ".hookline.yaml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestExampleConfigsMatchTheSchemaAndCompile(t *testing.T) {
	sch := schema(t)
	files := exampleConfigs(t)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(sch, data); err != nil {
			t.Errorf("%s: the schema refuses it: %v", f, err)
		}
		c, err := route.Parse(data, f, anyVar)
		if err == nil {
			_, err = route.CompileAll(c)
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The files the loader accepts, besides the fixtures.
var acceptedFiles = []string{
	"routes:\n  - name: a\n    sink: s://\n",
	"routes: [{name: a-b_1, sink: 's://', types: ['*'], filter: 'true', map: {c: '1', 'd e': event.id}}]\n",
	"routes:\n  - name: a\n    sink: \"s://${DATAVERSE_HOST}\"\n    types: [customer.*, invoice.paid, a.b.*, '..*', a.]\n",
	"routes:\n  - name: a\n    sink: s://\n    filter: >\n      event.type ==\n      'x'\n",
	"# comment\nroutes:\n  - name: '2024'\n    sink: !custom s://\n",
	"routes:\n  - &r\n    name: a\n    sink: s://\n",
	"routes:\n  - name: a\n    sink: 2024-01-01\n", // a YAML 1.1 timestamp is a string to JSON and to the loader
}

// The schema cannot see these: they break rules about the file as read, not as written.
var schemaCannotSee = map[string]string{
	"duplicate names":       "uniqueness of a property across array items",
	"unset variable":        "the environment",
	"empty after expansion": "the environment",
	"unterminated variable": "variables (${...} is an ordinary string to it)",
	"bad variable name":     "variables (${...} is an ordinary string to it)",
}

// The schema and the loader accept the same files: every file the loader refuses, the schema
// refuses (but for what the schema cannot see), and every file it accepts, the schema accepts.
func TestSchemaAndLoaderAgree(t *testing.T) {
	sch := schema(t)
	for _, c := range parseErrorCases {
		_, loaderErr := route.Parse([]byte(c.yaml), "f.yaml", testVars)
		schemaErr := validate(sch, []byte(c.yaml))
		if loaderErr == nil {
			t.Errorf("%s: the loader accepts it", c.name)
		}
		if why, ok := schemaCannotSee[c.name]; ok {
			if schemaErr != nil {
				t.Errorf("%s: the schema refuses it after all (%v): drop it from schemaCannotSee (%s)", c.name, schemaErr, why)
			}
			continue
		}
		if schemaErr == nil {
			t.Errorf("%s: the loader refuses it (%v) but the schema accepts it", c.name, loaderErr)
		}
	}
	for _, f := range acceptedFiles {
		if _, err := route.Parse([]byte(f), "f.yaml", testVars); err != nil {
			t.Errorf("the loader refuses %q: %v", f, err)
		}
		if err := validate(sch, []byte(f)); err != nil {
			t.Errorf("the schema refuses %q: %v", f, err)
		}
	}
}
