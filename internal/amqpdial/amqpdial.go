// Package amqpdial opens AMQP connections for the RabbitMQ packages (the driver and the
// provisioning helper), with a context and with passwords kept out of errors.
package amqpdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/internal/redact"
)

// ErrNoServerURL is returned for an empty server URL.
var ErrNoServerURL = errors.New("no server URL (set RABBIT_SERVER_URL, e.g. amqp://user:password@host:5672/)")

// Dial opens a connection to serverURL, named "hookline" in the broker's management UI, giving
// up when ctx ends (returning ctx's error). Other errors name the URL with its password redacted.
func Dial(ctx context.Context, serverURL string) (*amqp.Connection, error) {
	if serverURL == "" {
		return nil, ErrNoServerURL
	}
	var d net.Dialer
	cfg := amqp.Config{
		Heartbeat:  10 * time.Second,
		Properties: amqp.NewConnectionProperties(),
		Dial: func(network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	cfg.Properties.SetClientConnectionName("hookline")
	conn, err := amqp.DialConfig(serverURL, cfg)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("connect to %s: %w", Redact(serverURL), err)
	}
	return conn, nil
}

// Redact returns serverURL with its password replaced, for messages.
func Redact(serverURL string) string { return redact.String(serverURL) }
