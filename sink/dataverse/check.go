package dataverse

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hookline/hookline/sink"
)

// Kind is what a mapped value is, for checking it against a column's type: package sink's
// kinds, which a route's expressions have (package route).
type Kind = sink.Kind

// Kinds of mapped values. A mapping's CEL expression has a static output type; [KindOfCEL]
// turns it into a Kind.
const (
	KindText    = sink.KindText    // a string
	KindInteger = sink.KindInteger // a whole number (CEL int or uint)
	KindDecimal = sink.KindDecimal // a number with decimals (CEL double)
	KindBool    = sink.KindBool    // true or false
	KindTime    = sink.KindTime    // a point in time (CEL timestamp)
	KindAny     = sink.KindAny     // known only at run time (CEL dyn); fits any column
	KindNull    = sink.KindNull    // always null, which clears any column
)

// KindOfCEL returns the Kind of a CEL type given by its name, as cel-go's Type.String
// returns it: "string", "int", "uint", "double", "bool", "google.protobuf.Timestamp",
// "null_type", "dyn"; a wrapper type ("wrapper(string)") is its wrapped type's kind. Any other
// type (lists, maps, messages) is KindAny: the Web API decides at run time.
func KindOfCEL(typeName string) Kind {
	if inner, ok := strings.CutPrefix(typeName, "wrapper("); ok {
		typeName = strings.TrimSuffix(inner, ")")
	}
	switch typeName {
	case "string", "google.protobuf.StringValue":
		return KindText
	case "int", "uint", "google.protobuf.Int64Value", "google.protobuf.Int32Value",
		"google.protobuf.UInt64Value", "google.protobuf.UInt32Value":
		return KindInteger
	case "double", "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
		return KindDecimal
	case "bool", "google.protobuf.BoolValue":
		return KindBool
	case "google.protobuf.Timestamp", "timestamp":
		return KindTime
	case "null_type":
		return KindNull
	}
	return KindAny
}

// Want is one column a configuration writes: what [Sink.Check] checks and [Sink.Setup]
// creates.
type Want struct {
	// Column is the column's logical name, or "<navigation property>@odata.bind" for a lookup
	// (e.g. "parentcustomerid_account@odata.bind" with a value like "/accounts(<id>)").
	Column string
	// Kind is what the mapping writes into it. Empty means KindAny.
	Kind Kind
	// Line is where the mapping was configured, for messages; 0 if unknown.
	Line int
}

// bindSuffix marks a Want that binds a lookup through its navigation property.
const bindSuffix = "@odata.bind"

// Problem is one reason why the configuration cannot work with the table as it is.
type Problem struct {
	// Column is the logical name of the column concerned (a Want's Column); empty for the
	// table itself.
	Column string
	// Line is the Want's Line, 0 for the sink's own columns and the table.
	Line int
	// Problem says what is wrong, Fix what to change.
	Problem, Fix string
}

