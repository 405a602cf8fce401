package dataversetest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// values returns the "value" array of a collection response as objects.
func values(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// byName indexes objects by their LogicalName.
func byName(objs []map[string]any) map[string]map[string]any {
	m := make(map[string]map[string]any, len(objs))
	for _, o := range objs {
		m[o["LogicalName"].(string)] = o
	}
	return m
}

const contactDef = "EntityDefinitions(LogicalName='contact')"

func TestQueryTableDefinitions(t *testing.T) {
	c := newClient(t, &dataversetest.Options{RequireHeaders: true})
	st, _, body := c.do("GET", "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"+
		"&$filter=EntitySetName%20eq%20'contacts'", "")
	list := values(t, body)
	if st != 200 || len(list) != 1 || list[0]["LogicalName"] != "contact" || list[0]["PrimaryIdAttribute"] != "contactid" ||
		list[0]["MetadataId"] == nil || list[0]["DisplayName"] != nil {
		t.Fatalf("filter by entity set: %d %v", st, body)
	}
	if _, _, body := c.do("GET", "EntityDefinitions?$select=LogicalName&$filter=EntitySetName%20eq%20'nothings'", ""); len(values(t, body)) != 0 {
		t.Fatalf("filter by an unknown entity set: %v, want no value", body)
	}
	if st, _, body := c.do("GET", "EntityDefinitions(LogicalName='nothing')", ""); st != 404 || errorCode(body) != dataversetest.CodeNotFound {
		t.Fatalf("unknown table: %d %v", st, body)
	}
	if st, _, body := c.do("GET", contactDef+"?$select=Nope", ""); st != 400 || errorCode(body) != dataversetest.CodeODataError ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "Could not find a property named 'Nope'") {
		t.Fatalf("$select of an unknown property: %d %v", st, body)
	}
	if st, _, _ := c.do("GET", "EntityDefinitions?$filter=startswith(LogicalName,'c')", ""); st != 501 {
		t.Fatalf("unsupported $filter: %d, want 501", st)
	}
}

func TestQueryColumnDefinitions(t *testing.T) {
	c := newClient(t, nil)
	_, _, body := c.do("GET", contactDef+"/Attributes?$select=LogicalName,AttributeType,AttributeTypeName", "")
	cols := byName(values(t, body))
	email := cols["emailaddress1"]
	if email["AttributeType"] != "String" || email["@odata.type"] != "#Microsoft.Dynamics.CRM.StringAttributeMetadata" ||
		email["AttributeTypeName"].(map[string]any)["Value"] != "StringType" || email["MaxLength"] != nil {
		t.Fatalf("emailaddress1: %v", email)
	}
	for name, typ := range map[string]string{"contactid": "Uniqueidentifier", "description": "Memo", "statecode": "State",
		"new_stripeeventcreated": "DateTime", "parentcustomerid": "Customer", "creditlimit": "Money"} {
		if cols[name]["AttributeType"] != typ {
			t.Errorf("%s: %v, want %s", name, cols[name], typ)
		}
	}
	if st, _, _ := c.do("GET", contactDef+"/Attributes?$select=LogicalName,MaxLength", ""); st != 400 {
		t.Fatalf("MaxLength without a cast: %d, want 400", st)
	}
	_, _, body = c.do("GET", contactDef+"/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength", "")
	strs := byName(values(t, body))
	if strs["fullname"]["MaxLength"] != float64(160) || strs["new_stripeeventid"]["MaxLength"] != float64(100) || strs["description"] != nil {
		t.Fatalf("String columns: %v", strs)
	}
	st, _, one := c.do("GET", contactDef+"/Attributes(LogicalName='new_stripeeventcreated')/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata", "")
	if st != 200 || one["Format"] != "DateAndTime" || one["DateTimeBehavior"].(map[string]any)["Value"] != "TimeZoneIndependent" {
		t.Fatalf("one DateTime column: %d %v", st, one)
	}
	_, _, body = c.do("GET", contactDef+"/Attributes?$select=LogicalName&$filter=AttributeType%20eq%20Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'", "")
	if picks := values(t, body); len(picks) != 1 || picks[0]["LogicalName"] != "gendercode" {
		t.Fatalf("Picklist columns: %v", picks)
	}
	_, _, body = c.do("GET", contactDef+"/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName", "")
	navs := map[string]string{}
	for _, r := range values(t, body) {
		navs[r["ReferencingEntityNavigationPropertyName"].(string)] = r["ReferencingAttribute"].(string)
	}
	if navs["parentcustomerid_account"] != "parentcustomerid" || navs["parentcustomerid_contact"] != "parentcustomerid" ||
		navs["transactioncurrencyid"] != "transactioncurrencyid" {
		t.Fatalf("navigation properties: %v", navs)
	}
}

