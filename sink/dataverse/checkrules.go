package dataverse

import (
	"fmt"
	"slices"
	"strings"
)

// minEventIDLength is the length the event-id column needs for "<event id> <event type>"
// (with action and nanoseconds for a source other than Stripe).
const minEventIDLength = 100

// typeNames are the maker portal's names of the column types.
var typeNames = map[string]string{
	typeString: "Text", typeMemo: "Multiple lines of text", typeInteger: "Whole number",
	typeBigInt: "Big integer", typeDecimal: "Decimal number", typeDouble: "Floating point number",
	typeMoney: "Currency", typeBoolean: "Yes/no", typeDateTime: "Date and time", typePicklist: "Choice",
	typeState: "Status", typeStatus: "Status reason", typeLookup: "Lookup", typeCustomer: "Customer",
	typeOwner: "Owner", "Uniqueidentifier": "Unique identifier",
}

// describe names a column's type: "Text (String, 100 characters)".
func describe(c columnInfo) string {
	name := typeNames[c.typ]
	if name == "" {
		name = c.typ
	}
	if (c.typ == typeString || c.typ == typeMemo) && c.maxLength > 0 {
		return fmt.Sprintf("%s (%s, %d characters)", name, c.typ, c.maxLength)
	}
	return fmt.Sprintf("%s (%s)", name, c.typ)
}

// fitting lists the column types a Kind fits.
var fitting = map[Kind][]string{
	KindText:    {typeString, typeMemo},
	KindInteger: {typeInteger, typeBigInt, typeDecimal, typeDouble, typeMoney, typePicklist, typeState, typeStatus},
	KindDecimal: {typeDecimal, typeDouble, typeMoney},
	KindBool:    {typeBoolean},
	KindTime:    {typeDateTime},
}

// fits reports whether a value of kind k can be written to column c.
func fits(k Kind, c columnInfo) bool {
	if k == KindAny || k == KindNull {
		return !isLookup(c.typ)
	}
	return slices.Contains(fitting[k], c.typ)
}

// kindWords say what a Kind is, in messages.
var kindWords = map[Kind]string{KindText: "text", KindInteger: "a whole number", KindDecimal: "a decimal number",
	KindBool: "true or false", KindTime: "a time", KindAny: "a value of a type known at run time", KindNull: "null"}

// keyFindings checks the key column and its alternate key.
func (s *Sink) keyFindings(t *tableInfo) []finding {
	name := s.o.KeyColumn
	c, ok := t.cols[name]
	switch {
	case !ok:
		f := missing(name, 0, ", which holds each row's object id (key=)", textSpec(name, 100, roleKey))
		if f.create == nil {
			return []finding{f}
		}
		return []finding{f, s.noKey(name)}
	case c.typ != typeString:
		return []finding{{Problem: Problem{Column: name, Problem: "the key column is " + describe(c) +
			", not text", Fix: "give key= a Text column (single line of text, 100 characters)"}}}
	}
	k, ok := t.keyOn(name)
	switch {
	case !ok:
		return []finding{s.noKey(name)}
	case k.status == keyPending || k.status == keyInProgress:
		return []finding{{wait: true, Problem: Problem{Column: name, Problem: fmt.Sprintf("the index of "+
			"alternate key %s is %s: Dataverse is still building it", k.name, k.status),
			Fix: "wait until it is Active (`hookline dataverse setup` waits for it)"}}}
	case k.status != keyActive:
		return []finding{{Problem: Problem{Column: name, Problem: fmt.Sprintf("the index of alternate key %s "+
			"is %s", k.name, k.status), Fix: "its index job failed, usually because rows share a value of " +
			name + ": remove the duplicates, delete the key in the maker portal (Tables, the table, Keys) and " +
			"run `hookline dataverse setup` to create it again"}}}
	}
	return nil
}

func (s *Sink) noKey(col string) finding {
	return finding{key: true, Problem: Problem{Column: col, Problem: "no alternate key has " + col +
		" as its only column", Fix: "run `hookline dataverse setup` to create one and wait for its index"}}
}

// eventTimeFinding checks the event-time column: Date and time, with its time.
func (s *Sink) eventTimeFinding(t *tableInfo) (finding, bool) {
	name := s.o.EventTimeColumn
	c, ok := t.cols[name]
	switch {
	case !ok:
		return missing(name, 0, ", which holds the time of the event that last wrote the row (eventtime=)",
			timeSpec(name, roleEventTime)), true
	case c.typ != typeDateTime:
		return finding{Problem: Problem{Column: name, Problem: "the event-time column is " + describe(c) +
			", not Date and time", Fix: "give eventtime= a Date and time column (format Date and time, " +
			"behavior Time zone independent)"}}, true
	case c.format == "DateOnly" || c.behavior == "DateOnly":
		return finding{Problem: Problem{Column: name, Problem: "the event-time column keeps the date only, " +
			"so events of one day could not be ordered", Fix: "give eventtime= a Date and time column with " +
			"format Date and time (behavior Time zone independent)"}}, true
	}
	return finding{}, false
}

// eventIDFinding checks the event-id column, when configured: text, 100 characters or more.
func (s *Sink) eventIDFinding(t *tableInfo) (finding, bool) {
	name := s.o.EventIDColumn
	if name == "" {
		return finding{}, false
	}
	c, ok := t.cols[name]
	switch {
	case !ok:
		return missing(name, 0, ", which holds the id of the event that last wrote the row (eventid=)",
			textSpec(name, minEventIDLength, roleEventID)), true
	case c.typ != typeString && c.typ != typeMemo:
		return finding{Problem: Problem{Column: name, Problem: "the event-id column is " + describe(c) +
			", not text", Fix: "give eventid= a Text column of 100 characters"}}, true
	case c.maxLength < minEventIDLength:
		return finding{Problem: Problem{Column: name, Problem: fmt.Sprintf("the event-id column holds %d "+
			"characters, fewer than the %d an event's id and type can take", c.maxLength, minEventIDLength),
			Fix: "raise its maximum length to 100 in the maker portal"}}, true
	}
	return finding{}, false
}

