package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/emitter/stripehook"
)

func TestNewNeedsAToken(t *testing.T) {
	for tok, want := range map[string]string{"": console.EnvToken, "short": "at least 16"} {
		if _, err := console.New(console.Options{Token: tok}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(token %q) = %v, want an error saying %q", tok, err, want)
		}
	}
}

type eventsAnswer struct {
	Events []console.Event `json:"events"`
}

// The API lists what the webhook accepted and the sink stored, with the token only.
func TestEventsAPI(t *testing.T) {
	r := start(t, setup{Fails: objects()})
	r.post(t, "customer.created", "cus_a")
	r.post(t, "customer.updated", "cus_b")
	waitFor(t, "two stored events", func() bool { return r.store.Len() == 2 })

	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		if code, body := r.api(t, "GET", "api/events", tok, nil); code != http.StatusUnauthorized || bytes.Contains(body, []byte("cus_")) {
			t.Errorf("GET api/events with token %q = %d %s, want 401 and no data", tok, code, body)
		}
	}
	var got eventsAnswer
	waitFor(t, "both events stored in the console", func() bool {
		code, body := r.api(t, "GET", "api/events?status=stored", token, nil)
		if code != http.StatusOK {
			t.Fatalf("GET api/events = %d %s", code, body)
		}
		got = eventsAnswer{}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		return len(got.Events) == 2
	})
	if got.Events[0].Subject != "cus_b" || got.Events[1].Subject != "cus_a" || got.Events[0].Type != "customer.updated" {
		t.Errorf("events = %+v, want cus_b then cus_a, newest first", got.Events)
	}
	if e := got.Events[1]; e.Source != "stripe" || e.Object != "customer" || e.Action != "created" {
		t.Errorf("event %+v: want its source stripe, object customer, action created", e)
	}
	for source, n := range map[string]int{"stripe": 2, "standardwebhooks": 0} {
		var bySource eventsAnswer
		_, body := r.api(t, "GET", "api/events?source="+source, token, nil)
		if err := json.Unmarshal(body, &bySource); err != nil || len(bySource.Events) != n {
			t.Errorf("GET api/events?source=%s: %d events, want %d (%v)", source, len(bySource.Events), n, err)
		}
	}
	code, body := r.api(t, "GET", "api/events?type=customer.c*", token, nil)
	if err := json.Unmarshal(body, &got); err != nil || code != 200 || len(got.Events) != 1 || got.Events[0].Subject != "cus_a" {
		t.Errorf("filter by type prefix: %d %s", code, body)
	}
	id := got.Events[0].ID
	code, body = r.api(t, "GET", "api/events/"+id, token, nil)
	var one struct {
		console.Event
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &one); err != nil || code != 200 || one.ID != id || len(one.Deliveries) != 1 ||
		one.Deliveries[0].Outcome != "stored" || !bytes.Contains(one.Data, []byte(`"cus_a"`)) {
		t.Errorf("GET api/events/%s = %d %s", id, code, body)
	}
}

