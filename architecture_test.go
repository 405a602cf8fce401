package hookline_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs `go list` with args in this module and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Examples and commands are code users copy: they import only what an importer of this module
// can import, never its internal packages (their own internal folders aside).
func TestExamplesAndCommandsUsePublicPackagesOnly(t *testing.T) {
	lines := goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./examples/...", "./cmd/...")
	if len(lines) < 5 {
		t.Fatalf("go list found only %d packages under examples/ and cmd/", len(lines))
	}
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "github.com/hookline/hookline/internal/") {
				t.Errorf("%s imports %s: examples and commands must build on public packages (pipeline, ...)", pkg, imp)
			}
		}
	}
}

// The portable packages pull in no broker client or sink driver: a program that uses only
// mem:// gets none of them in its build.
func TestPortablePackagesLinkNoBrokerClient(t *testing.T) {
	clients := []string{"github.com/rabbitmq/amqp091-go", "github.com/aws/", "github.com/Azure/",
		"cloud.google.com/go/", "github.com/jackc/pgx", "modernc.org/sqlite"}
	for _, pkg := range []string{"./channel", "./emitter/...", "./sink", "."} {
		for _, dep := range goList(t, "-deps", pkg) {
			for _, c := range clients {
				if strings.HasPrefix(dep, c) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// Sources are chosen by URL: above emitter, only what is Stripe's by nature names
// emitter/stripehook (recovery reads Stripe's Events API, the Lambda adapter takes Stripe's
// EventBridge events), besides the programs that link it and test support (issue 19).
func TestOnlyStripesOwnPackagesImportStripehook(t *testing.T) {
	const stripehook = "github.com/hookline/hookline/emitter/stripehook"
	allowed := func(pkg string) bool {
		for _, prefix := range []string{stripehook, "github.com/hookline/hookline/cmd/", "github.com/hookline/hookline/examples/",
			"github.com/hookline/hookline/internal/testsupport/"} {
			if strings.HasPrefix(pkg, prefix) {
				return true
			}
		}
		return pkg == "github.com/hookline/hookline/recovery" || pkg == "github.com/hookline/hookline/adapters/awslambda"
	}
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == stripehook && !allowed(pkg) {
				t.Errorf("%s imports %s: only Stripe's own packages and programs may; the others open sources through emitter's registry", pkg, imp)
			}
		}
	}
}

// The portable floors link no source and no adapter: a program that uses them gets only the
// sources it imports, and pipeline sits below the runtimes' adapters.
func TestPortablePackagesLinkNoSourceOrAdapter(t *testing.T) {
	for _, pkg := range []string{"./pipeline", "./channel/...", "./sink/...", "./emitter", "./httpserver", "./telemetry", "."} {
		for _, dep := range goList(t, "-deps", pkg) {
			if strings.HasPrefix(dep, "github.com/hookline/hookline/emitter/") && !strings.HasSuffix(dep, "emittertest") ||
				strings.HasPrefix(dep, "github.com/hookline/hookline/adapters/") || dep == "github.com/hookline/hookline/recovery" {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// Adapters bind the same code to different runtimes: none imports another.
func TestAdaptersDoNotImportEachOther(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./adapters/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "github.com/hookline/hookline/adapters/") && !strings.HasPrefix(imp, pkg) {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
