package hookline_test

import (
	"testing"

	"github.com/hookline/hookline"
)

// A route's failure keeps its cause's code, and its message names the route so that a dead
// letter's reason says which route failed.
func TestRouteError(t *testing.T) {
	err := &hookline.RouteError{Route: "invoices", Err: hookline.Errorf(hookline.Permanent, "dataverse: no column new_x")}
	if hookline.Code(err) != hookline.Permanent || err.Error() != `route "invoices": dataverse: no column new_x` {
		t.Fatalf("%v (%v)", err, hookline.Code(err))
	}
	for reason, want := range map[string]string{
		err.Error(): "invoices", `route "a-b": x`: "a-b", "dataverse: no column": "", `route "x: y`: "", `route "a"b": c`: "",
	} {
		if got := hookline.RouteOf(reason); got != want {
			t.Errorf("RouteOf(%q) = %q, want %q", reason, got, want)
		}
	}
}
