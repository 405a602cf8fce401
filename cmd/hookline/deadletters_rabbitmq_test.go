package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
)

// The deadletters command on RabbitMQ, with dead letters produced as in production: a consumer
// on the main queue dead-letters the events its handler refuses for good on hookline's
// dead-letter queue (with the reason), and returns those that fail transiently until the quorum
// queue's delivery limit makes RabbitMQ dead-letter them to its native dead-letter exchange
// (without it).

func dlEvent(id, typ, subject string) hookline.Event {
	return hookline.Event{ID: id, Source: "stripe", Type: typ, Subject: subject, Time: time.Unix(1700000000, 0),
		Data: []byte(`{"id":"` + subject + `"}`)}
}

var dlEvents = []hookline.Event{
	dlEvent("evt_perm_1", "customer.updated", "cus_1"), // refused: hookline dead-letters it
	dlEvent("evt_perm_2", "invoice.paid", "in_2"),
	dlEvent("evt_perm_3", "customer.deleted", "cus_3"),
	dlEvent("evt_fail_1", "charge.failed", "ch_1"), // fails transiently: RabbitMQ dead-letters it
	dlEvent("evt_fail_2", "customer.updated", "cus_f2"),
	dlEvent("evt_ok_1", "customer.created", "cus_ok"), // stored
}

func dlHandler(_ context.Context, ev hookline.Event) error {
	switch {
	case ev.ID == "evt_perm_2": // a route of a configuration file failed
		return &hookline.RouteError{Route: "invoices", Err: hookline.MarkPermanent(fmt.Errorf("sink: refused %s", ev.ID))}
	case strings.HasPrefix(ev.ID, "evt_perm_"):
		return hookline.MarkPermanent(fmt.Errorf("sink: refused %s", ev.ID))
	case strings.HasPrefix(ev.ID, "evt_fail_"):
		return errors.New("sink: database unavailable")
	}
	return nil
}

