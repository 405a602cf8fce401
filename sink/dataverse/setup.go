package dataverse

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Lengths of the text columns Setup creates: the key and event-id columns hold ids; a mapped
// text column gets the most a single line of text can hold.
const (
	keyLength        = 100
	mappedTextLength = 4000
)

// Polling of a key's index: the first wait, and the longest between two reads.
const (
	pollFirst = 100 * time.Millisecond
	pollMax   = 5 * time.Second
	// progressEvery is how often a wait that sees no change says it is still waiting.
	progressEvery = 30 * time.Second
)

// role says why Setup creates a column; it becomes the column's description.
type role string

const (
	roleKey       role = "Id of the source object; hookline finds and writes rows by it (alternate key)."
	roleEventTime role = "Time of the event that last wrote the row; hookline orders events by it."
	roleEventID   role = "Id and type of the event that last wrote the row (hookline)."
	roleMapped    role = "Written by hookline from the events it receives."
)

// columnSpec is a column Setup creates.
type columnSpec struct {
	name      string
	typ       string // AttributeType
	maxLength int    // String
	what      string // e.g. "Text, 100 characters"
	role      role
}

func textSpec(name string, n int, r role) *columnSpec {
	return &columnSpec{name: name, typ: typeString, maxLength: n, what: fmt.Sprintf("Text, %d characters", n), role: r}
}

func timeSpec(name string, r role) *columnSpec {
	return &columnSpec{name: name, typ: typeDateTime, what: "Date and time, time zone independent", role: r}
}

// kindSpec returns the column Setup creates for a mapped value of kind k.
func kindSpec(name string, k Kind) *columnSpec {
	switch k {
	case KindText:
		return textSpec(name, mappedTextLength, roleMapped)
	case KindInteger:
		return &columnSpec{name: name, typ: typeInteger, what: "Whole number", role: roleMapped}
	case KindDecimal:
		return &columnSpec{name: name, typ: typeDecimal, what: "Decimal number, 2 decimal places", role: roleMapped}
	case KindBool:
		return &columnSpec{name: name, typ: typeBoolean, what: "Yes/no", role: roleMapped}
	case KindTime:
		return timeSpec(name, roleMapped)
	}
	return nil
}

// label returns a Label complex type with one English label.
func label(text string) map[string]any {
	return map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": []any{map[string]any{
		"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033}}}
}

// body returns the definition of the column to POST (Learn: Create and update column
// definitions using the Web API).
func (c *columnSpec) body() map[string]any {
	schema, display := schemaAndLabel(c.name)
	b := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + c.typ + "AttributeMetadata",
		"AttributeType": c.typ, "AttributeTypeName": map[string]any{"Value": c.typ + "Type"},
		"SchemaName": schema, "DisplayName": label(display), "Description": label(string(c.role)),
		"RequiredLevel": map[string]any{"Value": "None", "CanBeChanged": true,
			"ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}}
	switch c.typ {
	case typeString:
		b["MaxLength"], b["FormatName"] = c.maxLength, map[string]any{"Value": "Text"}
	case typeInteger:
		b["MinValue"], b["MaxValue"], b["Format"] = math.MinInt32, math.MaxInt32, "None"
	case typeDecimal:
		b["MinValue"], b["MaxValue"], b["Precision"] = -100000000000, 100000000000, 2
	case typeBoolean:
		b["DefaultValue"] = false
		b["OptionSet"] = map[string]any{"OptionSetType": "Boolean",
			"TrueOption":  map[string]any{"Value": 1, "Label": label("Yes")},
			"FalseOption": map[string]any{"Value": 0, "Label": label("No")}}
	case typeDateTime:
		b["Format"], b["DateTimeBehavior"] = "DateAndTime", map[string]any{"Value": "TimeZoneIndependent"}
	}
	return b
}

// Change is one thing [Sink.Setup] created, or would create in a dry run.
type Change struct {
	// Column is the logical name of the column created, or of the column the key is on.
	Column string
	// Key is the logical name of the alternate key created; empty for a column.
	Key string
	// What describes it, e.g. "Text, 100 characters" or "alternate key".
	What string
}

// String returns "column x: what" or "alternate key k on x".
func (c Change) String() string {
	if c.Key != "" {
		return fmt.Sprintf("alternate key %s on %s", c.Key, c.Column)
	}
	return fmt.Sprintf("column %s: %s", c.Column, c.What)
}

// ProblemsError is the error of [Sink.Setup] when problems remain that it cannot fix: a
// missing table, a column of the wrong type, a column whose type it cannot choose, a failed
// key. Get the problems with errors.As.
type ProblemsError struct {
	Problems []Problem
}

func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataverse: %d problem(s) that `hookline dataverse setup` cannot fix", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("; " + p.String())
	}
	return b.String()
}

// keyName returns the logical name of the alternate key Setup creates on column col.
func keyName(col string) string { return col + "key" }
