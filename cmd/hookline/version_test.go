package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// version says "(devel)" and "unknown" for what a test binary lacks, and the Go version.
func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, nil, "version")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "hookline ") || !strings.HasPrefix(lines[1], "revision ") ||
		!strings.HasPrefix(lines[2], "time ") || lines[3] != "go       "+runtime.Version() {
		t.Fatalf("version printed:\n%s", out)
	}
	out, _, err = runCmd(t, nil, "version", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -json: %v\n%s", err, out)
	}
	if v.Go != runtime.Version() || v.Version == "" || v.Revision == "" || v.Time == "" {
		t.Errorf("version -json: %+v", v)
	}
	if _, _, err := runCmd(t, nil, "version", "extra"); err == nil {
		t.Error("version with an argument: no error")
	}
	_, log, _ := runCmd(t, nil, "-h")
	if !strings.Contains(log, "\n  version ") {
		t.Errorf("the usage does not list version:\n%s", log)
	}
}

func TestBuildVersion(t *testing.T) {
	if v := buildVersion(nil, false); v.Version != "(devel)" || v.Revision != "unknown" || v.Time != "unknown" || v.Go != runtime.Version() {
		t.Errorf("without build information: %+v", v)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/hookline/hookline", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := versionInfo{Version: "v1.2.3", Revision: "0123abcd", Time: "2026-12-01T10:00:00Z", Modified: true, Go: "go1.99.1"}
	if v := buildVersion(bi, true); v != want {
		t.Errorf("buildVersion = %+v, want %+v", v, want)
	}
}
