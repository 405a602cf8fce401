package dataversetest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// find returns the row t addresses, or nil; s.mu is held.
func (t target) find() *Row {
	if t.id != "" {
		return t.set.rows[t.id]
	}
	if k := t.set.activeKeyOn(t.keyCol); k != nil {
		return k.index[t.keyValue]
	}
	return nil
}

func (s *Server) entityID(r *http.Request, set *table, row *Row) string {
	return "http://" + r.Host + BasePath + set.set + "(" + row.ID + ")"
}

func notFound(t target) *apiError {
	if t.id != "" {
		return fail(http.StatusNotFound, CodeNotFound, "%s With Id = %s Does Not Exist", t.set.logical, t.id)
	}
	return fail(http.StatusNotFound, CodeNotFound,
		"A record with the specified key values does not exist in %s entity", t.set.logical)
}

// noProperty is the Web API's answer to a payload property the table does not define.
func noProperty(t *table, name string) *apiError {
	return fail(http.StatusBadRequest, CodeODataError, "The property '%s' does not exist on type "+
		"'Microsoft.Dynamics.CRM.%s'. Make sure to only use property names that are defined by the type or "+
		"mark the type as open type.", name, t.logical)
}

// checkColumns refuses a payload with a property the table does not define and turns each
// "<navigation property>@odata.bind" into the lookup's "_<column>_value"; s.mu is held.
func checkColumns(t *table, cols map[string]any) *apiError {
	for name, v := range cols {
		prop, annotation, annotated := strings.Cut(name, "@")
		switch {
		case prop == "": // an instance annotation such as @odata.type
		case annotated && annotation == "odata.bind":
			col := t.navigation(prop)
			if col == nil {
				return fail(http.StatusBadRequest, CodeODataError, "An undeclared property '%s' which only has "+
					"property annotations in the payload but no property value was found in the payload. In OData, "+
					"only declared navigation properties and declared named streams can be represented as "+
					"properties without values.", prop)
			}
			ref, ok := v.(string)
			if !ok || !strings.Contains(ref, "(") || !strings.HasSuffix(ref, ")") {
				return fail(http.StatusBadRequest, CodeODataError, "The value of '%s' must be a URL of a row, "+
					"such as /accounts(00000000-0000-0000-0000-000000000001).", name)
			}
			delete(cols, name)
			cols["_"+col.LogicalName+"_value"] = ref[strings.Index(ref, "(")+1 : len(ref)-1]
		case annotated: // a property annotation
		default:
			c := t.cols[prop]
			if c == nil || isLookup(c.Type) {
				return noProperty(t, prop)
			}
		}
	}
	return nil
}

func isLookup(typ string) bool {
	return typ == TypeLookup || typ == TypeCustomer || typ == TypeOwner
}

// unique refuses values of cols that another row than row (nil for a new one) already holds
// in a column with an Active key; s.mu is held.
func (t *table) unique(row *Row, cols map[string]any) *apiError {
	for _, k := range t.keys {
		if k.status != KeyActive || len(k.columns) != 1 {
			continue
		}
		v, ok := keyValue(cols[k.columns[0]])
		if !ok {
			continue
		}
		if other, dup := k.index[v]; dup && other != row {
			return fail(http.StatusPreconditionFailed, CodeDuplicate, "A record with matching key values already exists.")
		}
	}
	return nil
}

// reindex moves row in the indexes of the Active keys after its columns changed from old;
// s.mu is held.
func (t *table) reindex(row *Row, old map[string]any) {
	for _, k := range t.keys {
		if k.status != KeyActive || len(k.columns) != 1 {
			continue
		}
		if v, ok := keyValue(old[k.columns[0]]); ok && k.index[v] == row {
			delete(k.index, v)
		}
		if v, ok := keyValue(row.Columns[k.columns[0]]); ok {
			k.index[v] = row
		}
	}
}

