package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookline/hookline"
)

// Column types, the AttributeType values of the metadata Web API (AttributeTypeCode).
const (
	typeString   = "String"
	typeMemo     = "Memo"
	typeInteger  = "Integer"
	typeBigInt   = "BigInt"
	typeDecimal  = "Decimal"
	typeDouble   = "Double"
	typeMoney    = "Money"
	typeBoolean  = "Boolean"
	typeDateTime = "DateTime"
	typePicklist = "Picklist"
	typeState    = "State"
	typeStatus   = "Status"
	typeLookup   = "Lookup"
	typeCustomer = "Customer"
	typeOwner    = "Owner"
)

// Index states of an alternate key (EntityKeyIndexStatus).
const (
	keyPending    = "Pending"
	keyInProgress = "InProgress"
	keyActive     = "Active"
	keyFailed     = "Failed"
)

// tableInfo is what the metadata Web API says about the sink's table.
type tableInfo struct {
	logical  string
	cols     map[string]columnInfo
	keys     []keyInfo
	navs     map[string]string // single-valued navigation property -> its lookup column
	prefixes map[string]bool   // customization prefixes of the table's custom columns
}

type columnInfo struct {
	name, typ        string // typ is the AttributeType
	maxLength        int    // String, Memo
	format, behavior string // DateTime: DateAndTime or DateOnly; UserLocal, TimeZoneIndependent, DateOnly
}

type keyInfo struct {
	name   string
	attrs  []string
	status string
}

// getJSON reads path into v; any status but 200 is an error.
func (s *Sink) getJSON(ctx context.Context, path, what string, v any) error {
	what = "GET " + path + " (" + what + ")"
	resp, err := s.do(ctx, request{method: http.MethodGet, path: path, what: what})
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return statusError(what, resp, s.o.Now())
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return hookline.Errorf(hookline.Transient, "dataverse: %s: unreadable response: %w", what, err)
	}
	return nil
}

// odataString returns v as an OData string literal for a query: quoted, quotes doubled,
// percent-encoded with %20 for spaces.
func odataString(v string) string {
	return strings.ReplaceAll(url.QueryEscape("'"+strings.ReplaceAll(v, "'", "''")+"'"), "+", "%20")
}

// definition returns the path of a table's definition.
func definition(logical string) string {
	return "EntityDefinitions(LogicalName='" + logical + "')"
}

// findTable returns the logical name of the table whose entity set is set, "" if none.
func (s *Sink) findTable(ctx context.Context, set string) (string, error) {
	var list struct {
		Value []struct{ LogicalName string }
	}
	path := "EntityDefinitions?$select=LogicalName,EntitySetName&$filter=EntitySetName%20eq%20" + odataString(set)
	if err := s.getJSON(ctx, path, "finding the table of entity set "+set, &list); err != nil {
		return "", err
	}
	if len(list.Value) == 0 {
		return "", nil
	}
	name := list.Value[0].LogicalName
	if !logicalName.MatchString(name) {
		return "", hookline.Errorf(hookline.Permanent, "dataverse: entity set %s: table logical name %q is not a logical name", set, name)
	}
	return name, nil
}

// entitySetOf returns the entity set of the table whose logical name is name, "" if none.
func (s *Sink) entitySetOf(ctx context.Context, name string) (string, error) {
	var list struct {
		Value []struct{ EntitySetName string }
	}
	path := "EntityDefinitions?$select=LogicalName,EntitySetName&$filter=LogicalName%20eq%20" + odataString(name)
	if err := s.getJSON(ctx, path, "finding the table "+name, &list); err != nil || len(list.Value) == 0 {
		return "", err
	}
	return list.Value[0].EntitySetName, nil
}

