package dataversetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Column types: the AttributeType values of the Web API's AttributeMetadata (the
// AttributeTypeCode enumeration).
const (
	TypeString           = "String"   // Single line of text (StringAttributeMetadata)
	TypeMemo             = "Memo"     // Multiple lines of text (MemoAttributeMetadata)
	TypeInteger          = "Integer"  // Whole number (IntegerAttributeMetadata)
	TypeBigInt           = "BigInt"   // Big integer (BigIntAttributeMetadata)
	TypeDecimal          = "Decimal"  // Decimal number (DecimalAttributeMetadata)
	TypeDouble           = "Double"   // Floating point number (DoubleAttributeMetadata)
	TypeMoney            = "Money"    // Currency (MoneyAttributeMetadata)
	TypeBoolean          = "Boolean"  // Yes/No (BooleanAttributeMetadata)
	TypeDateTime         = "DateTime" // Date and time (DateTimeAttributeMetadata)
	TypePicklist         = "Picklist" // Choice (PicklistAttributeMetadata)
	TypeState            = "State"    // statecode (StateAttributeMetadata)
	TypeStatus           = "Status"   // statuscode (StatusAttributeMetadata)
	TypeLookup           = "Lookup"   // Lookup (LookupAttributeMetadata)
	TypeCustomer         = "Customer" // Customer lookup, to account or contact
	TypeOwner            = "Owner"    // ownerid, to systemuser or team
	TypeUniqueidentifier = "Uniqueidentifier"
)

// Key index states: the EntityKeyIndexStatus values of EntityKeyMetadata. Dataverse builds a
// key's index in an asynchronous job; the key can address rows once it is Active.
const (
	KeyPending    = "Pending"
	KeyInProgress = "InProgress"
	KeyActive     = "Active"
	KeyFailed     = "Failed"
)

// Column describes a column of a table.
type Column struct {
	// LogicalName is the column's logical name, e.g. "new_amount".
	LogicalName string
	// Type is one of the Type constants.
	Type string
	// MaxLength is the length of a String or Memo column. Zero means 100 for String and 2000
	// for Memo.
	MaxLength int
	// Format and Behavior apply to DateTime columns: Format "DateAndTime" (the default) or
	// "DateOnly"; Behavior "UserLocal" (the default), "TimeZoneIndependent" or "DateOnly".
	Format, Behavior string
	// Targets are the logical names of the tables a Lookup, Customer or Owner column refers to.
	Targets []string
}

// Key describes an alternate key of a table.
type Key struct {
	// LogicalName is the key's logical name. Empty means the first column's name + "_key".
	LogicalName string
	// Columns are the logical names of its columns.
	Columns []string
	// Status is its EntityKeyIndexStatus. Empty means KeyActive.
	Status string
}

// Table describes a table of the double: its columns and keys.
type Table struct {
	// LogicalName is the table's logical name, e.g. "new_invoice".
	LogicalName string
	// EntitySet is its entity set name. Empty means LogicalName + "s".
	EntitySet string
	// Columns are its columns besides the standard ones (see Options.Tables).
	Columns []Column
	// Keys are its alternate keys.
	Keys []Key
}

// column is a column of the double: its definition and what Dataverse adds to it.
type column struct {
	Column
	schema, id, label   string
	custom              bool
	primaryID, primName bool
}

// key is an alternate key with its index job.
type key struct {
	logical, schema, id, label string
	columns                    []string
	status                     string
	created                    time.Time
	index                      map[string]*Row // value of the column -> row, while Active
}

// table is a table of the double: its definition and its rows.
type table struct {
	logical, set, id string
	keyCol           string // the column Server.Row finds rows by
	primaryID        string
	primaryName      string
	cols             map[string]*column
	order            []string // column names in definition order
	keys             []*key
	rows             map[string]*Row // by primary key
}

// hooklineColumns are the columns hookline's setup creates on a table of Options.EntitySets
// besides its key column: the event-time and event-id columns the sink's tests use.
var hooklineColumns = []Column{
	{LogicalName: "new_stripeeventcreated", Type: TypeDateTime, Behavior: "TimeZoneIndependent"},
	{LogicalName: "new_stripeeventid", Type: TypeString, MaxLength: 100},
}

