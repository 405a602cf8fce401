package azurefunctions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// EnvPort is the variable in which the Functions host gives the custom handler its port.
const EnvPort = "FUNCTIONS_CUSTOMHANDLER_PORT"

// Addr returns the address to listen on: 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT. Only the host
// calls the handler, from the same machine, so it listens on loopback only. It fails when the
// variable is unset (the program was not started by the host) or not a port.
func Addr(getenv func(string) string) (string, error) {
	port := strings.TrimSpace(getenv(EnvPort))
	if port == "" {
		return "", fmt.Errorf("azurefunctions: %s is not set: the Functions host sets it when it starts the custom handler (run the app with func start, or set it to test by hand)", EnvPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("azurefunctions: %s=%q is not a TCP port", EnvPort, port)
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}

// Routes maps the function app's functions onto the custom handler's paths. Nil handlers are
// not served.
type Routes struct {
	// Webhook serves both HTTP modes: the invocation at /<WebhookFunction> and the forwarded
	// request at WebhookPath.
	Webhook *Webhook
	// WebhookFunction is the webhook function's name (its folder). Default "webhook".
	WebhookFunction string
	// WebhookPath is the path of the original request, which the host keeps when it forwards
	// it: /<routePrefix>/<route>. Default "/api/webhook" (routePrefix "api", route "webhook").
	// It must differ from /<WebhookFunction>: with routePrefix "" and route equal to the
	// function name, both modes would arrive at one path.
	WebhookPath string
	// Processor serves the Service Bus trigger at /<ProcessorFunction>.
	Processor *Processor
	// ProcessorFunction is the processor function's name (its folder). Default "processor".
	ProcessorFunction string
	// Recover serves the timer trigger at /<RecoverFunction>.
	Recover *Recover
	// RecoverFunction is the recover function's name (its folder). Default "recover".
	RecoverFunction string
}

// Handler returns the custom handler's http.Handler. Requests to other paths get 404; the host
// probes the handler's root while it starts, and any answer tells it the handler is up.
func (rt Routes) Handler() (http.Handler, error) {
	if rt.WebhookFunction == "" {
		rt.WebhookFunction = "webhook"
	}
	if rt.WebhookPath == "" {
		rt.WebhookPath = "/api/webhook"
	}
	if rt.ProcessorFunction == "" {
		rt.ProcessorFunction = "processor"
	}
	if rt.RecoverFunction == "" {
		rt.RecoverFunction = "recover"
	}
	mux := http.NewServeMux()
	if rt.Webhook != nil {
		if rt.WebhookPath == "/"+rt.WebhookFunction {
			return nil, fmt.Errorf("azurefunctions: webhook path %s is also the function's invocation path", rt.WebhookPath)
		}
		mux.Handle("/"+rt.WebhookFunction, rt.Webhook.Invocation())
		mux.Handle(rt.WebhookPath, rt.Webhook)
	}
	if rt.Processor != nil {
		mux.Handle("/"+rt.ProcessorFunction, rt.Processor)
	}
	if rt.Recover != nil {
		mux.Handle("/"+rt.RecoverFunction, rt.Recover)
	}
	return mux, nil
}

// ServeOptions configures [Serve]. A nil *ServeOptions and zero fields mean the defaults.
type ServeOptions struct {
	// DrainTimeout bounds how long Serve waits, after ctx ends, for invocations in flight.
	// Default 30s.
	DrainTimeout time.Duration
}

// Serve answers the host's requests on ln until ctx ends, then stops accepting and waits up to
// DrainTimeout for invocations in flight. It sets ReadHeaderTimeout and IdleTimeout but no
// request or write deadline: the host enforces the function timeout (functionTimeout in
// host.json) and cancels an invocation's request when it expires.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts *ServeOptions) error {
	drain := 30 * time.Second
	if opts != nil && opts.DrainTimeout > 0 {
		drain = opts.DrainTimeout
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
