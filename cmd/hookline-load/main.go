// Command hookline-load measures the local pipeline under load: it starts the pipeline package's
// wiring in this process (webhook → in-process channel → consumer → sink), drives it over
// loopback with signed ~2 KB Stripe events on keep-alive connections, and reports accepted
// events/s, webhook latency and webhook-to-sink latency. It measures the pipeline on each
// in-process channel scheme in turn (-schemes, default mem:// then inproc://) and, for
// comparison, a bare net/http handler that only reads the body and verifies the signature.
//
//	go run ./cmd/hookline-load                       # 10s at full speed on 64 connections per scheme, then the bare handler
//	go run ./cmd/hookline-load -rate 2000 -d 10s     # latency at a fixed, moderate rate
//	go run ./cmd/hookline-load -bare=false -telemetry  # the cost of tracing and metrics
//	go run ./cmd/hookline-load -bare=false -schemes inproc -console -rounds 5  # the cost of the operator console
//
// Each run reports accepted and consumed events/s, latencies, heap in use each second, and the
// process's CPU time per event (the load generator included), which at a fixed -rate is the
// steadier measure of a variant's cost.
//
// HOOKLINE_CHANNEL and HOOKLINE_SUBSCRIPTION, when set, point the pipeline at a broker instead
// (for rabbit:// the exchange and a quorum queue of those names are declared and bound). The
// sink is a no-op (discard://), so the figures are the pipeline's own, unless -sink names
// another; -subjects spreads the events over that many customers (rows), and -batch sets the
// consumer's batch size (1: one event at a time), for the figures end to end:
//
//	RABBIT_SERVER_URL=amqp://guest:guest@127.0.0.1:5672/ HOOKLINE_CHANNEL=rabbit://hookline-load \
//	  go run ./cmd/hookline-load -bare=false
//	RABBIT_SERVER_URL=... HOOKLINE_CHANNEL=rabbit://hookline-load go run ./cmd/hookline-load -bare=false \
//	  -sink 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&table=load' -subjects 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/hookline/hookline/cmd/hookline-load/internal/loadgen"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hookline-load", flag.ContinueOnError)
	d := fs.Duration("d", 10*time.Second, "how long to send")
	conns := fs.Int("c", 64, "keep-alive connections")
	rate := fs.Int("rate", 0, "events per second in total (0: as fast as possible)")
	bare := fs.Bool("bare", true, "also measure a bare net/http handler that only verifies signatures")
	obvious := fs.Bool("obvious", false, "also measure the pipeline written the obvious way with stripe-go and gocloud")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline run to this file")
	withTelemetry := fs.Bool("telemetry", false, "then run the pipeline alternately with tracing (every span sampled) and metrics on, "+
		"exported to exporters that drop them, and without, to measure their cost")
	rounds := fs.Int("rounds", 2, "with -telemetry: how many runs with it (each followed by one without)")
	signals := fs.String("signals", "both", "with -telemetry: which to turn on: both, traces or metrics")
	withConsole := fs.Bool("console", false, "then run the pipeline alternately with the operator console on (package console, "+
		"with the metrics its Overview reads) and off, to measure its cost and the memory of its recent events")
	schemes := fs.String("schemes", "mem,inproc", "without "+pipeline.EnvChannel+": the in-process channel schemes to measure, one run each, "+
		"side by side (-telemetry uses the first)")
	fs.StringVar(&dest.sink, "sink", "discard://", "the sink URL the consumer writes to, e.g. postgres://... for the figures end to end "+
		"(the sink's driver must be linked: discard, sqlite, postgres)")
	fs.IntVar(&dest.batch, "batch", 0, "the most events the consumer hands a sink that writes batches at once (pipeline.Config.BatchSize; "+
		"0: its default, 1: one at a time)")
	fs.IntVar(&dest.subjects, "subjects", 1, "how many customers the events are about, in turn (a sink stores one row per customer)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stopProfile := pprof.StopCPUProfile
		defer func() { stopProfile() }()
		defer func() { stopProfile(); stopProfile = func() {} }()
	}
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, GOMAXPROCS %d, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(out, "load: %d connections, %v, rate %s, event %d bytes\n", *conns, *d, rateText(*rate), loadgen.NewTemplate().Size())
	channels, err := channelURLs(*schemes)
	if err != nil {
		return err
	}
	var res *loadgen.Result
	for i, ch := range channels {
		r, err := runPipeline(ch, *d, *conns, *rate, telemetryOff())
		if err != nil {
			return err
		}
		r.Print(out, "pipeline (webhook → "+ch.topic+" → consumer → "+sinkName(dest.sink)+")")
		if i == 0 {
			res = r
		}
	}
	if *withTelemetry {
		if *signals != "both" && *signals != "traces" && *signals != "metrics" {
			return fmt.Errorf("-signals %q: want both, traces or metrics", *signals)
		}
		if err := compareTelemetry(out, channels[0], *d, *conns, *rate, *rounds, *signals, res); err != nil {
			return err
		}
	}
	if *withConsole {
		if err := compare(out, channels[0], *d, *conns, *rate, *rounds, "console", consoleOn, res); err != nil {
			return err
		}
	}
	if *obvious {
		o, err := runObvious(*d, *conns, *rate)
		if err != nil {
			return err
		}
		o.Print(out, "obvious stripe-go + gocloud pipeline (ConstructEvent, json.Marshal, Topic.Send; Unmarshal, Ack)")
	}
	if *bare {
		b, err := runBare(*d, *conns, *rate)
		if err != nil {
			return err
		}
		b.Print(out, "bare net/http handler (read body + verify signature)")
	}
	return nil
}

func rateText(r int) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d/s", r)
}

