package sink

import (
	"strings"
	"time"

	"github.com/hookline/hookline"
)

// Version orders the events that write one record, so that every sink, whatever order events
// arrive in, converges on the same state. It reads what the source stamped on each event
// (hookline.Event's Time, Action and ID), nothing of the sender's own format.
//
// Time is compared at the precision the source gave it: whole seconds for Stripe, whose
// "created" has one-second resolution, so two events about one object often share it; the
// payload's own precision for a Standard Webhooks sender. Ties are broken first by the event's
// action, in the order an object lives its life (created, then updated, then deleted), and last
// by event id, which is arbitrary but the same for everyone: the result is deterministic and
// independent of arrival order, although for two updates at the same time it is not necessarily
// the one the sender made last. Two events with equal Versions are the same event, and writing it
// again changes nothing.
type Version struct {
	Time time.Time
	Rank int // 0 created, 1 updated (or no action), 2 deleted: see RankOf
	ID   string
}

// VersionOf returns ev's Version.
func VersionOf(ev hookline.Event) Version {
	return Version{Time: ev.Time, Rank: RankOf(ev.Action), ID: ev.ID}
}

// RankOf returns the rank of an action in a Version: 0 for created, 2 for deleted, 1 otherwise.
func RankOf(a hookline.Action) int {
	switch a {
	case hookline.Created:
		return 0
	case hookline.Deleted:
		return 2
	}
	return 1
}

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
