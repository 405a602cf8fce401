package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// Serve accepts requests on ln (with TLS when configured) and runs the consumer until ctx ends
// or either of them fails, then shuts down as the package doc's # Shutdown describes. It returns
// nil after a clean shutdown that ctx started, and otherwise what went wrong. Serve closes ln; it
// may be called only once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.started.CompareAndSwap(false, true) {
		ln.Close()
		return errors.New("httpserver: Serve called twice")
	}
	srv := s.httpServer()
	consumeCtx, stopConsuming := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsuming()
	consumed := make(chan error, 1)
	if s.pipe.Consumer != nil {
		go func() {
			err := s.pipe.Consumer.Run(consumeCtx)
			s.consumer.Store(&err)
			consumed <- err
		}()
	}
	refreshCtx, stopRefreshing := context.WithCancel(ctx)
	defer stopRefreshing()
	if s.allow != nil {
		go s.allow.refreshLoop(refreshCtx)
	}
	served := make(chan error, 1)
	go func() { served <- s.serveHTTP(srv, ln) }()
	s.log.Info("httpserver: serving", "addr", ln.Addr().String(), "tls", s.tls != nil,
		"webhook", s.opts.WebhookPattern, "allowlist", s.allow != nil)

	var runErr error
	consumerDone := false
	select {
	case <-ctx.Done():
	case runErr = <-served:
		runErr = fmt.Errorf("httpserver: serve: %w", runErr)
	case runErr = <-consumed:
		consumerDone = true
		if runErr != nil {
			runErr = fmt.Errorf("httpserver: consumer stopped: %w", runErr)
		}
	}
	stopRefreshing()
	return errors.Join(runErr, s.shutdown(srv, stopConsuming, consumed, consumerDone))
}

func (s *Server) serveHTTP(srv *http.Server, ln net.Listener) error {
	var err error
	if s.tls != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops everything in the order that loses nothing, within ShutdownTimeout: HTTP
// (in-flight requests finish), Settle, the consumer (in-flight messages finish), the receiver
// (acks flushed), the senders (sends flushed), the sink.
func (s *Server) shutdown(srv *http.Server, stopConsuming context.CancelFunc, consumed <-chan error, consumerDone bool) error {
	s.stopping.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	s.log.Info("httpserver: shutting down: finishing requests and events in flight")
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("httpserver: http shutdown: %w", err))
		srv.Close() // the deadline passed: cut the connections still open
	}
	if s.pipe.Settle != nil {
		if err := s.pipe.Settle(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	stopConsuming()
	if s.pipe.Consumer != nil && !consumerDone {
		// Run drains within its own DrainTimeout; acks must not be flushed before it returns.
		if err := <-consumed; err != nil {
			errs = append(errs, fmt.Errorf("httpserver: consumer: %w", err))
		}
	}
	errs = append(errs, s.closePipeline(ctx))
	s.log.Info("httpserver: stopped")
	return errors.Join(errs...)
}

func (s *Server) closePipeline(ctx context.Context) error {
	var errs []error
	if c := s.pipe.Consumer; c != nil {
		errs = append(errs, c.Receiver().Shutdown(ctx))
		if dl := c.DeadLetter(); dl != nil {
			errs = append(errs, dl.Shutdown(ctx))
		}
	}
	if s.pipe.Sender != nil {
		errs = append(errs, s.pipe.Sender.Shutdown(ctx))
	}
	if s.pipe.Sink != nil {
		errs = append(errs, s.pipe.Sink.Close())
	}
	return errors.Join(errs...)
}
