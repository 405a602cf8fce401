package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hookline/hookline/cmd/hookline-load/internal/loadgen"
)

// TestLoadCommandRuns drives each variant briefly (the pipeline on mem:// and on inproc://, the
// obvious pipeline, the bare handler): every accepted event must be consumed, and the report
// must carry the figures BENCHMARKS.md quotes.
func TestLoadCommandRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-d", "300ms", "-c", "4", "-obvious"}, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	accepted := regexp.MustCompile(`accepted\s+(\d+) events`).FindAllStringSubmatch(report, -1)
	consumed := regexp.MustCompile(`consumed\s+(\d+) events`).FindAllStringSubmatch(report, -1)
	if len(accepted) != 4 || len(consumed) != 3 {
		t.Fatalf("report lacks figures:\n%s", report)
	}
	for i, c := range consumed {
		a, _ := strconv.Atoi(accepted[i][1])
		n, _ := strconv.Atoi(c[1])
		if a == 0 || n != a {
			t.Errorf("variant %d: accepted %d, consumed %d\n%s", i, a, n, report)
		}
	}
	for _, want := range []string{"webhook latency", "webhook-to-sink latency", "refused map[]", "→ mem://", "→ inproc://"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestTemplateGivesDistinctIDs(t *testing.T) {
	tpl := loadgen.NewTemplate()
	a := string(tpl.Event(nil, 1))
	b := string(tpl.Event(nil, 1234567))
	ids := regexp.MustCompile(`"id": "(evt_load\d{16})"`)
	ma, mb := ids.FindStringSubmatch(a), ids.FindStringSubmatch(b)
	if ma == nil || mb == nil || ma[1] == mb[1] {
		t.Fatalf("ids %v %v", ma, mb)
	}
	if n, ok := loadgen.SeqOf(mb[1]); !ok || n != 1234567 {
		t.Errorf("loadgen.SeqOf(%s) = %d, %v", mb[1], n, ok)
	}
}

func TestSchemesMustBeInProcess(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-schemes", "mem,rabbit", "-d", "10ms"}, &out)
	if err == nil || !strings.Contains(err.Error(), `"rabbit" is not an in-process scheme`) {
		t.Fatalf("run -schemes mem,rabbit = %v", err)
	}
}