// compareTelemetry runs the pipeline rounds more times with tracing and metrics on, each
// followed by a run without, and prints every run and the mean of each kind (off counting the
// run before, too), so that the VM's drift between runs spreads over both.
func compareTelemetry(out io.Writer, ch channelURL, d time.Duration, conns, rate, rounds int, signals string, off *loadgen.Result) error {
	on := func() observed { return telemetryOn(signals != "metrics", signals != "traces") }
	return compare(out, ch, d, conns, rate, rounds, "telemetry ("+signals+"; every span sampled, exporters that drop all)", on, off)
}

// compare runs the pipeline rounds more times with what on installs, each followed by a run
// without, and prints every run and the mean of each kind (off counting the run before, too),
// so that the VM's drift between runs spreads over both.
func compare(out io.Writer, ch channelURL, d time.Duration, conns, rate, rounds int, what string, on func() observed, off *loadgen.Result) error {
	offs, ons := []float64{off.AcceptedPerSecond()}, []float64(nil)
	offCPU, onCPU := []float64{cpuMicros(off)}, []float64(nil)
	for range max(rounds, 1) {
		obs := on()
		withIt, err := runPipeline(ch, d, conns, rate, obs)
		obs.shutdown()
		if err != nil {
			return err
		}
		withIt.Print(out, "pipeline with "+what+" on")
		if obs.report != nil {
			obs.report(out)
		}
		again, err := runPipeline(ch, d, conns, rate, telemetryOff())
		if err != nil {
			return err
		}
		again.Print(out, "pipeline without "+strings.SplitN(what, " ", 2)[0])
		ons, offs = append(ons, withIt.AcceptedPerSecond()), append(offs, again.AcceptedPerSecond())
		onCPU, offCPU = append(onCPU, cpuMicros(withIt)), append(offCPU, cpuMicros(again))
	}
	mOn, mOff := mean(ons), mean(offs)
	fmt.Fprintf(out, "\naccepted events/s without %s %s, mean %.0f; with it %s, mean %.0f: %.1f%% of without\n",
		strings.SplitN(what, " ", 2)[0], list(offs), mOff, list(ons), mOn, 100*mOn/mOff)
	cOn, cOff := mean(onCPU), mean(offCPU)
	fmt.Fprintf(out, "CPU per event without %.1fµs, with %.1fµs: +%.1f%%\n", cOff, cOn, 100*(cOn/cOff-1))
	return nil
}

// cpuMicros is a run's CPU time per event in microseconds.
func cpuMicros(r *loadgen.Result) float64 { return float64(r.CPUPerEvent().Nanoseconds()) / 1000 }

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func list(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

// channelURL is where one pipeline run sends and receives.
type channelURL struct{ topic, subscription string }

// channelURLs is HOOKLINE_CHANNEL and HOOKLINE_SUBSCRIPTION when set, else a fresh topic on each
// of the in-process schemes named (comma-separated: mem, inproc).
func channelURLs(schemes string) ([]channelURL, error) {
	if c := os.Getenv(pipeline.EnvChannel); c != "" {
		sub := os.Getenv(pipeline.EnvSubscription)
		if sub == "" {
			sub = c
		}
		return []channelURL{{c, sub}}, nil
	}
	var out []channelURL
	for _, s := range strings.Split(schemes, ",") {
		s = strings.TrimSpace(s)
		if s != "mem" && s != "inproc" {
			return nil, fmt.Errorf("-schemes: %q is not an in-process scheme: want mem or inproc (set %s for a broker)", s, pipeline.EnvChannel)
		}
		u := fmt.Sprintf("%s://hookline-load-%d", s, time.Now().UnixNano())
		out = append(out, channelURL{u, u})
	}
	return out, nil
}

// sinkName is a sink URL without its password and query, for a report.
func sinkName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "sink"
	}
	u.RawQuery = ""
	return u.Redacted()
}

// dest is where the pipeline's consumer writes, and what about: set by the flags.
var dest = struct {
	sink            string
	batch, subjects int
}{sink: "discard://", subjects: 1}

func runPipeline(ch channelURL, d time.Duration, conns, rate int, obs observed) (*loadgen.Result, error) {
	secret := stripehook.GenerateSecret()
	cfg := pipeline.Config{Channel: ch.topic, Subscription: ch.subscription, Sink: dest.sink, Secrets: []string{secret},
		BatchSize: dest.batch}
	if err := declareRabbit(context.Background(), cfg.Channel, cfg.Subscription); err != nil {
		return nil, err
	}
	rec := loadgen.NewRecorder()
	p, err := pipeline.Open(context.Background(), cfg, &pipeline.Options{WrapSink: rec.Wrap, Console: obs.console, MeterProvider: obs.meter})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	// The pipeline's goroutines carry the label run=<obs.name> in a CPU profile (pprof -tagfocus).
	pprof.Do(ctx, pprof.Labels("run", obs.name), func(ctx context.Context) {
		go func() { served <- p.Serve(ctx, ln) }()
	})
	res := loadgen.DriveTemplate(loadgen.NewTemplateSubjects(dest.subjects), "http://"+ln.Addr().String()+"/webhook", secret, d, conns, rate, rec)
	res.AwaitConsumed(rec)
	stop()
	if err := <-served; err != nil {
		return nil, err
	}
	return res, nil
}

func runBare(d time.Duration, conns, rate int) (*loadgen.Result, error) {
	secret := stripehook.GenerateSecret()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if err := webhook.ValidatePayload(body, r.Header.Get(stripehook.SignatureHeader), secret); err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	url, stop, err := loadgen.Serve(h)
	if err != nil {
		return nil, err
	}
	defer stop()
	return loadgen.Drive(url, secret, d, conns, rate, nil), nil
}
