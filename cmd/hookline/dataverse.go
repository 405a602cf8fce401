package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/route"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
)

// runDataverse runs `hookline dataverse setup`: for each route that writes to Dataverse (the
// configuration file's, or HOOKLINE_SINK's), it creates through the metadata Web API what
// `hookline check` finds missing and can be created — the key, event-time and event-id columns,
// mapped custom columns, the alternate key — and waits until the key's index is Active.
func runDataverse(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprintln(e.log, "Usage: hookline dataverse setup [--route NAME]... [--dry-run]\n\n"+
			"  setup  create the columns and alternate keys the configuration's Dataverse routes need")
		return fmt.Errorf("%w: dataverse needs setup", errUsage)
	}
	fs := e.flags("dataverse setup", "dataverse setup [--route NAME]... [--dry-run]")
	var names listFlag
	fs.Var(&names, "route", "set up this route's table only; repeatable (default every route to dataverse://)")
	dryRun := fs.Bool("dry-run", false, "say what would be created, create nothing")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := pipeline.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	specs := cfg.Routes.Routes
	if len(specs) == 0 {
		specs = []route.Spec{{Name: "default", Sink: cfg.Sink}}
	}
	routes, err := route.CompileAll(route.Config{Routes: specs})
	if err != nil {
		return err
	}
	set, failed := 0, 0
	for _, r := range routes {
		if len(names) > 0 && !slices.Contains(names, r.Name()) || !isDataverse(r.Sink()) {
			continue
		}
		set++
		if err := setupRoute(ctx, e, r, *dryRun); err != nil {
			fmt.Fprintf(e.log, "dataverse setup: route %q: %v\n", r.Name(), err)
			failed++
		}
	}
	switch {
	case set == 0:
		return fmt.Errorf("%w: no route writes to dataverse://%s", errUsage, selectedNote(names))
	case failed > 0:
		return fmt.Errorf("dataverse setup: %d of %d routes not set up (see above)", failed, set)
	}
	return nil
}

// setupRoute sets up the table of one route and prints what it created, one line each.
func setupRoute(ctx context.Context, e env, r *route.Route, dryRun bool) error {
	s, err := dataverse.Open(ctx, r.Sink(), nil)
	if err != nil {
		return err
	}
	defer s.Close()
	var cols []sink.Column
	if len(r.Columns()) > 0 {
		cols = r.Columns()
	}
	progress := func(line string) { fmt.Fprintf(e.log, "dataverse setup: route %q: %s\n", r.Name(), line) }
	changes, err := s.SetupColumns(ctx, cols, dryRun, progress)
	verb := "created"
	if dryRun {
		verb = "would create"
	}
	for _, c := range changes {
		fmt.Fprintf(e.out, "route %s: %s %s\n", r.Name(), verb, c)
	}
	if len(changes) == 0 && err == nil {
		fmt.Fprintf(e.out, "route %s: nothing to create\n", r.Name())
	}
	var pe *dataverse.ProblemsError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Fprintf(e.out, "route %s: cannot fix: %s\n", r.Name(), p)
		}
	}
	return err
}

func isDataverse(sinkURL string) bool {
	u, err := url.Parse(sinkURL)
	return err == nil && strings.EqualFold(u.Scheme, "dataverse")
}

func selectedNote(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " among the routes " + strings.Join(names, ", ")
}
