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
