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
//     {"error":{"code":"0x...","message":"..."}}. The optional headers that page lists, such as
//     MSCRM.BypassBusinessLogicExecution (CustomSync,CustomAsync) and
//     MSCRM.SuppressCallbackRegistrationExpanderJob: true, are accepted and counted per
//     operation ([Server.HeaderCount]); the double has no business logic to bypass.
//   - "Service protection API limits": 429 Too Many Requests with Retry-After (whole seconds)
//     and the documented error body. More than [Options.MaxConcurrent] (52) concurrent requests:
//     0x80072326. With [Options.Limits], per user (per bearer token) over a sliding window of 5
//     minutes: more than 6,000 requests, 0x80072322 "Number of requests exceeded the limit of
//     6000 over time window of 300 seconds."; more than 1,200 s of combined execution time,
//     0x80072321 "Combined execution time of incoming requests exceeded limit of 1,200,000
//     milliseconds over time window of 300 seconds. Decrease number of concurrent requests or
//     reduce the duration of requests and try again later." (the numbers are the configured
//     ones). Every request counts against the request limit, a refused one too, as Dataverse
//     counts them, so a client that keeps sending while refused stays refused; a refused
//     request costs no execution time. Retry-After is when the window has room again, rounded
//     up to whole seconds and at least 1: a test with a window scaled down to seconds gets
//     Retry-After: 1 when Dataverse would say less. Execution time is accounting only:
//     [Limits.ExecutionCost] per operation, charged when a request is admitted. Responses
//     carry x-ms-ratelimit-burst-remaining-xrm-requests (requests left) and
//     x-ms-ratelimit-time-remaining-xrm-requests (milliseconds left, written as Dataverse
//     does, "1,199,990.00"). Every response sets the cookie ARRAffinity (Path=/; HttpOnly), as
//     Dataverse's front end does; the page advises clients that spread their load to not send
//     it back ([Server.AffinityRequests] counts the requests that do).
//   - "Send parallel requests": every response carries x-ms-dop-hint, the recommended degree of
//     parallelism, when [Options.DOPHint] is set.
//   - "Execute batch operations using the Web API": POST $batch with Content-Type
//     multipart/mixed;boundary=batch_<id>, each part Content-Type: application/http and
//     Content-Transfer-Encoding: binary holding a request line (the URL absolute, an absolute
//     path, or relative to the service root), headers (If-Match, If-None-Match, Prefer, MSCRM.*,
//     ...), a blank line and the JSON body. The operations run in order with the code of plain
//     requests (rows and table definitions). The response is multipart/mixed;
//     boundary=batchresponse_<guid>, one application/http part per operation with its status
//     line, headers (OData-EntityId, ETag, OData-Version, ...) and body. Without Prefer:
//     odata.continue-on-error the error of the first operation that fails (4xx or 5xx) is
//     returned for the batch and the operations after it are not processed: the double answers
//     400 Bad Request with the parts up to and including the failure. With it all operations
//     run and the answer is 200 OK with Preference-Applied: odata.continue-on-error. More than 1,000 operations, a batch inside
//     a batch and change sets are refused with 400 (the wording of these messages is the
//     double's). A batch is one request against the request limit and costs the execution time
//     of its operations; when that would exceed the limit the whole batch gets 429.
//   - "Troubleshoot Dataverse Web API client errors": 404 "Resource not found for the segment"
//     (0x8006088a) for an unknown entity set; 400 "Could not find a property named 'x' on type
//     'Microsoft.Dynamics.CRM.contact'" for a $select of a column the table lacks. A payload
//     with such a column is refused with 400, 0x80060888 and OData's "The property 'x' does not
//     exist on type ..." (0x80060888 is the code Dataverse gives such OData errors in practice;
//     the page's own example shows 0x0).
//   - "Query table definitions using the Web API", "Use the Web API with table definitions":
//     GET EntityDefinitions (with $filter on EntitySetName or LogicalName),
//     EntityDefinitions(LogicalName='contact') or (<MetadataId>), with $select and
//     $expand=Attributes(...),Keys(...),ManyToOneRelationships(...); the collections
//     .../Attributes (cast to a derived type, e.g. /Microsoft.Dynamics.CRM.StringAttributeMetadata,
//     to read MaxLength; $filter on AttributeType), .../Attributes(LogicalName='x'), .../Keys,
//     .../ManyToOneRelationships. MetadataId is always returned, and $select of a property the
//     (cast) type lacks is refused as Dataverse does.
//   - "Web API EntityMetadata / AttributeMetadata / EntityKeyMetadata" types: LogicalName,
//     SchemaName, EntitySetName, PrimaryIdAttribute, PrimaryNameAttribute; AttributeType,
//     AttributeTypeName, @odata.type (#Microsoft.Dynamics.CRM.StringAttributeMetadata, ...),
//     MaxLength, Format, DateTimeBehavior, Targets, Precision; KeyAttributes and
//     EntityKeyIndexStatus (Pending, InProgress, Active, Failed).
//   - "Create and update column definitions using the Web API": POST .../Attributes creates
//     String, Memo, Integer, BigInt, Decimal, Double, Money, Boolean and DateTime columns (204
//     with OData-EntityId; SchemaName with a customization prefix, lower-cased into the
//     LogicalName; a DisplayName label). Choice (Picklist) and lookup columns are refused with
//     a message saying so: declare them with [Options.Tables]; reading them works.
//   - "Work with alternate keys" (Define alternate keys): POST .../Keys with SchemaName and
//     KeyAttributes creates a key whose index an asynchronous job builds: Pending, InProgress,
//     then Active, or Failed when rows share a value (see [Options.KeyActivation]). Only an
//     Active key addresses rows; keys on Memo, Boolean and other types, an eleventh key and a
//     second key on the same column are refused. DELETE .../Keys(LogicalName='x') removes one.
//
// Tables: contacts has a realistic selection of contact's standard columns (firstname,
// lastname, fullname, emailaddress1, telephone1, address1_*, description, statecode,
// statuscode, createdon, parentcustomerid, ...), each entity set of [Options.EntitySets] has
// hookline's columns and key unless [Options.Fresh], and [Options.Tables] adds tables, columns
// and keys. Writes refuse columns a table does not have, and bind lookups with
// "<navigation property>@odata.bind" (stored as "_<column>_value").
//
// What it does not model: $filter, $expand and paging of rows, change sets (atomic groups in a
// $batch, refused with 400 "Change sets are not modeled by the double") and Content-ID
// references, per-user concurrency (the concurrency limit counts all requests), composite
// alternate keys, the values a column accepts (its type, MaxLength, ranges and choices), read-only
// columns, solutions (MSCRM.SolutionUniqueName is ignored), publishing, and the exact wording of
// metadata validation errors (the double answers 400 with 0x80040203 and its own message).
//
// Besides the API, a [Server] offers what tests need: bearer-token checks with tokens it accepts
// ([Server.SetTokens]), injected throttling ([Server.Throttle]), errors ([Server.FailNext]) and
// latency ([Server.SetLatency]), request counters ([Server.Requests]) and what benchmarks report
// ([Server.Operations], [Server.Throttled], [Server.MaxInFlight]), what a client sent
// ([Server.AffinityRequests], [Server.HeaderCount]), access to stored rows ([Server.Row]) and
// table definitions ([Server.Table]), and key states ([Server.SetKeyStatus]).
// It is safe for concurrent use.
package dataversetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BasePath is the path of the Web API under the server's URL.
const BasePath = "/api/data/v9.2/"

