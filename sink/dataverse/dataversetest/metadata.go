package dataversetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// metaPath is what a metadata URL addresses: EntityDefinitions, one table's definition, or a
// collection of it (Attributes, Keys, ManyToOneRelationships), maybe one item of it, maybe
// cast to a derived type (Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata).
type metaPath struct {
	table   *table
	segment string
	item    string
	cast    string
}

var (
	metaPathRE = regexp.MustCompile(`^EntityDefinitions(?:\(([^)]*)\))?` +
		`(?:/(Attributes|Keys|ManyToOneRelationships)(?:\(([^)]*)\))?(?:/Microsoft\.Dynamics\.CRM\.(\w+))?)?$`)
	nameRefRE = regexp.MustCompile(`^LogicalName='([^']*)'$`)
)

// parseMetaPath reads rest, the path after BasePath; s.mu is held.
func (s *Server) parseMetaPath(rest string) (metaPath, *apiError) {
	m := metaPathRE.FindStringSubmatch(rest)
	if m == nil {
		return metaPath{}, fail(http.StatusNotFound, CodeSegmentNotFound, "Resource not found for the segment '%s'.", rest)
	}
	p := metaPath{segment: m[2], item: m[3], cast: m[4]}
	if m[1] == "" {
		if p.segment != "" {
			return metaPath{}, fail(http.StatusBadRequest, CodeODataError, "Bad Request - Error in query syntax.")
		}
		return p, nil
	}
	name := ref(m[1])
	for _, t := range s.tables {
		if t.logical == name || t.id == name {
			p.table = t
		}
	}
	if p.table == nil {
		return metaPath{}, fail(http.StatusNotFound, CodeNotFound,
			"The entity with a name = '%s' with namemapping = 'Logical' was not found in the MetadataCache.", name)
	}
	if p.cast != "" && p.segment != "Attributes" || p.cast != "" && attributeProps[p.cast] == nil {
		return metaPath{}, fail(http.StatusBadRequest, CodeODataError, "The type 'Microsoft.Dynamics.CRM.%s' "+
			"cannot be used here.", p.cast)
	}
	return p, nil
}

// ref reads the inside of a key segment: LogicalName='x' or a MetadataId.
func ref(s string) string {
	if m := nameRefRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

func (s *Server) routeMetadata(w http.ResponseWriter, r *http.Request, rest string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.parseMetaPath(rest)
	if err != nil {
		return err
	}
	switch {
	case r.Method == http.MethodGet:
		return s.readMetadata(w, r, p)
	case r.Method == http.MethodPost && p.item == "" && p.cast == "" && p.segment == "Attributes":
		return s.createAttribute(w, r, p.table)
	case r.Method == http.MethodPost && p.item == "" && p.segment == "Keys":
		return s.createKey(w, r, p.table)
	case r.Method == http.MethodDelete && p.item != "" && p.segment == "Keys":
		return s.deleteKey(w, p.table, ref(p.item))
	}
	return fail(http.StatusMethodNotAllowed, CodeValidation, "The HTTP method '%s' is not allowed here.", r.Method)
}

// query is the system query options of a metadata read.
type query struct {
	sel    []string
	filter []cond
	or     bool
	expand map[string]query
}

func parseQuery(v url.Values) (query, *apiError) {
	var q query
	if sel := v.Get("$select"); sel != "" {
		q.sel = strings.Split(sel, ",")
	}
	var err *apiError
	if q.filter, q.or, err = parseFilter(v.Get("$filter")); err != nil {
		return q, err
	}
	if ex := v.Get("$expand"); ex != "" {
		q.expand = make(map[string]query)
		for _, item := range splitTop(ex, ',') {
			name, opts, _ := strings.Cut(item, "(")
			inner := url.Values{}
			for _, o := range splitTop(strings.TrimSuffix(opts, ")"), ';') {
				if k, val, ok := strings.Cut(o, "="); ok {
					inner.Set(k, val)
				}
			}
			if q.expand[name], err = parseQuery(inner); err != nil {
				return q, err
			}
		}
	}
	return q, nil
}

// rawQuery reads a query string split at "&" only: OData separates the options of an $expand
// with ";", which url.ParseQuery refuses.
func rawQuery(raw string) url.Values {
	v := url.Values{}
	for _, part := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(val)
		if err1 == nil && err2 == nil && k != "" {
			v.Add(k, val)
		}
	}
	return v
}

// splitTop splits s at sep outside parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// cond is one comparison of a $filter: Property eq value (or Property/Value eq value).
type cond struct{ path, value string }

