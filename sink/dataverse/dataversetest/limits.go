package dataversetest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// CodeExecutionTime is the service protection error of the combined execution time limit.
const CodeExecutionTime = "0x80072321"

// Limits are Dataverse's service protection API limits, evaluated per user (per bearer token)
// over a sliding window. Zero fields take Dataverse's values.
type Limits struct {
	// Requests is how many requests a user may send within Window; 6,000 by default. Every
	// request counts, refused ones too; a $batch counts as one request.
	Requests int
	// ExecutionTime is the combined execution time a user's requests may take within Window;
	// 1,200 seconds by default.
	ExecutionTime time.Duration
	// Window is the sliding window; 5 minutes by default. Tests scale it (and Requests) down.
	Window time.Duration
	// ExecutionCost is the execution time each operation is charged: a plain request is one
	// operation, a $batch is as many as it has parts. It is accounting only: the server does not
	// sleep for it (that is Options.Latency). Zero means operations cost nothing, and the
	// execution time limit never trips.
	ExecutionCost time.Duration
}

// withDefaults returns l with Dataverse's values in its zero fields.
func (l Limits) withDefaults() Limits {
	if l.Requests <= 0 {
		l.Requests = 6000
	}
	if l.ExecutionTime <= 0 {
		l.ExecutionTime = 1200 * time.Second
	}
	if l.Window <= 0 {
		l.Window = 5 * time.Minute
	}
	return l
}

// usage is one user's requests within the window, oldest first.
type usage struct {
	events   []usageEvent
	requests int
	cost     time.Duration
}

type usageEvent struct {
	at   time.Time
	cost time.Duration
}

// slide drops the events older than window.
func (u *usage) slide(now time.Time, window time.Duration) {
	i := 0
	for i < len(u.events) && now.Sub(u.events[i].at) >= window {
		u.requests--
		u.cost -= u.events[i].cost
		i++
	}
	u.events = u.events[i:]
}

func (u *usage) add(now time.Time, cost time.Duration) {
	u.events = append(u.events, usageEvent{at: now, cost: cost})
	u.requests++
	u.cost += cost
}

// limitRefusal is a request refused by a service protection limit.
type limitRefusal struct {
	err        *apiError
	retryAfter time.Duration
}

// admit charges a request of user costing cost against the limits, or refuses it. Every
// request counts against the request limit, a refused one too; a refused request costs no
// execution time. It returns the remaining requests and execution time for the informational
// headers. s.mu is held.
func (s *Server) admit(user string, cost time.Duration, now time.Time) (remaining int, timeLeft time.Duration, refused *limitRefusal) {
	l := s.limits
	u := s.usage[user]
	if u == nil {
		u = &usage{}
		s.usage[user] = u
	}
	u.slide(now, l.Window)
	switch {
	case u.requests >= l.Requests:
		u.add(now, 0)
		// A request is admitted again once the window holds fewer than l.Requests of them.
		at := u.events[u.requests-l.Requests].at.Add(l.Window)
		refused = &limitRefusal{retryAfter: at.Sub(now), err: fail(http.StatusTooManyRequests, CodeTooManyRequests,
			"Number of requests exceeded the limit of %d over time window of %s seconds.", l.Requests, seconds(l.Window))}
	case cost > 0 && u.cost+cost > l.ExecutionTime:
		u.add(now, 0)
		// It is admitted once enough of the charged time has left the window.
		retry := l.Window
		freed := time.Duration(0)
		for _, e := range u.events {
			freed += e.cost
			if u.cost-freed+cost <= l.ExecutionTime {
				retry = e.at.Add(l.Window).Sub(now)
				break
			}
		}
		refused = &limitRefusal{retryAfter: retry, err: fail(http.StatusTooManyRequests, CodeExecutionTime,
			"Combined execution time of incoming requests exceeded limit of %s milliseconds over time window of "+
				"%s seconds. Decrease number of concurrent requests or reduce the duration of requests and try again "+
				"later.", thousands(l.ExecutionTime.Milliseconds()), seconds(l.Window))}
	default:
		u.add(now, cost)
	}
	return max(0, l.Requests-u.requests), max(0, l.ExecutionTime-u.cost), refused
}

// seconds formats d in seconds: "300", or "2.5" for a scaled window.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// thousands formats n with thousands separators, 1200000 as "1,200,000".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// retryAfterSeconds rounds d up to whole seconds, at least 1, as the Retry-After header has them.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// tooMany answers 429 Too Many Requests with Retry-After and counts the answer.
func (s *Server) tooMany(w http.ResponseWriter, retryAfter time.Duration, err *apiError) {
	s.mu.Lock()
	s.throttled++
	s.mu.Unlock()
	w.Header().Set("Retry-After", retryAfterSeconds(retryAfter))
	writeError(w, err)
}

// limitHeaders sets the informational headers of the service protection limits: the requests
// left, and the execution time left in milliseconds as Dataverse writes it ("1,199,990.00").
func limitHeaders(w http.ResponseWriter, remaining int, timeLeft time.Duration) {
	w.Header().Set("x-ms-ratelimit-burst-remaining-xrm-requests", strconv.Itoa(remaining))
	ms := timeLeft.Microseconds()
	w.Header().Set("x-ms-ratelimit-time-remaining-xrm-requests", fmt.Sprintf("%s.%02d", thousands(ms/1000), ms%1000/10))
}
