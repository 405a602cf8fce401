package dataversetest

import (
	"math"
	"time"
)

// The properties of the metadata types the double renders (Learn: Web API EntityMetadata,
// AttributeMetadata and its derived types, EntityKeyMetadata, OneToManyRelationshipMetadata),
// those a $select or $filter may name.
var (
	entityProps = props("MetadataId", "LogicalName", "SchemaName", "EntitySetName", "LogicalCollectionName",
		"PrimaryIdAttribute", "PrimaryNameAttribute", "IsCustomEntity", "OwnershipType", "DisplayName",
		"Attributes", "Keys", "ManyToOneRelationships")
	attributeBase = []string{"MetadataId", "LogicalName", "SchemaName", "AttributeType", "AttributeTypeName",
		"EntityLogicalName", "IsCustomAttribute", "IsPrimaryId", "IsPrimaryName", "IsValidForCreate",
		"IsValidForUpdate", "IsValidForRead", "RequiredLevel", "DisplayName", "AttributeOf"}
	// attributeProps maps each derived attribute type to its properties, base ones included.
	attributeProps = map[string]map[string]bool{
		"AttributeMetadata":                 props(attributeBase...),
		"StringAttributeMetadata":           props(append(attributeBase, "MaxLength", "FormatName", "Format")...),
		"MemoAttributeMetadata":             props(append(attributeBase, "MaxLength", "Format")...),
		"IntegerAttributeMetadata":          props(append(attributeBase, "MinValue", "MaxValue", "Format")...),
		"BigIntAttributeMetadata":           props(append(attributeBase, "MinValue", "MaxValue")...),
		"DecimalAttributeMetadata":          props(append(attributeBase, "MinValue", "MaxValue", "Precision")...),
		"DoubleAttributeMetadata":           props(append(attributeBase, "MinValue", "MaxValue", "Precision")...),
		"MoneyAttributeMetadata":            props(append(attributeBase, "MinValue", "MaxValue", "Precision", "PrecisionSource")...),
		"BooleanAttributeMetadata":          props(append(attributeBase, "DefaultValue")...),
		"DateTimeAttributeMetadata":         props(append(attributeBase, "Format", "DateTimeBehavior")...),
		"PicklistAttributeMetadata":         props(append(attributeBase, "DefaultFormValue")...),
		"StateAttributeMetadata":            props(append(attributeBase, "DefaultFormValue")...),
		"StatusAttributeMetadata":           props(append(attributeBase, "DefaultFormValue")...),
		"LookupAttributeMetadata":           props(append(attributeBase, "Targets", "Format")...),
		"UniqueIdentifierAttributeMetadata": props(attributeBase...),
	}
	keyProps = props("MetadataId", "LogicalName", "SchemaName", "KeyAttributes", "EntityKeyIndexStatus",
		"EntityLogicalName", "DisplayName", "AsyncJob", "IsManaged")
	relationshipProps = props("MetadataId", "SchemaName", "ReferencedEntity", "ReferencedAttribute",
		"ReferencingEntity", "ReferencingAttribute", "ReferencingEntityNavigationPropertyName",
		"ReferencedEntityNavigationPropertyName", "RelationshipType")
)