var condRE = regexp.MustCompile(`^(\w+(?:/\w+)?) eq (?:'([^']*)'|Microsoft\.Dynamics\.CRM\.\w+'([^']*)'|(true|false|-?\d+))$`)

// parseFilter reads comparisons joined by "and" or by "or": the forms the Learn page "Query
// table definitions using the Web API" shows.
func parseFilter(f string) (conds []cond, or bool, err *apiError) {
	if f == "" {
		return nil, false, nil
	}
	sep := " and "
	if strings.Contains(f, " or ") {
		sep, or = " or ", true
	}
	for _, part := range strings.Split(f, sep) {
		m := condRE.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, false, fail(http.StatusNotImplemented, CodeSegmentNotFound, "The double models only "+
				"'Property eq value' comparisons joined by one kind of and/or in a $filter of metadata: %q.", part)
		}
		conds = append(conds, cond{path: m[1], value: m[2] + m[3] + m[4]})
	}
	return conds, or, nil
}

// matches applies the $filter of q to obj.
func (q query) matches(obj map[string]any) bool {
	if len(q.filter) == 0 {
		return true
	}
	for _, c := range q.filter {
		prop, sub, _ := strings.Cut(c.path, "/")
		v := obj[prop]
		if m, ok := v.(map[string]any); ok && sub != "" {
			v = m[sub]
		}
		b, _ := json.Marshal(v)
		hit := strings.Trim(string(b), `"`) == c.value
		if hit == q.or {
			return hit
		}
	}
	return !q.or
}

// check refuses a $select or $filter of a property that the type (typeName, whose
// properties are allowed) does not define.
func (q query) check(allowed map[string]bool, typeName string) *apiError {
	for _, c := range q.filter {
		if p, _, _ := strings.Cut(c.path, "/"); !allowed[p] {
			return noMetaProperty(p, typeName)
		}
	}
	for _, p := range q.sel {
		if !allowed[p] {
			return noMetaProperty(p, typeName)
		}
	}
	return nil
}

// shape keeps the $select of q in obj, with MetadataId and @odata.type.
func (q query) shape(obj map[string]any) map[string]any {
	if q.sel == nil {
		return obj
	}
	out := map[string]any{"MetadataId": obj["MetadataId"]}
	if t, ok := obj["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, p := range q.sel {
		out[p] = obj[p]
	}
	return out
}

func noMetaProperty(p, typeName string) *apiError {
	return fail(http.StatusBadRequest, CodeODataError, "Could not find a property named '%s' on type "+
		"'Microsoft.Dynamics.CRM.%s'.", p, typeName)
}

// readMetadata answers a GET of metadata; s.mu is held.
func (s *Server) readMetadata(w http.ResponseWriter, r *http.Request, p metaPath) *apiError {
	q, err := parseQuery(rawQuery(r.URL.RawQuery))
	if err != nil {
		return err
	}
	var items []map[string]any
	switch {
	case p.table == nil:
		items, err = s.entities(q)
	case p.segment == "":
		items, err = s.entities(q, p.table)
	default:
		items, err = s.children(p.table, p.segment, p.cast, q)
	}
	if err != nil {
		return err
	}
	context := "http://" + r.Host + BasePath + "$metadata#" + strings.TrimPrefix(r.URL.Path, BasePath)
	if p.item != "" || p.table != nil && p.segment == "" {
		i := slices.IndexFunc(items, func(o map[string]any) bool {
			return p.item == "" || o["MetadataId"] == ref(p.item) || o["LogicalName"] == ref(p.item)
		})
		if i < 0 {
			return fail(http.StatusNotFound, CodeNotFound, "Could not find %s '%s' of entity '%s'.",
				p.segment, ref(p.item), p.table.logical)
		}
		items[i]["@odata.context"] = context + "/$entity"
		return writeJSON(w, items[i])
	}
	return writeJSON(w, map[string]any{"@odata.context": context, "value": items})
}

// entities renders the definitions of tables (all when none is given), with $expand.
func (s *Server) entities(q query, only ...*table) ([]map[string]any, *apiError) {
	tables := only
	if tables == nil {
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for n := range s.tables {
				if !yield(n) {
					return
				}
			}
		}) {
			tables = append(tables, s.tables[name])
		}
	}
	if err := q.check(entityProps, "EntityMetadata"); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, t := range tables {
		obj := t.entityJSON()
		if !q.matches(obj) {
			continue
		}
		shaped := q.shape(obj)
		for name, sub := range q.expand {
			var err *apiError
			if shaped[name], err = s.children(t, name, "", sub); err != nil {
				return nil, err
			}
		}
		out = append(out, shaped)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, v any) *apiError {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusOK)
	body, _ := json.Marshal(v)
	w.Write(body)
	return nil
}
