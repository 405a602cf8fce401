package dataversetest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// entity returns the logical name of the table behind an entity set ("contacts" -> "contact").
func (set *entitySet) entity() string { return strings.TrimSuffix(set.name, "s") }

// primaryKey returns the logical name of the table's primary key column ("contactid").
func (set *entitySet) primaryKey() string { return set.entity() + "id" }

// find returns the row t addresses, or nil; s.mu is held.
func (t target) find() *Row {
	if t.id != "" {
		return t.set.rows[t.id]
	}
	return t.set.byKey[t.keyValue]
}

func (s *Server) entityID(r *http.Request, set *entitySet, row *Row) string {
	return "http://" + r.Host + BasePath + set.name + "(" + row.ID + ")"
}

func notFound(t target) *apiError {
	if t.id != "" {
		return fail(http.StatusNotFound, CodeNotFound, "%s With Id = %s Does Not Exist", t.set.entity(), t.id)
	}
	return fail(http.StatusNotFound, CodeNotFound,
		"A record with the specified key values does not exist in %s entity", t.set.entity())
}

// insert stores a new row with cols; s.mu is held.
func (s *Server) insert(set *entitySet, keyValue string, cols map[string]any) (*Row, *apiError) {
	if keyValue != "" {
		if _, dup := set.byKey[keyValue]; dup {
			return nil, fail(http.StatusPreconditionFailed, CodeDuplicate, "A record with matching key values already exists.")
		}
		cols[set.key] = keyValue
	}
	row := &Row{ID: s.nextID(), ETag: s.nextETag(), Columns: map[string]any{"statecode": float64(0), "statuscode": float64(1)}}
	for k, v := range cols {
		row.Columns[k] = v
	}
	row.Columns[set.primaryKey()] = row.ID
	set.rows[row.ID] = row
	if keyValue != "" {
		set.byKey[keyValue] = row
	}
	return row, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t target) *apiError {
	cols, err := readObject(r)
	if err != nil {
		return err
	}
	key, _ := cols[t.set.key].(string)
	s.mu.Lock()
	row, err := s.insert(t.set, key, cols)
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
func (s *Server) answerWrite(w http.ResponseWriter, r *http.Request, set *entitySet, row Row, withBody int) {
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("OData-EntityId", s.entityID(r, set, &row))
	if !strings.Contains(r.Header.Get("Prefer"), "return=representation") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRow(w, r, set, row, nil, withBody)
}

func writeRow(w http.ResponseWriter, r *http.Request, set *entitySet, row Row, selected []string, status int) {
	out := map[string]any{
		"@odata.context": "http://" + r.Host + BasePath + "$metadata#" + set.name + "/$entity",
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
		out[set.primaryKey()] = row.ID
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("ETag", row.ETag)
	w.WriteHeader(status)
	body, _ := json.Marshal(out)
	w.Write(body)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t target) *apiError {
	var selected []string
	if sel := r.URL.Query().Get("$select"); sel != "" {
		selected = strings.Split(sel, ",")
	}
	s.mu.Lock()
	row := t.find()
	var snapshot Row
	if row != nil {
		snapshot = copyRow(row)
	}
	s.mu.Unlock()
	if row == nil {
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
	if v, ok := cols[t.set.key]; ok && t.keyValue != "" && v != t.keyValue {
		return fail(http.StatusBadRequest, CodeValidation,
			"The value of '%s' in the payload differs from the key in the URL.", t.set.key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	row := t.find()
	if err := precondition(r, t, row); err != nil {
		return err
	}
	status := http.StatusOK
	if row == nil {
		if t.id != "" {
			return notFound(t) // upsert by primary key needs the id in a create; not modelled
		}
		if row, err = s.insert(t.set, t.keyValue, cols); err != nil {
			return err
		}
		status = http.StatusCreated
	} else {
		if err := s.rekey(t.set, row, cols); err != nil {
			return err
		}
		for k, v := range cols {
			row.Columns[k] = v
		}
		row.Columns[t.set.primaryKey()] = row.ID
		row.ETag = s.nextETag()
	}
	s.answerWrite(w, r, t.set, copyRow(row), status)
	return nil
}

// rekey moves row to a new alternate key value when an update changes it; s.mu is held.
func (s *Server) rekey(set *entitySet, row *Row, cols map[string]any) *apiError {
	v, ok := cols[set.key]
	if !ok {
		return nil
	}
	old, _ := row.Columns[set.key].(string)
	nv, _ := v.(string)
	if nv == old {
		return nil
	}
	if nv != "" {
		if _, dup := set.byKey[nv]; dup {
			return fail(http.StatusPreconditionFailed, CodeDuplicate, "A record with matching key values already exists.")
		}
		set.byKey[nv] = row
	}
	delete(set.byKey, old)
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
	if k, _ := row.Columns[t.set.key].(string); k != "" {
		delete(t.set.byKey, k)
	}
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
