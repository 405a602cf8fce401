package dataverse

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"

	"github.com/hookline/hookline"
)

// DefaultBatchSize is how many operations a $batch request carries at most by default, chosen
// from the measurements in BENCHMARKS.md (Sinks at their limits): against a double with 50 ms
// of latency per request and 20 ms of execution per operation it drained a backlog fastest
// while staying far inside the 6,000 requests per 5 minutes.
const DefaultBatchSize = 25

// MaxBatchSize is Dataverse's documented limit of operations in one $batch request.
const MaxBatchSize = 1000

// maxBatchResponse bounds how much of a $batch response is read.
const maxBatchResponse = 64 << 20

// sendAll sends reqs and returns each one's response or error, in reqs' order. One request goes
// alone; several go in $batch requests of up to Options.BatchSize operations each, sent
// concurrently within the sink's concurrency limit.
func (s *Sink) sendAll(ctx context.Context, reqs []request) ([]*response, []error) {
	resps, errs := make([]*response, len(reqs)), make([]error, len(reqs))
	size := max(1, s.o.BatchSize)
	chunks := (len(reqs) + size - 1) / size
	// Spread the operations evenly over the chunks: 26 operations in batches of at most 25
	// go as 13 and 13, not 25 and 1.
	per := (len(reqs) + chunks - 1) / max(1, chunks)
	var wg sync.WaitGroup
	for lo := 0; lo < len(reqs); lo += per {
		hi := min(lo+per, len(reqs))
		wg.Go(func() {
			if hi-lo == 1 {
				resps[lo], errs[lo] = s.do(ctx, reqs[lo])
				return
			}
			s.batch(ctx, reqs[lo:hi], resps[lo:hi], errs[lo:hi])
		})
	}
	wg.Wait()
	return resps, errs
}

// batch sends ops in one $batch request with Prefer: odata.continue-on-error, so that each
// operation runs whatever the others' outcomes, and fills in each one's response or error.
func (s *Sink) batch(ctx context.Context, ops []request, resps []*response, errs []error) {
	body, contentType := s.batchBody(ops)
	what := fmt.Sprintf("POST $batch of %d operations (%s, ...)", len(ops), ops[0].what)
	resp, err := s.do(ctx, request{method: http.MethodPost, path: "$batch", body: body, what: what,
		maxResponse: maxBatchResponse,
		header:      map[string]string{"Content-Type": contentType, "Prefer": "odata.continue-on-error"}})
	if err == nil && resp.status != http.StatusOK {
		err = statusError(what, resp, s.o.Now())
	}
	var parts []*response
	if err == nil {
		parts, err = parseBatch(resp)
		if err != nil {
			err = hookline.Errorf(hookline.Transient, "dataverse: %s: %w", what, err)
		}
	}
	for i := range ops {
		switch {
		case err != nil:
			errs[i] = err
		case i < len(parts):
			resps[i] = parts[i]
		default:
			errs[i] = hookline.Errorf(hookline.Transient,
				"dataverse: %s: the $batch response has no answer for this operation (%d answers to %d operations)",
				ops[i].what, len(parts), len(ops))
		}
	}
}

// batchBody writes ops as the parts of a multipart/mixed $batch body ("Execute batch operations
// using the Web API"), each an application/http part holding the request line with the
// operation's absolute URL, its headers and its JSON body, and returns it with its Content-Type.
func (s *Sink) batchBody(ops []request) (body []byte, contentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary("batch_" + mw.Boundary()) // random, and named as Dataverse names batches
	partHeader := textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}}
	for _, op := range ops {
		pw, _ := mw.CreatePart(partHeader) // writes to b, which cannot fail
		fmt.Fprintf(pw, "%s %s%s HTTP/1.1\r\n", op.method, s.base, op.path)
		if op.body != nil {
			fmt.Fprintf(pw, "Content-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n", len(op.body))
		}
		for k, v := range s.bypass {
			fmt.Fprintf(pw, "%s: %s\r\n", k, v)
		}
		for k, v := range op.header {
			fmt.Fprintf(pw, "%s: %s\r\n", k, v)
		}
		pw.Write([]byte("\r\n"))
		pw.Write(op.body)
	}
	mw.Close()
	return b.Bytes(), "multipart/mixed; boundary=" + mw.Boundary()
}

// parseBatch reads the operations' responses out of a $batch response: a multipart/mixed body
// whose application/http parts each hold an HTTP response, in the operations' order.
func parseBatch(resp *response) ([]*response, error) {
	mt, params, err := mime.ParseMediaType(resp.header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "multipart/mixed") || params["boundary"] == "" {
		return nil, fmt.Errorf("response is %q, not multipart/mixed with a boundary", resp.header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(resp.body), params["boundary"])
	var out []*response
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading part %d: %w", len(out)+1, err)
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "multipart/mixed" {
			return nil, fmt.Errorf("part %d is a change set, which the sink never sends", len(out)+1)
		}
		hr, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			return nil, fmt.Errorf("part %d is not an HTTP response: %w", len(out)+1, err)
		}
		body, err := io.ReadAll(io.LimitReader(hr.Body, maxResponse))
		hr.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading part %d: %w", len(out)+1, err)
		}
		out = append(out, &response{status: hr.StatusCode, header: hr.Header, body: body})
	}
}
