package route

import (
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	"github.com/hookline/hookline/sink"
)

// Kind is what a mapped column's expression gives, as far as the type checker knows before the
// first event: a sink compares it with the type of the column it writes. [Route.Values] gives a
// column of each kind as one Go type:
//
//	KindText     string      (CEL string)
//	KindInteger  int64       (CEL int, and uint when it fits)
//	KindDecimal  float64     (CEL double; NaN and infinities are errors)
//	KindBool     bool
//	KindTime     time.Time   (CEL timestamp), in UTC
//	KindNull     nil         (the expression null)
//	KindAny      any of the above, or a list ([]any) or map (map[string]any) of them, as
//	             encoding/json reads JSON: known only per event (CEL dyn: whatever reads
//	             event.data, and lists and maps)
//
// An expression of optional type (event.data.?phone) has the kind of what it holds, and gives nil
// when it holds nothing.
//
// Kind is package sink's, which checks a route's columns against its destination
// ([sink.Checker]).
type Kind = sink.Kind

// The kinds.
const (
	KindText    = sink.KindText
	KindInteger = sink.KindInteger
	KindDecimal = sink.KindDecimal
	KindBool    = sink.KindBool
	KindTime    = sink.KindTime
	KindNull    = sink.KindNull
	KindAny     = sink.KindAny
)

// kindOf returns the kind of a checked expression's type, or false for a type no column can hold
// (bytes, duration, type, the event itself).
func kindOf(t *types.Type) (Kind, bool) {
	switch t.Kind() {
	case types.StringKind:
		return KindText, true
	case types.IntKind, types.UintKind:
		return KindInteger, true
	case types.DoubleKind:
		return KindDecimal, true
	case types.BoolKind:
		return KindBool, true
	case types.TimestampKind:
		return KindTime, true
	case types.NullTypeKind:
		return KindNull, true
	case types.DynKind, types.AnyKind, types.ListKind, types.MapKind:
		return KindAny, true
	case types.OpaqueKind:
		if t.TypeName() == "optional_type" && len(t.Parameters()) == 1 {
			return kindOf(t.Parameters()[0])
		}
	}
	return "", false
}

// environment is the one CEL environment of every expression: built once, safe for concurrent
// use.
var environment = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Types(eventType{}),
		cel.Variable(varName, eventCELType),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Encoders(),
		ext.Math(),
		ext.Lists(),
		ext.Sets(),
		ext.Regex(),
		ext.Bindings(),
	)
})
