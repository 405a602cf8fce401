package sink

import (
	"strings"
	"time"

	"github.com/hookline/hookline"
)

// Version orders the events that write one record, so that every sink, whatever order events
// arrive in, converges on the same state.
//
// Stripe's event "created" has one-second resolution, so two events about one object often share
// it. Ties are broken first by the event's kind, in the order an object lives its life
// (*.created, then any other event, then *.deleted), and last by event id, which is arbitrary but
// the same for everyone: the result is deterministic and independent of arrival order, although
// for two updates within one second it is not necessarily the one Stripe made last. Two events
// with equal Versions are the same event, and writing it again changes nothing.
type Version struct {
	Time time.Time
	Rank int // 0 for *.created, 1 for other events, 2 for *.deleted
	ID   string
}

// VersionOf returns ev's Version.
func VersionOf(ev hookline.Event) Version {
	return Version{Time: ev.Time.Truncate(time.Second), Rank: rankOf(ev.Type), ID: ev.ID}
}

func rankOf(eventType string) int {
	switch {
	case strings.HasSuffix(eventType, ".created"):
		return 0
	case IsDelete(eventType):
		return 2
	}
	return 1
}

// IsDelete reports whether eventType deletes its object ("customer.deleted" and the like).
func IsDelete(eventType string) bool { return strings.HasSuffix(eventType, ".deleted") }

// Compare returns -1 if v is older than o, 0 if they are the same event, and +1 if v is newer.
func (v Version) Compare(o Version) int {
	if c := v.Time.Compare(o.Time); c != 0 {
		return c
	}
	if v.Rank != o.Rank {
		if v.Rank < o.Rank {
			return -1
		}
		return 1
	}
	return strings.Compare(v.ID, o.ID)
}

// Supersedes reports whether an event of Version v should overwrite a record last written by an
// event of Version o: true only when v is strictly newer.
func (v Version) Supersedes(o Version) bool { return v.Compare(o) > 0 }
