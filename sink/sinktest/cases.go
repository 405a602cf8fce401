package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

func testCreateThenRead(t *testing.T, h Harness) {
	s := h.New(t)
	expectNone(t, h, s, "cus_read")
	ev := Event("cus_read", "customer.created", "evt_read",
		T0, `{"id":"cus_read","object":"customer","email":"a@example.com","metadata":{"n":"1"}}`)
	apply(t, s, ev, sink.Stored)
	expect(t, h, s, ev)
}

func testDuplicate(t *testing.T, h Harness) {
	s := h.New(t)
	ev := Event("cus_dup", "customer.created", "evt_dup", T0, `{"id":"cus_dup","v":1}`)
	apply(t, s, ev, sink.Stored)
	once, _ := h.Lookup(t, s, ev.Subject)
	apply(t, s, ev, sink.Ignored)
	write(t, s, ev.Clone())
	apply(t, s, ev.Clone(), sink.Ignored)
	twice, _ := h.Lookup(t, s, ev.Subject)
	if twice.EventID != once.EventID || twice.Deleted != once.Deleted || !bytes.Equal(twice.Data, once.Data) {
		t.Fatalf("state after a duplicate = %+v, want the state after one write %+v", twice, once)
	}
	expect(t, h, s, ev)
}

func testOlderAfterNewer(t *testing.T, h Harness) {
	s := h.New(t)
	created := Event("cus_old", "customer.created", "evt_old_1", T0, `{"id":"cus_old","v":1}`)
	updated := Event("cus_old", "customer.updated", "evt_old_2", T0.Add(time.Minute), `{"id":"cus_old","v":2}`)
	write(t, s, updated)
	apply(t, s, created, sink.Ignored)
	expect(t, h, s, updated)
	// A redelivery of an update older than the stored one, with a greater id, is ignored too:
	// time decides before the id.
	stale := Event("cus_old", "customer.updated", "evt_old_9", T0.Add(time.Second), `{"id":"cus_old","v":9}`)
	apply(t, s, stale, sink.Ignored)
	write(t, s, stale)
	expect(t, h, s, updated)
}

func testNewerAfterOlder(t *testing.T, h Harness) {
	s := h.New(t)
	created := Event("cus_new", "customer.created", "evt_new_2", T0, `{"id":"cus_new","v":1}`)
	updated := Event("cus_new", "customer.updated", "evt_new_1", T0.Add(time.Second), `{"id":"cus_new","v":2}`)
	write(t, s, created)
	expect(t, h, s, created)
	apply(t, s, updated, sink.Stored)
	expect(t, h, s, updated)
	apply(t, s, updated, sink.Ignored)
	apply(t, s, created, sink.Ignored)
	expect(t, h, s, updated)
}

// tie is two events about one subject in the same second and the one that must win.
type tie struct {
	name string
	a, b hookline.Event
	win  string // event id
}

