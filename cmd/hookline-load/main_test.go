package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"path/filepath"
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

func TestTemplateSubjectsTakeTurns(t *testing.T) {
	tpl := loadgen.NewTemplateSubjects(3)
	for seq, want := range map[int64]string{0: "cus_load00000000", 2: "cus_load00000002", 7: "cus_load00000001"} {
		body := tpl.Event(nil, seq)
		var ev struct {
			Data struct {
				Object struct{ ID string } `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Object.ID != want || bytes.Contains(body, []byte(`"cus_load00000000"`)) != (want == "cus_load00000000") {
			t.Errorf("event %d is about %q, want %q only", seq, ev.Data.Object.ID, want)
		}
		if len(body) != tpl.Size() {
			t.Errorf("event %d is %d bytes, the template %d", seq, len(body), tpl.Size())
		}
	}
}

// TestLoadIntoSQLite runs the pipeline into a SQLite file in batches, about 20 customers:
// every accepted event is consumed (through the sink's batch path) and the table holds one row
// per customer.
func TestLoadIntoSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	var out bytes.Buffer
	if err := run([]string{"-d", "300ms", "-c", "4", "-bare=false", "-schemes", "mem", "-sink", "sqlite://" + db + "?table=load",
		"-subjects", "20", "-batch", "10"}, &out); err != nil {
		t.Fatal(err)
	}
	a := regexp.MustCompile(`accepted\s+(\d+) events`).FindStringSubmatch(out.String())
	c := regexp.MustCompile(`consumed\s+(\d+) events`).FindStringSubmatch(out.String())
	if a == nil || c == nil || a[1] != c[1] || a[1] == "0" || !strings.Contains(out.String(), "→ sqlite://") {
		t.Fatalf("report:\n%s", out.String())
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows int
	if err := conn.QueryRow(`SELECT count(*) FROM load`).Scan(&rows); err != nil || rows != 20 {
		t.Fatalf("%d rows (%v), want 20", rows, err)
	}
}
