package standardwebhooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// decode signs body and decodes it with a Source built with opts.
func decode(t *testing.T, body string, opts *standardwebhooks.Options) (hookline.Event, error) {
	t.Helper()
	var o standardwebhooks.Options
	if opts != nil {
		o = *opts
	}
	now := time.Unix(1709294400, 0)
	o.Now = fixedClock(now)
	src, err := standardwebhooks.New([]string{secret}, &o)
	if err != nil {
		t.Fatal(err)
	}
	return src.Decode(standardwebhooks.Sign(msgID, now, []byte(body), secret), []byte(body))
}

func TestMalformedRefused(t *testing.T) {
	const ts = `"timestamp":"2024-03-01T12:00:00Z"`
	bodies := map[string]string{
		"empty":                 ``,
		"blank":                 " \n",
		"null":                  `null`,
		"array":                 `[{"type":"user.created",` + ts + `,"data":{"id":"u1"}}]`,
		"string":                `"user.created"`,
		"truncated":             `{"type":"user.created",` + ts + `,"data":{"id":"u1"}`,
		"trailing text":         `{"type":"user.created",` + ts + `,"data":{"id":"u1"}} x`,
		"two objects":           `{"type":"a.b",` + ts + `,"data":{"id":"u1"}}{}`,
		"not UTF-8":             "{\"type\":\"user.created\"," + ts + ",\"data\":{\"id\":\"u1\",\"name\":\"\xff\"}}",
		"no type":               `{` + ts + `,"data":{"id":"u1"}}`,
		"null type":             `{"type":null,` + ts + `,"data":{"id":"u1"}}`,
		"empty type":            `{"type":"",` + ts + `,"data":{"id":"u1"}}`,
		"type not a string":     `{"type":1,` + ts + `,"data":{"id":"u1"}}`,
		"control in type":       `{"type":"user.\u0000created",` + ts + `,"data":{"id":"u1"}}`,
		"C1 control in type":    `{"type":"user.\u0085created",` + ts + `,"data":{"id":"u1"}}`,
		"no timestamp":          `{"type":"user.created","data":{"id":"u1"}}`,
		"timestamp a number":    `{"type":"user.created","timestamp":1709294400,"data":{"id":"u1"}}`,
		"timestamp not 3339":    `{"type":"user.created","timestamp":"2024-03-01 12:00:00","data":{"id":"u1"}}`,
		"timestamp no zone":     `{"type":"user.created","timestamp":"2024-03-01T12:00:00","data":{"id":"u1"}}`,
		"timestamp before 1970": `{"type":"user.created","timestamp":"0001-01-01T00:00:00Z","data":{"id":"u1"}}`,
		"timestamp after 9999":  `{"type":"user.created","timestamp":"9999-12-31T23:59:59-01:00","data":{"id":"u1"}}`,
		"no data":               `{"type":"user.created",` + ts + `}`,
		"no subject":            `{"type":"user.created",` + ts + `,"data":{"name":"u1"}}`,
		"data not an object":    `{"type":"user.created",` + ts + `,"data":"u1"}`,
		"subject null":          `{"type":"user.created",` + ts + `,"data":{"id":null}}`,
		"subject a number":      `{"type":"user.created",` + ts + `,"data":{"id":42}}`,
		"subject empty":         `{"type":"user.created",` + ts + `,"data":{"id":""}}`,
		"control in subject":    `{"type":"user.created",` + ts + `,"data":{"id":"u\n1"}}`,
		"later data, no id":     `{"type":"user.created",` + ts + `,"data":{"id":"u1"},"data":{"name":"x"}}`,
		"later type empty":      `{"type":"user.created","type":"",` + ts + `,"data":{"id":"u1"}}`,
		"type in data only":     `{` + ts + `,"data":{"id":"u1","type":"user.created"}}`,
		"Type, not type":        `{"Type":"user.created",` + ts + `,"data":{"id":"u1"}}`,
	}
	rec := &recorder{}
	url := serve(t, []string{secret}, rec, nil)
	for name, body := range bodies {
		_, err := decode(t, body, nil)
		if err == nil {
			t.Errorf("%s: accepted %s", name, body)
			continue
		}
		src := newSource(t, time.Now(), secret)
		decodeErr(t, src, standardwebhooks.Sign(msgID, time.Now(), []byte(body), secret), []byte(body),
			"malformed event", standardwebhooks.ErrMalformedEvent)
		expect(t, deliver(t, url, []byte(body), standardwebhooks.Sign(msgID, time.Now(), []byte(body), secret)),
			400, rejected("malformed event"))
		if strings.Contains(err.Error(), "u1") || strings.Contains(err.Error(), "user.created") {
			t.Errorf("%s: error %q quotes the body", name, err)
		}
	}
	nothingSent(t, rec)
}

