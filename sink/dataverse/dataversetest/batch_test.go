package dataversetest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// part is one response of a $batch response.
type part struct {
	status int
	header http.Header
	body   map[string]any
}

// batch posts a $batch request with ops, each the request line, headers, blank line and body
// of one operation, and parses the response with mime/multipart and net/http. hdr are more
// headers of the $batch request.
func (c client) batch(ops []string, hdr ...string) (int, http.Header, []part) {
	c.t.Helper()
	var b strings.Builder
	for _, op := range ops {
		b.WriteString("--batch_AAA\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
		b.WriteString(op + "\r\n")
	}
	b.WriteString("--batch_AAA--\r\n")
	resp := c.send("POST", "$batch", b.String(), "multipart/mixed;boundary=batch_AAA", hdr...)
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, resp.Header, []part{{status: resp.StatusCode, body: body}}
	}
	if !strings.HasPrefix(params["boundary"], "batchresponse_") {
		c.t.Fatalf("boundary %q", params["boundary"])
	}
	var parts []part
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "application/http" || p.Header.Get("Content-Transfer-Encoding") != "binary" {
			c.t.Fatalf("part headers %v", p.Header)
		}
		r, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			c.t.Fatal(err)
		}
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		if len(data) > 0 {
			if err := json.Unmarshal(data, &body); err != nil {
				c.t.Fatalf("part body %q", data)
			}
		}
		parts = append(parts, part{status: r.StatusCode, header: r.Header, body: body})
	}
	return resp.StatusCode, resp.Header, parts
}

const (
	jsonHdr = "Content-Type: application/json\r\n"
	cus1    = "contacts(new_stripecustomerid='cus_1')"
)

// batchOps are six operations; the third fails with 412.
func batchOps() []string {
	return []string{
		"POST https://org.example/api/data/v9.2/contacts HTTP/1.1\r\n" + jsonHdr +
			"Prefer: return=representation\r\n\r\n{\"new_stripecustomerid\":\"cus_0\",\"firstname\":\"Zero\"}",
		"PATCH " + cus1 + " HTTP/1.1\r\n" + jsonHdr +
			"MSCRM.BypassBusinessLogicExecution: CustomSync,CustomAsync\r\n\r\n{\"firstname\":\"A\"}",
		"PATCH /api/data/v9.2/" + cus1 + " HTTP/1.1\r\n" + jsonHdr + "If-Match: W/\"999\"\r\n\r\n{\"firstname\":\"B\"}",
		"PATCH " + cus1 + " HTTP/1.1\r\n" + jsonHdr + "If-Match: *\r\nPrefer: return=representation\r\n\r\n" +
			"{\"lastname\":\"C\"}",
		"GET " + cus1 + "?$select=firstname,lastname HTTP/1.1\r\nAccept: application/json\r\n",
		"DELETE contacts(new_stripecustomerid='cus_0') HTTP/1.1\r\n",
	}
}

func TestBatchContinueOnError(t *testing.T) {
	c := newClient(t, &dataversetest.Options{RequireHeaders: true})
	st, h, parts := c.batch(batchOps(), "Prefer", "odata.continue-on-error",
		"MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync")
	if st != 200 || h.Get("Preference-Applied") != "odata.continue-on-error" || len(parts) != 6 {
		t.Fatalf("%d, Preference-Applied %q, %d parts", st, h.Get("Preference-Applied"), len(parts))
	}
	want := []int{201, 204, 412, 200, 200, 204}
	for i, p := range parts {
		if p.status != want[i] {
			t.Errorf("part %d: %d %v, want %d", i, p.status, p.body, want[i])
		}
	}
	if p := parts[0]; p.body["@odata.etag"] == nil || p.header.Get("ETag") != p.body["@odata.etag"] ||
		p.body["firstname"] != "Zero" {
		t.Errorf("create with return=representation: %v %v", p.header, p.body)
	}
	if !strings.Contains(parts[1].header.Get("OData-EntityId"), "/api/data/v9.2/contacts(") {
		t.Errorf("upsert: OData-EntityId %q", parts[1].header.Get("OData-EntityId"))
	}
	if errorCode(parts[2].body) != dataversetest.CodeVersionMismatch {
		t.Errorf("stale If-Match: %v", parts[2].body)
	}
	row, _ := c.srv.Row("contacts", "cus_1")
	if p := parts[3]; p.body["lastname"] != "C" || p.body["firstname"] != "A" || p.body["@odata.etag"] != row.ETag ||
		p.header.Get("ETag") != row.ETag {
		t.Errorf("update with return=representation: %v %v (row %v)", p.header, p.body, row.ETag)
	}
	if parts[4].body["lastname"] != "C" {
		t.Errorf("GET: %v", parts[4].body)
	}
	if _, ok := c.srv.Row("contacts", "cus_0"); ok {
		t.Error("DELETE left the row")
	}
	if got := c.srv.Requests(); got["POST"] != 1 || len(got) != 1 || c.srv.Operations() != 6 {
		t.Errorf("requests %v, operations %d", got, c.srv.Operations())
	}
	// The header of the $batch request is not an operation's.
	if n := c.srv.HeaderCount("MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync"); n != 1 {
		t.Errorf("bypass header counted %d times, want 1", n)
	}
}