// dlProduce sends dlEvents to main and runs a consumer on it with dl as its dead-letter channel
// until 3 events are dead-lettered there and 2 in native.
func dlProduce(t *testing.T, srv, main, dl, native string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	send, err := channel.OpenSender(ctx, "rabbitmq://"+main, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer send.Shutdown(context.Background())
	dead, err := channel.OpenSender(ctx, "rabbitmq://"+dl, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Shutdown(context.Background())
	recv, err := channel.OpenReceiver(ctx, "rabbitmq://"+main, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	for _, ev := range dlEvents {
		if err := send.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	c, err := channel.NewConsumer(recv, dlHandler, &channel.ConsumerOptions{MaxAttempts: 1, DeadLetter: dead})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { stop(); <-done }()
	conn, err := rabbitsetup.Dial(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for {
		q, err := ch.QueueDeclarePassive(native, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Stats().DeadLettered == 3 && q.Messages == 2 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("dead letters not produced: consumer %+v, native dead-letter queue %d messages", c.Stats(), q.Messages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dlRows runs deadletters list with args and returns its table rows (less the header) as
// fields split on runs of two or more spaces, checking the header and the count line.
func dlRows(t *testing.T, env map[string]string, args ...string) [][]string {
	t.Helper()
	out, log, err := runCmd(t, env, append([]string{"deadletters", "list"}, args...)...)
	if err != nil {
		t.Fatalf("deadletters list %v: %v\n%s", args, err, log)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := columns(lines[0]); !slices.Equal(got, []string{"EVENT ID", "TYPE", "SUBJECT", "ROUTE", "REASON", "ATTEMPTS", "WHEN"}) {
		t.Fatalf("header %q", lines[0])
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, columns(l))
	}
	if want := fmt.Sprintf(" %d shown (all returned to the channel)\n", len(rows)); !strings.HasSuffix(log, want) {
		t.Errorf("stderr %q does not end with %q", log, want)
	}
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return rows
}

// columns splits a tabwriter line on its padding (two or more spaces).
func columns(line string) []string {
	var out []string
	for _, f := range strings.Split(line, "  ") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func dlRowIDs(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[0])
	}
	return out
}

func TestDeadLettersRabbitMQ(t *testing.T) {
	srv := rabbittest.Server(t)
	native := rabbittest.Declare(t, srv, "hookline-cmd-deadletters-native", rabbitsetup.Options{})
	main := rabbittest.Declare(t, srv, "hookline-cmd-deadletters-main", rabbitsetup.Options{DeadLetterExchange: native, DeliveryLimit: 1})
	dl := rabbittest.Declare(t, srv, "hookline-cmd-deadletters-dl", rabbitsetup.Options{})
	start := time.Now()
	dlProduce(t, srv, main, dl, native)
	t.Logf("dead letters produced in %v", time.Since(start).Round(time.Millisecond))
	env := map[string]string{"HOOKLINE_DEADLETTER": "rabbitmq://" + dl, "HOOKLINE_CHANNEL": "rabbitmq://" + main}

	// hookline's dead letters: every column filled; --from from HOOKLINE_DEADLETTER.
	rows := dlRows(t, env, "--wait", "1s")
	if got := dlRowIDs(rows); !slices.Equal(got, []string{"evt_perm_1", "evt_perm_2", "evt_perm_3"}) {
		t.Fatalf("hookline's dead letters: %v", rows)
	}
	for _, r := range rows {
		ev := dlFind(t, r[0])
		route, reason := "-", "sink: refused "+ev.ID
		if ev.ID == "evt_perm_2" {
			route, reason = "invoices", `route "invoices": `+reason
		}
		if len(r) != 7 || r[1] != ev.Type || r[2] != ev.Subject || r[3] != route || r[4] != reason || r[5] != "1" {
			t.Errorf("row %q", r)
			continue
		}
		if when, err := time.Parse(time.RFC3339, r[6]); err != nil || time.Since(when) > time.Minute {
			t.Errorf("%s: WHEN %q: %v", ev.ID, r[6], err)
		}
	}
	if got := dlRowIDs(dlRows(t, env, "--route", "invoices", "--wait", "1s")); !slices.Equal(got, []string{"evt_perm_2"}) {
		t.Errorf("--route invoices lists %v", got)
	}
	// RabbitMQ's own: no reason, attempts or time.
	rows = dlRows(t, env, "--from", "rabbitmq://"+native, "--wait", "1s")
	if got := dlRowIDs(rows); !slices.Equal(got, []string{"evt_fail_1", "evt_fail_2"}) {
		t.Fatalf("native dead letters: %v", rows)
	}
	for _, r := range rows {
		ev := dlFind(t, r[0])
		if !slices.Equal(r, []string{ev.ID, ev.Type, ev.Subject, "-", "-", "-", "-"}) {
			t.Errorf("native row %q", r)
		}
	}

	// A dry run counts and changes nothing.
	dlReplay(t, env, "3 messages received, 2 selected, 0 replayed, 0 failed (kept on the dead-letter channel) (dry run: nothing sent)",
		"--type", "customer.*", "--wait", "1s", "--dry-run")
	// --to from HOOKLINE_CHANNEL.
	dlReplay(t, env, "3 messages received, 2 selected, 2 replayed, 0 failed (kept on the dead-letter channel)",
		"--type", "customer.*", "--wait", "1s")
	dlReplay(t, env, "2 messages received, 1 selected, 1 replayed, 0 failed (kept on the dead-letter channel)",
		"--from", "rabbitmq://"+native, "--to", "rabbitmq://"+main, "--id", "evt_fail_2", "--wait", "1s")

	if got := dlReceived(t, "rabbitmq://"+main); !slices.Equal(got, []string{"evt_fail_2", "evt_perm_1", "evt_perm_3"}) {
		t.Errorf("the main queue received %v", got)
	}
	if got := dlRowIDs(dlRows(t, env, "--wait", "1s")); !slices.Equal(got, []string{"evt_perm_2"}) {
		t.Errorf("left on hookline's dead-letter queue: %v", got)
	}
	// discard needs a selection; --route selects what one route's failure dead-lettered.
	if _, _, err := runCmd(t, env, "deadletters", "discard", "--wait", "1s"); !errors.Is(err, errUsage) {
		t.Errorf("discard without a selection: %v, want a usage error", err)
	}
	for _, c := range []struct{ args, want string }{
		{"--route contacts", "1 messages received, 0 selected, 0 discarded\n"},
		{"--route invoices --dry-run", "1 messages received, 1 selected, 0 discarded (dry run: nothing discarded)\n"},
		{"--route invoices", "1 messages received, 1 selected, 1 discarded\n"},
	} {
		out, log, err := runCmd(t, env, append([]string{"deadletters", "discard", "--wait", "1s"}, strings.Fields(c.args)...)...)
		if err != nil || out != c.want {
			t.Errorf("discard %s: %q, %v, want %q\n%s", c.args, out, err, c.want, log)
		}
	}
	if got := dlRowIDs(dlRows(t, env, "--wait", "1s")); len(got) != 0 {
		t.Errorf("left after discarding: %v", got)
	}
	if got := dlRowIDs(dlRows(t, env, "--from", "rabbitmq://"+native, "--wait", "1s")); !slices.Equal(got, []string{"evt_fail_1"}) {
		t.Errorf("left on the native dead-letter queue: %v", got)
	}
	t.Logf("whole test in %v", time.Since(start).Round(time.Millisecond))
}

// A replay to an exchange that routes nowhere (RabbitMQ answers NO_ROUTE) fails with exit
// status 1, says so on the count line, and the dead letters stay.
func TestDeadLettersRabbitMQReplayToAFailingTarget(t *testing.T) {
	srv := rabbittest.Server(t)
	dl := rabbittest.Declare(t, srv, "hookline-cmd-deadletters-dl", rabbitsetup.Options{})
	nowhere := rabbittest.Declare(t, srv, "hookline-cmd-deadletters-nowhere", rabbitsetup.Options{})
	if err := rabbitsetup.Delete(t.Context(), srv, "", nowhere); err != nil { // the exchange stays, unbound
		t.Fatal(err)
	}
	s, err := channel.OpenSender(t.Context(), "rabbitmq://"+dl, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	for _, ev := range dlEvents[:2] {
		if err := s.Send(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"HOOKLINE_DEADLETTER": "rabbitmq://" + dl}
	out, log, err := runCmd(t, env, "deadletters", "replay", "--to", "rabbitmq://"+nowhere, "--wait", "1s")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "NO_ROUTE") {
		t.Fatalf("replay to an unroutable exchange: %v (exit %d)\n%s", err, exitCode(err), log)
	}
	if want := "2 messages received, 2 selected, 0 replayed, 2 failed (kept on the dead-letter channel)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if got := dlRowIDs(dlRows(t, env, "--wait", "1s")); !slices.Equal(got, []string{"evt_perm_1", "evt_perm_2"}) {
		t.Errorf("left on the dead-letter queue: %v", got)
	}
}

// dlReplay runs deadletters replay with args and checks its one line of output.
func dlReplay(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	out, log, err := runCmd(t, env, append([]string{"deadletters", "replay"}, args...)...)
	if err != nil {
		t.Fatalf("deadletters replay %v: %v\n%s", args, err, log)
	}
	if out != want+"\n" {
		t.Errorf("deadletters replay %v: stdout %q, want %q", args, out, want)
	}
}

func dlFind(t *testing.T, id string) hookline.Event {
	t.Helper()
	for _, ev := range dlEvents {
		if ev.ID == id {
			return ev
		}
	}
	t.Fatalf("unknown event %q", id)
	return hookline.Event{}
}

// dlReceived receives from url until it is idle for a second, acknowledging, and returns the
// sorted event ids; each message must decode and carry no dead-letter metadata.
func dlReceived(t *testing.T, url string) []string {
	t.Helper()
	r, err := channel.OpenReceiver(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	var got []string
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		m, err := r.Receive(ctx)
		cancel()
		if err != nil {
			break
		}
		m.Ack()
		ev, err := channel.Decode(m.Body)
		if err != nil {
			t.Errorf("replayed message does not decode: %v", err)
			continue
		}
		if want := dlFind(t, ev.ID); ev.Type != want.Type || ev.Subject != want.Subject {
			t.Errorf("replayed %+v", ev)
		}
		for k := range m.Metadata {
			if strings.HasPrefix(k, "hookline-dead-letter-") || strings.HasPrefix(k, "x-death") || strings.HasPrefix(k, "x-first-death-") {
				t.Errorf("replayed %s carries %s", ev.ID, k)
			}
		}
		got = append(got, ev.ID)
	}
	slices.Sort(got)
	return got
}
