package dataverse

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// TestBatchBodyIsStandardMultipart reads a $batch body back with the standard library's
// multipart and HTTP request readers, as any OData service would.
func TestBatchBodyIsStandardMultipart(t *testing.T) {
	s := &Sink{base: "https://org.crm.dynamics.com/api/data/v9.2/", bypass: BypassSync.headers()}
	ops := []request{
		{method: http.MethodGet, path: "contacts(k='a')?$select=x"},
		{method: http.MethodPatch, path: "contacts(k='b')", body: []byte(`{"x":1}`),
			header: map[string]string{"If-Match": `W/"7"`, "Prefer": "return=representation"}},
	}
	body, ct := s.batchBody(ops)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/mixed" || !strings.HasPrefix(params["boundary"], "batch_") {
		t.Fatalf("Content-Type %q", ct)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, op := range ops {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if p.Header.Get("Content-Type") != "application/http" || p.Header.Get("Content-Transfer-Encoding") != "binary" {
			t.Errorf("part %d headers %v", i, p.Header)
		}
		r, err := http.ReadRequest(bufio.NewReader(p))
		if err != nil {
			t.Fatalf("part %d is not an HTTP request: %v", i, err)
		}
		if r.Method != op.method || r.URL.String() != s.base+op.path {
			t.Errorf("part %d: %s %s, want %s %s", i, r.Method, r.URL, op.method, s.base+op.path)
		}
		if r.Header.Get("MSCRM.BypassBusinessLogicExecution") != "CustomSync" {
			t.Errorf("part %d lacks the bypass header: %v", i, r.Header)
		}
		for k, v := range op.header {
			if r.Header.Get(k) != v {
				t.Errorf("part %d: %s = %q, want %q", i, k, r.Header.Get(k), v)
			}
		}
		got, _ := io.ReadAll(r.Body)
		if string(got) != string(op.body) {
			t.Errorf("part %d body %q, want %q", i, got, op.body)
		}
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Errorf("after the last part: %v, want EOF", err)
	}
}

// TestParseBatchResponse reads a response shaped as the Web API documentation's examples.
func TestParseBatchResponse(t *testing.T) {
	raw := strings.ReplaceAll(`--batchresponse_1
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"@odata.etag":"W/\"12\"","new_x":"a"}
--batchresponse_1
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 412 Precondition Failed
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80060882","message":"The version of the existing record doesn't match"}}
--batchresponse_1
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
OData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/contacts(00000000-0000-0000-0000-000000000001)


--batchresponse_1--
`, "\n", "\r\n")
	resp := &response{status: 200, body: []byte(raw),
		header: http.Header{"Content-Type": {"multipart/mixed; boundary=batchresponse_1"}}}
	parts, err := parseBatch(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || parts[0].status != 200 || parts[1].status != 412 || parts[2].status != 204 {
		t.Fatalf("parts %+v", parts)
	}
	if !strings.Contains(string(parts[0].body), `"new_x":"a"`) || parseAPIError(parts[1].body).Code != "0x80060882" {
		t.Errorf("bodies %q, %q", parts[0].body, parts[1].body)
	}
	for _, ct := range []string{"application/json", "multipart/mixed"} {
		resp.header.Set("Content-Type", ct)
		if _, err := parseBatch(resp); err == nil {
			t.Errorf("Content-Type %q accepted", ct)
		}
	}
	if mt, _, _ := mime.ParseMediaType("multipart/mixed; boundary=batch_x"); mt != "multipart/mixed" {
		t.Fatal(mt)
	}
}