// Options configure a Server. A nil *Options means the defaults.
type Options struct {
	// EntitySets maps each entity set the server has to the logical name of the text column
	// its alternate key is defined on. Nil means {"contacts": "new_stripecustomerid"}. The
	// table's logical name is the entity set's without its final "s". A table has its standard
	// columns (contact's for contacts, a custom table's otherwise: see [Table]) and, unless
	// Fresh is set, what hookline's setup creates: the key column (Text, 100 characters) with
	// an Active alternate key, new_stripeeventcreated (Date and Time, time zone independent)
	// and new_stripeeventid (Text, 100 characters).
	EntitySets map[string]string
	// Fresh makes the tables of EntitySets start as in an environment hookline was never set
	// up in: without the key column, the event columns and the alternate key.
	Fresh bool
	// Tables declares more tables, or more columns and keys for a table of EntitySets (same
	// entity set). Every table has a primary key column <logical name>id, statecode,
	// statuscode, createdon, modifiedon, ownerid and a few more system columns; a table other
	// than contact has the primary name column <prefix>_name (Text, 100 characters).
	Tables []Table
	// KeyActivation is how long the index job of a key created through the Web API takes at
	// least. Such a key is Pending; each metadata read that returns it then moves its job one
	// step: to InProgress, then (once KeyActivation has passed) to Active, or to Failed if
	// two rows share a value of its column.
	KeyActivation time.Duration
	// FailKeyJobs makes the index jobs of keys created through the Web API end Failed.
	FailKeyJobs bool
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
	// Limits turns on the service protection limits on the number of requests and their
	// combined execution time per user; nil means none. The limit of concurrent requests is
	// MaxConcurrent's, with or without Limits.
	Limits *Limits
	// OperationLatency is added for every operation the server executes, after Latency: a
	// plain request takes Latency + OperationLatency, a $batch of n operations Latency + n ×
	// OperationLatency, because Dataverse runs a batch's operations one after the other. With
	// Limits.ExecutionCost set to the same value, the time a request takes is the time it is
	// charged.
	OperationLatency time.Duration
	// DOPHint, when positive, is sent on every response as x-ms-dop-hint, Dataverse's
	// recommended degree of parallelism.
	DOPHint int
}