// mappedFindings checks the columns mapped writes, each once, in the order of first mention.
func (s *Sink) mappedFindings(t *tableInfo, mapped []Want) []finding {
	own := s.ownPrefixes(t)
	var order []string
	byColumn := make(map[string][]Want)
	for _, w := range mapped {
		if w.Column == s.o.KeyColumn || w.Column == s.o.EventTimeColumn || w.Column == s.o.EventIDColumn {
			continue // the sink writes these itself
		}
		if _, seen := byColumn[w.Column]; !seen {
			order = append(order, w.Column)
		}
		byColumn[w.Column] = append(byColumn[w.Column], w)
	}
	var out []finding
	for _, name := range order {
		wants, bad := knownKinds(byColumn[name])
		out = append(out, bad...)
		switch nav, bind := strings.CutSuffix(name, bindSuffix); {
		case len(wants) == 0:
		case bind:
			out = append(out, bindFindings(t, nav, wants)...)
		case t.cols[name].name == "":
			out = append(out, missingMapped(name, wants, own[prefixOf(name)]))
		default:
			for _, w := range wants {
				if !fits(w.Kind, t.cols[name]) {
					out = append(out, mismatch(t, t.cols[name], w))
				}
			}
		}
	}
	return out
}

// knownKinds returns the wants whose Kind is known (an empty one is KindAny) and a finding for
// each of the others.
func knownKinds(wants []Want) (known []Want, bad []finding) {
	for _, w := range wants {
		if w.Kind == "" {
			w.Kind = KindAny
		}
		if _, ok := kindWords[w.Kind]; !ok {
			bad = append(bad, finding{Problem: Problem{Column: w.Column, Line: w.Line,
				Problem: fmt.Sprintf("unknown kind %q", w.Kind), Fix: "use one of the dataverse.Kind constants"}})
			continue
		}
		known = append(known, w)
	}
	return known, bad
}

// missingMapped is the finding for a mapped column the table lacks: Setup creates it when its
// prefix is the configuration's and its mappings agree on one kind it has a type for.
func missingMapped(name string, wants []Want, ownPrefix bool) finding {
	line := wants[0].Line
	var kinds []Kind
	for _, w := range wants {
		if w.Kind != KindAny && w.Kind != KindNull && !slices.Contains(kinds, w.Kind) {
			kinds = append(kinds, w.Kind)
		}
	}
	if !ownPrefix {
		return missing(name, line, "", nil)
	}
	switch len(kinds) {
	case 0:
		f := missing(name, line, "", nil)
		f.Fix = "its value's type is known only at run time, so `hookline dataverse setup` cannot choose a " +
			"column type: convert the expression (string(...), int(...), double(...), bool(...), " +
			"timestamp(...)), or create the column in the maker portal"
		return f
	case 1:
		return missing(name, line, "", kindSpec(name, kinds[0]))
	}
	words := make([]string, len(kinds))
	for i, k := range kinds {
		words[i] = kindWords[k]
	}
	f := missing(name, line, "", nil)
	f.Fix = "it is mapped as " + strings.Join(words, " and as ") + ": map one kind of value to it, or " +
		"create the column in the maker portal"
	return f
}

// mismatch is the finding for a mapping whose kind does not fit its column's type.
func mismatch(t *tableInfo, c columnInfo, w Want) finding {
	p := Problem{Column: c.name, Line: w.Line, Problem: fmt.Sprintf("mapped as %s, but the column is %s",
		kindWords[w.Kind], describe(c))}
	switch {
	case isLookup(c.typ):
		var navs []string
		for nav, col := range t.navs {
			if col == c.name {
				navs = append(navs, nav+bindSuffix)
			}
		}
		slices.Sort(navs)
		p.Fix = "a lookup is written through its navigation property, with a value like /accounts(<id>): map " +
			strings.Join(navs, " or ") + " instead"
	case c.typ == typePicklist || c.typ == typeState || c.typ == typeStatus:
		p.Fix = "a choice takes the option's number: map int(...) to it"
	default:
		var kinds []string
		for _, k := range []Kind{KindText, KindInteger, KindDecimal, KindBool, KindTime} {
			if slices.Contains(fitting[k], c.typ) {
				kinds = append(kinds, kindWords[k])
			}
		}
		p.Fix = "map " + strings.Join(kinds, " or ") + " to it, or map the value to a column of a type that fits"
	}
	return finding{Problem: p}
}

// bindFindings checks a lookup bound through navigation property nav.
func bindFindings(t *tableInfo, nav string, wants []Want) []finding {
	name := nav + bindSuffix
	if _, ok := t.navs[nav]; !ok {
		return []finding{{Problem: Problem{Column: name, Line: wants[0].Line, Problem: "the table has no lookup " +
			"whose navigation property is " + nav, Fix: "use the lookup's navigation property (e.g. " +
			"parentcustomerid_account, or a custom lookup's schema name such as new_Customer), or create the " +
			"lookup in the maker portal: `hookline dataverse setup` does not create lookups"}}}
	}
	var out []finding
	for _, w := range wants {
		if w.Kind != KindText && w.Kind != KindAny && w.Kind != KindNull {
			out = append(out, finding{Problem: Problem{Column: name, Line: w.Line, Problem: "mapped as " +
				kindWords[w.Kind] + ", but a lookup is bound with text", Fix: "map a string like " +
				"'/accounts(' + id + ')' to it"}})
		}
	}
	return out
}