// readTable reads the definition of the sink's table: nil when no table has its entity set.
// The navigation properties of lookups are read when wants needs them.
func (s *Sink) readTable(ctx context.Context, wants []Want) (*tableInfo, error) {
	logical, err := s.findTable(ctx, s.o.EntitySet)
	if err != nil || logical == "" {
		return nil, err
	}
	t := &tableInfo{logical: logical, cols: make(map[string]columnInfo), prefixes: make(map[string]bool)}
	if err := s.readColumns(ctx, t); err != nil {
		return nil, err
	}
	if t.keys, err = s.readKeys(ctx, logical); err != nil {
		return nil, err
	}
	if needsNavigations(t, wants) {
		if err := s.readNavigations(ctx, t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readColumns reads the table's columns, then the lengths of its text columns and the
// formats of its date columns, which only a cast to their derived type returns.
func (s *Sink) readColumns(ctx context.Context, t *tableInfo) error {
	var attrs struct {
		Value []struct {
			LogicalName, AttributeType string
			IsCustomAttribute          bool
		}
	}
	def := definition(t.logical)
	if err := s.getJSON(ctx, def+"/Attributes?$select=LogicalName,AttributeType,IsCustomAttribute",
		"reading the table's columns", &attrs); err != nil {
		return err
	}
	for _, a := range attrs.Value {
		t.cols[a.LogicalName] = columnInfo{name: a.LogicalName, typ: a.AttributeType}
		if p := prefixOf(a.LogicalName); a.IsCustomAttribute && p != "" {
			t.prefixes[p] = true
		}
	}
	for _, cast := range []struct{ typ, sel string }{
		{"StringAttributeMetadata", "LogicalName,MaxLength"},
		{"MemoAttributeMetadata", "LogicalName,MaxLength"},
		{"DateTimeAttributeMetadata", "LogicalName,Format,DateTimeBehavior"},
	} {
		var typed struct {
			Value []struct {
				LogicalName, Format string
				MaxLength           int
				DateTimeBehavior    struct{ Value string }
			}
		}
		path := fmt.Sprintf("%s/Attributes/Microsoft.Dynamics.CRM.%s?$select=%s", def, cast.typ, cast.sel)
		if err := s.getJSON(ctx, path, "reading the table's columns", &typed); err != nil {
			return err
		}
		for _, a := range typed.Value {
			c := t.cols[a.LogicalName]
			c.maxLength, c.format, c.behavior = a.MaxLength, a.Format, a.DateTimeBehavior.Value
			t.cols[a.LogicalName] = c
		}
	}
	return nil
}

// readKeys reads the alternate keys of a table and the states of their indexes.
func (s *Sink) readKeys(ctx context.Context, logical string) ([]keyInfo, error) {
	var keys struct {
		Value []struct {
			LogicalName, EntityKeyIndexStatus string
			KeyAttributes                     []string
		}
	}
	if err := s.getJSON(ctx, definition(logical)+"/Keys?$select=LogicalName,KeyAttributes,EntityKeyIndexStatus",
		"reading the table's alternate keys", &keys); err != nil {
		return nil, err
	}
	out := make([]keyInfo, 0, len(keys.Value))
	for _, k := range keys.Value {
		out = append(out, keyInfo{name: k.LogicalName, attrs: k.KeyAttributes, status: k.EntityKeyIndexStatus})
	}
	return out, nil
}

// readNavigations reads the navigation properties that bind the table's lookups.
func (s *Sink) readNavigations(ctx context.Context, t *tableInfo) error {
	var rels struct {
		Value []struct{ ReferencingAttribute, ReferencingEntityNavigationPropertyName string }
	}
	if err := s.getJSON(ctx, definition(t.logical)+"/ManyToOneRelationships?$select=ReferencingAttribute,"+
		"ReferencingEntityNavigationPropertyName", "reading the table's lookups", &rels); err != nil {
		return err
	}
	t.navs = make(map[string]string, len(rels.Value))
	for _, r := range rels.Value {
		t.navs[r.ReferencingEntityNavigationPropertyName] = r.ReferencingAttribute
	}
	return nil
}

// needsNavigations reports whether a want binds a lookup or names a lookup column.
func needsNavigations(t *tableInfo, wants []Want) bool {
	for _, w := range wants {
		if strings.HasSuffix(w.Column, bindSuffix) || isLookup(t.cols[w.Column].typ) {
			return true
		}
	}
	return false
}

func isLookup(typ string) bool { return typ == typeLookup || typ == typeCustomer || typ == typeOwner }

// keyOn returns the alternate key whose only column is col.
func (t *tableInfo) keyOn(col string) (keyInfo, bool) {
	for _, k := range t.keys {
		if len(k.attrs) == 1 && k.attrs[0] == col {
			return k, true
		}
	}
	return keyInfo{}, false
}
