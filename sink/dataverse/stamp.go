package dataverse

import (
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// The event-id column holds what the time column cannot: the id of the event that last wrote
// the row and, with it, what the ordering rule needs beyond the event's whole second.
//
//	"<event id> <event type>"                         its action is the one its type names
//	                                                  (hookline.ActionOfType) and its time a
//	                                                  whole second: every Stripe event
//	"<event id> <event type> <action> <nanoseconds>"  any other event: a source whose times
//	                                                  have sub-second precision, or whose
//	                                                  actions its types do not name
//
// Rows written before the second form existed hold the first, and keep working.

// stamp returns the event-id column's value for ev.
func stamp(ev hookline.Event) string {
	s := ev.ID + " " + ev.Type
	action := ev.Action
	if action == "" {
		action = hookline.Updated
	}
	if action == hookline.ActionOfType(ev.Type) && ev.Time.Nanosecond() == 0 {
		return s
	}
	return s + " " + string(action) + " " + strconv.Itoa(ev.Time.Nanosecond())
}

// parseStamp reads an event-id column's value: the event's id, its rank in sink.Version, the
// nanoseconds of its time past the whole second the time column holds, and whether it
// deleted its subject.
func parseStamp(s string) (id string, rank int, nanos time.Duration, deleted bool, ok bool) {
	fields := strings.Fields(s)
	var action hookline.Action
	switch len(fields) {
	case 2:
		action = hookline.ActionOfType(fields[1])
	case 4:
		n, err := strconv.Atoi(fields[3])
		if err != nil || n < 0 || n >= int(time.Second) {
			return "", 0, 0, false, false
		}
		action, nanos = hookline.Action(fields[2]), time.Duration(n)
		if action != hookline.Created && action != hookline.Updated && action != hookline.Deleted {
			return "", 0, 0, false, false
		}
	default:
		return "", 0, 0, false, false
	}
	return fields[0], sink.RankOf(action), nanos, action == hookline.Deleted, true
}
