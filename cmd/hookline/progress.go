package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress writes a line to w at most once a second, so a command that runs longer than a
// second shows it is working, and nothing for one that does not.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer) *progress {
	now := time.Now()
	return &progress{w: w, start: now, last: now}
}

// printf writes the line when a second has passed since the last one.
func (p *progress) printf(format string, args ...any) {
	if time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// rate returns n per second since the start.
func (p *progress) rate(n int) string {
	s := time.Since(p.start).Seconds()
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/s", float64(n)/s)
}

func splitComma(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
