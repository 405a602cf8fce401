package dataversetest_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// waitRetryAfter sleeps for the Retry-After of h.
func waitRetryAfter(t *testing.T, h http.Header) {
	t.Helper()
	d, err := time.ParseDuration(h.Get("Retry-After") + "s")
	if err != nil {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	time.Sleep(d + 50*time.Millisecond)
}

func message(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func TestRequestLimitSlides(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{Requests: 5, Window: time.Second}})
	for i := range 5 {
		st, h, _ := c.do("GET", byKey, "")
		if st != 404 || h.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != string(rune('4'-i)) {
			t.Fatalf("request %d: %d, remaining %q", i, st, h.Get("x-ms-ratelimit-burst-remaining-xrm-requests"))
		}
	}
	st, h, body := c.do("GET", byKey, "")
	if st != 429 || errorCode(body) != dataversetest.CodeTooManyRequests || h.Get("Retry-After") != "1" ||
		message(body) != "Number of requests exceeded the limit of 5 over time window of 1 seconds." {
		t.Fatalf("sixth request: %d Retry-After %q %v", st, h.Get("Retry-After"), body)
	}
	// Another user has a window of its own.
	c.srv.SetTokens()
	if st, _, _ := c.do("GET", byKey, "", "Authorization", "Bearer other"); st != 404 {
		t.Fatalf("another user: %d", st)
	}
	waitRetryAfter(t, h)
	if st, _, _ := c.do("GET", byKey, ""); st != 404 {
		t.Fatalf("after Retry-After: %d", st)
	}
	if c.srv.Throttled() != 1 || c.srv.Operations() != 7 || c.srv.TotalRequests() != 8 {
		t.Fatalf("throttled %d, operations %d, requests %d", c.srv.Throttled(), c.srv.Operations(), c.srv.TotalRequests())
	}
}

func TestRefusedRequestsCount(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{Requests: 2, Window: 2 * time.Second}})
	c.do("GET", byKey, "") // at 0 s
	time.Sleep(1100 * time.Millisecond)
	c.do("GET", byKey, "") // at 1.1 s
	// Refused, and counted: there is room again once both earlier requests left the window.
	st, h, _ := c.do("GET", byKey, "")
	if st != 429 || h.Get("Retry-After") != "2" {
		t.Fatalf("third request: %d Retry-After %q, want 2", st, h.Get("Retry-After"))
	}
	// At 2.1 s the first request left the window, but the refused one holds the second's place.
	time.Sleep(time.Second)
	st, h, _ = c.do("GET", byKey, "")
	if st != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("fourth request: %d Retry-After %q, want 1", st, h.Get("Retry-After"))
	}
	waitRetryAfter(t, h)
	if st, _, _ := c.do("GET", byKey, ""); st != 404 {
		t.Fatalf("after Retry-After: %d", st)
	}
}

func TestExecutionTimeLimit(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{
		ExecutionTime: 10 * time.Second, ExecutionCost: 4 * time.Second, Window: time.Second}})
	st, h, _ := c.do("GET", byKey, "")
	if st != 404 || h.Get("x-ms-ratelimit-time-remaining-xrm-requests") != "6,000.00" ||
		h.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != "5999" {
		t.Fatalf("first request: %d, remaining %q %q", st, h.Get("x-ms-ratelimit-time-remaining-xrm-requests"),
			h.Get("x-ms-ratelimit-burst-remaining-xrm-requests"))
	}
	c.do("GET", byKey, "")
	st, h, body := c.do("GET", byKey, "")
	want := "Combined execution time of incoming requests exceeded limit of 10,000 milliseconds over time window " +
		"of 1 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
	if st != 429 || errorCode(body) != dataversetest.CodeExecutionTime || message(body) != want ||
		h.Get("Retry-After") != "1" || h.Get("x-ms-ratelimit-time-remaining-xrm-requests") != "2,000.00" {
		t.Fatalf("third request: %d Retry-After %q %v %q", st, h.Get("Retry-After"), body,
			h.Get("x-ms-ratelimit-time-remaining-xrm-requests"))
	}
	waitRetryAfter(t, h)
	if st, _, _ := c.do("GET", byKey, ""); st != 404 {
		t.Fatalf("after Retry-After: %d", st)
	}
	if c.srv.Operations() != 3 || c.srv.Throttled() != 1 {
		t.Fatalf("operations %d, throttled %d", c.srv.Operations(), c.srv.Throttled())
	}
}