// insert stores a new row with cols; s.mu is held.
func (s *Server) insert(t target, cols map[string]any) (*Row, *apiError) {
	if t.keyValue != "" {
		cols[t.keyCol] = t.keyValue
	}
	if err := t.set.unique(nil, cols); err != nil {
		return nil, err
	}
	row := &Row{ID: s.nextID(), ETag: s.nextETag(), Columns: map[string]any{"statecode": float64(0), "statuscode": float64(1)}}
	for k, v := range cols {
		row.Columns[k] = v
	}
	row.Columns[t.set.primaryID] = row.ID
	t.set.rows[row.ID] = row
	t.set.reindex(row, nil)
	return row, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t target) *apiError {
	cols, err := readObject(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	err = checkColumns(t.set, cols)
	var row *Row
	if err == nil {
		row, err = s.insert(t, cols)
	}
	var snapshot Row
	if err == nil {
		snapshot = copyRow(row)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.answerWrite(w, r, t.set, snapshot, http.StatusCreated)
	return nil
}

// answerWrite answers a successful create or update: 204 with OData-EntityId, or the row when
// the client asked for it with Prefer: return=representation.
func (s *Server) answerWrite(w http.ResponseWriter, r *http.Request, set *table, row Row, withBody int) {
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("OData-EntityId", s.entityID(r, set, &row))
	if !strings.Contains(r.Header.Get("Prefer"), "return=representation") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRow(w, r, set, row, nil, withBody)
}

func writeRow(w http.ResponseWriter, r *http.Request, set *table, row Row, selected []string, status int) {
	out := map[string]any{
		"@odata.context": "http://" + r.Host + BasePath + "$metadata#" + set.set + "/$entity",
		"@odata.etag":    row.ETag,
	}
	if selected == nil {
		for k, v := range row.Columns {
			out[k] = v
		}
	} else {
		for _, c := range selected {
			out[c] = row.Columns[c] // null when absent, as Dataverse answers for an empty column
		}
		out[set.primaryID] = row.ID
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("ETag", row.ETag)
	w.WriteHeader(status)
	body, _ := json.Marshal(out)
	w.Write(body)
}

// checkSelect refuses a $select of a property the table does not define; s.mu is held.
func checkSelect(t *table, selected []string) *apiError {
	for _, c := range selected {
		name := c
		if inner, ok := strings.CutPrefix(c, "_"); ok && strings.HasSuffix(inner, "_value") {
			name = strings.TrimSuffix(inner, "_value")
			if col := t.cols[name]; col != nil && isLookup(col.Type) {
				continue
			}
		} else if col := t.cols[name]; col != nil && !isLookup(col.Type) {
			continue
		}
		return fail(http.StatusBadRequest, CodeODataError, "Could not find a property named '%s' on type "+
			"'Microsoft.Dynamics.CRM.%s'.", c, t.logical)
	}
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t target) *apiError {
	var selected []string
	if sel := r.URL.Query().Get("$select"); sel != "" {
		selected = strings.Split(sel, ",")
	}
	s.mu.Lock()
	err := checkSelect(t.set, selected)
	row := t.find()
	var snapshot Row
	if row != nil {
		snapshot = copyRow(row)
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		return err
	case row == nil:
		return notFound(t)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == snapshot.ETag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeRow(w, r, t.set, snapshot, selected, http.StatusOK)
	return nil
}

// precondition applies If-Match and If-None-Match to row (nil when absent); s.mu is held.
func precondition(r *http.Request, t target, row *Row) *apiError {
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case ifNoneMatch == "*" && row != nil:
		return fail(http.StatusPreconditionFailed, CodeDuplicate, "A record with matching key values already exists.")
	case ifMatch != "" && row == nil:
		return notFound(t)
	case ifMatch != "" && ifMatch != "*" && ifMatch != row.ETag:
		return fail(http.StatusPreconditionFailed, CodeVersionMismatch,
			"The version of the existing record doesn't match the RowVersion property provided.")
	}
	return nil
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, t target) *apiError {
	cols, err := readObject(r)
	if err != nil {
		return err
	}
	if v, ok := cols[t.keyCol]; ok && t.keyValue != "" && v != t.keyValue {
		return fail(http.StatusBadRequest, CodeValidation,
			"The value of '%s' in the payload differs from the key in the URL.", t.keyCol)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkColumns(t.set, cols); err != nil {
		return err
	}
	row := t.find()
	if err := precondition(r, t, row); err != nil {
		return err
	}
	status := http.StatusOK
	if row == nil {
		if t.id != "" {
			return notFound(t) // upsert by primary key needs the id in a create; not modelled
		}
		if row, err = s.insert(t, cols); err != nil {
			return err
		}
		status = http.StatusCreated
	} else {
		if err := t.set.unique(row, cols); err != nil {
			return err
		}
		old := copyRow(row).Columns
		for k, v := range cols {
			row.Columns[k] = v
		}
		row.Columns[t.set.primaryID] = row.ID
		row.ETag = s.nextETag()
		t.set.reindex(row, old)
	}
	s.answerWrite(w, r, t.set, copyRow(row), status)
	return nil
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request, t target) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := t.find()
	if row == nil {
		return notFound(t)
	}
	if err := precondition(r, t, row); err != nil {
		return err
	}
	delete(t.set.rows, row.ID)
	for _, k := range t.set.keys {
		if v, ok := keyValue(row.Columns[firstColumn(k)]); ok && k.index[v] == row {
			delete(k.index, v)
		}
	}
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func firstColumn(k *key) string {
	if len(k.columns) == 0 {
		return ""
	}
	return k.columns[0]
}
