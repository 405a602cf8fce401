package rabbitmq

import (
	"slices"
	"testing"
)

func TestUnsettledCoalescesTheOldest(t *testing.T) {
	var u unsettled
	for tag := uint64(1); tag <= 6; tag++ {
		u.add(tag)
	}
	upTo, single := u.ack([]uint64{2, 1, 5})
	if upTo != 2 || !slices.Equal(single, []uint64{5}) {
		t.Fatalf("ack 1,2,5 of 1..6: multiple up to %d, single %v; want 2, [5]", upTo, single)
	}
	if !slices.Equal(u.tags, []uint64{3, 4, 6}) {
		t.Fatalf("unsettled %v, want [3 4 6]", u.tags)
	}
	upTo, single = u.ack([]uint64{4})
	if upTo != 0 || !slices.Equal(single, []uint64{4}) {
		t.Fatalf("ack 4 behind 3: multiple up to %d, single %v; want 0, [4]", upTo, single)
	}
	u.remove([]uint64{3}) // nacked
	upTo, single = u.ack([]uint64{6})
	if upTo != 6 || len(single) != 0 {
		t.Fatalf("ack 6 after 3 was nacked: multiple up to %d, single %v; want 6, []", upTo, single)
	}
	if len(u.tags) != 0 {
		t.Fatalf("unsettled %v, want none", u.tags)
	}
}
