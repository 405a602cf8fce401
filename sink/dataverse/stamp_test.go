package dataverse

import (
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// A Stripe event's stamp is "<id> <type>" as it always was; any other keeps its action and
// sub-second time; both read back as the Version the event has.
func TestStamp(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ev   hookline.Event
		want string
	}{
		{hookline.Event{ID: "evt_1", Type: "customer.deleted", Action: hookline.Deleted, Time: at}, "evt_1 customer.deleted"},
		{hookline.Event{ID: "evt_2", Type: "customer.updated", Action: hookline.Updated, Time: at}, "evt_2 customer.updated"},
		{hookline.Event{ID: "msg_3", Type: "user.updated", Action: hookline.Updated, Time: at.Add(123456789)}, "msg_3 user.updated updated 123456789"},
		{hookline.Event{ID: "msg_4", Type: "user.archived", Action: hookline.Deleted, Time: at}, "msg_4 user.archived deleted 0"},
	} {
		got := stamp(c.ev)
		if got != c.want {
			t.Errorf("stamp(%+v) = %q, want %q", c.ev, got, c.want)
		}
		id, rank, nanos, deleted, ok := parseStamp(got)
		v := sink.Version{Time: at.Add(nanos), Rank: rank, ID: id}
		if !ok || v.Compare(sink.VersionOf(c.ev)) != 0 || deleted != (c.ev.Action == hookline.Deleted) {
			t.Errorf("parseStamp(%q) = %v, deleted %v, %v: want the event's own version", got, v, deleted, ok)
		}
	}
	for _, bad := range []string{"", "evt_1", "a b c", "a b updated x", "a b updated -1", "a b updated 1000000000", "a b removed 5"} {
		if _, _, _, _, ok := parseStamp(bad); ok {
			t.Errorf("parseStamp(%q) accepted", bad)
		}
	}
}
