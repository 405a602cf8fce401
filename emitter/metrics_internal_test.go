package emitter

import (
	"testing"
	"time"
)

// The first refusal for a reason is logged at once; later ones once per interval, saying how many
// were left out.
func TestRefusalLogRate(t *testing.T) {
	l := refusalLog{every: 10 * time.Second, last: map[string]*refusals{}}
	t0 := time.Unix(1_700_000_000, 0)
	steps := []struct {
		reason     string
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{"invalid signature", 0, true, 0},
		{"invalid signature", time.Second, false, 0},
		{"invalid signature", 2 * time.Second, false, 0},
		{"timestamp outside tolerance", 3 * time.Second, true, 0},
		{"invalid signature", 10 * time.Second, true, 2},
		{"invalid signature", 11 * time.Second, false, 0},
		{"invalid signature", 25 * time.Second, true, 1},
	}
	for i, s := range steps {
		ok, n := l.allow(s.reason, t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d (%s at +%v): allow = %t, %d; want %t, %d", i, s.reason, s.at, ok, n, s.ok, s.suppressed)
		}
	}
}
