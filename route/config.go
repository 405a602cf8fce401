package route

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path; see [Parse]. A nil lookup is [os.LookupEnv].
func Load(path string, lookup func(string) (string, bool)) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("route: %w", err)
	}
	return Parse(data, path, lookup)
}

// Parse reads a configuration file: data is its content and file its name, for positions. Every
// string value but a route's name has its ${VAR} references replaced by lookup(VAR) (nil:
// [os.LookupEnv]) first; "$${" stands for a literal "${". Parse checks the file's structure (the
// package doc lists the rules) and reports every problem at once, joined, each with its
// file:line:col; it does not compile expressions: [CompileAll] does.
func Parse(data []byte, file string, lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return Config{}, errorAt(Pos{File: file}, "the file has no routes")
		}
		return Config{}, yamlError(file, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		if err != nil {
			return Config{}, yamlError(file, err)
		}
		return Config{}, errorAt(pos(file, &more), "a second YAML document: the file holds one")
	}
	p := &parser{file: file, lookup: lookup}
	c := p.config(doc.Content[0])
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError makes a syntax error of the YAML library start with file:line.
func yamlError(file string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("route: %s:%s: %s", file, m[1], m[2])
	}
	return fmt.Errorf("route: %s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
}

func pos(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }

// The keys of the file and of a route, in the order errors list them.
var (
	fileKeys  = []string{"routes"}
	routeKeys = []string{"name", "types", "filter", "sink", "map"}
)

// parser walks the YAML tree of a file, collecting every problem.
type parser struct {
	file   string
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, errorAt(pos(p.file, n), format, args...))
}

func (p *parser) config(root *yaml.Node) Config {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		p.fail(root, "the file must be a mapping with the key routes, not %s", describe(root))
		return Config{}
	}
	var c Config
	var routes *yaml.Node
	p.members(root, "", fileKeys, func(key string, _, v *yaml.Node) { routes = v })
	switch {
	case routes == nil:
		p.fail(root, "the file has no routes")
	case routes.Kind != yaml.SequenceNode:
		p.fail(routes, "routes must be a list of routes, not %s", describe(routes))
	case len(routes.Content) == 0:
		p.fail(routes, "routes is empty")
	default:
		first := make(map[string]Pos, len(routes.Content))
		for i, n := range routes.Content {
			s := p.route(i, resolve(n))
			if at, ok := first[s.Name]; ok && s.Name != "" {
				p.fail(n, "route %q: a second route has this name (the first is at %s)", s.Name, at)
			} else {
				first[s.Name] = s.Pos
			}
			c.Routes = append(c.Routes, s)
		}
	}
	return c
}

// members calls f for each member of the mapping n whose key is one of known, and reports the
// others and repeated keys. where names the mapping in errors ("" for the file).
func (p *parser) members(n *yaml.Node, where string, known []string, f func(key string, k, v *yaml.Node)) {
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		key, ok := p.key(k)
		switch {
		case !ok:
		case !contains(known, key):
			p.fail(k, "unknown key %q%s (known: %s)", key, where, strings.Join(known, ", "))
		case seen[key]:
			p.fail(k, "key %q%s is given twice", key, where)
		default:
			seen[key] = true
			f(key, k, v)
		}
	}
}

// key returns the text of a mapping key, which must be a scalar.
func (p *parser) key(k *yaml.Node) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		p.fail(k, "a key must be a plain name, not %s", describe(k))
		return "", false
	}
	return k.Value, true
}

