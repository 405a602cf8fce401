package dataversetest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// creatable maps the derived AttributeMetadata types the double creates columns of (Learn:
// Create and update column definitions using the Web API) to their AttributeType.
var creatable = map[string]string{
	"StringAttributeMetadata": TypeString, "MemoAttributeMetadata": TypeMemo,
	"IntegerAttributeMetadata": TypeInteger, "BigIntAttributeMetadata": TypeBigInt,
	"DecimalAttributeMetadata": TypeDecimal, "DoubleAttributeMetadata": TypeDouble,
	"MoneyAttributeMetadata": TypeMoney, "BooleanAttributeMetadata": TypeBoolean,
	"DateTimeAttributeMetadata": TypeDateTime,
}

// keyTypes are the column types an alternate key may have (Learn: Work with alternate keys).
var keyTypes = props(TypeString, TypeInteger, TypeDecimal, TypeDateTime, TypeLookup, TypePicklist)

// maxKeys is the number of alternate keys a table can have.
const maxKeys = 10

// schemaNameRE is a schema name with a customization prefix: 2 to 8 letters or digits, "_".
var schemaNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]+$`)

func invalid(format string, args ...any) *apiError {
	return fail(http.StatusBadRequest, CodeValidation, format, args...)
}

// labelText reads the first LocalizedLabel of a Label.
func labelText(v any) string {
	m, _ := v.(map[string]any)
	labels, _ := m["LocalizedLabels"].([]any)
	if len(labels) == 0 {
		return ""
	}
	l, _ := labels[0].(map[string]any)
	s, _ := l["Label"].(string)
	return s
}

// definitionURL returns the OData-EntityId of an item of a table's definition.
func definitionURL(r *http.Request, t *table, segment, id string) string {
	return fmt.Sprintf("http://%s%sEntityDefinitions(LogicalName='%s')/%s(%s)", r.Host, BasePath, t.logical, segment, id)
}

// createAttribute answers POST EntityDefinitions(...)/Attributes; s.mu is held.
func (s *Server) createAttribute(w http.ResponseWriter, r *http.Request, t *table) *apiError {
	body, err := readObject(r)
	if err != nil {
		return err
	}
	odataType, _ := body["@odata.type"].(string)
	odataType = strings.TrimPrefix(strings.TrimPrefix(odataType, "#"), "Microsoft.Dynamics.CRM.")
	typ, ok := creatable[odataType]
	if !ok {
		return invalid("The double creates only String, Memo, Integer, BigInt, Decimal, Double, Money, Boolean "+
			"and DateTime columns, not %q (Dataverse creates lookups with relationships and choices with option "+
			"sets); declare such a column with dataversetest.Options.Tables.", odataType)
	}
	if at, ok := body["AttributeType"]; ok && at != typ {
		return invalid("AttributeType %v does not match @odata.type %s.", at, odataType)
	}
	c, err := columnOf(body, typ)
	if err != nil {
		return err
	}
	if t.cols[c.LogicalName] != nil {
		return invalid("An attribute with the name '%s' already exists on entity '%s'.", c.LogicalName, t.logical)
	}
	col := t.add(s, c, true)
	col.schema, col.label = body["SchemaName"].(string), labelText(body["DisplayName"])
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("OData-EntityId", definitionURL(r, t, "Attributes", col.id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// columnOf reads the definition of a new column of type typ from a request body.
func columnOf(body map[string]any, typ string) (Column, *apiError) {
	schema, _ := body["SchemaName"].(string)
	if !schemaNameRE.MatchString(schema) {
		return Column{}, invalid("The SchemaName '%s' must start with a customization prefix of 2 to 8 letters "+
			"or digits and an underscore, e.g. new_Amount.", schema)
	}
	if labelText(body["DisplayName"]) == "" {
		return Column{}, invalid("The column %s needs a DisplayName with a LocalizedLabel.", schema)
	}
	c := Column{LogicalName: strings.ToLower(schema), Type: typ}
	if n, ok := body["MaxLength"].(float64); ok {
		c.MaxLength = int(n)
	}
	limit := map[string]int{TypeString: 4000, TypeMemo: 1048576}[typ]
	if c.MaxLength < 0 || c.MaxLength > limit || c.MaxLength > 0 && limit == 0 {
		return Column{}, invalid("MaxLength %d is out of range for a %s column (1 to %d).", c.MaxLength, typ, limit)
	}
	if typ == TypeDateTime {
		c.Format, _ = body["Format"].(string)
		behavior, _ := body["DateTimeBehavior"].(map[string]any)
		c.Behavior, _ = behavior["Value"].(string)
		if !slices.Contains([]string{"", "DateAndTime", "DateOnly"}, c.Format) ||
			!slices.Contains([]string{"", "UserLocal", "TimeZoneIndependent", "DateOnly"}, c.Behavior) {
			return Column{}, invalid("Format %q or DateTimeBehavior %q is not valid.", c.Format, c.Behavior)
		}
	}
	return c, nil
}

// createKey answers POST EntityDefinitions(...)/Keys: a Pending key whose index job the
// following metadata reads advance (see Options.KeyActivation); s.mu is held.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, t *table) *apiError {
	body, err := readObject(r)
	if err != nil {
		return err
	}
	schema, _ := body["SchemaName"].(string)
	if !schemaNameRE.MatchString(schema) {
		return invalid("The SchemaName '%s' of the key must start with a customization prefix, e.g. new_OrderKey.", schema)
	}
	attrs, _ := body["KeyAttributes"].([]any)
	var cols []string
	for _, a := range attrs {
		name, _ := a.(string)
		cols = append(cols, name)
	}
	if err := t.checkKey(strings.ToLower(schema), cols); err != nil {
		return err
	}
	k := t.addKey(s, Key{LogicalName: strings.ToLower(schema), Columns: cols, Status: KeyPending})
	k.schema = schema
	if l := labelText(body["DisplayName"]); l != "" {
		k.label = l
	}
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("OData-EntityId", definitionURL(r, t, "Keys", k.id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkKey refuses a key the Learn page "Work with alternate keys" rules out, or a second key
// of the same name or columns; the double models keys of one column only.
func (t *table) checkKey(name string, cols []string) *apiError {
	switch {
	case len(cols) != 1:
		return invalid("The double models alternate keys of exactly one column; KeyAttributes has %d.", len(cols))
	case len(t.keys) >= maxKeys:
		return invalid("The entity '%s' already has %d alternate keys, the most a table can have.", t.logical, maxKeys)
	}
	c := t.cols[cols[0]]
	if c == nil {
		return invalid("The attribute '%s' does not exist on entity '%s'.", cols[0], t.logical)
	}
	if !keyTypes[c.Type] {
		return invalid("The attribute '%s' is of type %s, which an alternate key cannot include.", c.LogicalName, c.Type)
	}
	for _, k := range t.keys {
		if k.logical == name || slices.Equal(k.columns, cols) {
			return invalid("The entity '%s' already has the alternate key '%s' on %s.", t.logical, k.logical,
				strings.Join(k.columns, ", "))
		}
	}
	return nil
}

// deleteKey answers DELETE EntityDefinitions(...)/Keys(...): the key and its index go, a job in
// progress is cancelled; s.mu is held.
func (s *Server) deleteKey(w http.ResponseWriter, t *table, name string) *apiError {
	i := slices.IndexFunc(t.keys, func(k *key) bool { return k.logical == name || k.id == name })
	if i < 0 {
		return fail(http.StatusNotFound, CodeNotFound, "Could not find Keys '%s' of entity '%s'.", name, t.logical)
	}
	t.keys = slices.Delete(t.keys, i, i+1)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SetKeyStatus puts the alternate key name (its logical name) of the table of entitySet in
// state status (KeyPending, KeyInProgress, KeyActive or KeyFailed), as if its index job had
// got there. Active builds the index; it fails when two rows share a value of the column.
func (s *Server) SetKeyStatus(entitySet, name, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.sets[entitySet]
	if t == nil {
		return fmt.Errorf("dataversetest: no entity set %q", entitySet)
	}
	for _, k := range t.keys {
		if k.logical != name {
			continue
		}
		k.status, k.index = status, nil
		if status == KeyActive && !t.activate(k) {
			k.status = KeyFailed
			return fmt.Errorf("dataversetest: rows of %s share a value of %s: key %s failed", entitySet, k.columns[0], name)
		}
		return nil
	}
	return fmt.Errorf("dataversetest: no key %q on %s", name, entitySet)
}

// Table returns the definition of the table of entitySet as it is now: all its columns,
// standard ones included, and its keys with their states.
func (s *Server) Table(entitySet string) (Table, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.sets[entitySet]
	if t == nil {
		return Table{}, false
	}
	out := Table{LogicalName: t.logical, EntitySet: t.set}
	for _, name := range t.order {
		c := t.cols[name].Column
		c.Targets = slices.Clone(c.Targets)
		out.Columns = append(out.Columns, c)
	}
	for _, k := range t.keys {
		out.Keys = append(out.Keys, Key{LogicalName: k.logical, Columns: slices.Clone(k.columns), Status: k.status})
	}
	return out, true
}