func ties() []tie {
	ev := Event
	return []tie{
		{"created<updated", ev("cus_t1", "customer.created", "evt_9", T0, `{"v":"created"}`),
			ev("cus_t1", "customer.updated", "evt_1", T0, `{"v":"updated"}`), "evt_1"},
		{"updated<deleted", ev("cus_t2", "customer.deleted", "evt_1", T0, `{"v":"deleted"}`),
			ev("cus_t2", "customer.updated", "evt_9", T0, `{"v":"updated"}`), "evt_1"},
		{"created<deleted", ev("cus_t3", "customer.created", "evt_5", T0, `{"v":"created"}`),
			ev("cus_t3", "customer.deleted", "evt_4", T0, `{"v":"deleted"}`), "evt_4"},
		{"same kind: greater id", ev("cus_t4", "customer.updated", "evt_A", T0, `{"v":"A"}`),
			ev("cus_t4", "customer.updated", "evt_B", T0, `{"v":"B"}`), "evt_B"},
		// Stripe ids mix cases: ids compare byte-wise (as Go's strings.Compare), not by a
		// locale's collation, which would put "evt_a" before "evt_B".
		{"ids compare byte-wise", ev("cus_t7", "customer.updated", "evt_a", T0, `{"v":"a"}`),
			ev("cus_t7", "customer.updated", "evt_B", T0, `{"v":"B"}`), "evt_a"},
		// Times compare at the precision the source gave them (a Standard Webhooks sender's
		// are sub-second); ranks and ids decide only between equal times.
		{"sub-second times order", ev("cus_t5", "customer.updated", "evt_b", T0.Add(100*time.Millisecond), `{"v":"b"}`),
			ev("cus_t5", "customer.updated", "evt_a", T0.Add(900*time.Millisecond), `{"v":"a"}`), "evt_a"},
		{"one nanosecond later", ev("cus_t8", "customer.deleted", "evt_z", T0.Add(time.Millisecond), `{"v":"z"}`),
			ev("cus_t8", "customer.created", "evt_a", T0.Add(time.Millisecond+1), `{"v":"a"}`), "evt_a"},
		// The action the source stamped ranks the event, whatever its type says.
		{"action, not type", withAction(ev("cus_t9", "customer.archived", "evt_1", T0, `{"v":"archived"}`), hookline.Deleted),
			withAction(ev("cus_t9", "customer.deleted", "evt_9", T0, `{"v":"restored"}`), hookline.Updated), "evt_1"},
		{"nested object type", ev("sub_t6", "customer.subscription.updated", "evt_2", T0, `{"v":"2"}`),
			ev("sub_t6", "customer.subscription.created", "evt_3", T0, `{"v":"3"}`), "evt_2"},
	}
}

// withAction returns ev with its Action set to a.
func withAction(ev hookline.Event, a hookline.Action) hookline.Event {
	ev.Action = a
	return ev
}

func testSameSecondTies(t *testing.T, h Harness) {
	ab, ba := h.New(t), h.New(t)
	for _, c := range ties() {
		t.Run(c.name, func(t *testing.T) {
			bWins, aWins := sink.Ignored, sink.Ignored
			want := c.a
			if c.b.ID == c.win {
				want, bWins = c.b, sink.Stored
			} else {
				aWins = sink.Stored
			}
			apply(t, ab, c.a, sink.Stored)
			apply(t, ab, c.b, bWins)
			write(t, ba, c.b)
			apply(t, ba, c.a, aWins)
			if sink.VersionOf(want).Compare(sink.VersionOf(other(c, want))) <= 0 {
				t.Fatalf("suite bug: %s does not win by sink.Version", c.win)
			}
			expect(t, h, ab, want)
			expect(t, h, ba, want)
		})
	}
}

func other(c tie, ev hookline.Event) hookline.Event {
	if ev.ID == c.a.ID {
		return c.b
	}
	return c.a
}

func testDelete(t *testing.T, h Harness) {
	s := h.New(t)
	created := Event("cus_del", "customer.created", "evt_del_1", T0, `{"id":"cus_del"}`)
	deleted := Event("cus_del", "customer.deleted", "evt_del_3", T0.Add(2*time.Second), `{"id":"cus_del","deleted":true}`)
	write(t, s, created)
	apply(t, s, deleted, sink.Stored)
	expect(t, h, s, deleted)

	// Updates older than the deletion, or in the same second (they rank below it), arrive late:
	// they must not resurrect the object.
	late := Event("cus_del", "customer.updated", "evt_del_2", T0.Add(time.Second), `{"id":"cus_del","v":2}`)
	sameSecond := Event("cus_del", "customer.updated", "evt_del_9", T0.Add(2*time.Second), `{"id":"cus_del","v":9}`)
	apply(t, s, late, sink.Ignored)
	apply(t, s, sameSecond, sink.Ignored)
	write(t, s, late)
	apply(t, s, deleted, sink.Ignored)
	expect(t, h, s, deleted)

	// A deletion that arrives first also sticks.
	s2 := h.New(t)
	apply(t, s2, deleted, sink.Stored)
	apply(t, s2, created, sink.Ignored)
	write(t, s2, late)
	apply(t, s2, late, sink.Ignored)
	expect(t, h, s2, deleted)

	// An event newer than the deletion supersedes it, as sink.Version orders them.
	after := Event("cus_del", "customer.updated", "evt_del_0", T0.Add(3*time.Second), `{"id":"cus_del","v":3}`)
	apply(t, s2, after, sink.Stored)
	expect(t, h, s2, after)
	apply(t, s2, deleted, sink.Ignored)
	expect(t, h, s2, after)
}

