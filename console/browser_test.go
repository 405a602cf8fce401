package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// EnvScreenshots names the directory TestConsoleInBrowser writes its screenshots to (the
// README's, under docs/):
//
//	HOOKLINE_CONSOLE_SCREENSHOTS=$PWD/docs go test -run TestConsoleInBrowser ./console
const EnvScreenshots = "HOOKLINE_CONSOLE_SCREENSHOTS"

// browser starts headless Chromium (Debian's chromium package; scripts/install-chromium.sh) and
// returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	_, err := exec.LookPath("chromium")
	if err != nil {
		_, err = exec.LookPath("chromium-browser")
	}
	testenv.Require(t, "chromium (bash scripts/install-chromium.sh)", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1))); err != nil {
		t.Fatal(err)
	}
	return tctx
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the element sel selects: an XPath when it starts with "/", else CSS.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	a := chromedp.Text(chromedp.CSS(sel))
	if strings.HasPrefix(sel, "/") {
		a = chromedp.Text(chromedp.Search(sel))
	}
	s, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitText reloads url until the text of sel contains every one of want.
func waitText(t *testing.T, ctx context.Context, url, sel string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		do(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
		got := text(t, ctx, sel)
		all := true
		for _, w := range want {
			all = all && strings.Contains(got, w)
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q in %s; it shows:\n%s", url, want, sel, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleInBrowser drives the console in headless Chromium as an operator would: log in,
// watch events arrive, find the one the sink refused under Dead letters with its reason, fix
// the sink and replay it; and checks that the console gives nothing without the token, refuses
// a cross-site POST and shows event data as text.
func TestConsoleInBrowser(t *testing.T) {
	// The sink fails permanently for events of object cus_broken until fixed is set, as a
	// Dataverse sink with a wrong column mapping would.
	b := start(t, setup{Metrics: true, Fails: objects("cus_broken"),
		Reason: "dataverse: 400 Bad Request: 'contact' has no property 'new_stripecustomerid' (check the column's logical name)"})
	ctx := browser(t)
	con := b.base + "/console/"

	// Log in.
	do(t, ctx, "log in", chromedp.Navigate(con),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("nav")))

	// Events arrive, with their status.
	now := time.Now()
	var ids []string
	for i, object := range []string{"cus_alice", "cus_bob", "cus_carol"} {
		typ := []string{"customer.created", "customer.updated", "customer.subscription.created"}[i]
		id, code := b.send(t, stripehook.SampleEvent(typ, object, now.Add(time.Duration(i-3)*time.Second)), secret)
		if code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		ids = append(ids, id)
	}
	broken, _ := b.send(t, stripehook.SampleEvent("customer.updated", "cus_broken", now), secret)
	if _, code := b.send(t, stripehook.SampleEvent("customer.updated", "cus_forged", now), "whsec_wrong"); code != http.StatusBadRequest {
		t.Errorf("a forged delivery was answered %d", code)
	}
	hostile := stripehook.SampleEvent("customer.created", "cus_hostile", now)
	hostile = bytes.Replace(hostile, []byte(`"cus_hostile",`), []byte(`"cus_hostile", "name": "<script>document.title='pwned'</script>",`), 1)
	hostileID, _ := b.send(t, hostile, secret)

	rows := waitText(t, ctx, con+"events", "table.events", ids[0], ids[1], ids[2], broken, hostileID, "dead_lettered")
	if strings.Contains(rows, "cus_forged") {
		t.Errorf("the forged delivery is listed:\n%s", rows)
	}
	for _, id := range ids {
		row := text(t, ctx, fmt.Sprintf(`//tr[td/a[text()=%q]]`, id))
		if !strings.Contains(row, "stored") {
			t.Errorf("event %s's row says %q, want stored", id, row)
		}
	}
	screenshot(t, ctx, "console-events.png")

	// The overview counts them from the metrics.
	waitText(t, ctx, con, "main", "Accepted")
	screenshot(t, ctx, "console-overview.png")

	// Event data is text: the <script> shows as written and never runs.
	do(t, ctx, "open the hostile event", chromedp.Navigate(con+"events/"+hostileID), chromedp.WaitVisible(chromedp.CSS("pre.data")))
	if data := text(t, ctx, "pre.data"); !strings.Contains(data, "<script>document.title='pwned'</script>") {
		t.Errorf("the data does not show the script as text:\n%s", data)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title == "pwned" {
		t.Errorf("title %q, %v: the event's script ran", title, err)
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script").length`))
	if err != nil || scripts != 0 {
		t.Errorf("%d script elements in the page's main, %v", scripts, err)
	}

	// The refused event is a dead letter, with its reason.
	dl := waitText(t, ctx, con+"deadletters", "main", broken, "new_stripecustomerid")
	if strings.Contains(dl, ids[0]) {
		t.Errorf("a stored event is listed as a dead letter:\n%s", dl)
	}
	screenshot(t, ctx, "console-deadletters.png")

	// A request without the token gets no data.
	resp, err := http.Get(con + "api/deadletters")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || bytes.Contains(body, []byte(broken)) {
		t.Errorf("GET api/deadletters without the token = %d %s", resp.StatusCode, body)
	}

	// A cross-site page that posts to the console, in the logged-in browser, is refused.
	evil := evilSite(t, con+"deadletters/discard", broken)
	do(t, ctx, "open the cross-site page", chromedp.Navigate(evil), chromedp.WaitReady(chromedp.CSS("body")))
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.HasPrefix(loc, con) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cross-site form never reached the console (at %s, %v)", loc, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	do(t, ctx, "the refusal", chromedp.WaitReady(chromedp.CSS("body")))
	if page := text(t, ctx, "body"); !strings.Contains(page, "cross-origin request refused") {
		t.Errorf("the cross-site POST got:\n%s", page)
	}
	waitText(t, ctx, con+"deadletters", "main", broken) // still there

	// Fix the sink, select the dead letter, Replay, confirm: it is stored.
	b.fixed.Store(true)
	do(t, ctx, "replay", chromedp.Navigate(con+"deadletters"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`input[name=id][value=%q]`, broken))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=id][value=%q]`, broken))),
		chromedp.Click(`//button[contains(., "Replay")]`),
		chromedp.WaitVisible(`//button[contains(., "Confirm")]`))
	if confirm := text(t, ctx, "main"); !strings.Contains(confirm, "1") {
		t.Errorf("the confirmation does not say how many:\n%s", confirm)
	}
	do(t, ctx, "confirm", chromedp.Click(`//button[contains(., "Confirm")]`), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if result := text(t, ctx, "main"); !strings.Contains(result, "eplayed") {
		t.Errorf("the replay's result:\n%s", result)
	}
	waitFor(t, "the replayed event in the sink", func() bool {
		rec, ok := b.store.Get("cus_broken")
		return ok && rec.Event.ID == broken
	})
	waitText(t, ctx, con+"events?id="+broken, "table.events", "stored")

	// Log out: the session's cookie, copied before, is refused by the server from then on.
	session := sessionCookie(t, ctx, con)
	if code := withCookie(t, "GET", b.base, "api/events", session); code != http.StatusOK {
		t.Fatalf("the browser's session cookie gets %d before logging out", code)
	}
	do(t, ctx, "log out", chromedp.Navigate(con), chromedp.WaitVisible(`//button[contains(., "Log out")]`),
		chromedp.Click(`//button[contains(., "Log out")]`), chromedp.WaitVisible(chromedp.CSS("#token")))
	if code := withCookie(t, "GET", b.base, "api/events", session); code != http.StatusUnauthorized {
		t.Errorf("the logged-out session's cookie gets %d, want 401", code)
	}
}

// sessionCookie returns the value of the console's session cookie in the browser.
func sessionCookie(t *testing.T, ctx context.Context, con string) string {
	t.Helper()
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{con}})
		return res.Cookies, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		if c.Name == "hookline_console" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in the browser: %v", cookies)
	return ""
}

// evilSite serves, on another origin (localhost rather than 127.0.0.1), a page that submits a
// discard of the event to the console as soon as it loads, as a cross-site request forgery
// would.
func evilSite(t *testing.T, target, id string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><body><form id="f" method="post" action="%s">
<input type="hidden" name="id" value="%s"><input type="hidden" name="confirm" value="yes"></form>
<script>document.getElementById("f").submit()</script></body>`, target, id)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://localhost:" + port + "/"
}
