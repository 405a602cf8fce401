package dataversetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes the double answers with, as Dataverse documents them.
const (
	CodeNotFound           = "0x80040217" // ObjectDoesNotExist
	CodeDuplicate          = "0x80040237" // DuplicateRecord: a row with the key values exists
	CodeVersionMismatch    = "0x80060882" // ConcurrencyVersionMismatch: If-Match failed
	CodeValidation         = "0x80040203" // InvalidArgument
	CodeSegmentNotFound    = "0x8006088a" // Resource not found for the segment
	CodeODataError         = "0x80060888" // the payload or query does not fit the definitions
	CodeTooManyRequests    = "0x80072322" // service protection: number of requests
	CodeTooManyConcurrent  = "0x80072326" // service protection: concurrent requests
	CodeMalformedPayload   = "0x80048d19" // Error identified in payload
	maxBody                = 16 << 20
	errMissingHeaderPrefix = "missing or wrong header "
)

// apiError is a failure answered with the documented error body.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.message }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(e.status)
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": e.code, "message": e.message}})
	w.Write(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.Method]++
	if _, err := r.Cookie("ARRAffinity"); err == nil {
		s.affine++
	}
	latency := s.latency
	s.mu.Unlock()

	w.Header().Add("Set-Cookie", "ARRAffinity="+s.affinity+"; Path=/; HttpOnly")
	if s.opts.DOPHint > 0 {
		w.Header().Set("x-ms-dop-hint", strconv.Itoa(s.opts.DOPHint))
	}
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	s.mu.Lock()
	s.maxInFlight = max(s.maxInFlight, int(n))
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if n > int64(s.opts.MaxConcurrent) {
		if s.opts.Limits != nil && s.authorized(r) {
			s.mu.Lock()
			s.admit(bearer(r), 0, time.Now()) // every request counts against the request limit
			s.mu.Unlock()
		}
		s.tooMany(w, time.Second, fail(http.StatusTooManyRequests, CodeTooManyConcurrent,
			"Number of concurrent requests exceeded the limit of %d.", s.opts.MaxConcurrent))
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate",
			`Bearer authorization_uri=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/authorize`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	batch := r.URL.Path == BasePath+"$batch"
	var ops []batchOp
	var batchErr *apiError
	if batch {
		ops, batchErr = s.readBatch(r)
	}
	if s.opts.Limits != nil && s.limit(w, r, len(ops), batch) {
		return
	}
	if retry, ok := s.takeThrottle(); ok {
		s.tooMany(w, retry, fail(http.StatusTooManyRequests, CodeTooManyRequests,
			"Number of requests exceeded the limit of 6000 over time window of 300 seconds."))
		return
	}
	if f, ok := s.takeFault(); ok {
		writeError(w, fail(f.status, f.code, "%s", f.message))
		return
	}
	if err := s.checkHeaders(r, batch); err != nil {
		writeError(w, err)
		return
	}
	if batch {
		if batchErr != nil {
			writeError(w, batchErr)
			return
		}
		s.runBatch(w, r, ops)
		return
	}
	s.countOperation(r.Header)
	if !s.operate(r) {
		return
	}
	if err := s.route(w, r); err != nil {
		writeError(w, err)
	}
}

// operate waits Options.OperationLatency, or until the request is given up: it reports whether
// the operation is to run.
func (s *Server) operate(r *http.Request) bool {
	if s.opts.OperationLatency <= 0 {
		return true
	}
	t := time.NewTimer(s.opts.OperationLatency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// limit applies Options.Limits to a request: one operation, or the ops of a $batch (none when
// it is malformed). It reports whether it refused the request.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, ops int, batch bool) bool {
	if !batch {
		ops = 1
	}
	s.mu.Lock()
	remaining, left, refusal := s.admit(bearer(r), time.Duration(ops)*s.limits.ExecutionCost, time.Now())
	s.mu.Unlock()
	limitHeaders(w, remaining, left)
	if refusal != nil {
		s.tooMany(w, refusal.retryAfter, refusal.err)
		return true
	}
	return false
}

// bearer returns the request's bearer token, which identifies its user.
func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens) == 0 || s.tokens[tok]
}