// A browser logs in with a form; the cookie it gets is HttpOnly and SameSite=Strict, and a
// cross-site POST is refused even with it.
func TestLoginAndCrossSiteRefusal(t *testing.T) {
	r := start(t, setup{})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(r.base+"/console/login", url.Values{"token": {"nope-nope-nope-nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a wrong token = %d, want 401", resp.StatusCode)
	}
	noRedirect := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(r.base+"/console/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, token) {
		t.Fatalf("login = %d, Set-Cookie %q", resp.StatusCode, ck)
	}
	resp, err = client.Get(r.base + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<h1>Events</h1>")) {
		t.Errorf("GET events after login = %d\n%s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest(http.MethodPost, r.base+"/console/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
	}
}

// Event data is shown as text: a <script> in it is escaped, never markup.
func TestEventDataIsEscaped(t *testing.T) {
	r := start(t, setup{})
	body := stripehook.SampleEvent("customer.created", "cus_x", time.Now())
	body = bytes.Replace(body, []byte(`"cus_x"`), []byte(`"cus_x", "name": "<script>alert(1)</script>"`), 1)
	r.postBody(t, body)
	var id string
	waitFor(t, "the event stored", func() bool {
		_, b := r.api(t, "GET", "api/events?object=cus_x&status=stored", token, nil)
		var got eventsAnswer
		json.Unmarshal(b, &got)
		if len(got.Events) == 1 {
			id = got.Events[0].ID
		}
		return id != ""
	})
	req, _ := http.NewRequest("GET", r.base+"/console/events/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(page, []byte("<script>alert")) || !bytes.Contains(page, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
		t.Errorf("the event page does not escape the data:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// MetricViews keep the instruments the Overview reads and drop the others.
func TestMetricViews(t *testing.T) {
	con, err := console.New(console.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(con.MetricReader()), sdkmetric.WithView(con.MetricViews()...))
	defer mp.Shutdown(context.Background())
	m := mp.Meter("test")
	for _, name := range []string{"hookline.events", "hookline.webhook.deliveries", "messaging.client.sent.messages"} {
		c, err := m.Int64Counter(name)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), 1)
	}
	h, err := m.Float64Histogram("messaging.process.duration")
	if err != nil {
		t.Fatal(err)
	}
	if h.Enabled(context.Background()) {
		t.Error("messaging.process.duration is recorded: the console does not read it")
	}
	var rm metricdata.ResourceMetrics
	if err := con.MetricReader().Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, x := range sm.Metrics {
			got[x.Name] = true
		}
	}
	if !got["hookline.events"] || !got["hookline.webhook.deliveries"] || got["messaging.client.sent.messages"] {
		t.Errorf("collected %v, want hookline.events and hookline.webhook.deliveries only", got)
	}
}

// The Events API pages through the recent events, newest first, with limit and the next
// page's query, across the store's shards.
func TestEventsPaging(t *testing.T) {
	r := start(t, setup{})
	var ids []string // newest last
	for i := range 7 {
		ids = append(ids, r.post(t, "customer.updated", fmt.Sprintf("cus_page_%d", i)))
	}
	waitFor(t, "seven stored events", func() bool { return r.store.Len() == 7 })
	var got []string
	query := "limit=3"
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("the pages never end")
		}
		code, body := r.do(t, "GET", "api/events?"+query, nil)
		var ans struct {
			Events []console.Event `json:"events"`
			More   bool            `json:"more"`
			Next   string          `json:"next"`
		}
		if err := json.Unmarshal(body, &ans); err != nil || code != http.StatusOK {
			t.Fatalf("GET api/events?%s = %d %s", query, code, body)
		}
		if len(ans.Events) > 3 || (ans.More && len(ans.Events) != 3) {
			t.Fatalf("page %d: %d events, more %t", page, len(ans.Events), ans.More)
		}
		for _, e := range ans.Events {
			got = append(got, e.ID)
		}
		if !ans.More {
			break
		}
		query = ans.Next
	}
	slices.Reverse(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("pages gave %v, want %v (newest first, each once)", got, ids)
	}
}

// login logs in to the console at base with tok and returns the session cookie's value.
func login(t *testing.T, base, tok string) string {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/console/login", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "hookline_console" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("login = %d without a session cookie", resp.StatusCode)
	return ""
}

// withCookie sends a request to the console at base with the session cookie value and returns
// the status.
func withCookie(t *testing.T, method, base, path, value string) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+"/console/"+path, nil)
	req.AddCookie(&http.Cookie{Name: "hookline_console", Value: value})
	req.Header.Set("Origin", base)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Each login gets a session of its own; Log out revokes it on the server, so a copy of the
