package stripeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// kind is an object kind the double lists under /v1/{path}.
type kind struct {
	object  string            // the objects' "object" value, which Stripe's errors name
	filters map[string]filter // the parameters beyond the list ones, as in stripe-go v76's ListParams
}

// filter is one filter parameter of a list.
type filter struct {
	spec   paramSpec
	match  func(obj map[string]any, p *params, name string) bool // when the parameter is given
	absent func(obj map[string]any) bool                         // when it is not (nil: all pass)
}

// kinds are the object lists the double serves, by path under /v1/. Their filters are the ones
// stripe-go v76's XxxListParams send, compared with the stored object's field of that name.
var kinds = map[string]kind{
	"customers":       {"customer", map[string]filter{"email": eq("email"), "test_clock": eq("test_clock")}},
	"payment_intents": {"payment_intent", map[string]filter{"customer": eq("customer")}},
	"invoices": {"invoice", map[string]filter{
		"collection_method": eq("collection_method"), "customer": eq("customer"),
		"due_date": between("due_date"), "status": eq("status"), "subscription": eq("subscription"),
	}},
	"subscriptions": {"subscription", map[string]filter{
		"automatic_tax": hash("automatic_tax", "enabled"), "collection_method": eq("collection_method"),
		"current_period_end": between("current_period_end"), "current_period_start": between("current_period_start"),
		"customer": eq("customer"), "plan": anyItem("plan"), "price": anyItem("price"),
		"status": subscriptionStatus(), "test_clock": eq("test_clock"),
	}},
	"products": {"product", map[string]filter{
		"active": eqBool("active"), "ids": in("id"), "shippable": eqBool("shippable"), "type": eq("type"),
		"url": eq("url"),
	}},
	"prices": {"price", map[string]filter{
		"active": eqBool("active"), "currency": eq("currency"), "lookup_keys": in("lookup_key"),
		"product": eq("product"), "recurring": hash("recurring", "interval", "meter", "usage_type"), "type": eq("type"),
	}},
	"charges": {"charge", map[string]filter{
		"customer": eq("customer"), "payment_intent": eq("payment_intent"), "transfer_group": eq("transfer_group"),
	}},
	"checkout/sessions": {"checkout.session", map[string]filter{
		"customer": eq("customer"), "customer_details": hash("customer_details", "email"),
		"payment_intent": eq("payment_intent"), "payment_link": eq("payment_link"), "status": eq("status"),
		"subscription": eq("subscription"),
	}},
}

