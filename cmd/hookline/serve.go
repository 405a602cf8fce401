package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/hookline/hookline/pipeline"
)

// runServe runs the pipeline from the environment, as examples/local does without -demo, so a
// container image can run this one binary.
func runServe(ctx context.Context, e env, args []string) error {
	fs := e.flags("serve", "serve [-addr host:port]")
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:$PORT; use :8080 in a container)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := pipeline.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if cfg.SecretGenerated {
		fmt.Fprintln(e.log, pipeline.SecretNotice(cfg))
	}
	log := slog.New(slog.NewTextHandler(e.log, nil))
	p, err := pipeline.Open(ctx, cfg, &pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set %s or -addr to use another)", cfg.Addr, err, pipeline.EnvPort)
	}
	return p.Serve(ctx, ln)
}
