package route

import (
	"fmt"
	"math"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// goValue converts the result of a mapped column's expression to the Go value a sink writes:
// string, int64, float64, bool, time.Time or nil, or a list ([]any) or map (map[string]any) of
// those, as encoding/json reads JSON. Any other value (bytes, a duration, a type) is an error.
func goValue(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.String:
		return string(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		if uint64(x) > math.MaxInt64 {
			return nil, fmt.Errorf("the unsigned integer %d does not fit a column's 64-bit integer", uint64(x))
		}
		return int64(x), nil
	case types.Double:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("the number %v cannot be stored", float64(x))
		}
		return float64(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Timestamp:
		return x.Time.UTC(), nil
	case types.Null:
		return nil, nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return goValue(x.GetValue())
	case *jsonObject, *jsonArray:
		return nativeJSON(x)
	case traits.Mapper:
		return goMap(x)
	case traits.Lister:
		return goList(x)
	case *types.Err:
		return nil, x
	}
	return nil, fmt.Errorf("a value of type %s cannot be stored (convert it, with string() say)", v.Type().TypeName())
}

func goMap(m traits.Mapper) (map[string]any, error) {
	out := make(map[string]any)
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		ks, ok := k.(types.String)
		if !ok {
			return nil, fmt.Errorf("a map with a key of type %s cannot be stored: keys must be strings, as in JSON", k.Type().TypeName())
		}
		v, err := goValue(m.Get(k))
		if err != nil {
			return nil, err
		}
		out[string(ks)] = v
	}
	return out, nil
}

func goList(l traits.Lister) ([]any, error) {
	n, ok := l.Size().(types.Int)
	if !ok {
		return nil, fmt.Errorf("a list of unknown size")
	}
	out := make([]any, 0, int(n))
	for it := l.Iterator(); it.HasNext() == types.True; {
		v, err := goValue(it.Next())
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