func TestBatchStopsAtFirstFailure(t *testing.T) {
	c := newClient(t, nil)
	st, h, parts := c.batch(batchOps())
	if st != 400 || h.Get("Preference-Applied") != "" || len(parts) != 3 {
		t.Fatalf("%d, Preference-Applied %q, %d parts", st, h.Get("Preference-Applied"), len(parts))
	}
	if parts[0].status != 201 || parts[1].status != 204 || parts[2].status != 412 {
		t.Fatalf("parts %v %v %v", parts[0].status, parts[1].status, parts[2].status)
	}
	if row, _ := c.srv.Row("contacts", "cus_1"); row.Columns["lastname"] != nil {
		t.Error("an operation after the failure ran")
	}
	if _, ok := c.srv.Row("contacts", "cus_0"); !ok {
		t.Error("an operation after the failure ran")
	}
	if c.srv.Operations() != 3 {
		t.Errorf("operations %d, want 3", c.srv.Operations())
	}
}

func TestBatchRefusals(t *testing.T) {
	c := newClient(t, nil)
	ops := make([]string, 1001)
	for i := range ops {
		ops[i] = fmt.Sprintf("GET contacts(new_stripecustomerid='cus_%d') HTTP/1.1\r\n", i)
	}
	st, _, parts := c.batch(ops)
	if st != 400 || message(parts[0].body) != "The number of requests in a batch exceeds the limit of 1000." {
		t.Fatalf("1001 operations: %d %v", st, parts[0].body)
	}
	if st, _, parts := c.batch(ops[:1000]); st != 400 || len(parts) != 1 || parts[0].status != 404 {
		t.Fatalf("1000 operations: %d, %d parts", st, len(parts))
	}
	changeset := "Content-Type: multipart/mixed; boundary=changeset_BBB\r\n\r\n--changeset_BBB--"
	body := "--batch_AAA\r\n" + changeset + "\r\n--batch_AAA--\r\n"
	req, _ := http.NewRequest("POST", c.srv.URL()+dataversetest.BasePath+"$batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "multipart/mixed; boundary=batch_AAA")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("change set: %d", resp.StatusCode)
	}
	if st, _, parts := c.batch([]string{"POST $batch HTTP/1.1\r\n"}, "Prefer", "odata.continue-on-error"); st != 200 ||
		parts[0].status != 400 {
		t.Fatalf("a batch in a batch: %d %v", st, parts)
	}
	if c.srv.Operations() != 2 {
		t.Errorf("operations %d, want the first of the 1000 (it fails) and the nested batch", c.srv.Operations())
	}
}

func TestBatchLimits(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{
		Requests: 100, ExecutionTime: 10 * time.Second, ExecutionCost: time.Second, Window: time.Minute}})
	gets := []string{
		"GET " + cus1 + " HTTP/1.1\r\n", "GET " + cus1 + " HTTP/1.1\r\n", "GET " + cus1 + " HTTP/1.1\r\n",
	}
	st, h, parts := c.batch(gets, "Prefer", "odata.continue-on-error")
	if st != 200 || len(parts) != 3 || h.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != "99" ||
		h.Get("x-ms-ratelimit-time-remaining-xrm-requests") != "7,000.00" {
		t.Fatalf("batch of 3: %d, %d parts, remaining %q %q", st, len(parts),
			h.Get("x-ms-ratelimit-burst-remaining-xrm-requests"), h.Get("x-ms-ratelimit-time-remaining-xrm-requests"))
	}
	st, h, parts = c.batch(append(append(gets, gets...), gets[:2]...))
	if st != 429 || errorCode(parts[0].body) != dataversetest.CodeExecutionTime || h.Get("Retry-After") != "60" {
		t.Fatalf("batch of 8: %d Retry-After %q %v", st, h.Get("Retry-After"), parts[0].body)
	}
	if st, _, _ := c.batch(gets[:1]); st != 400 {
		t.Fatalf("batch of 1 within the limits: %d", st)
	}
	if c.srv.Operations() != 4 || c.srv.Throttled() != 1 || c.srv.Requests()["POST"] != 3 {
		t.Fatalf("operations %d, throttled %d, requests %v", c.srv.Operations(), c.srv.Throttled(), c.srv.Requests())
	}
}

// TestOperationLatency: a batch's operations run one after the other, each taking
// OperationLatency, so a batch of n takes at least n of them.
func TestOperationLatency(t *testing.T) {
	c := newClient(t, &dataversetest.Options{OperationLatency: 40 * time.Millisecond})
	start := time.Now()
	st, _, parts := c.batch(batchOps(), "Prefer", "odata.continue-on-error")
	if took := time.Since(start); st != 200 || len(parts) != 6 || took < 6*40*time.Millisecond {
		t.Fatalf("%d, %d parts in %v; want 200, 6 parts in 240 ms or more", st, len(parts), took)
	}
}
