package route

import (
	"encoding/json"
	"errors"
	"reflect"
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// jsonArray is a JSON array as a CEL list, split into elements the first time it is read.
type jsonArray struct {
	raw   []byte
	once  sync.Once
	elems []json.RawMessage
}

func (a *jsonArray) index() []json.RawMessage {
	// The array was validated with the document it comes from, so this cannot fail.
	a.once.Do(func() { _ = json.Unmarshal(a.raw, &a.elems) })
	return a.elems
}

// Get implements traits.Indexer.
func (a *jsonArray) Get(index ref.Val) ref.Val {
	i, err := types.GetOrError(index)
	if err != nil {
		return types.WrapErr(err)
	}
	elems := a.index()
	if i < 0 || i >= len(elems) {
		return types.NewErr("index out of range: %d", i)
	}
	return decodeJSON(elems[i])
}

// Size implements traits.Sizer.
func (a *jsonArray) Size() ref.Val { return types.Int(len(a.index())) }

func (a *jsonArray) list() traits.Lister {
	elems := a.index()
	vals := make([]ref.Val, len(elems))
	for i, e := range elems {
		vals[i] = decodeJSON(e)
	}
	return types.NewRefValList(types.DefaultTypeAdapter, vals)
}

// Add implements traits.Adder (list concatenation).
func (a *jsonArray) Add(other ref.Val) ref.Val { return a.list().Add(other) }

// Contains implements traits.Container (the "in" operator).
func (a *jsonArray) Contains(v ref.Val) ref.Val { return a.list().Contains(v) }

// Iterator implements traits.Iterable.
func (a *jsonArray) Iterator() traits.Iterator {
	elems := a.index()
	vals := make([]ref.Val, len(elems))
	for i, e := range elems {
		vals[i] = decodeJSON(e)
	}
	return &iterator{vals: vals}
}

// Equal implements ref.Val with the semantics of CEL's lists.
func (a *jsonArray) Equal(other ref.Val) ref.Val { return a.list().Equal(other) }

// ConvertToNative implements ref.Val.
func (a *jsonArray) ConvertToNative(typ reflect.Type) (any, error) { return convertNative(a, typ) }

// ConvertToType implements ref.Val.
func (a *jsonArray) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.ListType:
		return a
	case types.TypeType:
		return types.ListType
	}
	return types.NewErr("type conversion error from list to '%s'", t)
}

// Type implements ref.Val.
func (a *jsonArray) Type() ref.Type { return types.ListType }

// Value implements ref.Val: the array as encoding/json reads it.
func (a *jsonArray) Value() any {
	v, _ := nativeJSON(a)
	return v
}

// iterator walks a fixed list of values.
type iterator struct {
	vals []ref.Val
	i    int
}

func (it *iterator) HasNext() ref.Val { return types.Bool(it.i < len(it.vals)) }

func (it *iterator) Next() ref.Val {
	if it.i >= len(it.vals) {
		return types.NewErr("no more elements")
	}
	it.i++
	return it.vals[it.i-1]
}

func (it *iterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("type conversion on iterators not supported")
}
func (it *iterator) ConvertToType(ref.Type) ref.Val { return types.NewErr("no such overload") }
func (it *iterator) Equal(ref.Val) ref.Val          { return types.NewErr("no such overload") }
func (it *iterator) Type() ref.Type                 { return types.IteratorType }
func (it *iterator) Value() any                     { return nil }

var (
	_ traits.Mapper = (*jsonObject)(nil)
	_ traits.Lister = (*jsonArray)(nil)
)

var (
	anyType    = reflect.TypeFor[any]()
	jsonMap    = reflect.TypeFor[map[string]any]()
	jsonSlice  = reflect.TypeFor[[]any]()
	rawMessage = reflect.TypeFor[json.RawMessage]()
)

// convertNative converts a lazy JSON value to typ: encoding/json's reading for any,
// map[string]any and []any, the raw JSON for json.RawMessage, and through CEL's own values for
// anything else (protobuf's Struct and Value, say).
func convertNative(v ref.Val, typ reflect.Type) (any, error) {
	native, err := nativeJSON(v)
	if err != nil {
		return nil, err
	}
	switch typ {
	case anyType, jsonMap, jsonSlice:
		if reflect.TypeOf(native).AssignableTo(typ) {
			return native, nil
		}
	case rawMessage:
		switch j := v.(type) {
		case *jsonObject:
			return json.RawMessage(j.raw), nil
		case *jsonArray:
			return json.RawMessage(j.raw), nil
		}
	}
	return types.DefaultTypeAdapter.NativeToValue(native).ConvertToNative(typ)
}

// nativeJSON returns the Go value of a CEL value read from JSON, as encoding/json reads it into
// an any: map[string]any, []any, string, float64, bool or nil.
func nativeJSON(v ref.Val) (any, error) {
	switch j := v.(type) {
	case *jsonObject:
		keys := j.distinct()
		m := make(map[string]any, len(keys))
		for _, i := range keys {
			x, err := nativeJSON(j.value(i))
			if err != nil {
				return nil, err
			}
			m[j.name(i)] = x
		}
		return m, nil
	case *jsonArray:
		elems := j.index()
		s := make([]any, len(elems))
		for i, e := range elems {
			x, err := nativeJSON(decodeJSON(e))
			if err != nil {
				return nil, err
			}
			s[i] = x
		}
		return s, nil
	case types.String:
		return string(j), nil
	case types.Double:
		return float64(j), nil
	case types.Bool:
		return bool(j), nil
	case types.Null:
		return nil, nil
	case *types.Err:
		return nil, j
	}
	return nil, errors.New("not a JSON value")
}