func TestExpandAttributesAndKeys(t *testing.T) {
	c := newClient(t, nil)
	st, _, body := c.do("GET", contactDef+"?$select=LogicalName&$expand=Attributes($select=LogicalName,AttributeType;"+
		"$filter=LogicalName%20eq%20'new_stripecustomerid'),Keys($select=KeyAttributes,EntityKeyIndexStatus)", "")
	attrs, _ := body["Attributes"].([]any)
	keys, _ := body["Keys"].([]any)
	if st != 200 || body["LogicalName"] != "contact" || len(attrs) != 1 || len(keys) != 1 {
		t.Fatalf("expand: %d %v", st, body)
	}
	k := keys[0].(map[string]any)
	if k["EntityKeyIndexStatus"] != "Active" || k["KeyAttributes"].([]any)[0] != "new_stripecustomerid" {
		t.Fatalf("key: %v", k)
	}
}

// stringColumn is the body of a column creation as the Learn page shows it.
func stringColumn(schema string, maxLength int) string {
	return `{"@odata.type":"Microsoft.Dynamics.CRM.StringAttributeMetadata","AttributeType":"String",
	 "AttributeTypeName":{"Value":"StringType"},"SchemaName":"` + schema + `","MaxLength":` + strconv.Itoa(maxLength) + `,
	 "DisplayName":{"@odata.type":"Microsoft.Dynamics.CRM.Label","LocalizedLabels":[{"Label":"Stripe id","LanguageCode":1033}]},
	 "RequiredLevel":{"Value":"None","CanBeChanged":true,"ManagedPropertyLogicalName":"canmodifyrequirementlevelsettings"}}`
}

// keyStatuses reads the table's keys once and returns their states by logical name.
func keyStatuses(t *testing.T, c client, def string) map[string]string {
	t.Helper()
	_, _, body := c.do("GET", def+"/Keys?$select=LogicalName,KeyAttributes,EntityKeyIndexStatus", "")
	out := map[string]string{}
	for _, k := range values(t, body) {
		out[k["LogicalName"].(string)] = k["EntityKeyIndexStatus"].(string)
	}
	return out
}

