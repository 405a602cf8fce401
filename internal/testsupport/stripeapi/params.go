package stripeapi

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// paramKind is the shape a parameter takes in Stripe's form encoding.
type paramKind int

const (
	kindString paramKind = iota // name=value
	kindInt                     // name=123
	kindBool                    // name=true|false
	kindRange                   // name=123 or name[gt|gte|lt|lte]=123
	kindArray                   // name[]=a&name[]=b or name[0]=a&name[1]=b (stripe-go's form)
	kindHash                    // name[key]=value, for the keys listed
)

// paramSpec is one parameter an endpoint accepts.
type paramSpec struct {
	kind paramKind
	keys []string // kindHash: the accepted keys
}

// intRange is a parsed kindRange parameter: an exact value and/or bounds.
type intRange struct {
	eq, gt, gte, lt, lte *int64
}

func (r intRange) match(v int64) bool {
	return (r.eq == nil || v == *r.eq) && (r.gt == nil || v > *r.gt) && (r.gte == nil || v >= *r.gte) &&
		(r.lt == nil || v < *r.lt) && (r.lte == nil || v <= *r.lte)
}

// params is a parsed query, each parameter checked against its paramSpec.
type params struct {
	scalar map[string]string // kindString, kindInt, kindBool (the last value when repeated)
	array  map[string][]string
	ranges map[string]intRange
	hash   map[string]map[string]string
}

func (p *params) has(name string) bool {
	_, s := p.scalar[name]
	_, a := p.array[name]
	_, r := p.ranges[name]
	_, h := p.hash[name]
	return s || a || r || h
}

// listSpecs are the parameters every list endpoint takes (https://docs.stripe.com/api/pagination).
func listSpecs() map[string]paramSpec {
	return map[string]paramSpec{
		"created":        {kind: kindRange},
		"ending_before":  {kind: kindString},
		"expand":         {kind: kindArray},
		"limit":          {kind: kindInt},
		"starting_after": {kind: kindString},
	}
}

// parseQuery reads a form-encoded query as stripe-go v76 writes it (form.Values.Encode: brackets
// left unescaped, arrays as name[0], name[1], ...) and checks every parameter against specs,
// answering as Stripe does: an unknown name is "Received unknown parameter: name".
func parseQuery(raw string, specs map[string]paramSpec) (*params, *apiError) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalid("", "Invalid query string: %v", err)
	}
	p := &params{scalar: map[string]string{}, array: map[string][]string{},
		ranges: map[string]intRange{}, hash: map[string]map[string]string{}}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error is always the same one
	indexed := map[string]map[int]string{}
	for _, key := range keys {
		base, sub, bracketed := splitKey(key)
		spec, ok := specs[base]
		if !ok {
			return nil, unknownParam(key)
		}
		vals := values[key]
		last := vals[len(vals)-1]
		var e *apiError
		if bracketed {
			e = p.addBracketed(key, base, sub, spec, vals, indexed)
		} else {
			e = p.addPlain(base, spec, last)
		}
		if e != nil {
			return nil, e
		}
	}
	for base, byIndex := range indexed {
		idx := make([]int, 0, len(byIndex))
		for i := range byIndex {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		ordered := make([]string, 0, len(idx))
		for _, i := range idx {
			ordered = append(ordered, byIndex[i])
		}
		p.array[base] = append(ordered, p.array[base]...)
	}
	return p, nil
}

// splitKey splits "name[sub]" into name and sub; a key without brackets is its own name.
func splitKey(key string) (base, sub string, bracketed bool) {
	i := strings.IndexByte(key, '[')
	if i <= 0 || !strings.HasSuffix(key, "]") {
		return key, "", false
	}
	return key[:i], key[i+1 : len(key)-1], true
}

func (p *params) addPlain(name string, spec paramSpec, v string) *apiError {
	switch spec.kind {
	case kindString:
		p.scalar[name] = v
	case kindInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return invalid(name, "Invalid integer: %s", v)
		}
		p.scalar[name] = v
	case kindBool:
		if v != "true" && v != "false" {
			return invalid(name, "Invalid boolean: %s", v)
		}
		p.scalar[name] = v
	case kindRange:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalid(name, "Invalid integer: %s", v)
		}
		r := p.ranges[name]
		r.eq = &n
		p.ranges[name] = r
	case kindArray:
		return invalid(name, "Invalid array")
	case kindHash:
		return invalid(name, "Invalid hash")
	}
	return nil
}

func (p *params) addBracketed(key, name, sub string, spec paramSpec, vals []string, indexed map[string]map[int]string) *apiError {
	last := vals[len(vals)-1]
	switch spec.kind {
	case kindArray:
		if sub == "" {
			p.array[name] = append(p.array[name], vals...)
			return nil
		}
		i, err := strconv.Atoi(sub)
		if err != nil || i < 0 {
			return invalid(name, "Invalid array")
		}
		if indexed[name] == nil {
			indexed[name] = map[int]string{}
		}
		indexed[name][i] = last
	case kindRange:
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil {
			return invalid(key, "Invalid integer: %s", last)
		}
		r := p.ranges[name]
		switch sub {
		case "gt":
			r.gt = &n
		case "gte":
			r.gte = &n
		case "lt":
			r.lt = &n
		case "lte":
			r.lte = &n
		default:
			return unknownParam(key)
		}
		p.ranges[name] = r
	case kindHash:
		ok := false
		for _, k := range spec.keys {
			ok = ok || k == sub
		}
		if !ok {
			return unknownParam(key)
		}
		if p.hash[name] == nil {
			p.hash[name] = map[string]string{}
		}
		p.hash[name][sub] = last
	default:
		return invalid(name, "Invalid %s", map[paramKind]string{kindString: "string", kindInt: "integer",
			kindBool: "boolean"}[spec.kind])
	}
	return nil
}

// page is what every list endpoint reads from its query.
type page struct {
	limit    int
	cursor   string // the id in starting_after or ending_before
	backward bool   // cursor came as ending_before: the page before it (newer objects)
	paged    bool   // a cursor was given
	created  intRange
}

// readPage reads and checks the list parameters: limit 1 to 100 (default 10), at most one of
// starting_after and ending_before, and expansions under data. as list expansions must be.
func readPage(p *params) (page, *apiError) {
	pg := page{limit: 10, created: p.ranges["created"]}
	if v, ok := p.scalar["limit"]; ok {
		n, _ := strconv.Atoi(v)
		if n < 1 {
			return pg, invalid("limit", "This value must be greater than or equal to 1.")
		}
		if n > 100 {
			return pg, invalid("limit", "This value must be less than or equal to 100.")
		}
		pg.limit = n
	}
	after, hasAfter := p.scalar["starting_after"]
	before, hasBefore := p.scalar["ending_before"]
	switch {
	case hasAfter && hasBefore:
		return pg, invalid("starting_after",
			"You may only specify one of these parameters: ending_before, starting_after.")
	case hasAfter:
		pg.cursor, pg.paged = after, true
	case hasBefore:
		pg.cursor, pg.paged, pg.backward = before, true, true
	}
	for _, e := range p.array["expand"] {
		if !strings.HasPrefix(e, "data.") {
			return pg, invalid("expand", "This property cannot be expanded (%s). You may want to try "+
				"expanding 'data.%s' instead.", e, e)
		}
	}
	return pg, nil
}