func (s *Server) takeThrottle() (retryAfter time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle.n <= 0 {
		return 0, false
	}
	s.throttle.n--
	return s.throttle.retryAfter, true
}

func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *Server) checkHeaders(r *http.Request, batch bool) *apiError {
	if !s.opts.RequireHeaders {
		return nil
	}
	want := map[string]string{"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}
	if (r.Method == http.MethodPost || r.Method == http.MethodPatch) && !batch {
		want["Content-Type"] = "application/json; charset=utf-8"
	}
	for h, v := range want {
		if got := r.Header.Get(h); got != v {
			return fail(http.StatusBadRequest, CodeValidation, "%s%s: %q, want %q", errMissingHeaderPrefix, h, got, v)
		}
	}
	return nil
}

// target is what a request path addresses: an entity set, and maybe one row of it.
type target struct {
	set      *table
	hasKey   bool
	id       string // primary key, when the path gives one
	keyCol   string // alternate key column, when the path gives one
	keyValue string // alternate key value, when the path gives one
}

// parsePath reads the path of a request for rows: rest is the path after BasePath.
func (s *Server) parsePath(rest string) (target, *apiError) {
	name, inner, hasKey := strings.Cut(rest, "(")
	s.mu.Lock()
	set := s.sets[name]
	s.mu.Unlock()
	if set == nil {
		return target{}, fail(http.StatusNotFound, CodeSegmentNotFound, "Resource not found for the segment '%s'.", name)
	}
	t := target{set: set, hasKey: hasKey}
	if !hasKey {
		return t, nil
	}
	inner, ok := strings.CutSuffix(inner, ")")
	if !ok {
		return target{}, fail(http.StatusBadRequest, CodeValidation, "Bad Request - Error in query syntax.")
	}
	col, lit, isAlt := strings.Cut(inner, "=")
	if !isAlt {
		t.id = inner
		return t, nil
	}
	s.mu.Lock()
	k := set.activeKeyOn(col)
	s.mu.Unlock()
	if k == nil {
		return target{}, fail(http.StatusBadRequest, CodeValidation,
			"The key attribute '%s' is not defined as an alternate key for the entity set '%s'.", col, set.set)
	}
	v, err := unquote(lit)
	if err != nil {
		return target{}, fail(http.StatusBadRequest, CodeValidation, "Bad Request - Error in query syntax.")
	}
	t.keyCol, t.keyValue = col, v
	return t, nil
}

// unquote reads an OData string literal: single quotes around, a quote inside doubled.
func unquote(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", errors.New("not a string literal")
	}
	inner := lit[1 : len(lit)-1]
	if strings.Count(inner, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
		return "", errors.New("lone quote")
	}
	return strings.ReplaceAll(inner, "''", "'"), nil
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) *apiError {
	rest, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		return fail(http.StatusNotFound, CodeSegmentNotFound, "Resource not found for the segment '%s'.", r.URL.Path)
	}
	if rest == "EntityDefinitions" || strings.HasPrefix(rest, "EntityDefinitions(") {
		return s.routeMetadata(w, r, rest)
	}
	t, err := s.parsePath(rest)
	if err != nil {
		return err
	}
	switch {
	case r.Method == http.MethodPost && !t.hasKey:
		return s.create(w, r, t)
	case r.Method == http.MethodGet && t.hasKey:
		return s.get(w, r, t)
	case r.Method == http.MethodPatch && t.hasKey:
		return s.patch(w, r, t)
	case r.Method == http.MethodDelete && t.hasKey:
		return s.remove(w, r, t)
	}
	return fail(http.StatusMethodNotAllowed, CodeValidation, "The HTTP method '%s' is not allowed here.", r.Method)
}

func readObject(r *http.Request) (map[string]any, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, fail(http.StatusRequestEntityTooLarge, CodeMalformedPayload, "The request body is too large or unreadable.")
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, fail(http.StatusBadRequest, CodeMalformedPayload, "Error identified in Payload provided by the user for Entity.")
	}
	return obj, nil
}