func TestCreateColumnAndKeyInFreshEnvironment(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Fresh: true, RequireHeaders: true})
	if st, _, body := c.do("POST", "contacts", `{"new_stripecustomerid":"cus_1"}`); st != 400 || errorCode(body) != dataversetest.CodeODataError ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "'new_stripecustomerid' does not exist on type") {
		t.Fatalf("create with a column the table lacks: %d %v", st, body)
	}
	st, h, _ := c.do("POST", contactDef+"/Attributes", stringColumn("new_StripeCustomerId", 100))
	if st != 204 || !strings.Contains(h.Get("OData-EntityId"), contactDef+"/Attributes(") {
		t.Fatalf("create column: %d %v", st, h)
	}
	if st, _, _ := c.do("POST", contactDef+"/Attributes", stringColumn("new_StripeCustomerId", 100)); st != 400 {
		t.Fatalf("create the column again: %d, want 400", st)
	}
	if st, _, _ := c.do("POST", contactDef+"/Attributes", stringColumn("StripeThing", 100)); st != 400 {
		t.Fatalf("create a column without a prefix: %d, want 400", st)
	}
	if st, _, _ := c.do("PATCH", byKey, `{"firstname":"A"}`); st != 400 {
		t.Fatalf("upsert by a key that does not exist yet: %d, want 400", st)
	}
	st, h, _ = c.do("POST", contactDef+"/Keys", `{"SchemaName":"new_StripeCustomerIdKey","KeyAttributes":["new_stripecustomerid"],
	 "DisplayName":{"LocalizedLabels":[{"Label":"Stripe id key","LanguageCode":1033}]}}`)
	if st != 204 || !strings.Contains(h.Get("OData-EntityId"), "/Keys(") {
		t.Fatalf("create key: %d", st)
	}
	for _, want := range []string{"Pending", "InProgress", "Active", "Active"} {
		if got := keyStatuses(t, c, contactDef)["new_stripecustomeridkey"]; got != want {
			t.Fatalf("key status %q, want %q", got, want)
		}
	}
	if st, _, _ := c.do("PATCH", byKey, `{"firstname":"A"}`); st != 204 {
		t.Fatalf("upsert by the new key: %d", st)
	}
	if tbl, _ := c.srv.Table("contacts"); tbl.Keys[0].Status != dataversetest.KeyActive || tbl.Keys[0].Columns[0] != "new_stripecustomerid" {
		t.Fatalf("Table: %+v", tbl.Keys)
	}
}

func TestKeyJobsFailAndWait(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Fresh: true, FailKeyJobs: true})
	c.do("POST", contactDef+"/Attributes", stringColumn("new_StripeCustomerId", 100))
	c.do("POST", contactDef+"/Keys", `{"SchemaName":"new_k","KeyAttributes":["new_stripecustomerid"]}`)
	for _, want := range []string{"Pending", "InProgress", "Failed"} {
		if got := keyStatuses(t, c, contactDef)["new_k"]; got != want {
			t.Fatalf("key status %q, want %q", got, want)
		}
	}
	if st, _, _ := c.do("DELETE", contactDef+"/Keys(LogicalName='new_k')", ""); st != 204 || len(keyStatuses(t, c, contactDef)) != 0 {
		t.Fatalf("delete key: %d", st)
	}

	// Rows that share a value fail the job; a delay holds the key InProgress.
	d := newClient(t, &dataversetest.Options{Fresh: true, KeyActivation: 150 * time.Millisecond})
	d.do("POST", contactDef+"/Attributes", stringColumn("new_Code", 10))
	d.do("POST", "contacts", `{"new_code":"same"}`)
	d.do("POST", "contacts", `{"new_code":"same"}`)
	d.do("POST", contactDef+"/Keys", `{"SchemaName":"new_CodeKey","KeyAttributes":["new_code"]}`)
	for _, want := range []string{"Pending", "InProgress", "InProgress"} {
		if got := keyStatuses(t, d, contactDef)["new_codekey"]; got != want {
			t.Fatalf("key status %q, want %q", got, want)
		}
	}
	time.Sleep(150 * time.Millisecond)
	if got := keyStatuses(t, d, contactDef)["new_codekey"]; got != "InProgress" {
		t.Fatalf("key status %q after the delay, want InProgress (then Failed)", got)
	}
	if got := keyStatuses(t, d, contactDef)["new_codekey"]; got != "Failed" {
		t.Fatalf("key over duplicate values: %q, want Failed", got)
	}
	if err := d.srv.SetKeyStatus("contacts", "new_codekey", dataversetest.KeyActive); err == nil {
		t.Fatal("SetKeyStatus Active over duplicate values succeeded")
	}
	if err := c.srv.SetKeyStatus("contacts", "nokey", dataversetest.KeyPending); err == nil {
		t.Fatal("SetKeyStatus of an unknown key succeeded")
	}
}

