// Package dataversetest is a test double of the Microsoft Dataverse Web API: an HTTP server that
// keeps table rows in memory and answers as the documented service does, for tests of code that
// writes to Dataverse (package dataverse, the local example's end-to-end test, your own program).
// No Dataverse emulator exists, so the double follows these Microsoft Learn pages:
//
//   - "Use the Dataverse Web API": the /api/data/v9.2/ base path, entity set names, the OData
//     headers (OData-MaxVersion, OData-Version, Accept, Content-Type).
//   - "Create a table row using the Web API": POST to an entity set answers 204 No Content with an
//     OData-EntityId header naming the new row (201 with the row when Prefer: return=representation).
//   - "Update and delete table rows using the Web API": PATCH updates, or creates when the row does
//     not exist (upsert); If-Match: * prevents the create and If-None-Match: * prevents the
//     update; DELETE removes a row; rows are addressed by primary key or by alternate key.
//   - "Use alternate keys": contacts(new_stripecustomerid='cus_123'), single quotes in a value
//     doubled as OData requires; a second row with the same key value is refused.
//   - "Perform conditional operations using the Web API": every row has a weak ETag (W/"<n>"),
//     returned as @odata.etag by GET, that changes on every write; If-Match with a stale ETag
//     answers 412 Precondition Failed.
//   - "Compose HTTP requests and handle errors": failures carry the body
//     {"error":{"code":"0x...","message":"..."}}.
//   - "Service protection API limits": 429 Too Many Requests with Retry-After (seconds) and the
//     documented error codes, including the limit of 52 concurrent requests per user.
//
// What it does not model: table metadata (any column name is accepted and stored as sent), lookups,
// $filter, $expand, batches, and the difference between a column's type and its JSON value.
//
// Besides the API, a [Server] offers what tests need: bearer-token checks with tokens it accepts
// ([Server.SetTokens]), injected throttling ([Server.Throttle]), errors ([Server.FailNext]) and
// latency ([Server.SetLatency]), request counters ([Server.Requests]) and access to stored rows
// ([Server.Row]). It is safe for concurrent use.
package dataversetest

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// BasePath is the path of the Web API under the server's URL.
const BasePath = "/api/data/v9.2/"

// Options configure a Server. A nil *Options means the defaults.
type Options struct {
	// EntitySets maps each entity set the server has to the logical name of the column its
	// alternate key is defined on. Nil means {"contacts": "new_stripecustomerid"}.
	EntitySets map[string]string
	// Tokens are the bearer tokens the server accepts. Empty means any non-empty bearer token.
	Tokens []string
	// Latency is added to every request before it is handled.
	Latency time.Duration
	// MaxConcurrent is how many requests may be in progress at once before the server answers
	// 429 with error code 0x80072326, as Dataverse does for more than 52 concurrent requests
	// per user. Zero means 52.
	MaxConcurrent int
	// RequireHeaders makes the server refuse, with 400, requests without the OData headers the
	// Web API documentation asks for (OData-MaxVersion: 4.0, OData-Version: 4.0, Accept:
	// application/json, and Content-Type: application/json on requests with a body). Dataverse
	// itself is lenient; tests of a client turn this on.
	RequireHeaders bool
}

// Row is one stored table row.
type Row struct {
	// ID is the row's primary key, a GUID.
	ID string
	// ETag is its current weak ETag, W/"<n>".
	ETag string
	// Columns are its column values as the client sent them, decoded from JSON (strings,
	// float64, bool, nil, maps and slices). The primary key column is <entity>id and the
	// alternate key column holds the key value.
	Columns map[string]any
}

// Server is a running double. Create it with [New]; stop it with [Server.Close].
type Server struct {
	srv  *httptest.Server
	opts Options

	inFlight atomic.Int64

	mu       sync.Mutex
	sets     map[string]*entitySet
	tokens   map[string]bool
	latency  time.Duration
	throttle throttle
	faults   []fault
	counts   map[string]int
	etag     int64
	guid     int64
}

type throttle struct {
	n          int
	retryAfter time.Duration
}

type fault struct {
	status        int
	code, message string
}

type entitySet struct {
	name, key string
	rows      map[string]*Row // by ID
	byKey     map[string]*Row // by alternate key value
}

// New starts a Server on a loopback address.
func New(opts *Options) *Server {
	s := &Server{counts: make(map[string]int), sets: make(map[string]*entitySet)}
	if opts != nil {
		s.opts = *opts
	}
	sets := s.opts.EntitySets
	if sets == nil {
		sets = map[string]string{"contacts": "new_stripecustomerid"}
	}
	for name, key := range sets {
		s.sets[name] = &entitySet{name: name, key: key, rows: make(map[string]*Row), byKey: make(map[string]*Row)}
	}
	if s.opts.MaxConcurrent <= 0 {
		s.opts.MaxConcurrent = 52
	}
	s.latency = s.opts.Latency
	s.SetTokens(s.opts.Tokens...)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the server's base URL, http://127.0.0.1:<port>, for the dataverse sink's
// endpoint parameter.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetTokens replaces the accepted bearer tokens; none means any non-empty token.
func (s *Server) SetTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = make(map[string]bool, len(tokens))
	for _, t := range tokens {
		s.tokens[t] = true
	}
}

// SetLatency changes the delay added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Throttle makes the next n requests fail with 429 Too Many Requests, error code 0x80072322 and
// Retry-After: retryAfter (whole seconds, at least 1).
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = throttle{n: n, retryAfter: retryAfter}
}

// FailNext makes the next n requests (after throttling) fail with status and the documented
// error body carrying code (such as "0x80040203") and message.
func (s *Server) FailNext(n, status int, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, code: code, message: message})
	}
}

// Requests returns how many requests the server received, by method ("GET", "PATCH", ...),
// including refused ones.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// TotalRequests returns how many requests the server received.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// ResetRequests sets the request counters to zero.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

// Row returns a copy of the row of entitySet whose alternate key is key.
func (s *Server) Row(entitySet, key string) (Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.sets[entitySet]
	if set == nil {
		return Row{}, false
	}
	r := set.byKey[key]
	if r == nil {
		return Row{}, false
	}
	return copyRow(r), true
}

// Rows returns copies of all rows of entitySet, in no particular order.
func (s *Server) Rows(entitySet string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.sets[entitySet]
	if set == nil {
		return nil
	}
	out := make([]Row, 0, len(set.rows))
	for _, r := range set.rows {
		out = append(out, copyRow(r))
	}
	return out
}

// Inactive reports whether the row is deactivated (statecode 1).
func (r Row) Inactive() bool {
	v, ok := r.Columns["statecode"].(float64)
	return ok && v == 1
}

func copyRow(r *Row) Row {
	return Row{ID: r.ID, ETag: r.ETag, Columns: maps.Clone(r.Columns)}
}

// nextETag returns a fresh weak ETag; s.mu is held.
func (s *Server) nextETag() string {
	s.etag++
	return fmt.Sprintf(`W/"%d"`, s.etag)
}

// nextID returns a fresh GUID; s.mu is held.
func (s *Server) nextID() string {
	s.guid++
	return fmt.Sprintf("00000000-0000-0000-0000-%012x", s.guid)
}
