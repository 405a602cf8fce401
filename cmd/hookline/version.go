package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionInfo is what `hookline version` prints: the build's module version and VCS stamp, from
// runtime/debug.ReadBuildInfo.
type versionInfo struct {
	Version  string `json:"version"`  // the module's version; "(devel)" when built from a work tree
	Revision string `json:"revision"` // the VCS revision; "unknown" when the build has none
	Time     string `json:"time"`     // the revision's commit time (RFC 3339); "unknown" when absent
	Modified bool   `json:"modified"` // the work tree had uncommitted changes
	Go       string `json:"go"`       // the Go version that built the binary
}

// buildVersion returns the version of a build from its build information (ok false: none, as for
// a binary built without module support).
func buildVersion(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: "(devel)", Revision: "unknown", Time: "unknown", Go: runtime.Version()}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := e.flags("version", "version [-json]")
	asJSON := fs.Bool("json", false, "print a JSON object (version, revision, time, modified, go)")
	if err := parse(fs, args); err != nil {
		return err
	}
	v := buildVersion(debug.ReadBuildInfo())
	if *asJSON {
		enc := json.NewEncoder(e.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	modified := ""
	if v.Modified {
		modified = " (modified)"
	}
	_, err := fmt.Fprintf(e.out, "hookline %s\nrevision %s%s\ntime     %s\ngo       %s\n", v.Version, v.Revision, modified, v.Time, v.Go)
	return err
}