// contactColumns are standard columns of the contact table (Learn: Contact table/entity
// reference), a selection that covers what hookline maps and each column type.
var contactColumns = []Column{
	{LogicalName: "firstname", Type: TypeString, MaxLength: 50},
	{LogicalName: "lastname", Type: TypeString, MaxLength: 50},
	{LogicalName: "middlename", Type: TypeString, MaxLength: 50},
	{LogicalName: "jobtitle", Type: TypeString, MaxLength: 100},
	{LogicalName: "emailaddress1", Type: TypeString, MaxLength: 100},
	{LogicalName: "emailaddress2", Type: TypeString, MaxLength: 100},
	{LogicalName: "telephone1", Type: TypeString, MaxLength: 50},
	{LogicalName: "mobilephone", Type: TypeString, MaxLength: 50},
	{LogicalName: "address1_line1", Type: TypeString, MaxLength: 250},
	{LogicalName: "address1_line2", Type: TypeString, MaxLength: 250},
	{LogicalName: "address1_line3", Type: TypeString, MaxLength: 250},
	{LogicalName: "address1_city", Type: TypeString, MaxLength: 80},
	{LogicalName: "address1_stateorprovince", Type: TypeString, MaxLength: 50},
	{LogicalName: "address1_postalcode", Type: TypeString, MaxLength: 20},
	{LogicalName: "address1_country", Type: TypeString, MaxLength: 80},
	{LogicalName: "address1_composite", Type: TypeMemo, MaxLength: 1000},
	{LogicalName: "address1_latitude", Type: TypeDouble},
	{LogicalName: "description", Type: TypeMemo, MaxLength: 2000},
	{LogicalName: "birthdate", Type: TypeDateTime, Format: "DateOnly", Behavior: "DateOnly"},
	{LogicalName: "creditlimit", Type: TypeMoney},
	{LogicalName: "exchangerate", Type: TypeDecimal},
	{LogicalName: "numberofchildren", Type: TypeInteger},
	{LogicalName: "donotemail", Type: TypeBoolean},
	{LogicalName: "gendercode", Type: TypePicklist},
	{LogicalName: "parentcustomerid", Type: TypeCustomer, Targets: []string{"account", "contact"}},
	{LogicalName: "transactioncurrencyid", Type: TypeLookup, Targets: []string{"transactioncurrency"}},
}

// commonColumns are columns every table has (Learn: Create and update table definitions).
func commonColumns() []Column {
	return []Column{
		{LogicalName: "statecode", Type: TypeState},
		{LogicalName: "statuscode", Type: TypeStatus},
		{LogicalName: "createdon", Type: TypeDateTime},
		{LogicalName: "modifiedon", Type: TypeDateTime},
		{LogicalName: "overriddencreatedon", Type: TypeDateTime, Format: "DateOnly"},
		{LogicalName: "versionnumber", Type: TypeBigInt},
		{LogicalName: "importsequencenumber", Type: TypeInteger},
		{LogicalName: "ownerid", Type: TypeOwner, Targets: []string{"systemuser", "team"}},
		{LogicalName: "createdby", Type: TypeLookup, Targets: []string{"systemuser"}},
		{LogicalName: "modifiedby", Type: TypeLookup, Targets: []string{"systemuser"}},
	}
}

// newTable returns a table with its primary key, primary name and common columns: contact's
// standard columns for the contact table, a custom table's (<prefix>_name) for any other.
func (s *Server) newTable(logical, set string) *table {
	t := &table{logical: logical, set: set, id: s.nextID(), cols: make(map[string]*column),
		rows: make(map[string]*Row), primaryID: logical + "id"}
	t.add(s, Column{LogicalName: t.primaryID, Type: TypeUniqueidentifier}, false)
	t.cols[t.primaryID].primaryID = true
	var std []Column
	if logical == "contact" {
		t.primaryName = "fullname"
		std = append([]Column{{LogicalName: "fullname", Type: TypeString, MaxLength: 160}}, contactColumns...)
	} else {
		prefix, _, ok := strings.Cut(logical, "_")
		if !ok {
			prefix = logical
		}
		t.primaryName = prefix + "_name"
		std = []Column{{LogicalName: t.primaryName, Type: TypeString, MaxLength: 100}}
	}
	for _, c := range append(std, commonColumns()...) {
		t.add(s, c, false)
	}
	t.cols[t.primaryName].primName = true
	t.cols[t.primaryName].custom = logical != "contact"
	return t
}

