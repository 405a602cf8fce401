package sqlsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookline/hookline"
)

func TestPostgresErrorTable(t *testing.T) {
	tests := map[string]hookline.ErrorCode{
		"40001": hookline.Transient, "40P01": hookline.Transient, "55P03": hookline.Transient,
		"57014": hookline.Transient, "57P01": hookline.Transient, "57P03": hookline.Transient,
		"08006": hookline.Transient, "08001": hookline.Transient, "53300": hookline.Transient,
		"53100": hookline.Transient, "58030": hookline.Transient,
		"22P02": hookline.Permanent, "22P05": hookline.Permanent, "22021": hookline.Permanent,
		"23505": hookline.Permanent, "23502": hookline.Permanent,
		"42P01": hookline.Unknown, "42501": hookline.Unknown, "28P01": hookline.Unknown,
		"3D000": hookline.Unknown, "XX000": hookline.Unknown, "": hookline.Unknown,
	}
	var p postgresDB
	for code, want := range tests {
		err := fmt.Errorf("exec: %w", &pgconn.PgError{Code: code})
		if got := p.classify(err); got != want {
			t.Errorf("SQLSTATE %q: %v, want %v", code, got, want)
		}
	}
	for _, err := range []error{io.ErrUnexpectedEOF, fmt.Errorf("read: %w", io.EOF)} {
		if got := p.classify(err); got != hookline.Transient {
			t.Errorf("%v: %v, want transient", err, got)
		}
	}
	if got := p.classify(errors.New("closed pool")); got != hookline.Unknown {
		t.Errorf("closed pool: %v, want unknown", got)
	}
}

func TestFailKeepsContextErrorsAndMasksSecrets(t *testing.T) {
	s := &Sink{db: &postgresDB{}, secrets: []string{"hunter2"}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.fail(ctx, errors.New("whatever"), "write"); err != context.Canceled {
		t.Fatalf("fail with a done ctx = %v, want context.Canceled", err)
	}
	err := s.fail(context.Background(), &pgconn.PgError{Code: "08006", Message: "password hunter2 rejected"}, "write %s", "cus_1")
	if hookline.Code(err) != hookline.Transient || err.Error() != "sqlsink: write cus_1: : password xxxxx rejected (SQLSTATE 08006)" {
		t.Fatalf("fail = %q (code %v)", err, hookline.Code(err))
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatal("the driver error is no longer in the chain")
	}
}
