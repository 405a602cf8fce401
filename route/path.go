package route

import (
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/hookline/hookline/internal/jsonscan"
)

// A path is a mapped column whose expression only selects: event.subject, event.data.email,
// event.data.address.city. Such columns are the most common, and path evaluates them without
// the interpreter, to the same value or failure as the compiled program: it reads the field or
// the members the same way, and builds the Go value straight from the JSON.
type path struct {
	field field    // the event's field
	keys  []string // for data: the members to select, in order
}

// pathOf returns the path of a checked expression, or false when it is more than a path.
func pathOf(checked *cel.Ast) (*path, bool) {
	var keys []string
	e := checked.NativeRep().Expr()
	for e.Kind() == ast.SelectKind {
		s := e.AsSelect()
		if s.IsTestOnly() {
			return nil, false
		}
		keys = append(keys, s.FieldName())
		e = s.Operand()
	}
	if e.Kind() != ast.IdentKind || e.AsIdent() != varName || len(keys) == 0 {
		return nil, false
	}
	// keys runs from the last selection to the first: the first is the event's field.
	f, ok := fields[keys[len(keys)-1]]
	if !ok {
		return nil, false
	}
	p := &path{field: f}
	for i := len(keys) - 2; i >= 0; i-- {
		p.keys = append(p.keys, keys[i])
	}
	if len(p.keys) > 0 && f.typ != types.DynType {
		return nil, false // event.metadata.key: a map of CEL's, left to the interpreter
	}
	return p, true
}

// errNotPath is the error of a path that selects a member of something other than an object:
// the compiled program then says what is wrong, in the interpreter's words.
var errNotPath = errors.New("not a path")

// eval returns the Go value of the path on e.
func (p *path) eval(e *Event) (any, error) {
	v, err := p.field.get(e)
	if err != nil {
		return nil, err
	}
	for n, k := range p.keys {
		o, ok := v.(*jsonObject)
		if !ok {
			return nil, errNotPath
		}
		i := o.lookup(k)
		if i < 0 {
			return nil, fmt.Errorf("no such key: %s", k)
		}
		if raw := o.rawValue(i); n == len(p.keys)-1 && raw[0] != '{' && raw[0] != '[' {
			return scalar(raw)
		}
		v = o.value(i)
		if err, ok := v.(*types.Err); ok {
			return nil, err
		}
	}
	return goValue(v)
}

// scalar returns the Go value of a JSON string, number, boolean or null taken from a valid
// document, as goValue(decodeJSON(raw)) does, with less work.
func scalar(raw []byte) (any, error) {
	switch raw[0] {
	case '"':
		return jsonscan.String(raw)
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return goValue(decodeJSON(raw))
}
