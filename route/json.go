package route

import (
	"errors"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/hookline/hookline/internal/jsonscan"
)

// errNotJSON is the error of an expression that reads event.data when the event's Data is not
// valid JSON.
var errNotJSON = errors.New("event data is not valid JSON")

// decodeJSON returns the CEL value of raw, one JSON value taken from a document that is already
// known to be valid: a string, a double, a bool or null at once, an object or array as a lazy
// value that reads its members when first asked.
func decodeJSON(raw []byte) ref.Val {
	if len(raw) == 0 {
		return types.NewErr("%v", errNotJSON)
	}
	switch raw[0] {
	case '{':
		return &jsonObject{raw: raw}
	case '[':
		return &jsonArray{raw: raw}
	case '"':
		s, err := jsonscan.String(raw)
		if err != nil {
			return types.WrapErr(err)
		}
		return types.String(s)
	case 't':
		return types.True
	case 'f':
		return types.False
	case 'n':
		return types.NullValue
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		// Valid JSON, but out of the range of a double: encoding/json refuses it too.
		return types.NewErr("JSON number %s is out of range", raw)
	}
	return types.Double(f)
}

// decodeRoot returns the CEL value of a whole event payload, validating it: null for empty
// data, an error for anything that is not one JSON value. An object is validated and indexed
// in the same scan.
func decodeRoot(data []byte) ref.Val {
	if len(data) == 0 {
		return types.NullValue
	}
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i < len(data) && data[i] == '{' {
		o := &jsonObject{raw: data}
		o.once.Do(func() {
			if !jsonscan.Object(data, o.add) {
				o.err = errNotJSON
			}
			o.indexed()
		})
		if o.err != nil {
			return types.NewErr("%v", o.err)
		}
		return o
	}
	if !jsonscan.Valid(data) {
		return types.NewErr("%v", errNotJSON)
	}
	j := len(data)
	for j > i && (data[j-1] == ' ' || data[j-1] == '\t' || data[j-1] == '\n' || data[j-1] == '\r') {
		j--
	}
	return decodeJSON(data[i:j])
}

// jsonObject is a JSON object as a CEL map with string keys. Its members are indexed in one scan
// the first time one is asked for, and a member that is itself an object or array is kept once
// read, so that event.data.address.city and event.data.address.country scan the address once.
// A repeated name counts as its last occurrence, as in encoding/json. It is safe for concurrent
// use.
type jsonObject struct {
	raw     []byte
	once    sync.Once
	members []member
	names   map[int]string // the names that are not as the raw JSON writes them
	// children holds each member's value, once read, when it is an object or array.
	children []atomic.Pointer[ref.Val]
	err      error
	// containers counts the members that are objects or arrays.
	containers int

	keysOnce sync.Once
	keys     []int // the members that count (the last of each name), in document order
}

// member is one member of an object: where its name and value stand in the object's raw JSON.
// A name written with escapes is decoded into names, keyed by the member's index.
type member struct {
	keyOff, keyLen, valOff, valLen int32
}

// add appends one member. Its name is what encoding/json reads: escapes decoded (by jsonscan),
// and each byte of invalid UTF-8 made U+FFFD. Such a name is kept in names, and its member's
// keyOff is -1.
func (o *jsonObject) add(key, val []byte) {
	if o.members == nil {
		o.members = make([]member, 0, max(4, len(o.raw)/48))
	}
	m := member{keyOff: o.offset(key), keyLen: int32(len(key)), valOff: o.offset(val), valLen: int32(len(val))}
	if m.keyOff < 0 || !isASCII(key) && !utf8.Valid(key) {
		if o.names == nil {
			o.names = make(map[int]string)
		}
		name := string([]rune(string(key)))
		o.names[len(o.members)] = name
		m.keyOff, m.keyLen = -1, int32(len(name))
	}
	o.members = append(o.members, m)
	if val[0] == '{' || val[0] == '[' {
		o.containers++
	}
}

// indexed ends an index.
func (o *jsonObject) indexed() {
	if o.containers > 0 {
		o.children = make([]atomic.Pointer[ref.Val], len(o.members))
	}
}