// Row is one stored table row.
type Row struct {
	// ID is the row's primary key, a GUID.
	ID string
	// ETag is its current weak ETag, W/"<n>".
	ETag string
	// Columns are its column values as the client sent them, decoded from JSON (strings,
	// float64, bool, nil, maps and slices). The primary key column is <entity>id and the
	// alternate key column holds the key value; a lookup bound with
	// "<navigation property>@odata.bind" is "_<column>_value", holding what the URL's
	// parentheses held (the id).
	Columns map[string]any
}

// Server is a running double. Create it with [New]; stop it with [Server.Close].
type Server struct {
	srv  *httptest.Server
	opts Options

	inFlight atomic.Int64
	affinity string // the ARRAffinity cookie's value

	mu       sync.Mutex
	sets     map[string]*table // by entity set name
	tables   map[string]*table // by logical name
	tokens   map[string]bool
	latency  time.Duration
	throttle throttle
	faults   []fault
	counts   map[string]int
	etag     int64
	guid     int64

	limits      Limits // with defaults, when opts.Limits is set
	usage       map[string]*usage
	operations  int
	throttled   int
	maxInFlight int
	affine      int
	headers     map[string]int // by lower-case "name\nvalue"
}

type throttle struct {
	n          int
	retryAfter time.Duration
}

type fault struct {
	status        int
	code, message string
}

// New starts a Server on a loopback address.
func New(opts *Options) *Server {
	s := &Server{counts: make(map[string]int), sets: make(map[string]*table), tables: make(map[string]*table),
		usage: make(map[string]*usage), headers: make(map[string]int)}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Limits != nil {
		s.limits = s.opts.Limits.withDefaults()
	}
	var b [32]byte
	rand.Read(b[:])
	s.affinity = hex.EncodeToString(b[:])
	s.build()
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

// ResetRequests sets the request counters to zero: those of Requests, Operations, Throttled,
// AffinityRequests and HeaderCount, and MaxInFlight to the requests now in progress. The
// usage that Options.Limits evaluate is not reset.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
	clear(s.headers)
	s.operations, s.throttled, s.affine = 0, 0, 0
	s.maxInFlight = int(s.inFlight.Load())
}

// Operations returns how many operations the server executed: requests and parts of $batch
// requests that reached the table rows or definitions, whatever their answer. Requests refused
// before (401, 429, an injected failure, a malformed $batch) are not operations.
func (s *Server) Operations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.operations
}

// Throttled returns how many requests the server answered with 429 Too Many Requests, for any
// of the service protection limits or injected with [Server.Throttle].
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// MaxInFlight returns the largest number of requests the server had in progress at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// AffinityRequests returns how many requests came with the ARRAffinity cookie that every
// response sets. A client that spreads its load over Dataverse's servers does not send it.
func (s *Server) AffinityRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.affine
}

// HeaderCount returns how many operations (see [Server.Operations]) carried the header name
// with value, both compared without regard to case: a plain request's headers, or a $batch
// part's own (not the $batch request's). Only the headers named MSCRM.* and Prefer are counted,
// such as MSCRM.BypassBusinessLogicExecution: CustomSync,CustomAsync or
// MSCRM.SuppressCallbackRegistrationExpanderJob: true.
func (s *Server) HeaderCount(name, value string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[headerKey(name, value)]
}

func headerKey(name, value string) string {
	return strings.ToLower(name) + "\n" + strings.ToLower(strings.TrimSpace(value))
}

// countOperation counts an operation and the headers HeaderCount reports.
func (s *Server) countOperation(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.operations++
	for name, values := range h {
		if lower := strings.ToLower(name); lower == "prefer" || strings.HasPrefix(lower, "mscrm.") {
			for _, v := range values {
				s.headers[headerKey(name, v)]++
			}
		}
	}
}

// Row returns a copy of the row of entitySet whose key column holds key: the column
// Options.EntitySets names, or that of the first key of a table of Options.Tables.
func (s *Server) Row(entitySet, key string) (Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.sets[entitySet]
	if set == nil || set.keyCol == "" {
		return Row{}, false
	}
	if k := set.activeKeyOn(set.keyCol); k != nil {
		if r := k.index[key]; r != nil {
			return copyRow(r), true
		}
		return Row{}, false
	}
	for _, r := range set.rows {
		if v, ok := r.Columns[set.keyCol].(string); ok && v == key {
			return copyRow(r), true
		}
	}
	return Row{}, false
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
