package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookline/hookline/recovery"
)

// Environment variables of the command beyond those of package pipeline, defined in package
// recovery.
const (
	EnvAPIKey  = recovery.EnvAPIKey  // STRIPE_API_KEY: a secret or restricted key that can read events (recover, backfill, serve's scheduled recovery)
	EnvAPIBase = recovery.EnvAPIBase // STRIPE_API_BASE: Stripe's API URL, for a proxy or a test double
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hookline:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// env is what a command reads besides its flags: the environment, and where results (stdout) and
// progress (stderr) go.
type env struct {
	getenv   func(string) string
	out, log io.Writer
}

type command struct {
	name, usage string
	run         func(ctx context.Context, e env, args []string) error
}

var commands = []command{
	{"serve", "run the pipeline from the environment (webhook, channel, consumer, sink)", runServe},
	{"recover", "send Stripe's events of a time range into the channel again", runRecover},
	{"backfill", "send the current Stripe objects into the channel as snapshot events", runBackfill},
	{"deadletters", "list, replay or discard the messages on a dead-letter channel", runDeadLetters},
	{"check", "check the configuration before any event: URLs, routes, the sinks' tables and columns", runCheck},
	{"dataverse", "dataverse setup: create the columns and keys the Dataverse routes need", runDataverse},
	{"version", "print the version, VCS revision and Go version of this binary", runVersion},
}

func run(ctx context.Context, args []string, getenv func(string) string, out, log io.Writer) error {
	e := env{getenv: getenv, out: out, log: log}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(log)
		if len(args) == 0 {
			return fmt.Errorf("%w: no command", errUsage)
		}
		return flag.ErrHelp
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(log)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: hookline <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun hookline <command> -h for the flags of one. See go doc github.com/hookline/hookline/cmd/hookline.")
}

// flags returns a flag set for the command name that prints its usage to e.log.
func (e env) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.log)
	fs.Usage = func() {
		fmt.Fprintf(e.log, "Usage: hookline %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and refuses positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// listFlag collects a repeatable flag; each value may also hold several, comma-separated.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint(*l) }

func (l *listFlag) Set(v string) error {
	for _, s := range splitComma(v) {
		*l = append(*l, s)
	}
	return nil
}