// offset returns where b, a part of o.raw, starts in it, or -1 when b is not a part of it (a
// name jsonscan decoded).
func (o *jsonObject) offset(b []byte) int32 {
	off := cap(o.raw) - cap(b)
	if off < 0 || off > len(o.raw) || len(b) > 0 && (off == len(o.raw) || &o.raw[off] != &b[0]) {
		return -1
	}
	return int32(off)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// name returns the name of member i.
func (o *jsonObject) name(i int) string {
	m := &o.members[i]
	if m.keyOff < 0 {
		return o.names[i]
	}
	return string(o.raw[m.keyOff : m.keyOff+m.keyLen])
}

func (o *jsonObject) rawValue(i int) []byte {
	m := &o.members[i]
	return o.raw[m.valOff : m.valOff+m.valLen]
}

func (o *jsonObject) index() {
	o.once.Do(func() {
		_ = jsonscan.Members(o.raw, func(k, v []byte) bool { o.add(k, v); return true })
		o.indexed()
	})
}

// lookup returns the index of the member named name, or -1.
func (o *jsonObject) lookup(name string) int {
	o.index()
	n := int32(len(name))
	for i := len(o.members) - 1; i >= 0; i-- {
		m := &o.members[i]
		switch {
		case m.keyLen != n:
		case m.keyOff < 0:
			if o.names[i] == name {
				return i
			}
		case string(o.raw[m.keyOff:m.keyOff+n]) == name:
			return i
		}
	}
	return -1
}

// value returns the CEL value of member i.
func (o *jsonObject) value(i int) ref.Val {
	raw := o.rawValue(i)
	if c := raw[0]; c != '{' && c != '[' {
		return decodeJSON(raw)
	}
	c := &o.children[i]
	if v := c.Load(); v != nil {
		return *v
	}
	v := decodeJSON(raw)
	if !c.CompareAndSwap(nil, &v) {
		return *c.Load()
	}
	return v
}

// distinct returns the members that count, in document order.
func (o *jsonObject) distinct() []int {
	o.index()
	o.keysOnce.Do(func() {
		seen := make(map[string]bool, len(o.members))
		o.keys = make([]int, 0, len(o.members))
		for i := len(o.members) - 1; i >= 0; i-- {
			if k := o.name(i); !seen[k] {
				seen[k] = true
				o.keys = append(o.keys, i)
			}
		}
		for i, j := 0, len(o.keys)-1; i < j; i, j = i+1, j-1 {
			o.keys[i], o.keys[j] = o.keys[j], o.keys[i]
		}
	})
	return o.keys
}

// FindStringKey is the interpreter's fast path for event.data.name: no key value is made.
func (o *jsonObject) FindStringKey(name string) (any, bool) {
	if i := o.lookup(name); i >= 0 {
		return o.value(i), true
	}
	return nil, false
}

// Find implements traits.Mapper.
func (o *jsonObject) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		if types.IsUnknownOrError(key) {
			return key, false
		}
		return nil, false
	}
	if i := o.lookup(string(k)); i >= 0 {
		return o.value(i), true
	}
	return nil, false
}

// Get implements traits.Indexer.
func (o *jsonObject) Get(key ref.Val) ref.Val {
	v, found := o.Find(key)
	if !found {
		return types.ValOrErr(v, "no such key: %v", key)
	}
	return v
}

// Contains implements traits.Container (the "in" operator).
func (o *jsonObject) Contains(key ref.Val) ref.Val {
	v, found := o.Find(key)
	if v != nil && types.IsUnknownOrError(v) {
		return v
	}
	return types.Bool(found)
}

// Size implements traits.Sizer.
func (o *jsonObject) Size() ref.Val { return types.Int(len(o.distinct())) }

// Iterator implements traits.Iterable: the keys in document order.
func (o *jsonObject) Iterator() traits.Iterator {
	keys := o.distinct()
	vals := make([]ref.Val, len(keys))
	for n, i := range keys {
		vals[n] = types.String(o.name(i))
	}
	return &iterator{vals: vals}
}

// Equal implements ref.Val with the semantics of CEL's maps.
func (o *jsonObject) Equal(other ref.Val) ref.Val {
	om, ok := other.(traits.Mapper)
	if !ok {
		return types.False
	}
	if o.Size().Equal(om.Size()) != types.True {
		return types.False
	}
	for _, i := range o.distinct() {
		ov, found := om.Find(types.String(o.name(i)))
		if !found || types.Equal(o.value(i), ov) != types.True {
			return types.False
		}
	}
	return types.True
}

// ConvertToNative implements ref.Val: map[string]any as encoding/json reads it, or whatever
// CEL's own maps convert to.
func (o *jsonObject) ConvertToNative(typ reflect.Type) (any, error) {
	return convertNative(o, typ)
}

// ConvertToType implements ref.Val.
func (o *jsonObject) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return o
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to '%s'", t)
}

// Type implements ref.Val.
func (o *jsonObject) Type() ref.Type { return types.MapType }

// Value implements ref.Val: the object as encoding/json reads it.
func (o *jsonObject) Value() any {
	v, _ := nativeJSON(o)
	return v
}
