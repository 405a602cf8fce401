package route

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/types"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/sink"
)

// Route is a compiled route: its types, filter and mapping checked and ready to run. A Route is
// safe for concurrent use.
type Route struct {
	spec    Spec
	types   emitter.Types
	filter  cel.Program // nil: every event of the route's types
	columns []column
}

type column struct {
	sink.Column
	pos  Pos
	prg  cel.Program
	path *path // when the expression is a path: evaluated without the interpreter
}

// Name returns the route's name.
func (r *Route) Name() string { return r.spec.Name }

// Sink returns the route's sink URL.
func (r *Route) Sink() string { return r.spec.Sink }

// Spec returns the specification the route was compiled from.
func (r *Route) Spec() Spec { return r.spec }

// Columns returns the mapped columns in file order with the [Kind] of their expressions, as a
// [sink.Checker] checks them; none when the route has no map (its sink takes the event whole).
func (r *Route) Columns() []sink.Column {
	out := make([]sink.Column, len(r.columns))
	for i, c := range r.columns {
		out[i] = c.Column
	}
	return out
}

// Compile checks s and compiles its expressions. Its error joins every problem found (with
// errors.Join), each starting with the position of the value at fault.
func Compile(s Spec) (*Route, error) {
	env, err := environment()
	if err != nil {
		return nil, fmt.Errorf("route: CEL environment: %w", err)
	}
	errs := s.check()
	r := &Route{spec: s}
	if len(errs) == 0 {
		// check refused what NewTypes would.
		r.types, _ = emitter.NewTypes(s.Types)
	}
	if s.Filter != "" {
		prg, checked, err := compileExpr(env, s.Filter, s.FilterPos, fmt.Sprintf("route %q: filter", s.Name))
		switch {
		case err != nil:
			errs = append(errs, err)
		case checked.OutputType().Kind() != types.BoolKind && checked.OutputType().Kind() != types.DynKind:
			errs = append(errs, errorAt(s.FilterPos, "route %q: filter: the expression gives %s, not bool", s.Name, checked.OutputType()))
		}
		r.filter = prg
	}
	for _, c := range s.Map {
		what := fmt.Sprintf("route %q: column %q", s.Name, c.Name)
		prg, checked, err := compileExpr(env, c.Expr, c.ExprPos, what)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		kind, ok := kindOf(checked.OutputType())
		if !ok {
			errs = append(errs, errorAt(c.ExprPos, "%s: the expression gives %s, which no column holds (convert it, with string() say)", what, checked.OutputType()))
			continue
		}
		p, _ := pathOf(checked)
		r.columns = append(r.columns, column{Column: sink.Column{Name: c.Name, Kind: kind}, pos: c.ExprPos, prg: prg, path: p})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// CompileAll compiles every route of c, in order. Its error joins every problem of every route.
func CompileAll(c Config) ([]*Route, error) {
	var errs []error
	routes := make([]*Route, 0, len(c.Routes))
	seen := make(map[string]bool, len(c.Routes))
	for _, s := range c.Routes {
		if seen[s.Name] {
			errs = append(errs, errorAt(s.Pos, "route %q: a second route has this name", s.Name))
		}
		seen[s.Name] = true
		r, err := Compile(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		routes = append(routes, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return routes, nil
}

// compileExpr parses and checks one expression, naming in its errors the expression's place in
// the file and CEL's place within the expression.
func compileExpr(env *cel.Env, expr string, pos Pos, what string) (cel.Program, *cel.Ast, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		var errs []error
		for _, e := range iss.Errors() {
			errs = append(errs, errorAt(pos, "%s: %s (at %s of the expression)", what, e.Message, exprAt(expr, e.Location)))
		}
		return nil, nil, errors.Join(errs...)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, errorAt(pos, "%s: %v", what, err)
	}
	return prg, ast, nil
}

// exprAt describes a position within an expression: "column 7", or "line 2, column 3" when the
// expression has several lines. CEL counts columns from 0; this, like the file positions, from 1.
func exprAt(expr string, loc common.Location) string {
	if !strings.Contains(expr, "\n") {
		return fmt.Sprintf("column %d", loc.Column()+1)
	}
	return fmt.Sprintf("line %d, column %d", loc.Line(), loc.Column()+1)
}

// Match reports whether the event goes this route's way: its type is one of the route's types
// and the filter, if any, holds. A filter that fails on this event (it reads a member the payload
// lacks, say) is an [*EvalError] marked [hookline.Permanent].
func (r *Route) Match(e *Event) (bool, error) {
	if !r.types.Allows(e.ev.Type) {
		return false, nil
	}
	if r.filter == nil {
		return true, nil
	}
	out, _, err := r.filter.Eval(activation{e})
	if err != nil {
		return false, r.evalError("", r.spec.FilterPos, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, r.evalError("", r.spec.FilterPos, fmt.Errorf("the filter gave %s, not bool", out.Type().TypeName()))
	}
	return bool(b), nil
}

// Values evaluates the route's map on the event: each column's value, as its [Kind] says. The
// error of a column that fails on this event (a member the payload lacks, a value of the wrong
// type) is an [*EvalError] marked [hookline.Permanent]; when several fail, their errors are
// joined. [Route.AppendValues] gives the same values in a slice, for less work.
func (r *Route) Values(e *Event) (map[string]any, error) {
	var buf [16]any // on the stack for up to 16 columns
	vals, err := r.AppendValues(buf[:0], e)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(r.columns))
	for i, v := range vals {
		out[r.columns[i].Name] = v
	}
	return out, nil
}

// AppendValues appends the value of each mapped column to dst, in the order of
// [Route.Columns], and returns the extended slice; its errors are those of [Route.Values].
func (r *Route) AppendValues(dst []any, e *Event) ([]any, error) {
	var errs []error
	for i := range r.columns {
		c := &r.columns[i]
		x, err := c.value(e)
		if err != nil {
			errs = append(errs, r.evalError(c.Name, c.pos, err))
		}
		dst = append(dst, x)
	}
	if len(errs) > 0 {
		return dst, errors.Join(errs...)
	}
	return dst, nil
}

// value evaluates the column on e.
func (c *column) value(e *Event) (any, error) {
	if c.path != nil {
		if x, err := c.path.eval(e); err != errNotPath {
			return x, err
		}
	}
	v, _, err := c.prg.Eval(activation{e})
	if err != nil {
		return nil, err
	}
	return goValue(v)
}

// EvalError is the error of an expression that failed on one event. Such an event will never go
// through the route as it is: the error is marked [hookline.Permanent], so the consumer
// dead-letters the event.
type EvalError struct {
	Route  string // the route's name
	Column string // the mapped column, or "" for the filter
	Pos    Pos    // where the expression is written
	Err    error
}

func (e *EvalError) Error() string {
	what := "filter"
	if e.Column != "" {
		what = fmt.Sprintf("column %q", e.Column)
	}
	if e.Pos.Line == 0 {
		return fmt.Sprintf("route: route %q: %s: %v", e.Route, what, e.Err)
	}
	return fmt.Sprintf("route: route %q: %s (%s): %v", e.Route, what, e.Pos, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

func (r *Route) evalError(col string, pos Pos, err error) error {
	return hookline.MarkPermanent(&EvalError{Route: r.spec.Name, Column: col, Pos: pos, Err: err})
}