func testSubjectsIndependent(t *testing.T, h Harness) {
	s := h.New(t)
	a := Event("cus_ind_a", "customer.updated", "evt_ind_1", T0.Add(time.Hour), `{"id":"cus_ind_a"}`)
	b := Event("cus_ind_b", "customer.created", "evt_ind_2", T0, `{"id":"cus_ind_b"}`)
	apply(t, s, a, sink.Stored)
	apply(t, s, b, sink.Stored)
	apply(t, s, a, sink.Ignored)
	expect(t, h, s, a)
	expect(t, h, s, b)
}

// concurrentEvents returns 50 events about 5 subjects, with ties in every second and, for some
// subjects, a deletion, and the event that must win for each subject.
func concurrentEvents() (all []hookline.Event, win map[string]hookline.Event) {
	win = make(map[string]hookline.Event)
	for i := range 5 {
		subject := fmt.Sprintf("cus_conc_%d", i)
		for j := range 10 {
			typ := "customer.updated"
			switch {
			case j == 0:
				typ = "customer.created"
			case j == 9 && i%2 == 0:
				typ = "customer.deleted"
			}
			// Two events per second; ids run against time so that the tie-break matters.
			ev := Event(subject, typ, fmt.Sprintf("evt_%d_%02d", i, 99-j),
				T0.Add(time.Duration(j/2)*time.Second), fmt.Sprintf(`{"id":%q,"seq":%d}`, subject, j))
			all = append(all, ev)
			if w, ok := win[subject]; !ok || sink.VersionOf(ev).Supersedes(sink.VersionOf(w)) {
				win[subject] = ev
			}
		}
	}
	return all, win
}

// testConcurrentWriters has 8 writers write the same events, each in its own order. With an
// [sink.Applier] they write with Apply, and each event must be reported Stored at most once (once
// it is stored, the record is at least as new as it forever) and the winner of each subject
// exactly once (it is stored by someone, since nothing supersedes it).
func testConcurrentWriters(t *testing.T, h Harness) {
	s := h.New(t)
	all, win := concurrentEvents()
	const writers = 8
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, writers*len(all))
	var (
		mu     sync.Mutex
		stored = make(map[string]int) // event id -> Stored results
	)
	a, isApplier := s.(sink.Applier)
	var wg sync.WaitGroup
	for g := range writers {
		order := append([]hookline.Event(nil), all...)
		r := rand.New(rand.NewPCG(uint64(g), 42))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		wg.Go(func() {
			for _, ev := range order {
				if !isApplier {
					if err := s.Write(ctx, ev); err != nil {
						errs <- fmt.Errorf("writer %d: Write(%s): %w (code %v)", g, ev.ID, err, hookline.Code(err))
					}
					continue
				}
				res, err := a.Apply(ctx, ev)
				if err != nil {
					errs <- fmt.Errorf("writer %d: Apply(%s): %w (code %v)", g, ev.ID, err, hookline.Code(err))
					continue
				}
				if res == sink.Stored {
					mu.Lock()
					stored[ev.ID]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, ev := range win {
		expect(t, h, s, ev)
	}
	if !isApplier {
		return
	}
	for _, ev := range all {
		if n := stored[ev.ID]; n > 1 {
			t.Errorf("Apply(%s %s) reported Stored %d times, want at most once", ev.Subject, ev.ID, n)
		}
	}
	for _, ev := range win {
		if n := stored[ev.ID]; n != 1 {
			t.Errorf("Apply(%s %s), the newest event of its subject, reported Stored %d times, want once",
				ev.Subject, ev.ID, n)
		}
	}
}

// jsonEqual reports whether got and want hold the same JSON value; a nil want matches an
// empty or null got.
func jsonEqual(got, want []byte) (bool, error) {
	if len(want) == 0 {
		return len(got) == 0 || string(bytes.TrimSpace(got)) == "null", nil
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false, fmt.Errorf("stored data is not JSON: %w", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return false, fmt.Errorf("written data is not JSON: %w", err)
	}
	return reflect.DeepEqual(g, w), nil
}