func props(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// metadataType returns the name of the derived AttributeMetadata type of a column type.
func metadataType(typ string) string {
	switch typ {
	case TypeLookup, TypeCustomer, TypeOwner:
		return "LookupAttributeMetadata"
	case TypeUniqueidentifier:
		return "UniqueIdentifierAttributeMetadata"
	}
	return typ + "AttributeMetadata"
}

// label returns a Label with one English LocalizedLabel.
func label(text string) map[string]any {
	l := map[string]any{"Label": text, "LanguageCode": 1033, "IsManaged": false}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func (t *table) entityJSON() map[string]any {
	schema := t.logical
	if t.logical == "contact" {
		schema = "Contact"
	}
	return map[string]any{"MetadataId": t.id, "LogicalName": t.logical, "SchemaName": schema,
		"EntitySetName": t.set, "LogicalCollectionName": t.set, "PrimaryIdAttribute": t.primaryID,
		"PrimaryNameAttribute": t.primaryName, "IsCustomEntity": t.logical != "contact",
		"OwnershipType": "UserOwned", "DisplayName": label(labelOf(t.logical))}
}

// system columns Dataverse sets itself: readable, never written by a client.
var readOnly = props("createdon", "modifiedon", "versionnumber", "createdby", "modifiedby", "fullname",
	"address1_composite")

func (t *table) attributeJSON(c *column) map[string]any {
	o := map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM." + metadataType(c.Type),
		"MetadataId": c.id, "LogicalName": c.LogicalName, "SchemaName": c.schema, "AttributeType": c.Type,
		"AttributeTypeName": map[string]any{"Value": c.Type + "Type"}, "EntityLogicalName": t.logical,
		"IsCustomAttribute": c.custom, "IsPrimaryId": c.primaryID, "IsPrimaryName": c.primName,
		"IsValidForCreate": !readOnly[c.LogicalName], "IsValidForUpdate": !readOnly[c.LogicalName] && !c.primaryID,
		"IsValidForRead": true, "AttributeOf": nil, "DisplayName": label(c.label),
		"RequiredLevel": map[string]any{"Value": "None", "CanBeChanged": true,
			"ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}}
	switch c.Type {
	case TypeString:
		o["MaxLength"], o["Format"], o["FormatName"] = c.MaxLength, "Text", map[string]any{"Value": "Text"}
	case TypeMemo:
		o["MaxLength"], o["Format"] = c.MaxLength, "TextArea"
	case TypeInteger:
		o["MinValue"], o["MaxValue"], o["Format"] = math.MinInt32, math.MaxInt32, "None"
	case TypeBigInt:
		o["MinValue"], o["MaxValue"] = int64(math.MinInt64), int64(math.MaxInt64)
	case TypeDecimal, TypeDouble:
		o["MinValue"], o["MaxValue"], o["Precision"] = -100000000000, 100000000000, 2
	case TypeMoney:
		o["MinValue"], o["MaxValue"], o["Precision"], o["PrecisionSource"] = -922337203685477, 922337203685477, 2, 2
	case TypeBoolean:
		o["DefaultValue"] = false
	case TypeDateTime:
		o["Format"], o["DateTimeBehavior"] = c.Format, map[string]any{"Value": c.Behavior}
	case TypePicklist, TypeState, TypeStatus:
		o["DefaultFormValue"] = nil
	case TypeLookup, TypeCustomer, TypeOwner:
		o["Targets"], o["Format"] = c.Targets, "None"
	}
	return o
}

// keyJSON renders k as the read sees it, then lets its index job take a step.
func (s *Server) keyJSON(t *table, k *key) map[string]any {
	o := map[string]any{"MetadataId": k.id, "LogicalName": k.logical, "SchemaName": k.schema,
		"KeyAttributes": k.columns, "EntityKeyIndexStatus": k.status, "EntityLogicalName": t.logical,
		"DisplayName": label(k.label), "AsyncJob": nil, "IsManaged": false}
	s.advance(t, k)
	return o
}

// advance moves k's index job one step: Pending to InProgress, InProgress to Active once
// Options.KeyActivation has passed (Failed if the job is set to fail or rows share a value).
func (s *Server) advance(t *table, k *key) {
	switch {
	case k.status == KeyPending:
		k.status = KeyInProgress
	case k.status != KeyInProgress || time.Since(k.created) < s.opts.KeyActivation:
	case s.opts.FailKeyJobs || !t.activate(k):
		k.status = KeyFailed
	default:
		k.status = KeyActive
	}
}

// relationshipsJSON renders the many-to-one relationships of t's lookup columns, one per
// navigation property.
func (t *table) relationshipsJSON() []map[string]any {
	var out []map[string]any
	for _, name := range t.order {
		c := t.cols[name]
		for nav, target := range c.navigations() {
			out = append(out, map[string]any{"MetadataId": c.id, "SchemaName": target + "_" + t.logical + "_" + nav,
				"ReferencedEntity": target, "ReferencedAttribute": target + "id", "ReferencingEntity": t.logical,
				"ReferencingAttribute": c.LogicalName, "ReferencingEntityNavigationPropertyName": nav,
				"ReferencedEntityNavigationPropertyName": target + "_" + nav, "RelationshipType": "OneToManyRelationship"})
		}
	}
	return out
}

// children renders a collection of t's definition (segment) with q applied; cast is the
// derived attribute type of a cast segment.
func (s *Server) children(t *table, segment, cast string, q query) ([]map[string]any, *apiError) {
	var all []map[string]any
	var allowed map[string]bool
	typeName := cast
	switch segment {
	case "Attributes":
		if typeName == "" {
			typeName = "AttributeMetadata"
		}
		allowed = attributeProps[typeName]
		for _, name := range t.order {
			if c := t.cols[name]; cast == "" || metadataType(c.Type) == cast {
				all = append(all, t.attributeJSON(c))
			}
		}
	case "Keys":
		allowed, typeName = keyProps, "EntityKeyMetadata"
		for _, k := range t.keys {
			all = append(all, s.keyJSON(t, k))
		}
	case "ManyToOneRelationships":
		allowed, typeName = relationshipProps, "OneToManyRelationshipMetadata"
		all = t.relationshipsJSON()
	default:
		return nil, noMetaProperty(segment, "EntityMetadata")
	}
	if err := q.check(allowed, typeName); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, o := range all {
		if q.matches(o) {
			out = append(out, q.shape(o))
		}
	}
	return out, nil
}
