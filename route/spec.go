package route

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Config is a configuration file: its routes, in file order.
type Config struct {
	Routes []Spec
}

// Spec is one route as the file writes it. The positions say where each value stands in the file
// (zero when it is absent, or when the Spec was not read from a file); errors name them.
type Spec struct {
	Name   string   // required: [a-z0-9_-]+, unique in a Config
	Types  []string // exact types or prefix wildcards ("customer.*"); none: every type
	Filter string   // a CEL bool expression; empty: every event of the types
	Sink   string   // required: the sink's URL
	Map    []Column // the mapped columns, in file order; none: the sink takes the event whole

	Pos       Pos // the route's item in the list of routes
	TypesPos  Pos
	FilterPos Pos
	SinkPos   Pos
}

// Column is one mapped column: a name and the CEL expression of its value.
type Column struct {
	Name    string
	Expr    string
	Pos     Pos // the column's name
	ExprPos Pos // its expression
}

// Pos is a position in a configuration file. Line and Col count from 1.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", or "" for the zero Pos.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// errorAt returns an error starting "route: " and, when p is known, p.
func errorAt(p Pos, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if s := p.String(); s != "" {
		return fmt.Errorf("route: %s: %s", s, msg)
	}
	return fmt.Errorf("route: %s", msg)
}

var namePattern = regexp.MustCompile(`^[a-z0-9_-]+$`)

// check returns what is wrong with s before its expressions are compiled.
func (s Spec) check() []error {
	var errs []error
	switch {
	case s.Name == "":
		errs = append(errs, errorAt(s.Pos, "a route has no name"))
	case !namePattern.MatchString(s.Name):
		errs = append(errs, errorAt(s.Pos, "route name %q: use lower-case letters, digits, '_' and '-'", s.Name))
	}
	if s.Sink == "" {
		errs = append(errs, errorAt(s.Pos, "route %q has no sink", s.Name))
	}
	for _, t := range s.Types {
		if err := checkType(t); err != nil {
			errs = append(errs, errorAt(s.TypesPos, "route %q: %v", s.Name, err))
		}
	}
	seen := make(map[string]bool, len(s.Map))
	for _, c := range s.Map {
		switch {
		case c.Name == "":
			errs = append(errs, errorAt(c.Pos, "route %q: a mapped column has no name", s.Name))
		case seen[c.Name]:
			errs = append(errs, errorAt(c.Pos, "route %q: column %q is mapped twice", s.Name, c.Name))
		case c.Expr == "":
			errs = append(errs, errorAt(c.ExprPos, "route %q: column %q has no expression", s.Name, c.Name))
		}
		seen[c.Name] = true
	}
	return errs
}

// checkType checks one pattern of a route's types: an event type, a prefix wildcard ("customer.*")
// or "*", as emitter.Types takes them, in printable ASCII without spaces (as the JSON Schema says:
// ^(\*|[\x21-\x29\x2b-\x7e]+(\.\*)?)$).
func checkType(t string) error {
	if t == "*" {
		return nil
	}
	body := strings.TrimSuffix(t, ".*")
	ok := body != ""
	for i := 0; i < len(body); i++ {
		if c := body[i]; c < 0x21 || c > 0x7e || c == '*' {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("types: %q is neither an event type (printable ASCII, no spaces), a prefix wildcard like \"customer.*\", nor \"*\"", t)
	}
	return nil
}
