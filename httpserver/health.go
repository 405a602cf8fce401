package httpserver

import (
	"errors"
	"net/http"
)

// Reasons /readyz gives with 503. They are fixed phrases; the underlying error is logged.
const (
	ReasonShuttingDown       = "shutting down"
	ReasonChannelUnavailable = "channel unavailable"
	ReasonConsumerStopped    = "consumer stopped"
)

// healthz answers 200 while the process serves at all.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

// readyz answers 200 only while the channel is reachable as far as the sender and (with a
// consumer) the receiver know, and 503 with a short reason otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	reason, err := s.notReady()
	if reason == "" {
		if !s.ready.Swap(true) {
			s.log.Info("httpserver: ready")
		}
		writeText(w, http.StatusOK, "ok")
		return
	}
	if s.ready.Swap(false) {
		s.log.Warn("httpserver: not ready", "reason", reason, "error", err)
	}
	writeText(w, http.StatusServiceUnavailable, reason)
}

// Readiness returns what GET /readyz answers: "" when ready, else one of the Reason phrases,
// with the error behind it (nil for ReasonShuttingDown).
func (s *Server) Readiness() (reason string, err error) { return s.notReady() }

// notReady returns why the server is not ready ("" when it is) and the error behind it.
func (s *Server) notReady() (string, error) {
	if s.stopping.Load() {
		return ReasonShuttingDown, nil
	}
	if p := s.consumer.Load(); p != nil {
		err := *p
		if err == nil {
			err = errors.New("consumer returned")
		}
		return ReasonConsumerStopped, err
	}
	if s.pipe.Consumer == nil {
		if err := s.pipe.Sender.Health(); err != nil {
			return ReasonChannelUnavailable, err
		}
		return "", nil
	}
	// A receiver in use reconnects by itself, so its health is current. A sender's is not: after a
	// failed send it stays failed until the next send reconnects it, and a probe that held traffic
	// back on that account would keep the sender failed for good. So with a consumer running, the
	// receiver decides; a failed sender alone only makes the webhook answer 503 until it recovers.
	if err := s.pipe.Consumer.Receiver().Health(); err != nil {
		return ReasonChannelUnavailable, err
	}
	if s.pipe.Sender == nil {
		return "", nil
	}
	if err := s.pipe.Sender.Health(); err != nil && s.ready.Load() {
		s.log.Debug("httpserver: sender failed; it reconnects at its next send", "error", err)
	}
	return "", nil
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(body + "\n"))
}
