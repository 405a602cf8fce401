package stripehook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

// TestAcceptedIsDeliveredUnchanged is the property behind issue 8: every delivery that
// Handler.Accept answers 2xx for is encoded onto a real channel, decoded by the consumer and
// handed to the sink with every field as the Source decoded it and as encoding/json reads the
// signed body. The deliveries are generated: escaped and repeated member names, any Unicode, and
// created anywhere from 1 to the last second of the year 9999.
func TestAcceptedIsDeliveredUnchanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := fmt.Sprintf("mem://property-%d", time.Now().UnixNano())
	sender, err := channel.OpenSender(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Shutdown(context.Background())
	recv, err := channel.OpenReceiver(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	var mu sync.Mutex
	stored := map[string]hookline.Event{}
	consumer, err := channel.NewConsumer(recv, func(_ context.Context, ev hookline.Event) error {
		mu.Lock()
		defer mu.Unlock()
		stored[ev.ID] = ev.Clone()
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- consumer.Run(runCtx) }()
	defer func() { stop(); <-done }()

	src, err := stripehook.New([]string{secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := emitter.NewHandler(src, sender, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	want := map[string]hookline.Event{}
	for i := range 300 {
		body := randomEvent(rng, i)
		header := http.Header{stripehook.SignatureHeader: {stripehook.Sign(body, secret, time.Now())}}
		resp := h.Accept(ctx, header, body)
		if resp.Status/100 != 2 {
			t.Fatalf("generated delivery refused with %d %s:\n%s", resp.Status, resp.Reason, body)
		}
		ev, err := src.Decode(header, body)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstEncodingJSON(t, body, ev)
		want[ev.ID] = ev.Clone()
	}
	for {
		mu.Lock()
		n := len(stored)
		mu.Unlock()
		if n == len(want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the sink holds %d of %d accepted events", n, len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, w := range want {
		g := stored[id]
		if g.ID != w.ID || g.Source != w.Source || g.Type != w.Type || g.Subject != w.Subject ||
			!g.Time.Equal(w.Time) || !bytes.Equal(g.Data, w.Data) || fmt.Sprint(g.Metadata) != fmt.Sprint(w.Metadata) {
			t.Errorf("event %q changed on its way to the sink:\n sink   %+v\n source %+v", id, g, w)
		}
	}
}

// checkAgainstEncodingJSON compares the decoded event with encoding/json's reading of the body
// into maps, where a repeated member keeps its last value whatever the type of the earlier ones
// (struct decoding would fail on the type of a decoy it then overwrites).
func checkAgainstEncodingJSON(t *testing.T, body []byte, ev hookline.Event) {
	t.Helper()
	var top, data, head map[string]json.RawMessage
	read := func(raw json.RawMessage, dst any) {
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("encoding/json: %v in\n%s", err, body)
		}
	}
	read(body, &top)
	read(top["data"], &data)
	read(data["object"], &head)
	var id, typ, apiVersion, account, objectID, objectType string
	var created int64
	var livemode bool
	read(top["id"], &id)
	read(top["type"], &typ)
	read(top["created"], &created)
	read(top["livemode"], &livemode)
	read(top["api_version"], &apiVersion)
	if top["account"] != nil {
		read(top["account"], &account)
	}
	read(head["id"], &objectID)
	read(head["object"], &objectType)
	if ev.ID != id || ev.Type != typ || ev.Time.Unix() != created || ev.Subject != objectID ||
		!bytes.Equal(ev.Data, data["object"]) || ev.Object != objectType ||
		ev.Meta("livemode") != strconv.FormatBool(livemode) || ev.Meta("apiversion") != apiVersion ||
		ev.Meta("account") != account {
		t.Errorf("decoded %+v, encoding/json reads %q %q %d %q %q from\n%s", ev, id, typ, created, objectID, objectType, body)
	}
}

// randomEvent writes a Stripe event envelope whose member names are sometimes escaped and
// sometimes repeated (an earlier decoy, then the real value), with Unicode text throughout.
func randomEvent(rng *rand.Rand, i int) []byte {
	var b strings.Builder
	member := func(name, value string) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		if rng.IntN(4) == 0 { // a decoy that the real member, written later, overrides
			fmt.Fprintf(&b, "%s:%s,", jsonName(rng, name), jsonText(rng, "decoy"))
		}
		fmt.Fprintf(&b, "%s:%s", jsonName(rng, name), value)
	}
	object := func() string {
		var o strings.Builder
		o.WriteString("{")
		fmt.Fprintf(&o, "%s:%s,", jsonName(rng, "id"), jsonText(rng, "cus_"+randomText(rng)))
		fmt.Fprintf(&o, "%s:%s,", jsonName(rng, "object"), jsonText(rng, randomText(rng)))
		fmt.Fprintf(&o, `"name":%s,"metadata":{"id":%s,"n":[1,2.5e3,null,true]}}`, jsonText(rng, randomText(rng)),
			jsonText(rng, randomText(rng)))
		return o.String()
	}
	b.WriteString("{")
	member("id", jsonText(rng, fmt.Sprintf("evt_%d_%s", i, randomText(rng))))
	member("type", jsonText(rng, "customer."+randomText(rng)))
	member("created", strconv.FormatInt(1+rng.Int64N(253402300799), 10))
	member("livemode", strconv.FormatBool(rng.IntN(2) == 0))
	member("api_version", jsonText(rng, randomText(rng)))
	if rng.IntN(2) == 0 {
		member("account", jsonText(rng, "acct_"+randomText(rng)))
	}
	member("data", fmt.Sprintf(`{%s:%s,"previous_attributes":{"id":"x"}}`, jsonName(rng, "object"), object()))
	b.WriteString("}")
	return []byte(b.String())
}

// randomText returns printable text from several scripts, with quotes, backslashes and
// characters outside the Basic Multilingual Plane.
func randomText(rng *rand.Rand) string {
	alphabet := []rune("aZ09_-. \"\\/éßЖ中😀\u2028\U0010FFFD")
	r := make([]rune, 1+rng.IntN(12))
	for i := range r {
		r[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(r)
}

// jsonText writes s as a JSON string, escaping some characters as \u sequences (surrogate pairs
// beyond the BMP) and writing the others as encoding/json does.
func jsonText(rng *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case rng.IntN(3) == 0 && r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		case rng.IntN(3) == 0:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			q, _ := json.Marshal(string(r))
			b.Write(q[1 : len(q)-1])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// jsonName writes a member name, half the time with one of its letters escaped.
func jsonName(rng *rand.Rand, name string) string {
	if rng.IntN(2) == 0 {
		return `"` + name + `"`
	}
	i := rng.IntN(len(name))
	return fmt.Sprintf(`"%s\u%04x%s"`, name[:i], name[i], name[i+1:])
}