// String returns the problem on one line: "column x (line 3): what is wrong; what to do".
func (p Problem) String() string {
	var b strings.Builder
	if p.Column != "" {
		fmt.Fprintf(&b, "column %s", p.Column)
		if p.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", p.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Problem)
	if p.Fix != "" {
		b.WriteString("; " + p.Fix)
	}
	return b.String()
}

// CheckColumns is [Sink.Check] for a pipeline's route (sink.Checker): columns are the route's
// mapped columns, or nil for the sink's own mapping (Options.Map; the columns of [MapCustomer]
// when it is the default).
func (s *Sink) CheckColumns(ctx context.Context, columns []sink.Column) ([]sink.Problem, error) {
	found, err := s.Check(ctx, s.wantsOf(columns))
	out := make([]sink.Problem, len(found))
	for i, p := range found {
		out[i] = sink.Problem{Column: p.Column, Problem: p.Problem, Fix: p.Fix}
	}
	return out, err
}

// SetupColumns is [Sink.Setup] for a pipeline's route: columns are the route's mapped columns,
// or nil for the sink's own mapping, as for [Sink.CheckColumns].
func (s *Sink) SetupColumns(ctx context.Context, columns []sink.Column, dryRun bool, progress func(string)) ([]Change, error) {
	return s.Setup(ctx, s.wantsOf(columns), dryRun, progress)
}

// wantsOf returns columns as Wants, or the sink's own mapping's columns for nil.
func (s *Sink) wantsOf(columns []sink.Column) []Want {
	if columns == nil {
		return s.ownColumns()
	}
	wants := make([]Want, len(columns))
	for i, c := range columns {
		wants[i] = Want{Column: c.Name, Kind: c.Kind}
	}
	return wants
}

// ownColumns are the columns the sink's own mapping writes, when it is the default
// (MapCustomer, all text); none for a mapping of the program's, which the sink cannot see into.
func (s *Sink) ownColumns() []Want {
	if !s.defaultMap {
		return nil
	}
	wants := []Want{{Column: "firstname", Kind: KindText}, {Column: "lastname", Kind: KindText}}
	for _, c := range customerColumns {
		wants = append(wants, Want{Column: c.column, Kind: KindText})
	}
	for _, c := range addressColumns {
		wants = append(wants, Want{Column: c.column, Kind: KindText})
	}
	return wants
}

// Check reads the definition of the sink's table through the metadata Web API and returns
// every problem that would make writes fail: the table (entity set) missing; a column of
// mapped missing, or of a type its Kind does not fit; the key column missing or not text;
// no alternate key on it, or one whose index is not Active; the event-time column missing or
// not Date and Time (date and time format); the event-id column missing, not text, or shorter
// than 100 characters; statecode or statuscode missing when deletions deactivate. Columns the
// sink writes itself (key, event time, event id) are not taken from mapped. The error is for
// failures to read (credentials, privileges, network); ctx's error is returned unwrapped.
func (s *Sink) Check(ctx context.Context, mapped []Want) ([]Problem, error) {
	t, err := s.readTable(ctx, mapped)
	if err != nil {
		return nil, err
	}
	if t == nil {
		p, err := s.noTable(ctx)
		return []Problem{p}, err
	}
	var out []Problem
	for _, f := range s.findings(t, mapped) {
		out = append(out, f.Problem)
	}
	return out, nil
}

// noTable explains that no table has the sink's entity set, naming the right one when the
// sink was given a table's logical name instead.
func (s *Sink) noTable(ctx context.Context) (Problem, error) {
	p := Problem{Problem: fmt.Sprintf("no table has the entity set name %q", s.o.EntitySet),
		Fix: "set entityset= to the table's entity set name (its plural logical name, e.g. contacts or " +
			"new_payments), or create the table in the maker portal (Tables, New table): " +
			"`hookline dataverse setup` creates columns and keys, not tables"}
	set, err := s.entitySetOf(ctx, s.o.EntitySet)
	if set != "" {
		p.Fix = fmt.Sprintf("%s is a table's logical name: set entityset=%s", s.o.EntitySet, set)
	}
	return p, err
}

// finding is a problem and what Setup does about it: create a column, create the alternate
// key, or wait for the key's index. A finding without any is left to people.
type finding struct {
	Problem
	create *columnSpec
	key    bool
	wait   bool
}

// findings returns the problems of the table for the sink and mapped, in a stable order: the
// key column and its key, the event columns, statecode and statuscode, then mapped columns.
func (s *Sink) findings(t *tableInfo, mapped []Want) []finding {
	var out []finding
	out = append(out, s.keyFindings(t)...)
	if f, ok := s.eventTimeFinding(t); ok {
		out = append(out, f)
	}
	if f, ok := s.eventIDFinding(t); ok {
		out = append(out, f)
	}
	if s.o.Delete == Deactivate {
		for _, name := range []string{"statecode", "statuscode"} {
			if _, ok := t.cols[name]; !ok {
				out = append(out, finding{Problem: Problem{Column: name, Problem: "the table has no " + name +
					" column, which deactivation sets", Fix: "use delete=hard for a table without status"}})
			}
		}
	}
	return append(out, s.mappedFindings(t, mapped)...)
}

// prefixRE matches a logical name that starts with a customization prefix: 2 to 8 lower-case
// letters or digits, the first a letter, then "_" and more.
var prefixRE = regexp.MustCompile(`^([a-z][a-z0-9]{1,7})_[a-z0-9_]+$`)

// prefixOf returns the customization prefix of a logical name, "" if it has none.
func prefixOf(name string) string {
	if m := prefixRE.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// ownPrefixes returns the customization prefixes Setup may create columns with: those of the
// sink's own columns and of the table's custom columns.
func (s *Sink) ownPrefixes(t *tableInfo) map[string]bool {
	out := make(map[string]bool, len(t.prefixes)+1)
	for p := range t.prefixes {
		out[p] = true
	}
	for _, c := range []string{s.o.KeyColumn, s.o.EventTimeColumn, s.o.EventIDColumn} {
		if p := prefixOf(c); p != "" {
			out[p] = true
		}
	}
	return out
}

// missing returns the finding for a column the table lacks: created by Setup as spec when its
// name has a customization prefix, left to people otherwise.
func missing(name string, line int, role string, spec *columnSpec) finding {
	f := finding{Problem: Problem{Column: name, Line: line, Problem: "the table has no column " + name + role}}
	if spec != nil && prefixOf(name) != "" {
		f.create = spec
		f.Fix = "run `hookline dataverse setup` to create it (" + spec.what + ")"
		return f
	}
	f.Fix = "check the logical name (lower case, e.g. emailaddress1), or create the column in the maker portal " +
		"(Tables, the table, Columns); `hookline dataverse setup` creates only columns whose name has your " +
		"publisher's prefix (e.g. new_)"
	return f
}
