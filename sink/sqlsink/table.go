package sqlsink

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
)

// TableSuffix ends the name of the table a sink writes when no table is named: the events of
// source "stripe" go to stripe_objects, those of "standardwebhooks" to standardwebhooks_objects.
const TableSuffix = "_objects"

// maxTableName is PostgreSQL's limit on identifiers (NAMEDATALEN - 1).
const maxTableName = 63

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckTableName reports whether name can be the table= of a sqlsink URL: a plain SQL
// identifier (a letter or underscore, then letters, digits and underscores) of at most 63
// characters, so that it needs no quoting in either database.
func CheckTableName(name string) error {
	if !identifier.MatchString(name) || len(name) > maxTableName {
		return fmt.Errorf("sqlsink: table %q is not a plain identifier: use letters, digits and underscores, "+
			"starting with a letter or underscore, at most %d characters", name, maxTableName)
	}
	return nil
}

// TableFor returns the table the events of source go to when the sink names no table: the
// source's name in lower case, each character other than a letter, digit or underscore made an
// underscore, followed by TableSuffix ("stripe" → "stripe_objects").
func TableFor(source string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(source) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return name[:min(len(name), maxTableName-len(TableSuffix))] + TableSuffix
}

// table is one table the sink writes, created on first use.
type table struct {
	name  string
	ready atomic.Bool
	// nanos is true when the table has the event_nanos column. A table created before the
	// column existed orders events by whole seconds, as it always did.
	nanos  bool
	upsert string // the statement, built once
}

// tableOf returns the table ev's source writes to, creating it on first use. A failure is
// returned and tried again by the next write, so a database that comes up late is picked up.
func (s *Sink) tableOf(ctx context.Context, source string) (*table, error) {
	name := s.table
	if name == "" {
		name = TableFor(source)
	}
	if t, ok := s.tables.Load(name); ok && t.(*table).ready.Load() {
		return t.(*table), nil
	}
	select {
	case s.schemaLock <- struct{}{}:
		defer func() { <-s.schemaLock }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if t, ok := s.tables.Load(name); ok && t.(*table).ready.Load() {
		return t.(*table), nil
	}
	if _, err := s.db.exec(ctx, s.db.ddl(name)); err != nil && !s.db.tableMayExist(err) {
		return nil, s.fail(ctx, err, "create table %s", name)
	}
	t := &table{name: name, nanos: true}
	if _, err := s.db.exec(ctx, "SELECT event_nanos FROM "+name+" WHERE 1 = 0"); err != nil {
		if !s.db.missingColumn(err) {
			return nil, s.fail(ctx, err, "read the columns of table %s", name)
		}
		t.nanos = false
	}
	t.upsert = upsertSQL(name, t.nanos, []string{s.db.values(0, t.nanos)}, false)
	t.ready.Store(true)
	s.tables.Store(name, t)
	return t, nil
}

// columns are the columns every table has, in the order of a row's values; event_nanos comes
// after them where the table has it.
var columns = []string{"id", "object", "data", "event_id", "event_type", "event_rank", "event_created", "deleted", "updated_at"}

// upsertSQL returns the statement that writes rows of table: an INSERT ... ON CONFLICT DO
// UPDATE whose WHERE lets only a newer event (sink.Version's order) change a row. values holds
// the value list of each row, "(...)", with the expressions of columns (placeholders, a cast,
// now()) and, when nanos is true, of event_nanos; a table without that column (nanos false) is
// ordered by whole seconds. With returning, the statement returns the id of each row it
// inserted or updated, and nothing for a row its WHERE kept.
func upsertSQL(table string, nanos bool, values []string, returning bool) string {
	cols := columns
	order := []string{"event_created", "event_rank", "event_id"}
	if nanos {
		cols = append(cols[:len(cols):len(cols)], "event_nanos")
		order = []string{"event_created", "event_nanos", "event_rank", "event_id"}
	}
	set := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		set = append(set, c+" = excluded."+c)
	}
	theirs, mine := make([]string, len(order)), make([]string, len(order))
	for i, c := range order {
		theirs[i], mine[i] = "excluded."+c, table+"."+c
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")\nVALUES ")
	for i, v := range values {
		if i > 0 {
			b.WriteString(",\n\t")
		}
		b.WriteString(v)
	}
	b.WriteString("\nON CONFLICT (id) DO UPDATE SET\n\t" + strings.Join(set, ",\n\t") +
		"\nWHERE (" + strings.Join(theirs, ", ") + ")\n\t> (" + strings.Join(mine, ", ") + ")")
	if returning {
		b.WriteString("\nRETURNING id")
	}
	return b.String()
}
