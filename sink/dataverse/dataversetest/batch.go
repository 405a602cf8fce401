package dataversetest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// MaxBatchOperations is how many operations a $batch request may hold.
const MaxBatchOperations = 1000

// batchOp is one operation of a $batch request.
type batchOp struct {
	method string
	target string // absolute path and query
	header http.Header
	body   []byte
}

func malformedBatch(format string, args ...any) *apiError {
	return fail(http.StatusBadRequest, CodeMalformedPayload, format, args...)
}

// readBatch reads the operations of a $batch request.
func (s *Server) readBatch(r *http.Request) ([]batchOp, *apiError) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, CodeValidation, "The HTTP method '%s' is not allowed here.", r.Method)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, malformedBatch("A $batch request needs the Content-Type multipart/mixed with a boundary.")
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, maxBody), params["boundary"])
	var ops []batchOp
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformedBatch("The $batch request body is not a valid multipart/mixed message: %v.", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "application/http":
		case "multipart/mixed":
			return nil, fail(http.StatusBadRequest, CodeValidation, "Change sets are not modeled by the double: "+
				"send their operations as parts of the batch itself.")
		default:
			return nil, malformedBatch("A part of a $batch request needs the Content-Type application/http, not %q.",
				p.Header.Get("Content-Type"))
		}
		if len(ops) == MaxBatchOperations {
			return nil, fail(http.StatusBadRequest, CodeValidation,
				"The number of requests in a batch exceeds the limit of %d.", MaxBatchOperations)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return nil, malformedBatch("The $batch request body is not a valid multipart/mixed message: %v.", err)
		}
		op, e := parseOperation(raw)
		if e != nil {
			return nil, e
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, malformedBatch("The $batch request has no operations.")
	}
	return ops, nil
}

// parseOperation reads one part of a $batch request: a request line whose URL is absolute,
// an absolute path, or relative to the service root; headers; a blank line; the body.
func parseOperation(raw []byte) (batchOp, *apiError) {
	br := bufio.NewReader(bytes.NewReader(raw))
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	for err == nil && strings.TrimSpace(line) == "" {
		line, err = tp.ReadLine()
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if err != nil || !ok1 || !ok2 || !strings.HasPrefix(proto, "HTTP/") {
		return batchOp{}, malformedBatch("A part of a $batch request does not start with a request line: %q.", line)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return batchOp{}, malformedBatch("The headers of the operation %s %s are malformed.", method, target)
	}
	body, _ := io.ReadAll(br)
	op := batchOp{method: method, header: http.Header(hdr), body: bytes.TrimSpace(body)}
	u, perr := url.Parse(target)
	switch {
	case perr != nil:
		return batchOp{}, malformedBatch("The URL of the operation %s %s is malformed.", method, target)
	case u.IsAbs():
		op.target = u.EscapedPath()
		if u.RawQuery != "" {
			op.target += "?" + u.RawQuery
		}
	case strings.HasPrefix(target, "/"):
		op.target = target
	default:
		op.target = BasePath + target
	}
	if op.header == nil {
		op.header = http.Header{}
	}
	return op, nil
}

// continueOnError reports whether a request prefers odata.continue-on-error.
func continueOnError(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(pref)) {
			case "odata.continue-on-error", "odata.continue-on-error=true":
				return true
			}
		}
	}
	return false
}

// runBatch executes the operations of a $batch request in order and answers with one part per
// operation. Without Prefer: odata.continue-on-error it stops at the first that fails, answers
// 400 Bad Request and holds the parts up to and including the failure; otherwise it runs all,
// answers 200 OK and Preference-Applied: odata.continue-on-error.
func (s *Server) runBatch(w http.ResponseWriter, r *http.Request, ops []batchOp) {
	cont := continueOnError(r)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var id [16]byte
	rand.Read(id[:])
	mw.SetBoundary(fmt.Sprintf("batchresponse_%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16]))
	status := http.StatusOK
	for _, op := range ops {
		rec := s.execute(r, op)
		writePart(mw, rec)
		if rec.Code >= 400 && !cont {
			status = http.StatusBadRequest
			break
		}
	}
	mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.Header().Set("OData-Version", "4.0")
	if cont {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// execute runs one operation of a $batch request with the code of plain requests.
func (s *Server) execute(r *http.Request, op batchOp) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req, err := http.NewRequestWithContext(r.Context(), op.method, "http://"+r.Host+op.target, bytes.NewReader(op.body))
	if err != nil {
		writeError(rec, malformedBatch("The operation %s %s is malformed.", op.method, op.target))
		return rec
	}
	req.Host = r.Host
	req.Header = op.header
	s.countOperation(req.Header)
	if !s.operate(r) {
		writeError(rec, fail(http.StatusServiceUnavailable, CodeValidation, "The request was cancelled."))
		return rec
	}
	if e := s.checkOperation(req); e != nil {
		writeError(rec, e)
		return rec
	}
	if e := s.route(rec, req); e != nil {
		writeError(rec, e)
	}
	return rec
}

// checkOperation refuses a $batch inside a batch and, with Options.RequireHeaders, a body
// without Content-Type: application/json.
func (s *Server) checkOperation(r *http.Request) *apiError {
	if r.URL.Path == BasePath+"$batch" {
		return fail(http.StatusBadRequest, CodeValidation, "A batch request can't contain other batch requests.")
	}
	if !s.opts.RequireHeaders || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return fail(http.StatusBadRequest, CodeValidation, "%sContent-Type: %q, want application/json",
			errMissingHeaderPrefix, r.Header.Get("Content-Type"))
	}
	return nil
}

// spelling is how Dataverse spells the headers whose canonical form Go gives differently.
var spelling = map[string]string{"Odata-Entityid": "OData-EntityId", "Odata-Version": "OData-Version", "Etag": "ETag"}

// writePart writes an operation's response as a part of the $batch response.
func writePart(mw *multipart.Writer, rec *httptest.ResponseRecorder) {
	pw, _ := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"application/http"},
		"Content-Transfer-Encoding": {"binary"},
	})
	fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header()
	for _, name := range slices.Sorted(maps.Keys(h)) {
		spelled := name
		if s, ok := spelling[name]; ok {
			spelled = s
		}
		for _, v := range h[name] {
			fmt.Fprintf(pw, "%s: %s\r\n", spelled, v)
		}
	}
	fmt.Fprint(pw, "\r\n")
	pw.Write(rec.Body.Bytes())
}