// cookie kept after logging out is refused (issue 18's reproduction), and the other session
// still works.
func TestLogoutRevokesTheSession(t *testing.T) {
	r := start(t, setup{})
	first, second := login(t, r.base, token), login(t, r.base, token)
	if first == second {
		t.Fatalf("two logins got the same cookie %q", first)
	}
	if strings.Contains(first, token) {
		t.Fatalf("the cookie %q holds the token", first)
	}
	for _, v := range []string{first, second} {
		if code := withCookie(t, "GET", r.base, "api/events", v); code != http.StatusOK {
			t.Fatalf("GET api/events with a fresh session = %d", code)
		}
	}
	if code := withCookie(t, "POST", r.base, "logout", first); code != http.StatusSeeOther {
		t.Fatalf("POST logout = %d, want 303", code)
	}
	if code := withCookie(t, "GET", r.base, "api/events", first); code != http.StatusUnauthorized {
		t.Errorf("GET api/events with the logged-out session's cookie = %d, want 401", code)
	}
	if code := withCookie(t, "GET", r.base, "events", first); code != http.StatusSeeOther {
		t.Errorf("GET events with the logged-out session's cookie = %d, want 303 to the login form", code)
	}
	if code := withCookie(t, "GET", r.base, "api/events", second); code != http.StatusOK {
		t.Errorf("the other session = %d after one logged out, want 200", code)
	}
}

// Replicas that share the token accept each other's sessions with no shared store; a console
// whose token changed accepts none of them; the session lasts Options.SessionTTL.
func TestSessionsAcrossReplicasAndTokens(t *testing.T) {
	serve := func(opts console.Options) string {
		con, err := console.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(con)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	a := serve(console.Options{Token: token})
	b := serve(console.Options{Token: token})
	changed := serve(console.Options{Token: token + "-rotated"})
	v := login(t, a, token)
	if code := withCookie(t, "GET", b, "api/events", v); code != http.StatusOK {
		t.Errorf("a replica with the same token answers %d to the session, want 200", code)
	}
	if code := withCookie(t, "GET", changed, "api/events", v); code != http.StatusUnauthorized {
		t.Errorf("a console whose token changed answers %d to an old session, want 401", code)
	}

	short := serve(console.Options{Token: token, SessionTTL: 90 * time.Second})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(short+"/console/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); len(ck) != 1 || ck[0].MaxAge < 80 || ck[0].MaxAge > 90 {
		t.Errorf("Set-Cookie %q: want Max-Age of the session's 90s", resp.Header.Get("Set-Cookie"))
	}
}

func TestOptionsFromEnvSessionTTL(t *testing.T) {
	env := map[string]string{console.EnvToken: token, console.EnvSessionTTL: "30m"}
	opts, on, err := console.OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil || !on || opts.SessionTTL != 30*time.Minute {
		t.Errorf("OptionsFromEnv = %+v, %t, %v", opts.SessionTTL, on, err)
	}
	for _, bad := range []string{"12", "-1h", "soon"} {
		env[console.EnvSessionTTL] = bad
		if _, _, err := console.OptionsFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), console.EnvSessionTTL) {
			t.Errorf("%s=%q: %v, want an error naming the variable", console.EnvSessionTTL, bad, err)
		}
	}
}

// A long sink error is cut in the Events list, whole in its title and on the event's page.
func TestLongReasonsAreCutInLists(t *testing.T) {
	reason := "dataverse: 400 Bad Request: " + strings.Repeat("the column's value is not valid for its type; ", 12) + "END"
	r := start(t, setup{Fails: objects("cus_long"), Reason: reason})
	id := r.post(t, "customer.updated", "cus_long")
	var page []byte
	waitFor(t, "the event dead-lettered", func() bool {
		_, page = r.do(t, "GET", "events?status=dead_lettered", nil)
		return bytes.Contains(page, []byte(id))
	})
	shown := regexp.MustCompile(`<div class="reason" title="([^"]*)">([^<]*)</div>`).FindSubmatch(page)
	if shown == nil {
		t.Fatalf("no reason in the list:\n%s", page)
	}
	if text := html.UnescapeString(string(shown[2])); utf8.RuneCountInString(text) > 161 || !strings.HasSuffix(text, "…") || strings.Contains(text, "END") {
		t.Errorf("the list shows %d characters of the reason: %q", utf8.RuneCountInString(text), text)
	}
	if title := html.UnescapeString(string(shown[1])); title != reason {
		t.Errorf("the reason's title = %q, want it whole", title)
	}
	if _, detail := r.do(t, "GET", "events/"+id, nil); !strings.Contains(html.UnescapeString(string(detail)), reason) {
		t.Errorf("the event's page does not show the whole reason")
	}
}