func TestRefusedColumnsAndLookups(t *testing.T) {
	c := newClient(t, nil)
	for _, body := range []string{
		`{"@odata.type":"Microsoft.Dynamics.CRM.PicklistAttributeMetadata","SchemaName":"new_Choice",
		  "DisplayName":{"LocalizedLabels":[{"Label":"Choice","LanguageCode":1033}]}}`,
		`{"@odata.type":"Microsoft.Dynamics.CRM.StringAttributeMetadata","SchemaName":"new_NoLabel"}`,
		stringColumn("new_TooLong", 5000),
	} {
		if st, _, resp := c.do("POST", contactDef+"/Attributes", body); st != 400 || errorCode(resp) != dataversetest.CodeValidation {
			t.Errorf("POST %s: %d %v, want 400", body, st, resp)
		}
	}
	if st, _, body := c.do("POST", contactDef+"/Keys", `{"SchemaName":"new_DescKey","KeyAttributes":["description"]}`); st != 400 {
		t.Fatalf("key on a Memo column: %d %v", st, body)
	}
	st, _, _ := c.do("PATCH", byKey, `{"parentcustomerid_account@odata.bind":"/accounts(00000000-0000-0000-0000-0000000000aa)"}`)
	if r, _ := c.srv.Row("contacts", "cus_1"); st != 204 || r.Columns["_parentcustomerid_value"] != "00000000-0000-0000-0000-0000000000aa" {
		t.Fatalf("bind a lookup: %d %v", st, r.Columns)
	}
	for _, body := range []string{`{"nosuch@odata.bind":"/accounts(1)"}`, `{"parentcustomerid":"x"}`, `{"nosuch":1}`} {
		if st, _, resp := c.do("PATCH", byKey, body); st != 400 || errorCode(resp) != dataversetest.CodeODataError {
			t.Errorf("PATCH %s: %d %v, want 400 %s", body, st, resp, dataversetest.CodeODataError)
		}
	}
	if st, _, body := c.do("GET", byKey+"?$select=nosuch", ""); st != 400 || errorCode(body) != dataversetest.CodeODataError {
		t.Fatalf("$select of an unknown column: %d %v", st, body)
	}
	if st, _, body := c.do("GET", byKey+"?$select=_parentcustomerid_value,firstname", ""); st != 200 || body["_parentcustomerid_value"] == nil {
		t.Fatalf("$select of a lookup value: %d %v", st, body)
	}
}

func TestExtraTables(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Tables: []dataversetest.Table{{LogicalName: "new_invoice",
		Columns: []dataversetest.Column{{LogicalName: "new_stripeinvoiceid", Type: dataversetest.TypeString},
			{LogicalName: "new_customer", Type: dataversetest.TypeLookup, Targets: []string{"contact"}}},
		Keys: []dataversetest.Key{{Columns: []string{"new_stripeinvoiceid"}}}}}})
	_, _, body := c.do("GET", "EntityDefinitions?$select=LogicalName,PrimaryNameAttribute&$filter=EntitySetName%20eq%20'new_invoices'", "")
	if list := values(t, body); len(list) != 1 || list[0]["PrimaryNameAttribute"] != "new_name" {
		t.Fatalf("custom table: %v", list)
	}
	if st, _, _ := c.do("PATCH", "new_invoices(new_stripeinvoiceid='in_1')",
		`{"new_name":"Invoice 1","new_customer@odata.bind":"/contacts(00000000-0000-0000-0000-000000000001)"}`); st != 204 {
		t.Fatalf("write a custom table: %d", st)
	}
	if r, ok := c.srv.Row("new_invoices", "in_1"); !ok || r.Columns["new_name"] != "Invoice 1" {
		t.Fatalf("row %v %v", r, ok)
	}
	if _, ok := c.srv.Row("contacts", "cus_1"); ok {
		t.Fatal("contacts has a row")
	}
}
