package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
)

// errProblems is check's error when it found problems: the table says them.
var errProblems = errors.New("the configuration cannot work")

// runCheck checks, before any event, everything serve checks at start: the URLs and the source,
// the configuration file's routes and their expressions, and each sink's destination (for
// Dataverse, the tables, columns, types and keys through the metadata Web API). It prints the
// problems as a table and fails when there is one.
func runCheck(ctx context.Context, e env, args []string) error {
	fs := e.flags("check", "check")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := pipeline.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	if cfg.SecretGenerated {
		if d, _, err := emitter.LookupSource(cfg.Source); err == nil {
			fmt.Fprintf(e.log, "check: note: %s is not set: serve would generate a secret for a local run only\n", d.SecretEnv)
		}
	}
	p := newProgress(e.log)
	p.printf("check: opening the sinks and reading their destinations")
	problems, err := pipeline.CheckRoutes(ctx, cfg)
	if err != nil {
		return err
	}
	routes := len(cfg.Routes.Routes)
	if routes == 0 {
		routes = 1
	}
	if len(problems) == 0 {
		fmt.Fprintf(e.out, "ok: %d routes, their expressions and sinks checked\n", routes)
		return nil
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tCOLUMN\tWHERE\tPROBLEM\tFIX")
	for _, pr := range problems {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pr.Route, dash(pr.Column), dash(pr.Pos.String()), pr.Problem.Problem, dash(pr.Fix))
	}
	tw.Flush()
	return fmt.Errorf("%w: %d problems", errProblems, len(problems))
}
