package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// BenchmarkUnitTest measures what one unit test of a user's flow costs on each in-process
// scheme: it does what Example_unitTest does (open a pipeline on a fresh channel, post one
// signed event, stop, and find the event in the sink), once per iteration. Run it 100 times to
// time a suite of 100 such tests:
//
//	go test -run '^$' -bench UnitTest -benchtime 100x ./pipeline
func BenchmarkUnitTest(b *testing.B) {
	for _, scheme := range []string{"mem", "inproc"} {
		b.Run(scheme, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n++
				if err := oneUnitTest(fmt.Sprintf("%s://bench-unit-test-%d", scheme, n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func oneUnitTest(channelURL string) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	store := sink.NewMemory()
	p, err := pipeline.Open(ctx, pipeline.Config{Channel: channelURL, Secrets: []string{"whsec_test"}}, &pipeline.Options{Sink: store})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	body := stripehook.SampleEvent("customer.created", "cus_42", time.Now())
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/webhook", bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, "whsec_test", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	stop()
	if err := <-done; err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || store.Len() != 1 {
		return fmt.Errorf("status %d, %d events stored, want 200 and 1", resp.StatusCode, store.Len())
	}
	return nil
}
