package sink

import (
	"context"

	"github.com/hookline/hookline"
)

// RecordSink is a sink that writes the columns a configuration maps an event to (a route's map:
// in package route), instead of a mapping of its own: the Dataverse sink is one. A sink that
// keeps whole objects (package sqlsink) is not, and a route that maps columns for it is refused
// at start.
type RecordSink interface {
	Sink
	// ApplyRecord writes columns for ev, under the same ordering rule and with the same
	// results and errors as Apply; the sink adds what it keeps of its own (the key, the event
	// time and id).
	ApplyRecord(ctx context.Context, ev hookline.Event, columns map[string]any) (Result, error)
}

// Kind is what a mapped value is, as far as it is known before the first event: what a route's
// expression gives (package route), for checks against a sink's columns.
type Kind string

// The kinds. KindAny is a value known only at run time (a field of the event's JSON data).
const (
	KindText    Kind = "text"
	KindInteger Kind = "integer"
	KindDecimal Kind = "decimal"
	KindBool    Kind = "bool"
	KindTime    Kind = "time"
	KindNull    Kind = "null"
	KindAny     Kind = "any"
)

// Column is a column a configuration maps values to, and the kind of those values.
type Column struct {
	Name string
	Kind Kind
}

// Problem is something that keeps a configuration from working with a sink's destination, found
// before the first event: what is wrong, with which column ("" for the destination itself), and
// what to change.
type Problem struct {
	Column, Problem, Fix string
}

// Checker is a sink that can check, before the first event, that its destination exists and
// takes the columns it will be given (the Dataverse sink reads the table's metadata). A
// Problem is a configuration that can never work; the error is a failure to check (the
// destination could not be reached).
type Checker interface {
	// CheckColumns checks the destination for columns, or, when columns is nil, for what the
	// sink maps an event to itself.
	CheckColumns(ctx context.Context, columns []Column) ([]Problem, error)
}
