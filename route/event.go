package route

import (
	"fmt"
	"reflect"
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/hookline/hookline"
)

// Event is one event as the expressions of every route read it. Make one per event with
// [NewEvent] and hand it to the [Route.Match] and [Route.Values] of each route: what one route
// reads of the payload (its members, once indexed) the next one finds ready. An Event is safe for
// concurrent use; the event's Data must not change while it is in use.
type Event struct {
	ev   hookline.Event
	once sync.Once
	data ref.Val
}

// NewEvent returns ev as the expressions read it. It does no work until an expression does.
func NewEvent(ev hookline.Event) *Event { return &Event{ev: ev} }

// payload returns event.data: decoded and, for an object, validated and indexed on first use.
func (e *Event) payload() ref.Val {
	e.once.Do(func() { e.data = decodeRoot(e.ev.Data) })
	return e.data
}

// activation is the one variable of every expression, event. It is pointer-shaped, so passing it
// to a program as an interpreter.Activation allocates nothing.
type activation struct{ e *Event }

func (a activation) ResolveName(name string) (any, bool) {
	if name == varName {
		return a.e, true
	}
	return nil, false
}

func (activation) Parent() interpreter.Activation { return nil }

// varName is the name of the variable, and eventTypeName the CEL type of its value.
const (
	varName       = "event"
	eventTypeName = "hookline.Event"
)

// field is one field of the event variable: its CEL type, whether it is set (what has() says)
// and its value.
type field struct {
	typ   *types.Type
	isSet func(*Event) bool
	get   func(*Event) (ref.Val, error)
}

func stringField(f func(*hookline.Event) string) field {
	return field{
		typ:   types.StringType,
		isSet: func(e *Event) bool { return f(&e.ev) != "" },
		get:   func(e *Event) (ref.Val, error) { return types.String(f(&e.ev)), nil },
	}
}

// fields are the fields of the event variable, named as CloudEvents names its attributes.
var fields = map[string]field{
	"id":      stringField(func(ev *hookline.Event) string { return ev.ID }),
	"source":  stringField(func(ev *hookline.Event) string { return ev.Source }),
	"type":    stringField(func(ev *hookline.Event) string { return ev.Type }),
	"subject": stringField(func(ev *hookline.Event) string { return ev.Subject }),
	"object":  stringField(func(ev *hookline.Event) string { return ev.Object }),
	"action":  stringField(func(ev *hookline.Event) string { return string(ev.Action) }),
	"time": {
		typ:   types.TimestampType,
		isSet: func(e *Event) bool { return !e.ev.Time.IsZero() },
		get:   func(e *Event) (ref.Val, error) { return types.Timestamp{Time: e.ev.Time}, nil },
	},
	"metadata": {
		typ:   types.NewMapType(types.StringType, types.StringType),
		isSet: func(e *Event) bool { return len(e.ev.Metadata) > 0 },
		get: func(e *Event) (ref.Val, error) {
			return types.NewStringStringMap(types.DefaultTypeAdapter, e.ev.Metadata), nil
		},
	},
	"data": {
		typ:   types.DynType,
		isSet: func(e *Event) bool { return len(e.ev.Data) > 0 },
		get: func(e *Event) (ref.Val, error) {
			v := e.payload()
			if err, ok := v.(*types.Err); ok {
				return nil, err
			}
			return v, nil
		},
	},
}

// fieldNames lists fields in the order the documentation gives them.
var fieldNames = []string{"id", "source", "type", "subject", "object", "action", "time", "metadata", "data"}

// eventType describes the event variable's type to CEL, so that the checker knows its fields
// (event.idd does not compile, event.time is a timestamp) and the interpreter reads each field
// straight from the Event.
type eventType struct{}

var (
	_ ref.Type                   = eventType{}
	_ types.StructTypeDescriptor = eventType{}
)

func (eventType) HasTrait(int) bool         { return false }
func (eventType) TypeName() string          { return eventTypeName }
func (eventType) FieldNames() []string      { return fieldNames }
func (eventType) ReflectType() reflect.Type { return reflect.TypeFor[*Event]() }

func (eventType) FindFieldType(name string) (*types.FieldType, bool) {
	f, ok := fields[name]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: f.typ,
		IsSet: func(target any) bool {
			e, ok := target.(*Event)
			return ok && f.isSet(e)
		},
		GetFrom: func(target any) (any, error) {
			e, ok := target.(*Event)
			if !ok {
				return nil, fmt.Errorf("no field %s on %T", name, target)
			}
			return f.get(e)
		},
	}, true
}

func (eventType) NewValue(types.Adapter, map[string]ref.Val) ref.Val {
	return types.NewErr("a %s cannot be made in an expression", eventTypeName)
}

func (eventType) Adapt(_ types.Adapter, value any) ref.Val {
	if e, ok := value.(*Event); ok {
		return eventValue{e}
	}
	return types.NewErr("not a %s: %T", eventTypeName, value)
}

// eventCELType is the CEL type of the event variable.
var eventCELType = types.NewObjectType(eventTypeName)

// eventValue is the event variable as a CEL value, when an expression uses it whole (event ==
// event, [event][0].id): fields are still read through eventType.
type eventValue struct{ e *Event }

func (v eventValue) ConvertToNative(typ reflect.Type) (any, error) {
	switch typ {
	case reflect.TypeFor[*Event]():
		return v.e, nil
	case reflect.TypeFor[hookline.Event]():
		return v.e.ev, nil
	}
	return nil, fmt.Errorf("%s cannot be converted to %v", eventTypeName, typ)
}

func (v eventValue) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return eventCELType
	}
	if t.TypeName() == eventTypeName {
		return v
	}
	return types.NewErr("type conversion error from %s to '%s'", eventTypeName, t)
}

func (v eventValue) Equal(other ref.Val) ref.Val {
	o, ok := other.(eventValue)
	return types.Bool(ok && o.e == v.e)
}

func (eventValue) Type() ref.Type { return eventCELType }
func (v eventValue) Value() any   { return v.e }
