package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/pipeline"
)

func runDeadLetters(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runDeadLettersList(ctx, e, args[1:])
		case "replay":
			return runDeadLettersReplay(ctx, e, args[1:])
		}
	}
	fmt.Fprintln(e.log, "Usage: hookline deadletters list|replay [flags]\n\n  list    print the messages on a dead-letter channel\n  replay  send selected messages back to the main channel")
	return fmt.Errorf("%w: deadletters needs list or replay", errUsage)
}

func runDeadLettersList(ctx context.Context, e env, args []string) error {
	fs := e.flags("deadletters list", "deadletters list [--from <url>] [--limit N] [--wait d]")
	from := fs.String("from", e.getenv(pipeline.EnvDeadLetter), "subscription URL of the dead-letter channel (default $"+pipeline.EnvDeadLetter+")")
	limit := fs.Int("limit", 100, "most messages to show (0: all)")
	wait := fs.Duration("wait", deadletter.DefaultWait, "how long the channel must be silent to count as drained")
	if err := parse(fs, args); err != nil {
		return err
	}
	recv, err := openFrom(ctx, *from)
	if err != nil {
		return err
	}
	defer recv.Shutdown(context.WithoutCancel(ctx))
	p := newProgress(e.log)
	msgs, err := deadletter.List(ctx, recv, &deadletter.Options{Limit: *limit, Wait: *wait,
		Progress: func(n int) { p.printf("deadletters: %d messages received", n) }})
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTYPE\tSUBJECT\tREASON\tATTEMPTS\tWHEN")
	for _, m := range msgs {
		when := ""
		if !m.When.IsZero() {
			when = m.When.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(m.EventID), dash(m.Type), dash(m.Subject), dash(oneLine(m.Reason)), dash(m.Attempts), dash(when))
	}
	tw.Flush()
	fmt.Fprintf(e.log, "%d messages (all returned to the channel)\n", len(msgs))
	return err
}

func runDeadLettersReplay(ctx context.Context, e env, args []string) error {
	fs := e.flags("deadletters replay", "deadletters replay [--from <url>] [--to <url>] [--id evt_...]... [--type T]... [--limit N] [--dry-run]")
	from := fs.String("from", e.getenv(pipeline.EnvDeadLetter), "subscription URL of the dead-letter channel (default $"+pipeline.EnvDeadLetter+")")
	to := fs.String("to", e.getenv(pipeline.EnvChannel), "topic URL to replay to (default $"+pipeline.EnvChannel+")")
	var ids, types listFlag
	fs.Var(&ids, "id", "event id to replay; repeatable or comma-separated (default all)")
	fs.Var(&types, "type", "event type to replay, exact or prefix wildcard (customer.*); repeatable (default all)")
	limit := fs.Int("limit", 0, "most messages to receive (0: all)")
	wait := fs.Duration("wait", deadletter.DefaultWait, "how long the channel must be silent to count as drained")
	dryRun := fs.Bool("dry-run", false, "count what would be replayed, return everything")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%w: replay needs --to or %s", errUsage, pipeline.EnvChannel)
	}
	recv, err := openFrom(ctx, *from)
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
	p := newProgress(e.log)
	res, err := deadletter.Replay(ctx, recv, dst, &deadletter.Options{IDs: ids, Types: types, Limit: *limit, Wait: *wait,
		DryRun: *dryRun, Progress: func(n int) { p.printf("deadletters: %d messages received", n) }})
	fmt.Fprintf(e.out, "%d messages received, %d selected, %d replayed, %d failed (kept on the dead-letter channel)%s\n",
		res.Received, res.Selected, res.Replayed, res.Failed, dryRunNote(*dryRun))
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