func (p *parser) route(i int, n *yaml.Node) Spec {
	s := Spec{Pos: pos(p.file, n)}
	label := fmt.Sprintf(" in route #%d", i+1)
	if n.Kind != yaml.MappingNode {
		p.fail(n, "route #%d must be a mapping (%s), not %s", i+1, strings.Join(routeKeys, ", "), describe(n))
		return s
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if k, v := resolve(n.Content[j]), resolve(n.Content[j+1]); k.Kind == yaml.ScalarNode && k.Value == "name" && isString(v) {
			label = fmt.Sprintf(" in route %q", v.Value)
		}
	}
	var hasName, hasSink bool
	p.members(n, label, routeKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			// A name is taken as written: no ${VAR}.
			hasName = true
			if p.isString(v, key, label) {
				s.Name = v.Value
				if !namePattern.MatchString(s.Name) {
					p.fail(v, "route name %q: use lower-case letters, digits, '_' and '-'", s.Name)
				}
			}
		case "types":
			s.TypesPos = pos(p.file, v)
			s.Types = p.types(v, label)
		case "filter":
			s.FilterPos = pos(p.file, v)
			s.Filter, _ = p.text(v, key, label)
		case "sink":
			s.SinkPos = pos(p.file, v)
			s.Sink, _ = p.text(v, key, label)
			hasSink = true
		case "map":
			s.Map = p.columns(v, label)
		}
	})
	if !hasName {
		p.fail(n, "route #%d has no name", i+1)
	}
	if !hasSink {
		p.fail(n, "no sink%s", label)
	}
	return s
}

func (p *parser) types(v *yaml.Node, label string) []string {
	if v.Kind != yaml.SequenceNode {
		p.fail(v, "types%s must be a list of event types, not %s", label, describe(v))
		return nil
	}
	if len(v.Content) == 0 {
		p.fail(v, "types%s is empty (leave it out for every type)", label)
	}
	var out []string
	for _, e := range v.Content {
		e = resolve(e)
		if t, ok := p.text(e, "an event type", label); ok {
			if err := checkType(t); err != nil {
				p.fail(e, "%v%s", err, label)
			}
			out = append(out, t)
		}
	}
	return out
}

func (p *parser) columns(v *yaml.Node, label string) []Column {
	if v.Kind != yaml.MappingNode {
		p.fail(v, "map%s must be a mapping of column names to expressions, not %s", label, describe(v))
		return nil
	}
	if len(v.Content) == 0 {
		p.fail(v, "map%s is empty (leave it out for a sink that takes the event whole)", label)
	}
	var out []Column
	seen := make(map[string]bool, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, e := resolve(v.Content[i]), resolve(v.Content[i+1])
		name, ok := p.key(k)
		if !ok {
			continue
		}
		if seen[name] {
			p.fail(k, "column %q%s is mapped twice", name, label)
			continue
		}
		seen[name] = true
		if name == "" {
			p.fail(k, "a column%s has an empty name", label)
		}
		if expr, ok := p.text(e, fmt.Sprintf("column %q", name), label); ok {
			out = append(out, Column{Name: name, Expr: expr, Pos: pos(p.file, k), ExprPos: pos(p.file, e)})
		}
	}
	return out
}

// text returns the string value v with its variables expanded; it must be a non-empty string.
func (p *parser) text(v *yaml.Node, what, label string) (string, bool) {
	if !p.isString(v, what, label) {
		return "", false
	}
	s, err := expand(v.Value, p.lookup)
	if err != nil {
		p.fail(v, "%v", err)
		return "", false
	}
	if s == "" {
		p.fail(v, "%s%s is empty", what, label)
		return "", false
	}
	return s, true
}

func (p *parser) isString(v *yaml.Node, what, label string) bool {
	if isString(v) {
		return true
	}
	hint := ""
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		hint = fmt.Sprintf(" (quote it: %q)", v.Value)
	}
	p.fail(v, "%s%s must be a string, not %s%s", what, label, describe(v), hint)
	return false
}

// isString reports whether v is a string by the YAML 1.2 core schema, as JSON reads the file.
func isString(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode {
		return false
	}
	switch v.ShortTag() {
	case "!!null", "!!bool", "!!int", "!!float":
		return false
	}
	return true
}

// describe names the kind of a value, for errors.
func describe(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch v.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return "a string"
}

// resolve follows an alias to the node it stands for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// varPattern matches the name of an environment variable in ${NAME}.
var varPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces each ${NAME} in s with lookup(NAME), and each "$${" with "${". A variable that
// is not set, an unterminated "${" or a bad name is an error naming it.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("%q has no closing '}' (write $${ for a literal ${)", s[i:])
		}
		name := s[i+2 : i+2+end]
		if !varPattern.MatchString(name) {
			return "", fmt.Errorf("${%s}: not the name of an environment variable", name)
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
		s = s[i+3+end:]
	}
}
