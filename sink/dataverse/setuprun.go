package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hookline/hookline"
)

// Setup creates, through the metadata Web API, what [Sink.Check] finds missing and can be
// created: the key column, the event-time and event-id columns, mapped columns whose logical
// name has the configuration's customization prefix (that of key=, eventtime= or eventid=,
// or of the table's custom columns), then the alternate key on the key column; then it waits,
// polling, until the key's index is Active (bounded by ctx). Column types follow the Kind:
// text is Text (4000 characters; 100 for the key and event-id columns), integer Whole number,
// decimal Decimal number (2 decimal places), bool Yes/no, time Date and time (time zone
// independent). Standard columns, tables, lookups and choices are never created.
//
// It returns what it created, in order. Run again, it creates nothing. With dryRun it returns
// what it would create and creates nothing. progress, if not nil, receives a line for each
// step and while it waits. When problems remain that Setup cannot fix (see [ProblemsError]),
// it still makes the changes it can, and returns them with a *ProblemsError. Creating columns
// needs a security role with customization privileges (System Customizer); the columns go
// into the environment's default solution.
func (s *Sink) Setup(ctx context.Context, mapped []Want, dryRun bool, progress func(string)) ([]Change, error) {
	if progress == nil {
		progress = func(string) {}
	}
	t, err := s.readTable(ctx, mapped)
	if err != nil {
		return nil, err
	}
	if t == nil {
		p, err := s.noTable(ctx)
		if err != nil {
			return nil, err
		}
		return nil, &ProblemsError{Problems: []Problem{p}}
	}
	fs := s.findings(t, mapped)
	changes, left, wait := plan(fs)
	if dryRun {
		return changes, problemsError(left)
	}
	for i, c := range changes {
		if err := s.makeChange(ctx, t.logical, c, fs, progress); err != nil {
			return changes[:i], err
		}
	}
	if wait || len(changes) > 0 && changes[len(changes)-1].Key != "" {
		if err := s.waitKey(ctx, t.logical, progress); err != nil {
			return changes, err
		}
	}
	problems, err := s.Check(ctx, mapped)
	if err != nil {
		return changes, err
	}
	return changes, problemsError(problems)
}

// plan lists the changes the findings call for (columns first, then the key), the problems
// no change fixes, and whether a key's index is being built.
func plan(fs []finding) (changes []Change, left []Problem, wait bool) {
	var key []Change
	for _, f := range fs {
		switch {
		case f.create != nil:
			changes = append(changes, Change{Column: f.create.name, What: f.create.what})
		case f.key:
			key = append(key, Change{Column: f.Column, Key: keyName(f.Column), What: "alternate key"})
		case f.wait:
			wait = true
		default:
			left = append(left, f.Problem)
		}
	}
	return append(changes, key...), left, wait
}

func problemsError(left []Problem) error {
	if len(left) == 0 {
		return nil
	}
	return &ProblemsError{Problems: left}
}

// makeChange makes one change.
func (s *Sink) makeChange(ctx context.Context, logical string, c Change, fs []finding, progress func(string)) error {
	if c.Key != "" {
		progress(fmt.Sprintf("creating alternate key %s on %s.%s", c.Key, logical, c.Column))
		schema, display := schemaAndLabel(c.Key)
		return s.post(ctx, definition(logical)+"/Keys", "creating alternate key "+c.Key, map[string]any{
			"SchemaName": schema, "DisplayName": label(display), "KeyAttributes": []string{c.Column}})
	}
	progress(fmt.Sprintf("creating column %s.%s (%s)", logical, c.Column, c.What))
	for _, f := range fs {
		if f.create != nil && f.create.name == c.Column {
			return s.post(ctx, definition(logical)+"/Attributes", "creating column "+c.Column, f.create.body())
		}
	}
	return nil
}

// post sends a metadata definition.
func (s *Sink) post(ctx context.Context, path, what string, body map[string]any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("dataverse: %s: %w", what, err)
	}
	what = "POST " + path + " (" + what + ")"
	resp, err := s.do(ctx, request{method: http.MethodPost, path: path, body: data, what: what})
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		err := statusError(what, resp, s.o.Now())
		if resp.status == http.StatusForbidden {
			err = fmt.Errorf("%w (creating columns and keys needs a security role with customization "+
				"privileges, such as System Customizer)", err)
		}
		return err
	}
	return nil
}

// waitKey polls the key on the key column until its index is Active or Failed, or ctx ends.
func (s *Sink) waitKey(ctx context.Context, logical string, progress func(string)) error {
	start, delay, last, said := time.Now(), pollFirst, "", time.Now()
	for {
		keys, err := s.readKeys(ctx, logical)
		if err != nil {
			return err
		}
		k, ok := (&tableInfo{keys: keys}).keyOn(s.o.KeyColumn)
		if !ok {
			return hookline.Errorf(hookline.Unknown, "dataverse: the alternate key on %s.%s went away while "+
				"setup waited for its index", logical, s.o.KeyColumn)
		}
		switch {
		case k.status == keyActive || k.status == keyFailed:
			progress(fmt.Sprintf("alternate key %s: %s after %v", k.name, k.status, time.Since(start).Round(time.Millisecond)))
			return nil
		case k.status != last:
			progress(fmt.Sprintf("alternate key %s: %s, waiting for Dataverse to build its index", k.name, k.status))
			last, said = k.status, time.Now()
		case time.Since(said) >= progressEvery:
			progress(fmt.Sprintf("alternate key %s: still %s after %v", k.name, k.status, time.Since(start).Round(time.Second)))
			said = time.Now()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
	}
}