func TestDefaultLimitMessages(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{ExecutionCost: 1201 * time.Second}})
	st, h, body := c.do("GET", byKey, "")
	want := "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window " +
		"of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
	if st != 429 || message(body) != want || h.Get("Retry-After") != "300" {
		t.Fatalf("a request costing more than the limit: %d Retry-After %q %v", st, h.Get("Retry-After"), body)
	}
	c = newClient(t, &dataversetest.Options{Limits: &dataversetest.Limits{}})
	for range 6000 {
		c.do("GET", byKey, "")
	}
	st, h, body = c.do("GET", byKey, "")
	if retry, _ := strconv.Atoi(h.Get("Retry-After")); st != 429 || retry < 290 || retry > 300 ||
		message(body) != "Number of requests exceeded the limit of 6000 over time window of 300 seconds." {
		t.Fatalf("request 6001: %d Retry-After %q %v", st, h.Get("Retry-After"), body)
	}
}

func TestConcurrencyCounters(t *testing.T) {
	c := newClient(t, &dataversetest.Options{Latency: 100 * time.Millisecond, MaxConcurrent: 2})
	var wg sync.WaitGroup
	codes := make(chan string, 6)
	for range 6 {
		wg.Go(func() {
			if st, h, body := c.do("GET", byKey, ""); st == 429 {
				codes <- errorCode(body) + " " + h.Get("Retry-After")
			}
		})
	}
	wg.Wait()
	close(codes)
	n := 0
	for code := range codes {
		if code != dataversetest.CodeTooManyConcurrent+" 1" {
			t.Errorf("429 with %q", code)
		}
		n++
	}
	if n == 0 || c.srv.Throttled() != n || c.srv.MaxInFlight() < 3 || c.srv.Operations() != 6-n {
		t.Fatalf("%d refused; throttled %d, max in flight %d, operations %d", n, c.srv.Throttled(),
			c.srv.MaxInFlight(), c.srv.Operations())
	}
	c.srv.ResetRequests()
	if c.srv.Throttled() != 0 || c.srv.MaxInFlight() != 0 || c.srv.Operations() != 0 {
		t.Fatal("ResetRequests left counters")
	}
}

func TestDOPHintAffinityAndHeaders(t *testing.T) {
	c := newClient(t, &dataversetest.Options{DOPHint: 8})
	st, h, _ := c.do("GET", byKey, "")
	cookie := h.Get("Set-Cookie")
	if st != 404 || h.Get("x-ms-dop-hint") != "8" || !strings.HasPrefix(cookie, "ARRAffinity=") ||
		!strings.HasSuffix(cookie, "; Path=/; HttpOnly") {
		t.Fatalf("%d, x-ms-dop-hint %q, Set-Cookie %q", st, h.Get("x-ms-dop-hint"), cookie)
	}
	if h.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != "" {
		t.Error("informational limit headers without Options.Limits")
	}
	c.do("GET", byKey, "", "Cookie", strings.TrimSuffix(cookie, "; Path=/; HttpOnly"))
	c.do("PATCH", byKey, "{}", "MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync",
		"MSCRM.SuppressCallbackRegistrationExpanderJob", "true")
	c.do("PATCH", byKey, "{}", "mscrm.suppresscallbackregistrationexpanderjob", "True")
	if c.srv.AffinityRequests() != 1 {
		t.Errorf("affinity requests %d, want 1", c.srv.AffinityRequests())
	}
	if n := c.srv.HeaderCount("MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync"); n != 1 {
		t.Errorf("bypass header counted %d times, want 1", n)
	}
	if n := c.srv.HeaderCount("MSCRM.SuppressCallbackRegistrationExpanderJob", "true"); n != 2 {
		t.Errorf("suppress header counted %d times, want 2", n)
	}
	if n := c.srv.HeaderCount("MSCRM.BypassBusinessLogicExecution", "CustomSync"); n != 0 {
		t.Errorf("another value counted %d times", n)
	}
	if c.srv.TotalRequests() != 4 {
		t.Errorf("requests %d", c.srv.TotalRequests())
	}
}
