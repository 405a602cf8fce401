package dataversetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

const tok = "good-token"

type client struct {
	t   *testing.T
	srv *dataversetest.Server
}

func newClient(t *testing.T, o *dataversetest.Options) client {
	if o == nil {
		o = &dataversetest.Options{}
	}
	o.Tokens = []string{tok}
	srv := dataversetest.New(o)
	t.Cleanup(srv.Close)
	return client{t, srv}
}

// do sends a request with the OData headers and returns the status, headers and decoded body.
func (c client) do(method, path, body string, hdr ...string) (int, http.Header, map[string]any) {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json; charset=utf-8"
	}
	resp := c.send(method, path, body, ct, hdr...)
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: body %q is not JSON", method, path, data)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// send sends a request to path under BasePath with the OData headers, contentType (when not
// empty) and hdr, name and value pairs.
func (c client) send(method, path, body, contentType string, hdr ...string) *http.Response {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL()+dataversetest.BasePath+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

const byKey = "contacts(new_stripecustomerid='cus_1')"

func TestUpsertConditionsAndETags(t *testing.T) {
	c := newClient(t, &dataversetest.Options{RequireHeaders: true})
	if st, _, body := c.do("GET", byKey, ""); st != 404 || errorCode(body) != dataversetest.CodeNotFound {
		t.Fatalf("GET of a missing row: %d %v", st, body)
	}
	if st, _, _ := c.do("PATCH", byKey, `{"firstname":"A"}`, "If-Match", "*"); st != 404 {
		t.Fatalf("PATCH If-Match: * of a missing row: %d, want 404", st)
	}
	st, h, _ := c.do("PATCH", byKey, `{"firstname":"A"}`, "If-None-Match", "*")
	if st != 204 || !strings.Contains(h.Get("OData-EntityId"), "/api/data/v9.2/contacts(") {
		t.Fatalf("upsert create: %d, OData-EntityId %q", st, h.Get("OData-EntityId"))
	}
	if st, _, body := c.do("PATCH", byKey, `{"firstname":"B"}`, "If-None-Match", "*"); st != 412 ||
		errorCode(body) != dataversetest.CodeDuplicate {
		t.Fatalf("If-None-Match: * on an existing row: %d %v", st, body)
	}
	st, _, row := c.do("GET", byKey+"?$select=firstname,lastname", "")
	etag, _ := row["@odata.etag"].(string)
	if st != 200 || !strings.HasPrefix(etag, `W/"`) || row["firstname"] != "A" || row["lastname"] != nil {
		t.Fatalf("GET: %d %v", st, row)
	}
	if _, ok := row["emailaddress1"]; ok {
		t.Errorf("GET returned a column not in $select: %v", row)
	}
	if st, _, _ := c.do("PATCH", byKey, `{"firstname":"C"}`, "If-Match", etag); st != 204 {
		t.Fatalf("PATCH with the current ETag: %d", st)
	}
	if st, _, body := c.do("PATCH", byKey, `{"firstname":"D"}`, "If-Match", etag); st != 412 ||
		errorCode(body) != dataversetest.CodeVersionMismatch {
		t.Fatalf("PATCH with a stale ETag: %d %v", st, body)
	}
	r, _ := c.srv.Row("contacts", "cus_1")
	if r.ETag == etag || r.Columns["firstname"] != "C" || r.Columns["new_stripecustomerid"] != "cus_1" {
		t.Fatalf("row %+v", r)
	}
	st, _, body := c.do("PATCH", byKey, `{}`, "Prefer", "return=representation")
	if st != 200 || body["firstname"] != "C" || body["@odata.etag"] == r.ETag {
		t.Fatalf("PATCH with Prefer: return=representation: %d %v (the ETag must change)", st, body)
	}
}

func TestCreateDeleteAndKeys(t *testing.T) {
	c := newClient(t, nil)
	st, h, _ := c.do("POST", "contacts", `{"new_stripecustomerid":"cus_O'Neil","lastname":"O'Neil"}`)
	if st != 204 || h.Get("OData-EntityId") == "" {
		t.Fatalf("POST: %d", st)
	}
	if st, _, body := c.do("POST", "contacts", `{"new_stripecustomerid":"cus_O'Neil"}`); st != 412 ||
		errorCode(body) != dataversetest.CodeDuplicate {
		t.Fatalf("POST of a duplicate key: %d %v", st, body)
	}
	path := "contacts(new_stripecustomerid='cus_O%27%27Neil')"
	if st, _, body := c.do("GET", path, ""); st != 200 || body["lastname"] != "O'Neil" {
		t.Fatalf("GET by a key with a doubled quote: %d %v", st, body)
	}
	if st, _, _ := c.do("GET", "contacts(new_stripecustomerid='cus_O'Neil')", ""); st != 400 {
		t.Fatalf("GET with a lone quote: %d, want 400", st)
	}
	if st, _, _ := c.do("GET", "contacts(emailaddress1='x')", ""); st != 400 {
		t.Fatalf("GET by a column without a key: %d, want 400", st)
	}
	if st, _, body := c.do("GET", "accounts(name='x')", ""); st != 404 || errorCode(body) != dataversetest.CodeSegmentNotFound {
		t.Fatalf("unknown entity set: %d %v", st, body)
	}
	if st, _, _ := c.do("DELETE", path, "", "If-Match", `W/"999"`); st != 412 {
		t.Fatalf("DELETE with a stale ETag: %d", st)
	}
	if st, _, _ := c.do("DELETE", path, ""); st != 204 {
		t.Fatalf("DELETE: %d", st)
	}
	if st, _, _ := c.do("DELETE", path, ""); st != 404 {
		t.Fatalf("DELETE again: %d", st)
	}
	if n := len(c.srv.Rows("contacts")); n != 0 {
		t.Fatalf("%d rows left", n)
	}
	if got := c.srv.Requests(); got["POST"] != 2 || got["DELETE"] != 3 || got["GET"] != 4 {
		t.Fatalf("counters %v", got)
	}
}

func TestRefusals(t *testing.T) {
	c := newClient(t, &dataversetest.Options{RequireHeaders: true})
	req, _ := http.NewRequest("GET", c.srv.URL()+dataversetest.BasePath+byKey, nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("request without OData headers: %d, want 400", resp.StatusCode)
	}

	c.srv.Throttle(2, 1500*time.Millisecond)
	for range 2 {
		st, h, body := c.do("GET", byKey, "")
		if st != 429 || h.Get("Retry-After") != "2" || errorCode(body) != dataversetest.CodeTooManyRequests {
			t.Fatalf("throttled: %d Retry-After %q %v", st, h.Get("Retry-After"), body)
		}
	}
	c.srv.FailNext(1, 400, "0x80040203", "Invalid argument.")
	if st, _, body := c.do("GET", byKey, ""); st != 400 || errorCode(body) != "0x80040203" {
		t.Fatalf("injected failure: %d %v", st, body)
	}
	if st, _, _ := c.do("GET", byKey, ""); st != 404 {
		t.Fatalf("after the injections: %d, want 404", st)
	}
}

func TestLatencyAndConcurrencyLimit(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Latency: 100 * time.Millisecond, MaxConcurrent: 2})
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	start := time.Now()
	for i := range 6 {
		wg.Go(func() {
			st, _, _ := c.do("PATCH", "contacts(new_stripecustomerid='cus_"+string(rune('a'+i))+"')", `{}`)
			statuses <- st
		})
	}
	wg.Wait()
	close(statuses)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("6 requests took %v, want at least the latency", d)
	}
	n := map[int]int{}
	for st := range statuses {
		n[st]++
	}
	if n[204] < 1 || n[429] < 1 || n[204]+n[429] != 6 {
		t.Fatalf("statuses %v, want some 204 and some 429", n)
	}
}