func TestTimeKeepsItsPrecision(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2022-11-03T20:26:10.344522Z":          time.Date(2022, 11, 3, 20, 26, 10, 344522000, time.UTC),
		"2022-11-03T20:26:10Z":                 time.Date(2022, 11, 3, 20, 26, 10, 0, time.UTC),
		"2022-11-03T20:26:10.1Z":               time.Date(2022, 11, 3, 20, 26, 10, 100000000, time.UTC),
		"2022-11-03T20:26:10.123456789Z":       time.Date(2022, 11, 3, 20, 26, 10, 123456789, time.UTC),
		"2022-11-03T21:26:10.000000001+01:00":  time.Date(2022, 11, 3, 20, 26, 10, 1, time.UTC),
		"1970-01-01T00:00:00Z":                 time.Unix(0, 0).UTC(),
		"9999-12-31T23:59:59.999999999Z":       time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"2022-11-03T20:26:10.3445229999+00:00": time.Date(2022, 11, 3, 20, 26, 10, 344522999, time.UTC),
	} {
		ev, err := decode(t, `{"type":"contact.created","timestamp":"`+in+`","data":{"id":"c1"}}`, nil)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !ev.Time.Equal(want) || ev.Time.Location() != time.UTC {
			t.Errorf("%s: Time = %v, want %v in UTC", in, ev.Time, want)
		}
	}
}

func TestSubjectPointer(t *testing.T) {
	body := `{"type":"contact.updated","timestamp":"2024-03-01T12:00:00Z","id":"top",` +
		`"data":{"id":"d1","a/b":"slash","m~n":"tilde","~1":"tilde-one","":"empty name",` +
		`"items":[{"id":"i0"},{"id":"i1"}],"10":"member ten","obj":{"id":"o1"}},"ref":"r1"}`
	for ptr, want := range map[string]string{
		"":                 "d1",
		"/data/id":         "d1",
		"/id":              "top",
		"/ref":             "r1",
		"/data/a~1b":       "slash",
		"/data/m~0n":       "tilde",
		"/data/~01":        "tilde-one",
		"/data/":           "empty name",
		"/data/items/1/id": "i1",
		"/data/items/0/id": "i0",
		"/data/10":         "member ten",
		"/data/obj/id":     "o1",
	} {
		ev, err := decode(t, body, &standardwebhooks.Options{Subject: ptr})
		if err != nil || ev.Subject != want {
			t.Errorf("Subject %q: got %q (%v), want %q", ptr, ev.Subject, err, want)
		}
	}
	for _, ptr := range []string{"/data/items/2/id", "/data/items/-/id", "/data/items/01/id", "/data/items",
		"/data/obj", "/data/a/b", "/data/id/x", "/nothing", "/data/ID"} {
		if ev, err := decode(t, body, &standardwebhooks.Options{Subject: ptr}); err == nil {
			t.Errorf("Subject %q reached %q, want a malformed event", ptr, ev.Subject)
		}
	}
}

func TestDataWithoutDataMember(t *testing.T) {
	// The specification lets a sender put the event's data at the top level instead.
	body := " {\"type\":\"contact.created\",\"timestamp\":\"2024-03-01T12:00:00Z\",\"id\":\"c1\",\"name\":\"x\"}\n"
	ev, err := decode(t, body, &standardwebhooks.Options{Subject: "/id"})
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Data) != strings.TrimSpace(body) || ev.Subject != "c1" || ev.Object != "contact" || ev.Action != hookline.Created {
		t.Errorf("event %+v, Data %s", ev, ev.Data)
	}
	// A type without a full stop is its own object, and an update.
	ev, err = decode(t, `{"type":"ping","timestamp":"2024-03-01T12:00:00Z","data":{"id":"p1"}}`, nil)
	if err != nil || ev.Object != "ping" || ev.Action != hookline.Updated || string(ev.Data) != `{"id":"p1"}` {
		t.Errorf("event %+v (%v)", ev, err)
	}
}

func TestEscapedAndRepeatedMembers(t *testing.T) {
	body := `{"type":"user.deleted","\u0074ype":"user.created","timestamp":"2020-01-01T00:00:00Z",` +
		`"timest\u0061mp":"2024-03-01T12:00:00.5Z","data":{"id":"first"},"d\u0061ta":{"\u0069d":"u\u00e9","id":"last"},"ID":"x"}`
	ev, err := decode(t, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "user.created" || ev.Subject != "last" || !ev.Time.Equal(time.Date(2024, 3, 1, 12, 0, 0, 5e8, time.UTC)) ||
		string(ev.Data) != `{"\u0069d":"u\u00e9","id":"last"}` {
		t.Errorf("event %+v, Data %s", ev, ev.Data)
	}
}
