package stripeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// entry is one stored event or object.
type entry struct {
	id      string
	created int64
	seq     int64 // order of addition, to order entries created in the same second
	raw     json.RawMessage
	listed  []byte         // raw as an element of a list body, indented as Stripe indents it
	obj     map[string]any // the decoded object, for filters (numbers as json.Number)

	typ       string // events: type
	delivered bool   // events: every webhook delivered (delivery_success)
}

// collection holds entries in list order: created descending, and among entries created in
// the same second the last added first.
type collection struct {
	entries []*entry
	byID    map[string]*entry
}

// before reports whether a comes before b in list order.
func before(a, b *entry) bool {
	if a.created != b.created {
		return a.created > b.created
	}
	return a.seq > b.seq
}

func (c *collection) insert(e *entry) {
	if c.byID == nil {
		c.byID = map[string]*entry{}
	}
	i, _ := slices.BinarySearchFunc(c.entries, e, func(x, target *entry) int {
		if before(x, target) {
			return -1
		}
		return 1
	})
	c.entries = slices.Insert(c.entries, i, e)
	c.byID[e.id] = e
}

func (c *collection) position(id string) int {
	e, ok := c.byID[id]
	if !ok {
		return -1
	}
	return slices.Index(c.entries, e)
}

// list returns one page of the entries that pass pg.created and match, as Stripe's cursor
// pagination does (https://docs.stripe.com/api/pagination): without a cursor the newest limit
// entries; with starting_after the next limit entries after the cursor in list order (older
// ones); with ending_before the limit entries just before it (newer ones), still newest first.
// hasMore says whether more matching entries lie beyond the page in the direction of travel.
// The cursor must name a visible entry (noun names it in the error), whether or not it matches.
func (c *collection) list(pg page, noun string, visible, match func(*entry) bool) (out []*entry, hasMore bool, e *apiError) {
	from, step := 0, 1
	if pg.paged {
		param := "starting_after"
		if pg.backward {
			param = "ending_before"
		}
		i := c.position(pg.cursor)
		if i < 0 || !visible(c.entries[i]) {
			return nil, false, noSuch(http.StatusBadRequest, noun, pg.cursor, param)
		}
		from = i + 1
		if pg.backward {
			from, step = i-1, -1
		}
	}
	for j := from; j >= 0 && j < len(c.entries); j += step {
		x := c.entries[j]
		if !visible(x) || !pg.created.match(x.created) || !match(x) {
			continue
		}
		if len(out) == pg.limit {
			hasMore = true
			break
		}
		out = append(out, x)
	}
	if pg.backward {
		slices.Reverse(out)
	}
	return out, hasMore, nil
}

// listBody is Stripe's list object: {"object":"list","data":[...],"has_more":...,"url":...},
// indented by two spaces and without escaping <, > and &, as Stripe's responses are. It joins the entries' listed forms instead of
// indenting the whole body on every page.
func listBody(url string, entries []*entry, hasMore bool) []byte {
	var ub bytes.Buffer
	enc := json.NewEncoder(&ub)
	enc.SetEscapeHTML(false) // Stripe writes <, > and & as they are
	if err := enc.Encode(url); err != nil {
		panic("stripeapi: " + err.Error()) // cannot happen: a string
	}
	u := bytes.TrimSuffix(ub.Bytes(), []byte("\n"))
	n := 128 + len(u)
	for _, e := range entries {
		n += len(e.listing()) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, "{\n  \"object\": \"list\",\n  \"data\": ["...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = append(b, e.listing()...)
	}
	if len(entries) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, "],\n  \"has_more\": "...)
	b = strconv.AppendBool(b, hasMore)
	b = append(b, ",\n  \"url\": "...)
	b = append(b, u...)
	return append(b, "\n}"...)
}

// listing returns the entry's JSON as an element of a list body's data, indented as
// json.MarshalIndent(list, "", "  ") would indent it.
func (e *entry) listing() []byte { return e.listed }

// listed returns raw, a checked JSON value, as an element of a list body's data.
func listed(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "    ", "  "); err != nil {
		panic("stripeapi: " + err.Error()) // cannot happen: raw was checked
	}
	return buf.Bytes()
}

// objectBody is one stored object as a response body.
func objectBody(e *entry) []byte {
	return append([]byte(nil), e.raw...)
}
