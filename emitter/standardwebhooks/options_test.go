package standardwebhooks_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/standardwebhooks"
)

func TestOptionsFromURL(t *testing.T) {
	for in, want := range map[string]standardwebhooks.Options{
		"standardwebhooks://":               {},
		"standardwebhooks://?tolerance=10m": {Tolerance: 10 * time.Minute},
		"standardwebhooks://?subject=/data/object/id&types=user.*,session.created&types=ping": {
			Subject: "/data/object/id", Types: []string{"user.*", "session.created", "ping"},
		},
		"standardwebhooks://?subject=%2Fdata%2Fa~1b": {Subject: "/data/a~1b"},
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := standardwebhooks.OptionsFromURL(u)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("OptionsFromURL(%s) = %+v, %v, want %+v", in, got, err, want)
		}
		if _, err := standardwebhooks.New([]string{secret}, &got); err != nil {
			t.Errorf("New with the options of %s: %v", in, err)
		}
	}
	for in, says := range map[string]string{
		"standardwebhooks://?secret=whsec_x":            `unknown URL parameter "secret" (known: subject, tolerance, types)`,
		"standardwebhooks://?tolerance=5":               "not a positive Go duration",
		"standardwebhooks://?tolerance=-1m":             "not a positive Go duration",
		"standardwebhooks://?tolerance=":                "not a positive Go duration",
		"standardwebhooks://?tolerance=1m&tolerance=2m": "tolerance is given 2 times",
		"standardwebhooks://?subject=data.id":           "not a JSON pointer",
		"standardwebhooks://?subject=":                  "subject is empty",
		"standardwebhooks://?types=user*":               "Options.Types",
		"standardwebhooks://?types=user.created,,x":     "Options.Types",
		"standardwebhooks://?subject=%zz":               "URL query",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		_, err = standardwebhooks.OptionsFromURL(u)
		if err == nil || !strings.HasPrefix(err.Error(), "standardwebhooks: ") || !strings.Contains(err.Error(), says) {
			t.Errorf("OptionsFromURL(%s) error = %v, want one that says %q", in, err, says)
		}
	}
}
