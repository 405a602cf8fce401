package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
)

func runDeadLetters(ctx context.Context, e env, args []string) error {
	if len(args) > 0 && (args[0] == "list" || args[0] == "replay" || args[0] == "discard") {
		_, stopTelemetry, err := startTelemetry(ctx, e, nil)
		if err != nil {
			return err
		}
		defer stopTelemetry()
		switch args[0] {
		case "list":
			return runDeadLettersList(ctx, e, args[1:])
		case "replay":
			return runDeadLettersReplay(ctx, e, args[1:])
		case "discard":
			return runDeadLettersDiscard(ctx, e, args[1:])
		}
	}
	fmt.Fprintln(e.log, "Usage: hookline deadletters list|replay|discard [flags]\n\n"+
		"  list     print the messages on a dead-letter channel\n"+
		"  replay   send selected messages back to the main channel\n"+
		"  discard  remove selected messages for good")
	return fmt.Errorf("%w: deadletters needs list, replay or discard", errUsage)
}

// selection is the flags that select dead letters, shared by list, replay and discard.
type selection struct {
	from              *string
	ids, types, route listFlag
	limit             *int
	wait              *time.Duration
}

func selectionFlags(fs *flag.FlagSet, e env, defaultLimit int) *selection {
	s := &selection{
		from:  fs.String("from", e.getenv(pipeline.EnvDeadLetter), "subscription URL of the dead-letter channel (default $"+pipeline.EnvDeadLetter+")"),
		limit: fs.Int("limit", defaultLimit, "most messages to receive (0: all)"),
		wait:  fs.Duration("wait", deadletter.DefaultWait, "how long the channel must be silent to count as drained"),
	}
	fs.Var(&s.ids, "id", "event id to select; repeatable or comma-separated (default all)")
	fs.Var(&s.types, "type", "event type to select, exact or prefix wildcard (customer.*); repeatable (default all)")
	fs.Var(&s.route, "route", "route whose failure dead-lettered the event (the config file's route name); repeatable (default all)")
	return s
}

// options returns the selection as deadletter's Options, reporting progress on p when not nil.
func (s *selection) options(p *progress, dryRun bool) *deadletter.Options {
	o := &deadletter.Options{IDs: s.ids, Types: s.types, Routes: s.route, Limit: *s.limit, Wait: *s.wait, DryRun: dryRun}
	if p != nil {
		o.Progress = func(n int) { p.printf("deadletters: %d messages received", n) }
	}
	return o
}

// check refuses a --type that selects nothing by mistake.
func (s *selection) check() error {
	if _, err := emitter.NewTypes(s.types); err != nil {
		return fmt.Errorf("%w: --type: %v", errUsage, err)
	}
	return nil
}

func runDeadLettersList(ctx context.Context, e env, args []string) error {
	fs := e.flags("deadletters list", "deadletters list [--from <url>] [--id evt_...]... [--type T]... [--route R]... [--limit N] [--wait d]")
	sel := selectionFlags(fs, e, 100)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sel.check(); err != nil {
		return err
	}
	recv, err := openFrom(ctx, *sel.from)
	if err != nil {
		return err
	}
	defer recv.Shutdown(context.WithoutCancel(ctx))
	msgs, err := deadletter.List(ctx, recv, sel.options(newProgress(e.log), false))
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTYPE\tSUBJECT\tROUTE\tREASON\tATTEMPTS\tWHEN")
	shown := 0
	for _, m := range msgs {
		if !deadletter.Selects(m, sel.options(nil, false)) {
			continue
		}
		when := ""
		if !m.When.IsZero() {
			when = m.When.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(m.EventID), dash(m.Type), dash(m.Subject), dash(m.Route),
			dash(oneLine(m.Reason)), dash(m.Attempts), dash(when))
		shown++
	}
	tw.Flush()
	fmt.Fprintf(e.log, "%d messages, %d shown (all returned to the channel)\n", len(msgs), shown)
	return err
}

func runDeadLettersReplay(ctx context.Context, e env, args []string) error {
	fs := e.flags("deadletters replay", "deadletters replay [--from <url>] [--to <url>] [--id evt_...]... [--type T]... [--route R]... [--limit N] [--dry-run]")
	sel := selectionFlags(fs, e, 0)
	to := fs.String("to", e.getenv(pipeline.EnvChannel), "topic URL to replay to (default $"+pipeline.EnvChannel+")")
	dryRun := fs.Bool("dry-run", false, "count what would be replayed, return everything")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sel.check(); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%w: replay needs --to or %s", errUsage, pipeline.EnvChannel)
	}
	recv, err := openFrom(ctx, *sel.from)
	if err != nil {
		return err
	}
	defer recv.Shutdown(context.WithoutCancel(ctx))
	if err := channel.CheckTopicURL(*to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	dst, err := channel.OpenSender(ctx, *to, nil)
	if err != nil {
		return err
	}
	defer dst.Shutdown(context.WithoutCancel(ctx))
	res, err := deadletter.Replay(ctx, recv, dst, sel.options(newProgress(e.log), *dryRun))
	fmt.Fprintf(e.out, "%d messages received, %d selected, %d replayed, %d failed (kept on the dead-letter channel)%s\n",
		res.Received, res.Selected, res.Replayed, res.Failed, dryRunNote(*dryRun))
	return err
}

// runDeadLettersDiscard acknowledges the selected dead letters without sending them anywhere.
// With no selection it refuses, so that a slip of the fingers does not empty the channel: give
// --all to discard everything.
func runDeadLettersDiscard(ctx context.Context, e env, args []string) error {
	fs := e.flags("deadletters discard", "deadletters discard [--from <url>] (--id evt_...|--type T|--route R|--all)... [--limit N] [--dry-run]")
	sel := selectionFlags(fs, e, 0)
	all := fs.Bool("all", false, "discard every message (without it, a selection is required)")
	dryRun := fs.Bool("dry-run", false, "count what would be discarded, return everything")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sel.check(); err != nil {
		return err
	}
	if !*all && len(sel.ids)+len(sel.types)+len(sel.route) == 0 {
		return fmt.Errorf("%w: discard needs --id, --type, --route or --all: it removes dead letters for good", errUsage)
	}
	recv, err := openFrom(ctx, *sel.from)
	if err != nil {
		return err
	}
	defer recv.Shutdown(context.WithoutCancel(ctx))
	res, err := deadletter.Discard(ctx, recv, sel.options(newProgress(e.log), *dryRun))
	fmt.Fprintf(e.out, "%d messages received, %d selected, %d discarded%s\n", res.Received, res.Selected, res.Discarded, discardNote(*dryRun))
	return err
}

func openFrom(ctx context.Context, from string) (*channel.Receiver, error) {
	if from == "" {
		return nil, fmt.Errorf("%w: give --from or %s: the dead-letter channel's subscription URL", errUsage, pipeline.EnvDeadLetter)
	}
	if err := channel.CheckSubscriptionURL(from); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	return channel.OpenReceiver(ctx, from, nil)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	const max = 80
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\t' {
			r[i] = ' '
		}
	}
	if len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return string(r)
}

func discardNote(dry bool) string {
	if dry {
		return " (dry run: nothing discarded)"
	}
	return ""
}