// Kinds returns the kinds [Server.AddObject] takes: the paths under /v1/ the double lists.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AddObject stores obj, a JSON object (json.RawMessage, []byte, string, or anything
// encoding/json marshals, such as map[string]any) with a string id and an integer created, in
// the list of kind (see [Kinds]). An object whose id is already stored in that kind replaces it
// in place, as an update would; its created must not change. It fails the test otherwise.
func (s *Server) AddObject(kind string, obj any) {
	s.t.Helper()
	k, ok := kinds[kind]
	if !ok {
		s.t.Fatalf("stripeapi: AddObject: unknown kind %q (have %v)", kind, Kinds())
	}
	e, err := decodeObject(obj)
	if err != nil {
		s.t.Fatalf("stripeapi: AddObject(%q): %v", kind, err)
	}
	if o, _ := e.obj["object"].(string); o != "" && o != k.object {
		s.t.Fatalf("stripeapi: AddObject(%q): object %q is a %q", kind, e.id, o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.objects[kind]
	if c == nil {
		c = &collection{}
		s.objects[kind] = c
	}
	if old, ok := c.byID[e.id]; ok {
		if old.created != e.created {
			s.t.Fatalf("stripeapi: AddObject(%q): %s: created changed from %d to %d", kind, e.id, old.created, e.created)
		}
		old.raw, old.obj = e.raw, e.obj
		return
	}
	s.seq++
	e.seq = s.seq
	c.insert(e)
}

func decodeObject(obj any) (*entry, error) {
	var raw []byte
	switch v := obj.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	id, _ := m["id"].(string)
	n, _ := m["created"].(json.Number)
	created, err := n.Int64()
	if id == "" || err != nil {
		return nil, errorString("want a JSON object with a string id and an integer created")
	}
	return &entry{id: id, created: created, raw: compact.Bytes(), listed: listed(compact.Bytes()), obj: m}, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// listObjects serves GET /v1/{kind}.
func (s *Server) listObjects(name string, k kind, rawQuery string) ([]byte, *apiError) {
	specs := listSpecs()
	for param, f := range k.filters {
		specs[param] = f.spec
	}
	p, e := parseQuery(rawQuery, specs)
	if e != nil {
		return nil, e
	}
	pg, e := readPage(p)
	if e != nil {
		return nil, e
	}
	match := func(x *entry) bool {
		for param, f := range k.filters {
			switch {
			case p.has(param):
				if !f.match(x.obj, p, param) {
					return false
				}
			case f.absent != nil:
				if !f.absent(x.obj) {
					return false
				}
			}
		}
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.objects[name]
	if c == nil {
		c = &collection{}
	}
	all := func(*entry) bool { return true }
	out, more, e := c.list(pg, k.object, all, match)
	if e != nil {
		return nil, e
	}
	return listBody("/v1/"+name, out, more), nil
}

// retrieveObject serves GET /v1/{kind}/{id}.
func (s *Server) retrieveObject(name string, k kind, id, rawQuery string) ([]byte, *apiError) {
	if _, e := parseQuery(rawQuery, retrieveSpecs()); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.objects[name]; c != nil {
		if x, ok := c.byID[id]; ok {
			return objectBody(x), nil
		}
	}
	return nil, noSuch(http.StatusNotFound, k.object, id, "id")
}

// field returns the value at a dotted path of obj as a string: a string itself, an expanded
// object's id, a boolean or number in JSON's spelling, "" when absent or null.
func field(obj map[string]any, path string) string {
	var v any = obj
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		id, _ := x["id"].(string)
		return id
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	return ""
}

func eq(path string) filter {
	return filter{spec: paramSpec{kind: kindString}, match: func(obj map[string]any, p *params, name string) bool {
		return field(obj, path) == p.scalar[name]
	}}
}

func eqBool(path string) filter {
	f := eq(path)
	f.spec.kind = kindBool
	return f
}

func in(path string) filter {
	return filter{spec: paramSpec{kind: kindArray}, match: func(obj map[string]any, p *params, name string) bool {
		return slices.Contains(p.array[name], field(obj, path))
	}}
}

func between(path string) filter {
	return filter{spec: paramSpec{kind: kindRange}, match: func(obj map[string]any, p *params, name string) bool {
		n, err := strconv.ParseInt(field(obj, path), 10, 64)
		return err == nil && p.ranges[name].match(n)
	}}
}

func hash(path string, keys ...string) filter {
	return filter{spec: paramSpec{kind: kindHash, keys: keys}, match: func(obj map[string]any, p *params, name string) bool {
		for k, v := range p.hash[name] {
			if field(obj, path+"."+k) != v {
				return false
			}
		}
		return true
	}}
}

// anyItem matches a subscription with an item whose plan or price (what) has the given id.
func anyItem(what string) filter {
	return filter{spec: paramSpec{kind: kindString}, match: func(obj map[string]any, p *params, name string) bool {
		items, _ := obj["items"].(map[string]any)
		data, _ := items["data"].([]any)
		for _, it := range data {
			if m, ok := it.(map[string]any); ok && field(m, what) == p.scalar[name] {
				return true
			}
		}
		return false
	}}
}

// subscriptionStatus is Stripe's status filter of subscriptions: absent, every status but
// canceled; "all", every one; "ended", canceled and incomplete_expired; otherwise that status.
func subscriptionStatus() filter {
	return filter{spec: paramSpec{kind: kindString},
		match: func(obj map[string]any, p *params, name string) bool {
			st := field(obj, "status")
			switch want := p.scalar[name]; want {
			case "all":
				return true
			case "ended":
				return st == "canceled" || st == "incomplete_expired"
			default:
				return st == want
			}
		},
		absent: func(obj map[string]any) bool { return field(obj, "status") != "canceled" },
	}
}