// add defines column c; s.mu is held or s is not yet serving.
func (t *table) add(s *Server, c Column, custom bool) *column {
	switch {
	case c.Type == TypeString && c.MaxLength == 0:
		c.MaxLength = 100
	case c.Type == TypeMemo && c.MaxLength == 0:
		c.MaxLength = 2000
	case c.Type == TypeDateTime && c.Format == "":
		c.Format = "DateAndTime"
	}
	if c.Type == TypeDateTime && c.Behavior == "" {
		c.Behavior = "UserLocal"
	}
	col := &column{Column: c, schema: c.LogicalName, id: s.nextID(), label: labelOf(c.LogicalName), custom: custom}
	if _, ok := t.cols[c.LogicalName]; !ok {
		t.order = append(t.order, c.LogicalName)
	}
	t.cols[c.LogicalName] = col
	return col
}

// addKey defines an alternate key; an Active one gets its index. s.mu is held or s is not
// yet serving.
func (t *table) addKey(s *Server, k Key) *key {
	name := k.LogicalName
	if name == "" && len(k.Columns) > 0 {
		name = k.Columns[0] + "_key"
	}
	nk := &key{logical: name, schema: name, id: s.nextID(), label: labelOf(name),
		columns: slices.Clone(k.Columns), status: k.Status, created: time.Now()}
	if nk.status == "" {
		nk.status = KeyActive
	}
	t.keys = append(t.keys, nk)
	if nk.status == KeyActive && !t.activate(nk) {
		nk.status = KeyFailed
	}
	return nk
}

// activate builds k's index from the rows; it reports false when two rows share a value.
func (t *table) activate(k *key) bool {
	if len(k.columns) != 1 {
		return true // composite keys are metadata only in the double
	}
	idx := make(map[string]*Row, len(t.rows))
	for _, r := range t.rows {
		v, ok := keyValue(r.Columns[k.columns[0]])
		if !ok {
			continue
		}
		if _, dup := idx[v]; dup {
			return false
		}
		idx[v] = r
	}
	k.index = idx
	return true
}

// keyValue turns a column value into an index entry; null is never indexed.
func keyValue(v any) (string, bool) {
	if v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

// activeKeyOn returns the Active single-column key on col, or nil.
func (t *table) activeKeyOn(col string) *key {
	for _, k := range t.keys {
		if k.status == KeyActive && len(k.columns) == 1 && k.columns[0] == col {
			return k
		}
	}
	return nil
}

// build creates the tables of opts; s.mu is not yet shared.
func (s *Server) build() {
	sets := s.opts.EntitySets
	if sets == nil {
		sets = map[string]string{"contacts": "new_stripecustomerid"}
	}
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		t := s.newTable(strings.TrimSuffix(name, "s"), name)
		t.keyCol = sets[name]
		if !s.opts.Fresh {
			t.add(s, Column{LogicalName: t.keyCol, Type: TypeString, MaxLength: 100}, true)
			for _, c := range hooklineColumns {
				t.add(s, c, true)
			}
			t.addKey(s, Key{Columns: []string{t.keyCol}})
		}
		s.register(t)
	}
	for _, def := range s.opts.Tables {
		set := def.EntitySet
		if set == "" {
			set = def.LogicalName + "s"
		}
		t := s.sets[set]
		if t == nil {
			t = s.newTable(def.LogicalName, set)
			s.register(t)
		}
		for _, c := range def.Columns {
			t.add(s, c, true)
		}
		for _, k := range def.Keys {
			nk := t.addKey(s, k)
			if t.keyCol == "" && len(nk.columns) == 1 {
				t.keyCol = nk.columns[0]
			}
		}
	}
}

func (s *Server) register(t *table) {
	s.sets[t.set] = t
	s.tables[t.logical] = t
}

// labelOf returns a display label for a logical name: "new_stripe_id" is "Stripe id".
func labelOf(name string) string {
	if _, rest, ok := strings.Cut(name, "_"); ok && rest != "" {
		name = rest
	}
	name = strings.ReplaceAll(name, "_", " ")
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// navigations returns the single-valued navigation properties of a lookup column, each with
// the table it refers to: the column's schema name for a lookup to one table and for ownerid,
// "<column>_<table>" for each table of a customer or other multi-table lookup.
func (c *column) navigations() map[string]string {
	if !isLookup(c.Type) || len(c.Targets) == 0 {
		return nil
	}
	if c.Type == TypeOwner || len(c.Targets) == 1 {
		return map[string]string{c.schema: c.Targets[0]}
	}
	navs := make(map[string]string, len(c.Targets))
	for _, target := range c.Targets {
		navs[c.LogicalName+"_"+target] = target
	}
	return navs
}

// navigation returns the lookup column whose navigation property is prop, or nil.
func (t *table) navigation(prop string) *column {
	for _, name := range t.order {
		if _, ok := t.cols[name].navigations()[prop]; ok {
			return t.cols[name]
		}
	}
	return nil
}
